#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/jfr: proflow's JFR decoder (bench_jfr_parse: the receiver's file reader and decoder into a
# batch of profiles) against the JDK's `jfr print --json` and `jfr summary` on the same >= 100 MB
# recording of bench/jfr/JfrBench.java. Median wall time and peak RSS of each; ratios.
# Targets: >= 20x faster than jfr print --json; peak RSS <= 1/4 of the file's size.
#
# Usage: [JSON_RUNS=N] bench/jfr/run.sh [BUILD_DIR] [RUNS]   (default build-jfr, 5 runs; jfr print
# --json runs JSON_RUNS times, default min(RUNS, 3), because one run takes minutes). The recording is kept in
# BUILD_DIR/bench/jfr/work/big.jfr and reused.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${1:-$ROOT/build-jfr}
RUNS=${2:-5}
WORK=$BUILD/bench/jfr/work
MIN_SIZE=$((100 * 1024 * 1024))

ninja -C "$BUILD" -j2 bench_jfr_parse >/dev/null
PARSE=$BUILD/bench/jfr/bench_jfr_parse
mkdir -p "$WORK/classes"

size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }

# The recording: JfrBench with high-rate settings and small TLABs (one allocation event every few
# allocations). About 5 MB/s on a busy 2-core machine; the JVM rotates 12 MB chunks.
if [ "$(size_of "$WORK/big.jfr")" -lt "$MIN_SIZE" ]; then
	javac -d "$WORK/classes" "$HERE/JfrBench.java"
	seconds=25
	for _ in 1 2 3; do
		rm -f "$WORK/big.jfr"
		java -XX:TLABSize=2k -XX:-ResizeTLAB \
			"-XX:StartFlightRecording=settings=$HERE/bench.jfc,filename=$WORK/big.jfr" \
			-cp "$WORK/classes" JfrBench "$seconds" >"$WORK/record.log" 2>&1
		got=$(size_of "$WORK/big.jfr")
		[ "$got" -lt "$MIN_SIZE" ] || break
		seconds=$((seconds * MIN_SIZE / (got + 1) * 12 / 10 + 10))
	done
fi
FILE=$WORK/big.jfr
SIZE=$(size_of "$FILE")
[ "$SIZE" -ge "$MIN_SIZE" ] || { echo "recording is only $SIZE bytes" >&2; exit 1; }

# measure NAME RUNS CMD...: median seconds and peak RSS (KiB) of RUNS runs, output to /dev/null.
measure() {
	local name=$1 runs=$2
	shift 2
	python3 - "$name" "$runs" "$@" <<'PY'
import os, statistics, subprocess, sys, time
name, runs, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
times, rss, cpu = [], [], []
for _ in range(runs):
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    times.append(time.monotonic() - t0)
    rss.append(ru.ru_maxrss)
    cpu.append(ru.ru_utime + ru.ru_stime)
    if status != 0:
        sys.exit("%s failed: %s" % (name, cmd))
print("%s %.3f %d %d %.3f %s" % (name, statistics.median(times), statistics.median(rss), runs,
                                 statistics.median(cpu), ",".join("%.2f" % t for t in times)))
PY
}

echo "recording: $FILE, $((SIZE / 1048576)) MiB, $(jfr summary "$FILE" | awk '/Chunks:/ {print $2}') chunks"
"$PARSE" "$FILE" | sed 's/^/  proflow: /'
{
	measure proflow "$RUNS" "$PARSE" "$FILE"
	measure jfr_summary "$RUNS" jfr summary "$FILE"
	pr=${JSON_RUNS:-$((RUNS < 3 ? RUNS : 3))}
	measure jfr_print_json "$pr" jfr print --json "$FILE"
} >"$WORK/results.txt"

python3 - "$WORK/results.txt" "$SIZE" <<'PY'
import sys
rows = {l.split()[0]: l.split() for l in open(sys.argv[1])}
size = int(sys.argv[2])
print("%-16s %10s %10s %12s %5s  %s" % ("tool", "median s", "CPU s", "peak RSS MiB", "runs",
                                        "wall times"))
for name in ("proflow", "jfr_summary", "jfr_print_json"):
    _, t, rss, n, cpu, times = rows[name]
    print("%-16s %10.3f %10.3f %12.1f %5s  %s" % (name, float(t), float(cpu), int(rss) / 1024, n,
                                               times))
p = rows["proflow"]
speed_json = float(rows["jfr_print_json"][1]) / float(p[1])
speed_sum = float(rows["jfr_summary"][1]) / float(p[1])
print("CPU time (user+sys; robust when other tasks share the CPUs): %.1fx less than jfr print "
      "--json, %.1fx less than jfr summary" %
      (float(rows["jfr_print_json"][4]) / float(p[4]), float(rows["jfr_summary"][4]) / float(p[4])))
rss_ratio = int(p[2]) * 1024 / size
print("proflow vs jfr print --json: %.1fx faster, %.1fx less peak RSS" %
      (speed_json, int(rows["jfr_print_json"][2]) / int(p[2])))
print("proflow vs jfr summary:      %.1fx faster, %.1fx less peak RSS" %
      (speed_sum, int(rows["jfr_summary"][2]) / int(p[2])))
print("proflow peak RSS / file size: %.3f (target <= 0.25)" % rss_ratio)
ok = speed_json >= 20 and rss_ratio <= 0.25
print("targets (>= 20x faster than jfr print --json, RSS <= 1/4 of the file):",
      "met" if ok else "NOT met")
sys.exit(0 if ok else 1)
PY
