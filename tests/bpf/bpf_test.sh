#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bpf.<scenario>: the real proflow (ebpf -> symbolize -> flamegraph folded) against small workloads.
# Usage: bpf_test.sh SCENARIO PROFLOW WORKLOAD_DIR WORK_DIR
# Exits 77 (skip) without root or BPF, 1 instead when CI=true.
set -u
scenario=$1 proflow=$2 bin=$3 work=$4

skip() {
	echo "SKIP bpf.$scenario: $*"
	if [ "${CI:-}" = true ]; then
		echo "CI=true: a skipped bpf test is a failure"
		exit 1
	fi
	exit 77
}
fail() {
	echo "FAIL bpf.$scenario: $*"
	[ -f "$work/proflow.log" ] && tail -20 "$work/proflow.log"
	exit 1
}

[ "$(id -u)" = 0 ] || skip "needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE, CAP_SYSLOG)"
[ -r /sys/kernel/btf/vmlinux ] || skip "the kernel has no BTF (/sys/kernel/btf/vmlinux)"
rm -rf "$work"
mkdir -p "$work/out"

# Starts proflow keeping processes named $1 (a regex); waits until it samples.
start_proflow() {
	cat >"$work/config.yaml" <<EOC
receivers:
  ebpf:
    frequency: ${FREQ:-499}
    report_interval: ${INTERVAL:-1s}
    unwind_tables: ${UNWIND_TABLES:-32MiB}
    comm: ["$1"]
processors:
  symbolize:
exporters:
  flamegraph:
    directory: $work/out
    format: folded
    sample_type: samples
    group_by: process
service:
  telemetry:
    metrics:
      address: 127.0.0.1:0
  pipelines:
    profiles:
      receivers: [ebpf]
      processors: [symbolize]
      exporters: [flamegraph]
EOC
	"$proflow" --config "$work/config.yaml" >"$work/proflow.log" 2>&1 &
	proflow_pid=$!
	for _ in $(seq 100); do
		grep -q "everything is ready" "$work/proflow.log" && return 0
		if ! kill -0 $proflow_pid 2>/dev/null; then
			if grep -q "cannot profile\|cannot load\|cannot open perf" "$work/proflow.log"; then
				skip "$(grep -m1 "error receiver/ebpf" "$work/proflow.log")"
			fi
			fail "proflow exited at start"
		fi
		sleep 0.1
	done
	fail "proflow not ready after 10 s"
}

# Stops proflow (one more drain on the way out) and waits for it.
stop_proflow() {
	sleep 1.5 # the samples of the last second reach a drain
	kill -TERM $proflow_pid
	wait $proflow_pid || fail "proflow exited with $?"
	[ -s "$work/out/cumulative.folded" ] || fail "no folded output"
}

folded=$work/out/cumulative.folded

# Writes to $own the folded lines of the processes whose pids are in
# $work/pids: proflow samples the whole host, where other checkouts' tests
# may run workloads of the same name meanwhile.
own=$work/own.folded
own_folded() {
	awk -v own="$own" 'NR == FNR { ours[$1] = 1; next }
		{ split($0, a, /[()]/); if (a[2] in ours) print > own; else foreign += $NF }
		END { if (foreign) printf "left out: %d samples of processes this test did not start\n", foreign }' \
		"$work/pids" "$folded"
	touch "$own"
}

