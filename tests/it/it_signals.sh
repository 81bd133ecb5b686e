#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# it.signals: SIGHUP, SIGUSR1 and SIGUSR2 sent to a running proflow whose aggregate holds 50
# profiles: it logs each, keeps running, and SIGTERM then flushes every sample to the pprof files.
# (Before, SIGHUP or SIGUSR1 ended it at once, without a log line, losing what aggregate held.)
# Usage: it_signals.sh PROFLOW GO_SOURCE_DIR BUILD_DIR PPROF_FILE
. "$(dirname "$0")/pprof_lib.sh"
INPUT=$4
FILES=50

MPORT=$(free_port "$T")
mkdir -p "$T/in" "$T/out"
cat >"$T/config.yaml" <<YAML
receivers:
  pprof:
    paths: ["$T/in/*.pb.gz"]
    poll_interval: 100ms
    watch: true
processors:
  aggregate:
    interval: 1h
exporters:
  pprof:
    directory: $T/out
service:
  telemetry:
    metrics: {address: "127.0.0.1:$MPORT"}
  pipelines:
    profiles:
      receivers: [pprof]
      processors: [aggregate]
      exporters: [pprof]
YAML
start_proflow "$T/config.yaml"

accepted() { metric "$MPORT" otelcol_receiver_accepted_profile_samples; }
accepted_is() { [ "$(accepted)" = "$1" ]; }
accepted_some() { [ "$(accepted)" -gt 0 ]; }
sent() { metric "$MPORT" otelcol_exporter_sent_profile_samples; }
alive() { kill -0 "$PF_PID" 2>/dev/null; }
logged() { grep -q "$1" "$T/proflow.log"; }
drop() { cp "$INPUT" "$T/in/.tmp" && mv "$T/in/.tmp" "$T/in/$1.pb.gz"; }

wait_for 10 curl -sf "http://127.0.0.1:$MPORT/metrics" || fail "proflow did not start"
drop 1
wait_for 10 accepted_some || fail "the first profile was not accepted"
per_file=$(accepted)
for i in $(seq 2 $FILES); do drop "$i"; done
wait_for 20 accepted_is $((per_file * FILES)) || fail "accepted $(accepted), want $((per_file * FILES))"
[ "$(sent)" = 0 ] || fail "aggregate already flushed"

for sig in HUP USR1 USR2; do
	kill -"$sig" "$PF_PID" 2>/dev/null || fail "proflow is gone before SIG$sig"
	wait_for 5 logged "SIG$sig received" || fail "no log line for SIG$sig"
	alive || fail "SIG$sig ended proflow"
done
logged 'warn proflow: SIGHUP received; reloading configuration is not supported, ignoring' ||
	fail "SIGHUP log line: $(grep SIGHUP "$T/proflow.log")"
# SIGUSR1 logs the counters: the receiver's accepted samples so far.
logged "receiver/pprof: accepted $((per_file * FILES)), " || fail "SIGUSR1 did not log the counters"
sleep 0.5
alive || fail "proflow died after the signals"
[ "$(sent)" = 0 ] || fail "a signal flushed aggregate"

stop_proflow
logged 'received SIGTERM, shutting down' || fail "no SIGTERM log line"
set -- "$T"/out/*.pb.gz
[ -f "$1" ] || fail "no pprof file written at shutdown"
want=$(($(pprof_total "$INPUT") * FILES))
got=$(pprof_total "$@")
echo "cpu ns: $FILES x input = $want, written $got in $# file(s)"
[ -n "$got" ] && [ "$got" = "$want" ] || fail "written total $got != $want"
echo PASS
