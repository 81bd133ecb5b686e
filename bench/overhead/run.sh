#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bench/overhead: what whole-host profiling costs a CPU-bound workload on every CPU.
#
# Configurations, each at 99 Hz and 999 Hz, the median of RUNS runs (interleaved):
#   none      no profiler
#   floor     the same cpu-clock perf events with an empty BPF program (floor.bpf.c):
#             the sampling interrupt alone, which no profiler can go under
#   proflow   the main job as users run it: examples/host.yaml itself (ebpf ->
#             symbolize -> aggregate -> flamegraph + pprof, report and aggregation
#             interval 10 s), PROFLOW_FREQUENCY=Hz, files written into the bench's
#             temp dir, health and metrics on free loopback ports. The workload starts
#             right after an interval's flame graph was written, so a run of at least
#             20 s holds two whole intervals.
#   perf      perf record -a -g
#   bpftrace  profile:hz:F { @[kstack, ustack, comm] = count(); }
# Printed per row: the workload's wall time, its CPU time (user+sys: what the sampling
# interrupts and BPF programs cost it, robust when other tasks share the CPUs) and its
# slowdown in CPU time against none; the cost per sample above the floor in µs of CPU,
# (cpu - cpu_floor) / samples with samples = Hz * cpu; the profiler's own CPU
# (user+sys from /proc, as % of the machine); its BPF program's run time per sample
# (kernel.bpf_stats_enabled); its peak RSS (VmHWM); its whole cost above none (the
# workload's extra CPU plus the profiler's own CPU during the run) and that cost as a
# ratio to bpftrace's and perf's in the same run.
# For proflow also: CPU to start (until it logs "everything is ready"), its own CPU over
# two whole 10 s intervals as % of the machine, and user-space CPU per sample over them
# (samples = Hz * CPUs * 20 s: the workload keeps every CPU busy).
#
# Usage (root): bench/overhead/run.sh [PROFLOW]
#   env: RUNS=5 SECONDS_PER_RUN=22 (workload CPU seconds per CPU: two intervals of
#   host.yaml, and slowdowns of 1 % need runs this long on a noisy machine)
#   WORK=<iterations> FREQS="99 999" CONFIGS="none floor proflow perf bpftrace"
#   BASELINE=<another proflow binary>: adds a row "baseline" running it the same way
#   (before/after a change, interleaved in one run)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
proflow=${1:-${PROFLOW:-$root/build/release/main/proflow}}
runs=${RUNS:-5}
freqs=${FREQS:-99 999}
configs=${CONFIGS:-none floor proflow perf bpftrace}
[ -z "${BASELINE:-}" ] || configs="$configs baseline"
ncpu=$(nproc)
interval=10 # host.yaml's report_interval and aggregate interval, in seconds
work=$(mktemp -d /tmp/pf-overhead.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait; rm -rf "$work"' EXIT

[ "$(id -u)" = 0 ] || { echo "run as root (BPF, perf events, bpf_stats)"; exit 1; }
[ -x "$proflow" ] || { echo "no proflow binary at $proflow (give its path)"; exit 1; }
[ -z "${BASELINE:-}" ] || [ -x "$BASELINE" ] || { echo "no proflow binary at $BASELINE"; exit 1; }
for t in clang bpftool gcc perf bpftrace python3; do
	command -v $t >/dev/null || { echo "needs $t"; exit 1; }
done

# ---- build the workload and the floor loader ----
gcc -O2 -fno-omit-frame-pointer -pthread "$here/workload.c" -o "$work/workload"
bpftool btf dump file /sys/kernel/btf/vmlinux format c >"$work/vmlinux.h"
clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -I"$work" \
	-c "$here/floor.bpf.c" -o "$work/floor.bpf.o"
bpftool gen skeleton "$work/floor.bpf.o" name floor >"$work/floor.skel.h"
gcc -O2 -Wall -Wextra -Werror -I"$work" "$here/floor.c" -o "$work/floor" \
	$(pkg-config --cflags --libs libbpf)

# Calibrate: about SECONDS_PER_RUN s of work on every CPU without a profiler.
seconds=${SECONDS_PER_RUN:-22}
if [ -z "${WORK:-}" ]; then
	t=$("$work/workload" 2000000 "$ncpu" | cut -d' ' -f2)
	WORK=$(awk -v t="$t" -v n="$ncpu" -v s="$seconds" 'BEGIN { printf "%d", 2000000 * s * n / t }')
fi
echo "workload: $WORK iterations on each of $ncpu CPUs (about $seconds s of CPU each); $runs runs per row"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# A loopback TCP port free now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# ready: 1 once proflow logged that it is ready, else 0.
ready() {
	local n
	n=$(grep -c "everything is ready" "$work/proflow.log" 2>/dev/null) || true
	echo "${n:-0}"
}
# graphs: how many interval flame graphs proflow wrote (one file each).
graphs() {
	find "$work/out" -maxdepth 1 -name 'flamegraph.*.svg' 2>/dev/null | wc -l
}
# wait_for COMMAND N SECONDS: until COMMAND prints N or more; 1 on timeout.
wait_for() {
	local deadline=$((SECONDS + $3))
	while [ "$($1)" -lt "$2" ]; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.02
	done
}

# BPF run-time statistics, held on through a file descriptor for the whole run.
"$work/floor" stats >"$work/stats.out" 2>&1 &
until grep -q ready "$work/stats.out" 2>/dev/null; do sleep 0.05; done

# utime+stime of a process and its threads, in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
# utime alone.
user_ticks() {
	awk '{ print $14 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
# The perf_event BPF programs loaded now, one id a line.
perf_progs() {
	bpftool prog show 2>/dev/null | awk '$2 == "perf_event" { sub(":", "", $1); print $1 }' | sort
}
# Run time and run count summed over the programs the profiler under test loaded
# (others may run on a shared machine).
bpf_stats() {
	local t=0 c=0 id
	for id in $prof_progs; do
		read -r tt cc < <(bpftool prog show id "$id" 2>/dev/null | awk '{
			for (i = 1; i < NF; i++) { if ($i == "run_time_ns") t = $(i + 1); if ($i == "run_cnt") c = $(i + 1) } }
			END { printf "%d %d\n", t, c }')
		t=$((t + ${tt:-0})) c=$((c + ${cc:-0}))
	done
	echo "$t $c"
}

# start_profiler CONFIG FREQ: sets prof_pid (0 for none) once it samples.
start_profiler() {
	local cfg=$1 f=$2 before
	prof_pid=0
	prof_progs=
	before=$(perf_progs)
	case $cfg in
	none) return ;;
	floor)
		"$work/floor" "$f" >"$work/floor.out" 2>&1 &
		prof_pid=$!
		until grep -q ready "$work/floor.out" 2>/dev/null; do sleep 0.05; done
		;;
	proflow | baseline)
		local bin=$proflow
		[ "$cfg" = proflow ] || bin=$BASELINE
		# The log goes first: the shell truncates it in the child, maybe
		# after the wait below has read the last run's.
		rm -rf "$work/out" "$work/proflow.log"
		PROFLOW_FREQUENCY=$f PROFLOW_OUT=$work/out PROFLOW_HEALTH=127.0.0.1:$(free_port) \
			PROFLOW_METRICS=127.0.0.1:$(free_port) \
			"$bin" --config "$root/examples/host.yaml" >"$work/proflow.log" 2>&1 &
		prof_pid=$!
		wait_for ready 1 60 ||
			{ echo "proflow did not start"; cat "$work/proflow.log"; exit 1; }
		start_ticks=$(cpu_ticks $prof_pid)
		# The first interval (reading every process, loading symbols) is behind;
		# the workload starts at an interval's end, when its flame graph appears.
		wait_for graphs 1 $((3 * interval)) ||
			{ echo "proflow wrote no flame graph"; cat "$work/proflow.log"; exit 1; }
		;;
	perf)
		perf record -a -g -F "$f" -o "$work/perf.data" -q >/dev/null 2>&1 &
		prof_pid=$!
		sleep 1.5
		;;
	bpftrace)
		bpftrace -e "profile:hz:$f { @[kstack, ustack, comm] = count(); }" >/dev/null 2>&1 &
		prof_pid=$!
		for _ in $(seq 100); do
			[ -n "$(comm -13 <(echo "$before") <(perf_progs))" ] && break
			sleep 0.1
		done
		sleep 0.5
		;;
	esac
	prof_progs=$(comm -13 <(echo "$before") <(perf_progs))
	kill -0 $prof_pid 2>/dev/null || { echo "$cfg did not start"; cat "$work"/*.log 2>/dev/null; exit 1; }
}

stop_profiler() {
	[ "$prof_pid" = 0 ] && return
	kill -INT $prof_pid 2>/dev/null || true
	# bpftrace once slept on through a SIGINT (8 minutes, printing nothing).
	for _ in $(seq 300); do
		kill -0 $prof_pid 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL $prof_pid 2>/dev/null || true
	wait $prof_pid 2>/dev/null || true
	rm -f "$work/perf.data"
}

results=$work/results
: >"$results"
hz=$(getconf CLK_TCK)
for run in $(seq "$runs"); do
	for f in $freqs; do
		for cfg in $configs; do
			start_profiler "$cfg" "$f"
			read -r bt0 bc0 < <(bpf_stats)
			c0=0 i0=0 u0=0 i2=0 u2=0 start=0
			[ "$prof_pid" != 0 ] && c0=$(cpu_ticks $prof_pid)
			if [ "$cfg" = proflow ] || [ "$cfg" = baseline ]; then
				# Two whole intervals: CPU at the flame graph that opened
				# this one and at the second after it.
				i0=$c0 u0=$(user_ticks $prof_pid) start=$start_ticks
				n0=$(graphs)
				(
					wait_for graphs $((n0 + 2)) $((6 * interval + 6 * seconds)) &&
						echo "$(cpu_ticks $prof_pid) $(user_ticks $prof_pid)" >"$work/intervals" ||
						echo "$i0 $u0" >"$work/intervals" # no second interval: 0
				) &
				watcher=$!
			fi
			read -r wall cpu < <("$work/workload" "$WORK" "$ncpu")
			c1=0 rss=0
			if [ "$prof_pid" != 0 ]; then
				c1=$(cpu_ticks $prof_pid)
				rss=$(awk '/VmHWM/ { print $2 }' /proc/$prof_pid/status)
			fi
			read -r bt1 bc1 < <(bpf_stats)
			if [ "$cfg" = proflow ] || [ "$cfg" = baseline ]; then
				wait $watcher
				read -r i2 u2 <"$work/intervals"
				rss=$(awk '/VmHWM/ { print $2 }' /proc/$prof_pid/status)
			fi
			stop_profiler
			echo "$cfg $f $wall $(((c1 - c0))) $((bt1 - bt0)) $((bc1 - bc0)) $rss $cpu" \
				"$start $((i2 - i0)) $((u2 - u0))" >>"$results"
			echo "run $run: $cfg at $f Hz: wall ${wall}s, cpu ${cpu}s" >&2
		done
	done
done

# ---- the table: medians per (config, frequency) ----
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { awk -v c="$1" -v f="$2" -v k="$3" '$1 == c && $2 == f { print $k }' "$results" | median; }

# cost CONFIG F: the CPU seconds a run costs above none (the workload's extra CPU
# plus the profiler's own during the run), from the medians.
cost() {
	awk -v u="$(col "$1" "$2" 8)" -v b="$(col none "$2" 8)" -v t="$(col "$1" "$2" 4)" -v hz="$hz" \
		'BEGIN { if (u == "") print ""; else printf "%.4f\n", u - b + t / hz }'
}

printf "\n%-9s %5s %8s %8s %9s %16s %10s %14s %8s %9s %7s %7s\n" config Hz "wall s" "cpu s" slowdown \
	"µs/sample>floor" "own CPU%" "BPF µs/sample" "RSS MiB" "cost s" "/bpftr" "/perf"
for f in $freqs; do
	base=$(col none "$f" 8)
	floor=$(col floor "$f" 8)
	cost_bt=$(cost bpftrace "$f")
	cost_perf=$(cost perf "$f")
	for cfg in $configs; do
		wall=$(col "$cfg" "$f" 3)
		cpu=$(col "$cfg" "$f" 8)
		ticks=$(col "$cfg" "$f" 4)
		bt=$(col "$cfg" "$f" 5)
		bc=$(col "$cfg" "$f" 6)
		rss=$(col "$cfg" "$f" 7)
		awk -v c="$cfg" -v f="$f" -v w="$wall" -v u="$cpu" -v b="$base" -v fl="$floor" \
			-v t="$ticks" -v hz="$hz" -v n="$ncpu" -v bt="$bt" -v bc="$bc" -v rss="$rss" \
			-v cost="$(cost "$cfg" "$f")" -v cbt="$cost_bt" -v cperf="$cost_perf" 'BEGIN {
			slow = 100 * (u - b) / b
			above = (c == "none" || c == "floor") ? "-" : sprintf("%.2f", 1e6 * (u - fl) / (f * u))
			own = (c == "none") ? "-" : sprintf("%.3f", 100 * (t / hz) / (w * n))
			bpf = (bc > 0) ? sprintf("%.2f", bt / bc / 1000) : "-"
			mib = (c == "none") ? "-" : sprintf("%.1f", rss / 1024)
			rb = (c == "none" || cbt == "" || cbt <= 0) ? "-" : sprintf("%.2f", cost / cbt)
			rp = (c == "none" || cperf == "" || cperf <= 0) ? "-" : sprintf("%.2f", cost / cperf)
			printf "%-9s %5d %8.3f %8.3f %+8.2f%% %16s %10s %14s %8s %9.3f %7s %7s\n", c, f, w, u, slow,
				above, own, bpf, mib, (c == "none") ? 0 : cost, rb, rp
		}'
	done
done
for p in proflow baseline; do
	[[ " $configs " == *" $p "* ]] || continue
	printf "\n%s (examples/host.yaml) over two whole %d s intervals:\n" "$p" "$interval"
	printf "%5s %12s %14s %20s %13s %18s\n" Hz "start CPU s" "own CPU s/int" "own CPU % of machine" \
		"user µs/sample" "cost / bpftrace's"
	for f in $freqs; do
		awk -v f="$f" -v s="$(col $p "$f" 9)" -v it="$(col $p "$f" 10)" \
			-v us="$(col $p "$f" 11)" -v hz="$hz" -v n="$ncpu" -v iv="$interval" \
			-v cost="$(cost $p "$f")" -v cbt="$(cost bpftrace "$f")" 'BEGIN {
			rb = (cbt == "" || cbt <= 0) ? "-" : sprintf("%.2f", cost / cbt)
			printf "%5d %12.2f %14.3f %19.3f%% %13.1f %18s\n", f, s / hz, it / hz / 2,
				100 * (it / hz) / (2 * iv * n), 1e6 * (us / hz) / (f * n * 2 * iv), rb
		}'
	done
done
echo
echo "Targets (issue 11): proflow's cost above none <= half of bpftrace's at 99 and 999 Hz; own"
echo "CPU <= 0.1 % of the machine at 99 Hz; peak RSS <= 32 MiB; BPF <= 1.5 µs per sample."
echo "Raw rows: config Hz wall profiler_ticks bpf_ns bpf_runs rss_kib workload_cpu"
echo "[proflow: start_ticks interval_ticks interval_user_ticks]"
cat "$results"