case $scenario in
cost_split)
	start_proflow '^cost3$'
	"$bin/cost3" 6 || fail "workload failed"
	stop_proflow
	# Share of each function among the process's samples, and stacks that do not reach main.
	awk -v out="$work/shares" '
		/^cost3 \(/ {
			n = $NF; total += n
			for (f = 60; f >= 10; f = (f == 60 ? 30 : f == 30 ? 10 : 0))
				if (index($0, ";pf_cost" f)) { share[f] += n; inner += n; if (!index($0, ";main;")) nomain += n }
		}
		END {
			printf "total %d in-functions %d not-reaching-main %d\n", total, inner, nomain > out
			for (f in share) printf "pf_cost%d %.2f\n", f, 100 * share[f] / total >> out
		}' "$folded"
	cat "$work/shares"
	read -r _ total _ inner _ nomain <"$work/shares"
	[ "${total:-0}" -ge 1000 ] || fail "only ${total:-0} samples of cost3"
	[ "$nomain" = 0 ] || fail "$nomain samples in pf_cost* do not reach main"
	for f in 60 30 10; do
		got=$(awk -v f="pf_cost$f" '$1 == f { print $2 }' "$work/shares")
		[ -n "$got" ] || fail "pf_cost$f not named"
		awk -v g="$got" -v w="$f" 'BEGIN { d = g - w; exit !(d <= 3 && d >= -3) }' ||
			fail "pf_cost$f has $got % of the samples, expected $f ± 3"
	done
	;;
syscall_kernel_frames)
	start_proflow '^syscalls$'
	"$bin/syscalls" 5 || fail "workload failed"
	stop_proflow
	# Samples in pf_sys_writer, and those of them with the kernel's write path beneath.
	awk -v out="$work/kernel" '
		/^syscalls \(/ && index($0, ";main;pf_sys_writer") {
			n = $NF; inner += n
			rest = substr($0, index($0, ";main;pf_sys_writer") + 19)
			if (rest ~ /;(ksys_write|vfs_write|__x64_sys_write|do_syscall_64)(;| )/)
				kernel += n
		}
		END { printf "%d %d\n", inner, kernel > out }' "$folded"
	read -r inner kernel <"$work/kernel"
	echo "samples in pf_sys_writer: $inner, with kernel write frames beneath: $kernel"
	[ "${inner:-0}" -ge 300 ] || fail "only ${inner:-0} samples in pf_sys_writer"
	# Most of a write(2) loop's time is in the kernel.
	[ $((kernel * 2)) -ge "$inner" ] || fail "kernel frames beneath pf_sys_writer in $kernel of $inner"
	;;
running_before_start)
	# Running before proflow starts and gone before its first drain (there
	# is no exec event for it): read at start, it is named all the same.
	"$bin/cost3" 4 &
	workload=$!
	sleep 0.5
	INTERVAL=60s start_proflow '^cost3$'
	wait $workload || fail "workload failed"
	stop_proflow
	awk -v out="$work/named" '/^cost3 \(/ {
			n = $NF; total += n
			if (index($0, ";main;pf_cost")) named += n
		}
		END { printf "%d %d\n", total, named > out }' "$folded"
	read -r total named <"$work/named"
	echo "samples of cost3: $total, in pf_cost* under main: $named"
	[ "${total:-0}" -ge 300 ] || fail "only ${total:-0} samples of cost3"
	[ $((named * 10)) -ge $((total * 9)) ] || fail "only $named of $total samples named"
	;;
short_lived_burst)
	FREQ=999 start_proflow '^shortlived$'
	for _ in $(seq 50); do
		"$bin/shortlived" 200 &
		echo $! >>"$work/pids"
		sleep 0.05
	done
	wait $(jobs -p | grep -vx "$proflow_pid") 2>/dev/null
	sleep 0.5
	stop_proflow
	own_folded
	# The root frame is "shortlived (PID)".
	named=$(awk '/^shortlived \([0-9]+\);/ && index($0, ";main;pf_short_spin") {
			split($0, a, /[()]/); if (!(a[2] in pid)) { pid[a[2]] = 1; n++ } } END { print n + 0 }' "$own")
	seen=$(awk '/^shortlived \([0-9]+\);/ {
			split($0, a, /[()]/); if (!(a[2] in pid)) { pid[a[2]] = 1; n++ } } END { print n + 0 }' "$own")
	echo "processes seen: $seen, with pf_short_spin named under main: $named"
	[ "$named" -ge 48 ] || fail "only $named of 50 short-lived processes named"
	;;
