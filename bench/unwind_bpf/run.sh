#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bench/unwind_bpf: what unwinding by CFI in the BPF program costs, at stack depth 30.
#
# Fixed work (depth.c: one thread per CPU, 30 frames deep, spinning in the leaf), built
# without frame pointers (every frame unwound by its CFI row) and with them, run under:
#   none         no profiler
#   proflow      the main job, examples/host.yaml (ebpf -> symbolize -> aggregate ->
#                flamegraph + pprof), at PROFLOW_FREQUENCY = F
#   perf-dwarf   perf record -a -e cpu-clock -F F --call-graph dwarf (copies 8 KiB of
#                stack per sample; perf script unwinds them afterwards)
# at 99 and 999 Hz, RUNS runs each, interleaved; medians. Printed per row: the workload's
# CPU time (user+sys), the profiler's own CPU during the work, their sum above none (the
# whole cost), and for proflow its BPF program's time per sample (kernel.bpf_stats_enabled)
# and the depth its stacks reached; for perf the CPU of `perf script` unwinding the record
# afterwards, and the ratio of proflow's whole cost to perf's (record only).
#
# Usage (root): bench/unwind_bpf/run.sh [PROFLOW]
#   env: RUNS=5 SECONDS_PER_RUN=8 FREQS="99 999" DEPTH=30 VARIANTS="nofp fp"
#        CONFIGS="none proflow perf-dwarf" (none is the baseline of the cost column)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
proflow=${1:-${PROFLOW:-$root/build/release/main/proflow}}
runs=${RUNS:-5}
freqs=${FREQS:-99 999}
depth=${DEPTH:-30}
variants=${VARIANTS:-nofp fp}
configs=${CONFIGS:-none proflow perf-dwarf}
ncpu=$(nproc)
work=$(mktemp -d /tmp/pf-unwind-bpf.XXXXXX)
stats_was=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	kill $(jobs -p) 2>/dev/null || true
	sysctl -qw kernel.bpf_stats_enabled="$stats_was"
	rm -rf "$work"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || { echo "run as root (BPF, perf events, bpf_stats)"; exit 1; }
[ -x "$proflow" ] || { echo "no proflow binary at $proflow (give its path)"; exit 1; }
for t in gcc perf bpftool; do
	command -v $t >/dev/null || { echo "needs $t"; exit 1; }
done
sysctl -qw kernel.bpf_stats_enabled=1

gcc -O2 -fomit-frame-pointer -pthread "$here/depth.c" -o "$work/depth_nofp"
gcc -O2 -fno-omit-frame-pointer -pthread "$here/depth.c" -o "$work/depth_fp"

# Calibrate: about SECONDS_PER_RUN s of CPU per thread without a profiler.
seconds=${SECONDS_PER_RUN:-8}
iters=20000
declare -A rounds
for v in nofp fp; do
	t=$( { /usr/bin/env time -f "%U %S" "$work/depth_$v" "$depth" $iters 2000 "$ncpu" >/dev/null; } 2>&1 | awk '{ print $1 + $2 }')
	rounds[$v]=$(awk -v t="$t" -v n="$ncpu" -v s="$seconds" 'BEGIN { printf "%d", 2000 * s * n / t }')
	echo "workload $v: depth $depth, $iters iterations in the leaf, ${rounds[$v]} rounds on each of $ncpu CPUs (about $seconds s of CPU each); $runs runs per row"
done
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
tick=$(getconf CLK_TCK)

# The id of the pf_sample program of proflow pid $1 (the newest one loaded).
sample_prog() {
	bpftool prog show 2>/dev/null | awk '$2 == "perf_event" && $4 == "pf_sample" { sub(":", "", $1); id = $1 } END { print id }'
}
prog_stats() {
	bpftool prog show id "$1" 2>/dev/null | awk '{
		for (i = 1; i < NF; i++) { if ($i == "run_time_ns") t = $(i + 1); if ($i == "run_cnt") c = $(i + 1) } }
		END { printf "%d %d\n", t, c }'
}

