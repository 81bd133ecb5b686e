# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Sourced by the bpf tests after tests/it/lib.sh (fail, skip): what each of them needs.

# require_bpf: skips unless root on a kernel with BTF.
require_bpf() {
	[ "$(id -u)" = 0 ] || skip "needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE, CAP_SYSLOG)"
	[ -r /sys/kernel/btf/vmlinux ] || skip "the kernel has no BTF (/sys/kernel/btf/vmlinux)"
}
