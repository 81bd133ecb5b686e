#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# it.jfr: the jfr receiver against a real JVM. Recordings of tests/it/jvm/Workload.java (JFR settings
# proflow.jfc and the JDK's `profile`) read from paths give per-method ExecutionSample counts, and
# allocation, lock and GC totals, equal to what `jfr print --json` reports, and so do async-profiler's
# own event types (profiler.WallClockSample, profiler.Malloc, profiler.LiveObject) as tests/it/jvm/ProfilerEvents.java
# writes them through the JDK's JFR; a truncated file is
# counted and logged with its offset; repository mode reads a chunk while the JVM still runs.
#
# Called as: it_jfr.sh PROFLOW SOURCE_DIR BUILD_DIR
set -eu

PROFLOW=$1
SRC=$2
BUILD=$3
T=$(mktemp -d "${TMPDIR:-/tmp}/pf-it-jfr.XXXXXX")
PF_PID=
JVM_PID=
export GOCACHE="$BUILD/gocache" GOTELEMETRY=off PPROF_TMPDIR="$T" HOME="${HOME:-$T}"

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
clean_up_at_exit "$T" PF_PID JVM_PID

command -v java >/dev/null && command -v jfr >/dev/null && command -v jcmd >/dev/null ||
	fail "the JDK (java, javac, jfr, jcmd) is needed"
mkdir -p "$BUILD/classes" "$T/in" "$T/done" "$T/out_files" "$T/out_repo" "$T/repo"
javac -d "$BUILD/classes" "$SRC/jvm/Workload.java" "$SRC/jvm/ProfilerEvents.java" ||
	fail "compiling the workload"
JFC="$SRC/jvm/proflow.jfc"

# Two recordings: proflow's settings (every mapped event) and the JDK's profile settings.
java "-XX:StartFlightRecording=settings=$JFC,filename=$T/rec.jfr" -cp "$BUILD/classes" Workload 4 \
	>"$T/jvm1.log" 2>&1 || fail "recording 1"
java "-XX:StartFlightRecording=settings=profile,filename=$T/rec_profile.jfr" -cp "$BUILD/classes" \
	Workload 3 >"$T/jvm2.log" 2>&1 || fail "recording 2"
java "-XX:StartFlightRecording=settings=$JFC,filename=$T/rec_ap.jfr" -cp "$BUILD/classes" \
	ProfilerEvents 400 >"$T/jvm_ap.log" 2>&1 || fail "recording 3 (async-profiler's event types)"
head -c 30000 "$T/rec.jfr" >"$T/in/cut.tmp"

cat >"$T/config.yaml" <<YAML
receivers:
  jfr:
    paths: ["$T/in/*.jfr"]
    move_to: $T/done
    poll_interval: 100ms
  jfr/repo:
    repository: $T/repo
    poll_interval: 100ms
    service_name: live
exporters:
  pprof:
    directory: $T/out_files
  pprof/repo:
    directory: $T/out_repo
service:
  telemetry:
    logs: {level: debug}
  pipelines:
    profiles:
      receivers: [jfr]
      exporters: [pprof]
    profiles/repo:
      receivers: [jfr/repo]
      exporters: [pprof/repo]
YAML
"$PROFLOW" --config "$T/config.yaml" >"$T/proflow.log" 2>&1 &
PF_PID=$!

for f in rec rec_profile rec_ap; do
	cp "$T/$f.jfr" "$T/in/$f.tmp"
	mv "$T/in/$f.tmp" "$T/in/$f.jfr"
done
mv "$T/in/cut.tmp" "$T/in/cut.jfr"
moved() { [ -f "$T/done/rec.jfr" ] && [ -f "$T/done/rec_profile.jfr" ] && [ -f "$T/done/rec_ap.jfr" ]; }
wait_for 30 moved || fail "the recordings were not read and moved"
logged() { grep -q "skipped $T/in/cut.jfr: not a valid JFR recording: offset [0-9]*: truncated chunk" "$T/proflow.log"; }
wait_for 10 logged || fail "the truncated file was not logged with its offset"
[ -f "$T/in/cut.jfr" ] || fail "the truncated file was moved"

