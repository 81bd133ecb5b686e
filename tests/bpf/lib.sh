# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Sourced by the bpf tests (after tests/it/lib.sh): skipping, and what each of them needs.

# skip MESSAGE: the test cannot run here: exit 77 (ctest's skip), or fail when CI=true.
skip() {
	echo "SKIP: $*"
	[ "${CI:-}" = true ] && fail "CI=true: a skipped bpf test is a failure"
	exit 77
}

# require_bpf: skips unless root on a kernel with BTF.
require_bpf() {
	[ "$(id -u)" = 0 ] || skip "needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE, CAP_SYSLOG)"
	[ -r /sys/kernel/btf/vmlinux ] || skip "the kernel has no BTF (/sys/kernel/btf/vmlinux)"
}