exec_burst)
	# 200 processes of ~8 ms of CPU each, two at a time: most are gone before
	# a read of /proc 30 ms after their exec, yet their frames must resolve.
	FREQ=999 start_proflow '^shortlived$'
	for _ in 1 2; do
		for _ in $(seq 100); do
			"$bin/shortlived" 8 &
			echo $! >>"$work/pids"
			wait $!
		done &
	done
	wait $(jobs -p | grep -vx "$proflow_pid") 2>/dev/null
	sleep 0.5
	stop_proflow
	own_folded
	# Samples of the burst; those past start-up (in main); those naming
	# pf_short_spin; those with a user frame below the outermost one left as a
	# bare address or as file+offset (the outermost frame of a walk through
	# code without frame pointers, such as ld.so's start-up before the
	# process's unwind tables are loaded, is often garbage; such stacks are
	# marked as cut short). Start-up and exit (ld.so's cpuid probes, slow in
	# a VM, relocation, exec and exit in the kernel) take 10-20 % of such a
	# short life, more on a loaded machine: they are named, but are not the
	# program's own work. Past start-up, pf_short_spin is named in nearly
	# every sample; were the executable's frames not named, main would not
	# be there either.
	awk -v out="$work/burst" '
		/^shortlived \([0-9]+\);/ {
			n = $NF; total += n
			split($0, a, /[()]/); pid[a[2]] = 1
			if (index($0, ";pf_short_spin")) named += n
			if (index($0, ";main;") || $0 ~ /;main [0-9]+$/) in_main += n
			# the process, the mark of a stack cut short, the outermost frame
			s = $0; sub(/^[^;]*;(\[truncated[^;]*\];)?[^;]*/, "", s)
			if (s ~ /;(0x[0-9a-f]+|[^;]*\+0x[0-9a-f]+)(;| )/) unknown += n
		}
		END { for (p in pid) procs++; printf "%d %d %d %d %d\n", procs, total, named, unknown, in_main > out }' "$own"
	read -r procs total named unknown in_main <"$work/burst"
	echo "processes: $procs, samples: $total, past start-up (in main): $in_main" \
		"($((in_main * 100 / (total > 0 ? total : 1))) %), naming pf_short_spin: $named" \
		"($((named * 100 / (in_main > 0 ? in_main : 1))) % of those), with unresolved user frames:" \
		"$unknown ($((unknown * 100 / (total > 0 ? total : 1))) %)"
	[ "$total" -ge 1000 ] || fail "only $total samples of the burst"
	[ $((unknown * 100)) -le $((total * 2)) ] || fail "unresolved user frames in $unknown of $total samples"
	[ $((in_main * 100)) -ge $((total * 60)) ] || fail "only $in_main of $total samples in main"
	[ $((named * 100)) -ge $((in_main * 95)) ] ||
		fail "pf_short_spin named in $named of $in_main samples in main"
	[ $((named * 100)) -ge $(((named + unknown) * 90)) ] ||
		fail "pf_short_spin named in $named samples, unresolved frames in $unknown"
	;;
mount_namespace)
	command -v unshare >/dev/null || skip "unshare (util-linux) is missing"
	mkdir -p "$work/nsdir"
	start_proflow '^nsbin$'
	unshare -m --propagation private sh -c \
		"mount -t tmpfs none '$work/nsdir' && cp '$bin/shortlived' '$work/nsdir/nsbin' && exec '$work/nsdir/nsbin' 3000" ||
		fail "the namespaced workload failed"
	[ ! -e "$work/nsdir/nsbin" ] || fail "the binary is visible outside its mount namespace"
	stop_proflow
	named=$(awk '/^nsbin \(/ && index($0, ";main;pf_short_spin") { n += $NF } END { print n + 0 }' "$folded")
	total=$(awk '/^nsbin \(/ { n += $NF } END { print n + 0 }' "$folded")
	echo "samples of nsbin: $total, in pf_short_spin under main: $named"
	[ "$total" -ge 300 ] || fail "only $total samples of nsbin"
	[ $((named * 100)) -ge $((total * 95)) ] || fail "pf_short_spin named in $named of $total"
	;;