# run CONFIG FREQ VARIANT: appends "cpu_s prof_cpu_s bpf_ns_per_sample extra" to $work/res.CONFIG.FREQ.VARIANT
run() {
	local cfg=$1 f=$2 v=$3 pid=0 id= t0=0 c0=0 t1=0 c1=0 p0=0 p1=0 cpu extra=0
	case $cfg in
	proflow)
		rm -rf "$work/out"
		PROFLOW_OUT=$work/out PROFLOW_FREQUENCY=$f PROFLOW_HEALTH=127.0.0.1:0 \
			PROFLOW_METRICS=127.0.0.1:0 "$proflow" --config "$root/examples/host.yaml" \
			>"$work/proflow.log" 2>&1 &
		pid=$!
		until grep -qs "everything is ready" "$work/proflow.log"; do sleep 0.05; done
		sleep 1
		id=$(sample_prog)
		read -r t0 c0 < <(prog_stats "$id")
		;;
	perf-dwarf)
		perf record -a -q -e cpu-clock -F "$f" --call-graph dwarf -o "$work/perf.data" \
			>/dev/null 2>&1 &
		pid=$!
		sleep 1.5
		;;
	esac
	[ "$pid" = 0 ] || p0=$(cpu_ticks "$pid")
	cpu=$( { /usr/bin/env time -f "%U %S" "$work/depth_$v" "$depth" $iters "${rounds[$v]}" "$ncpu" >/dev/null; } 2>&1 | awk '{ print $1 + $2 }')
	[ "$pid" = 0 ] || p1=$(cpu_ticks "$pid")
	case $cfg in
	proflow)
		read -r t1 c1 < <(prog_stats "$id")
		kill -TERM $pid
		wait $pid || true
		;;
	perf-dwarf)
		kill -INT $pid
		wait $pid || true
		extra=$( { /usr/bin/env time -f "%U %S" -o "$work/script.time" perf script -i "$work/perf.data" >/dev/null 2>&1; } ; awk '{ print $1 + $2 }' "$work/script.time")
		rm -f "$work/perf.data"
		;;
	esac
	echo "$cpu $(awk -v a="$p0" -v b="$p1" -v t="$tick" 'BEGIN { print (b - a) / t }') \
$(awk -v dt=$((t1 - t0)) -v dc=$((c1 - c0)) 'BEGIN { print dc ? dt / dc : 0 }') $extra" \
		>>"$work/res.$cfg.$f.$v"
}

# Before timing: proflow's stacks of the workload are whole (they reach the thread
# entry, no [truncated] mark) and as deep as the work: the cost is that of real walks.
check_stacks() {
	local v=$1
	mkdir -p "$work/check"
	cat >"$work/check.yaml" <<EOC
receivers:
  ebpf:
    frequency: 999
    report_interval: 1s
    comm: ["^depth_$v\$"]
processors:
  symbolize:
exporters:
  flamegraph:
    directory: $work/check
    format: folded
    sample_type: samples
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
	"$proflow" --config "$work/check.yaml" >"$work/check.log" 2>&1 &
	local pid=$!
	until grep -qs "everything is ready" "$work/check.log"; do sleep 0.05; done
	"$work/depth_$v" "$depth" $iters $((rounds[$v] / 4)) "$ncpu" >/dev/null
	sleep 1.5
	kill -TERM $pid
	wait $pid || true
	awk -v v="$v" '/^depth_/ {
			c = $NF; s = $0; sub(/ [0-9]+$/, "", s); n = split(s, a, ";") - 1
			total += c
			if (!index(s, "[truncated") && (a[2] == "__clone3" || a[2] == "clone3" || a[2] == "_start")) whole += c
			if (index(s, ";leaf")) { leaf += c; if (n > deepest) deepest = n }
		}
		END { printf "stacks of depth_%s: %d samples, %.1f %% whole (to the thread entry), %d frames deep in the leaf\n",
			v, total, total ? 100 * whole / total : 0, deepest }' "$work"/check/cumulative.folded
	rm -rf "$work/check"
}
for v in $variants; do
	check_stacks $v
done

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { awk -v c="$1" '{ print $c }' "$2" | median; }

for f in $freqs; do
	for r in $(seq "$runs"); do
		for v in $variants; do
			for cfg in $configs; do
				run $cfg "$f" $v
			done
		done
		echo "  $f Hz: run $r of $runs done" >&2
	done
done

printf '\n%-5s %-5s %-11s %9s %9s %10s %11s %s\n' Hz code config "cpu s" "prof s" "cost s" "bpf ns/smp" "perf script s"
for f in $freqs; do
	for v in $variants; do
		base=$( [ -f "$work/res.none.$f.$v" ] && col 1 "$work/res.none.$f.$v" || echo 0)
		for cfg in $configs; do
			res=$work/res.$cfg.$f.$v
			cpu=$(col 1 "$res") prof=$(col 2 "$res") bpf=$(col 3 "$res") extra=$(col 4 "$res")
			cost=$(awk -v c="$cpu" -v p="$prof" -v b="$base" 'BEGIN { printf "%.3f", c + p - b }')
			printf '%-5s %-5s %-11s %9.3f %9.3f %10s %11.0f %s\n' "$f" $v $cfg "$cpu" "$prof" "$cost" "$bpf" "$extra"
			echo "$cost" >"$work/cost.$cfg.$f.$v"
		done
		[ -f "$work/cost.proflow.$f.$v" ] && [ -f "$work/cost.perf-dwarf.$f.$v" ] || continue
		awk -v p="$(cat "$work/cost.proflow.$f.$v")" -v q="$(cat "$work/cost.perf-dwarf.$f.$v")" -v f="$f" -v v="$v" \
			'BEGIN { r = (q > 0) ? sprintf("%.2f", p / q) : "n/a"
			printf "      %s Hz, %s: proflow cost / perf --call-graph dwarf cost (record only) = %s\n", f, v, r }'
	done
done