# Repository mode: a running JVM; starting a second recording rotates the chunk.
java "-XX:FlightRecorderOptions:repository=$T/repo" \
	"-XX:StartFlightRecording=settings=$JFC,disk=true" -cp "$BUILD/classes" Workload 8 \
	>"$T/jvm3.log" 2>&1 &
JVM_PID=$!
sleep 2
jcmd "$JVM_PID" JFR.start name=rotate "settings=$JFC" >/dev/null || fail "jcmd JFR.start"
chunk_read() { grep -q "receiver/jfr/repo: read $T/repo/" "$T/proflow.log"; }
wait_for 10 chunk_read || fail "no repository chunk read"
kill -0 "$JVM_PID" 2>/dev/null || fail "the JVM ended before a chunk was read"
line=$(grep -m1 "receiver/jfr/repo: read $T/repo/" "$T/proflow.log")
chunk=$(echo "$line" | sed -E 's/.* read ([^:]*): .*/\1/')
cp "$chunk" "$T/chunk1.jfr" 2>/dev/null || fail "the chunk read is gone already"
kill -0 "$JVM_PID" 2>/dev/null || fail "the JVM ended before the chunk was copied"
echo "repository chunk read while the JVM runs: $line"
python3 "$SRC/jfr_compare.py" truth "$T/chunk1.jfr" >"$T/chunk1.truth"
want_cpu=$(awk '$1 == "cpu.events" {print $2}' "$T/chunk1.truth")
want_alloc=$(awk '$1 == "alloc.events" {print $2}' "$T/chunk1.truth")
want_lock=$(awk '$1 == "lock.events" {print $2}' "$T/chunk1.truth")
echo "$line" | grep -q "cpu=${want_cpu:-0} .*alloc=${want_alloc:-0} lock=${want_lock:-0} " ||
	fail "chunk counts differ from jfr print: want cpu=$want_cpu alloc=$want_alloc lock=$want_lock"
wait "$JVM_PID" || fail "the JVM failed"
JVM_PID=

kill -INT "$PF_PID"
wait "$PF_PID" || fail "proflow exited with $?"
PF_PID=

# The equality check: per-method ExecutionSample counts and every total.
python3 "$SRC/jfr_compare.py" truth "$T/rec.jfr" "$T/rec_profile.jfr" "$T/rec_ap.jfr" >"$T/truth.txt"
python3 "$SRC/jfr_compare.py" pprof "$T"/out_files/*.pb.gz >"$T/proflow.txt"
diff "$T/truth.txt" "$T/proflow.txt" || fail "proflow's profiles differ from jfr print --json (< jfr, > proflow)"
grep -q "^cpu.method.Workload.spinPrimes [1-9]" "$T/truth.txt" || fail "no samples in the hot method"
for k in cpu.events wall.events alloc.events alloc.bytes lock.events lock.ns malloc.events \
	malloc.bytes live.events live.bytes; do
	grep -q "^$k [1-9]" "$T/truth.txt" || fail "$k: none in the recording"
done
grep -q '^gc\..*\.events [1-9]' "$T/truth.txt" || fail "no GC in the recording"
want_malloc=$(python3 "$SRC/jfr_compare.py" truth "$T/rec_ap.jfr" | awk '$1 == "malloc.events" {print $2}')
grep -q "receiver/jfr: read $T/in/rec_ap.jfr: .* malloc=${want_malloc:-none}[ ,]" "$T/proflow.log" ||
	fail "the async-profiler event recording's summary lacks malloc=$want_malloc"
echo "equal to jfr print --json ($(grep -c '^cpu.method' "$T/truth.txt") methods):"
sed 's/^/  /' "$T/truth.txt"
ls "$T"/out_repo/*.pb.gz >/dev/null 2>&1 || fail "nothing written from the repository"
echo PASS
