#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bpf.stack_<scenario>: proflow's stacks of one running program against perf's, recorded with
# `perf record --call-graph dwarf` on the same process in the same window (issue 11):
#   stack_xz             xz -9 -T1 on base64 text in a loop (Debian's, no frame pointers, stripped)
#   stack_gzip           gzip -9 likewise
#   stack_python         Debian's python3 running pure-Python recursion and loops
#   stack_qsort_nofp     a C program built -O2 -fomit-frame-pointer: main -> run_phases ->
#                        phase_sort -> qsort -> ... -> compare_keys, and frameless memcpy, malloc
#   stack_frameless_leaf the same program built -O2 -fno-omit-frame-pointer: the callers of its
#                        frameless leaves (phase_copy above memcpy) are found, no edge invented
#   stack_signal_frame   a SIGPROF handler's stacks go on through the signal frame into the
#                        interrupted function (busy_work) and on to the root
# The judgement is stack_compare.py's (root reached, frames inside mappings, inclusive shares,
# edges); it must pass perf's own stacks first (perf_pprof.py). Usage: stacks.sh SCENARIO PROFLOW WORKLOAD_DIR WORK_DIR
# Exits 77 (skip) without root, BPF or a working perf; 1 instead when CI=true.
set -u
scenario=$1 proflow=$2 bin=$3 work=$4
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../it/lib.sh
source "$(dirname "$0")/../it/lib.sh"
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

# Seconds of perf's recording; proflow samples from just before to just after.
WINDOW=${PF_STACK_WINDOW:-8}

require_bpf
command -v perf >/dev/null || skip "perf is missing (Debian package linux-perf)"
workload='' proflow_pid='' perf_pid=''
rm -rf "$work"
mkdir -p "$work/pprof"
clean_up_at_exit "$work" workload proflow_pid perf_pid
perf record -q -e cpu-clock -o "$work/probe.data" -- true >"$work/perf.log" 2>&1 ||
	skip "perf cannot record here: $(tail -1 "$work/perf.log")"

# text MEGABYTES: a file of base64 random bytes (compresses to about 3/4, slowly at -9).
text() {
	head -c "$(($1 * 3 * 1024 * 1024 / 4))" /dev/urandom | base64 >"$work/input.txt" ||
		fail "cannot write the input"
}

# compress COMMAND...: COMMAND reading the input file over and over from a pipe; $workload is
# COMMAND's pid (the loop ends when it does).
compress() {
	command -v "$1" >/dev/null || fail "$1 is missing"
	text 4
	while cat "$work/input.txt"; do :; done | "$@" >/dev/null &
	workload=$!
}

# start_proflow: the ebpf receiver at 999 Hz on $workload alone, into pprof files.
start_proflow() {
	cat >"$work/config.yaml" <<EOC
receivers:
  ebpf:
    frequency: 999
    report_interval: 2s
    include_kernel: false
    pids: ["$workload"]
processors:
  symbolize:
exporters:
  pprof:
    directory: $work/pprof
service:
  telemetry:
    metrics:
      address: ""
  pipelines:
    profiles:
      receivers: [ebpf]
      processors: [symbolize]
      exporters: [pprof]
EOC
	"$proflow" --config "$work/config.yaml" >"$work/proflow.log" 2>&1 &
	proflow_pid=$!
	if ! wait_for 20 grep -q "everything is ready" "$work/proflow.log"; then
		if ! kill -0 "$proflow_pid" 2>/dev/null &&
			grep -q "cannot profile\|cannot load\|cannot open perf" "$work/proflow.log"; then
			skip "$(grep -m1 "error receiver/ebpf" "$work/proflow.log")"
		fi
		fail "proflow did not start"
	fi
}

through=()
case $scenario in
stack_xz) compress xz -9 -T1 ;;
stack_gzip) compress gzip -9 ;;
stack_python)
	[ -x /usr/bin/python3 ] || fail "/usr/bin/python3 (Debian's) is missing"
	/usr/bin/python3 "$here/workloads/pyloop.py" 60 &
	workload=$!
	;;
stack_qsort_nofp)
	"$bin/phases_nofp" 60 &
	workload=$!
	;;
stack_frameless_leaf)
	"$bin/phases_fp" 60 &
	workload=$!
	;;
stack_signal_frame)
	"$bin/sigwork" 60 &
	workload=$!
	through=(--through handler_spin:busy_work)
	;;
*) fail "unknown scenario $scenario" ;;
esac

sleep 0.5 # past the start-up: both sides see the steady state
kill -0 "$workload" 2>/dev/null || fail "the workload exited at start"
start_proflow
cat "/proc/$workload/maps" >"$work/maps"
perf record -q -F 999 -e cpu-clock --call-graph dwarf,16384 -p "$workload" -o "$work/perf.data" \
	-- sleep "$WINDOW" >"$work/perf.log" 2>&1 &
perf_pid=$!
wait "$perf_pid" || fail "perf record failed"
perf_pid=''
cat "/proc/$workload/maps" >>"$work/maps" || fail "the workload exited during the window"
kill -TERM "$proflow_pid"
wait "$proflow_pid" || fail "proflow exited with $?"
proflow_pid=''
kill "$workload"
wait "$workload" 2>/dev/null
workload=''

perf script -i "$work/perf.data" -F comm,pid,tid,ip,sym,dso --no-inline >"$work/perf.txt" 2>>"$work/perf.log" ||
	fail "perf script failed"
rm -f "$work/perf.data"
# The judge must pass perf's own stacks, given as proflow would export them.
python3 "$here/perf_pprof.py" "$work/perf.txt" "$work/maps" "$work/reference" ||
	fail "cannot write perf's stacks as pprof"
if ! python3 "$here/stack_compare.py" "$work/perf.txt" "$work/reference" "$work/maps" "${through[@]}" \
	>"$work/reference.txt"; then
	cat "$work/reference.txt"
	fail "stack_compare.py does not pass perf's own stacks (above): the test cannot judge proflow"
fi
echo "stack_compare.py passes perf's own stacks given as a pprof file; now proflow's:"
python3 "$here/stack_compare.py" "$work/perf.txt" "$work/pprof" "$work/maps" "${through[@]}"
case $? in
0) echo "PASS bpf.$scenario" ;;
2) fail "perf's reference is broken (above): the test cannot judge proflow" ;;
*) fail "proflow's stacks differ from perf's (above)" ;;
esac