samples_before_exec)
	# One process spins ~300 ms of CPU as execafter, then execs shortlived,
	# which spins until the process has used 600 ms. The samples before the
	# exec are execafter's: kept apart from shortlived's (whose maps cannot
	# name their frames), not counted as shortlived's.
	start_proflow '^(execafter|shortlived)$'
	"$bin/execafter" 300 "$bin/shortlived" 600 &
	echo $! >"$work/pids"
	wait $! || fail "workload failed"
	stop_proflow
	own_folded
	awk -v out="$work/images" '
		/^shortlived \([0-9]+\);/ { n = $NF; total += n; if (index($0, ";main;pf_short_spin")) named += n }
		/^execafter \([0-9]+\);/ { before += $NF }
		END { printf "%d %d %d\n", total, named, before > out }' "$own"
	read -r total named before <"$work/images"
	echo "samples of shortlived: $total, in pf_short_spin under main: $named;" \
		"of the same pid before its exec (execafter): $before"
	[ "$total" -ge 100 ] || fail "only $total samples of shortlived"
	[ $((named * 100)) -ge $((total * 90)) ] || fail "pf_short_spin named in $named of $total samples"
	[ "$before" -ge 100 ] || fail "only $before samples of the process before its exec"
	;;
data_word_not_a_frame)
	# pf_data_caller's frame record holds the address of a data word as its
	# return address while pf_data_spin runs: the walk ends at
	# pf_data_caller, the data word is no caller (nor what lies beyond it),
	# and the stack is marked as cut short there.
	start_proflow '^notcode$'
	"$bin/notcode" 500 || fail "workload failed"
	stop_proflow
	awk -v out="$work/walk" '/^notcode \([0-9]+\);/ && index($0, ";pf_data_spin") {
			n = $NF; total += n
			if ($0 ~ /^notcode \([0-9]+\);\[truncated: [^;]*\];pf_data_caller;pf_data_spin(;| )/) ended += n
		}
		END { printf "%d %d\n", total, ended > out }' "$folded"
	read -r total ended <"$work/walk"
	echo "samples in pf_data_spin: $total, with pf_data_caller as the outermost frame: $ended"
	grep ';pf_data_spin' "$folded" | grep -v ';pf_data_caller;pf_data_spin' | head -3
	[ "$total" -ge 100 ] || fail "only $total samples in pf_data_spin"
	[ "$ended" = "$total" ] || fail "$((total - ended)) of $total stacks go on past the data word"
	;;
unwind_budget)
	# 128 KiB of unwind tables holds 14,336 rows, less than libc's alone:
	# tables that do not fit leave their code to frame pointers. proflow
	# keeps running, says so, and a stack it could not finish is marked,
	# never passed off as complete.
	UNWIND_TABLES=128KiB start_proflow '^cost3$'
	"$bin/cost3" 3 || fail "workload failed"
	stop_proflow
	summary=$(grep -m1 "user stacks:" "$work/proflow.log") || fail "no unwind summary"
	echo "$summary"
	room=$(echo "$summary" | sed -n 's/.* \([0-9]*\) evicted, \([0-9]*\) without room.*/\1 \2/p')
	[ -n "$room" ] || fail "the summary names no evictions or tables without room"
	read -r evicted without <<<"$room"
	[ $((evicted + without)) -gt 0 ] || fail "128 KiB held every table: the budget is not applied"
	kib=$(echo "$summary" | sed -n 's/.*rows (\([0-9]*\) KiB of \([0-9]*\) KiB.*/\1/p')
	[ "${kib:-99999}" -le 128 ] || fail "$kib KiB of rows in a 128 KiB budget"
	# (A sample of the exit path after the process lost its memory map
	# has kernel frames only: no user stack to mark.)
	awk -v out="$work/budget" '/^cost3 \(/ {
			n = $NF; total += n
			if ($0 ~ /^cost3 \([0-9]+\);(entry_|asm_|ret_from_fork)/) next
			if (!index($0, ";main;") && !index($0, "[truncated")) unmarked += n
		}
		END { printf "%d %d\n", total, unmarked > out }' "$folded"
	read -r total unmarked <"$work/budget"
	echo "samples of cost3: $total, neither reaching main nor marked: $unmarked"
	[ "$total" -ge 500 ] || fail "only $total samples of cost3"
	[ "$unmarked" = 0 ] || fail "$unmarked samples stop short of main without a mark"
	;;
*)
	fail "unknown scenario"
	;;
esac
echo "PASS bpf.$scenario"
