#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bpf.perf_fd_closed_once: stopping the ebpf receiver closes each perf event fd once. A second
# close(2) of a number another thread reused closed that thread's file: the pprof exporter, writing
# files on the thread pool during shutdown, failed with "Bad file descriptor".
# Usage: fd_close.sh PROFLOW WORK_DIR. Exits 77 (skip) without root, BPF or strace; 1 under CI=true.
set -u
proflow=$1 work=$2

# shellcheck source=../it/lib.sh
source "$(dirname "$0")/../it/lib.sh"
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
fail() {
	echo "FAIL: $*"
	tail -20 "$work/proflow.log"
	exit 1
}

require_bpf
command -v strace >/dev/null || skip "needs strace"
rm -rf "$work"
mkdir -p "$work/out"
cat >"$work/config.yaml" <<EOC
receivers:
  ebpf:
    report_interval: 1s
exporters:
  pprof:
    directory: $work/out
service:
  telemetry:
    metrics:
      address: 127.0.0.1:0
  pipelines:
    profiles:
      receivers: [ebpf]
      exporters: [pprof]
EOC
# LeakSanitizer cannot run under ptrace; the other tests check leaks.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
strace -f -qq -e trace=perf_event_open,close -o "$work/strace.txt" \
	"$proflow" --config "$work/config.yaml" >"$work/proflow.log" 2>&1 &
strace_pid=$!
for _ in $(seq 100); do
	grep -q "everything is ready" "$work/proflow.log" && break
	kill -0 $strace_pid 2>/dev/null || break
	sleep 0.1
done
if ! grep -q "everything is ready" "$work/proflow.log"; then
	kill $strace_pid 2>/dev/null
	wait $strace_pid
	grep -q "cannot profile\|cannot load\|cannot open perf" "$work/proflow.log" &&
		skip "$(grep -m1 "error receiver/ebpf" "$work/proflow.log")"
	fail "proflow did not start"
fi
sleep 1.5
pkill -INT -P $strace_pid -x proflow 2>/dev/null || kill -INT "$(pgrep -P $strace_pid)"
wait $strace_pid
rc=$?
[ $rc = 0 ] || fail "proflow exited $rc"

opened=$(grep -c "perf_event_open(.*= [0-9]" "$work/strace.txt")
[ "$opened" -gt 0 ] || fail "no perf event was opened"
if grep -q "close(.*EBADF" "$work/strace.txt"; then
	grep "perf_event_open\|close(.*EBADF" "$work/strace.txt" | head
	fail "a file descriptor was closed twice"
fi
grep -q "Bad file descriptor" "$work/proflow.log" && fail "proflow logged Bad file descriptor"
echo "PASS: $opened perf event fds, each closed once"
