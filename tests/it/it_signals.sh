#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# it.signals: SIGHUP, SIGUSR1 and SIGUSR2 sent to a running proflow whose aggregate holds 50
# profiles: it logs each, keeps running, and SIGTERM then flushes every sample to the pprof files.
# (Before, SIGHUP or SIGUSR1 ended it at once, without a log line, losing what aggregate held.)
# Usage: it_signals.sh PROFLOW WORKDIR PPROF_FILE
set -eu
PROFLOW=$1
WORK=$2
INPUT=$3
FILES=50
PF_PID=
rm -rf "$WORK" && mkdir -p "$WORK/in" "$WORK/out"
export HOME="${HOME:-$WORK}" GOTELEMETRY=off PPROF_TMPDIR="$WORK"
. "$(dirname "$0")/lib.sh"
clean_up_at_exit "$WORK" PF_PID

# metric NAME: the sum of every series of NAME (empty when the scrape fails).
metric() {
	curl -sf --max-time 5 "http://127.0.0.1:$MPORT/metrics" |
		awk -v n="$1" 'index($1, n "{") == 1 || $1 == n { s += $NF } END { printf "%.0f\n", s }'
}
accepted_is() { [ "$(metric otelcol_receiver_accepted_profile_samples)" = "$1" ]; }
accepted_some() { [ "$(metric otelcol_receiver_accepted_profile_samples)" -gt 0 ]; }
# total_ns FILE...: total cpu nanoseconds as go tool pprof reports it.
total_ns() {
	go tool pprof -top -unit=ns "$@" 2>/dev/null | sed -nE 's/.* of ([0-9]+)ns total.*/\1/p' | head -n1
}
alive() { kill -0 "$PF_PID" 2>/dev/null; }
logged() { grep -q "$1" "$WORK/proflow.log"; }

MPORT=$(free_port "$WORK")
cat >"$WORK/config.yaml" <<YAML
receivers:
  pprof:
    paths: ["$WORK/in/*.pb.gz"]
    poll_interval: 100ms
    watch: true
processors:
  aggregate:
    interval: 1h
exporters:
  pprof:
    directory: $WORK/out
service:
  shutdown_timeout: 10s
  telemetry:
    metrics: {address: "127.0.0.1:$MPORT"}
  pipelines:
    profiles:
      receivers: [pprof]
      processors: [aggregate]
      exporters: [pprof]
YAML
"$PROFLOW" --config "$WORK/config.yaml" >"$WORK/proflow.log" 2>&1 &
PF_PID=$!

drop() { cp "$INPUT" "$WORK/in/.tmp" && mv "$WORK/in/.tmp" "$WORK/in/$1.pb.gz"; }
wait_for 10 curl -sf "http://127.0.0.1:$MPORT/metrics" || fail "proflow did not start"
drop 1
wait_for 10 accepted_some || fail "the first profile was not accepted"
per_file=$(metric otelcol_receiver_accepted_profile_samples)
for i in $(seq 2 $FILES); do drop "$i"; done
wait_for 20 accepted_is $((per_file * FILES)) ||
	fail "accepted $(metric otelcol_receiver_accepted_profile_samples), want $((per_file * FILES))"
[ "$(metric otelcol_exporter_sent_profile_samples)" = 0 ] || fail "aggregate already flushed"

for sig in HUP USR1 USR2; do
	kill -"$sig" "$PF_PID" 2>/dev/null || fail "proflow is gone before SIG$sig"
	wait_for 5 logged "SIG$sig received" || fail "no log line for SIG$sig"
	alive || fail "SIG$sig ended proflow"
done
logged 'warn proflow: SIGHUP received; reloading configuration is not supported, ignoring' ||
	fail "SIGHUP log line: $(grep SIGHUP "$WORK/proflow.log")"
# SIGUSR1 logs the counters: the receiver's accepted samples so far.
logged "receiver/pprof: accepted $((per_file * FILES)), " || fail "SIGUSR1 did not log the counters"
sleep 0.5
alive || fail "proflow died after the signals"
[ "$(metric otelcol_exporter_sent_profile_samples)" = 0 ] || fail "a signal flushed aggregate"

t0=$(date +%s%N)
kill -TERM "$PF_PID"
rc=0
wait "$PF_PID" || rc=$?
PF_PID=
[ "$rc" -eq 0 ] || fail "exit $rc after SIGTERM"
logged 'received SIGTERM, shutting down' || fail "no SIGTERM log line"
echo "SIGTERM to exit: $((($(date +%s%N) - t0) / 1000000)) ms"

set -- "$WORK"/out/*.pb.gz
[ -f "$1" ] || fail "no pprof file written at shutdown"
want=$(($(total_ns "$INPUT") * FILES))
got=$(total_ns "$@")
echo "cpu ns: $FILES x input = $want, written $got in $# file(s)"
[ -n "$got" ] && [ "$got" = "$want" ] || fail "written total $got != $want"
echo PASS
