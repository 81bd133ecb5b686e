#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# it.otlp_grpc_go: proflow and grpc-go speak OTLP profiles to each other, gzip'd
# and not. proflow compresses its gRPC messages itself (libdeflate) and
# inflates received ones itself, so a grpc-go peer (bench/gateway/baseline,
# built from Debian's grpc-go and google.golang.org/protobuf) checks both
# directions against another implementation:
# - a grpc-go client sends requests, with gzip and without, to proflow's otlp
#   receiver: every one is accepted, and proflow's otlp exporters send all of
#   their samples on;
# - to a grpc-go server, through an otlp exporter with compression gzip and
#   one with none: the server unmarshals every request and counts exactly the
#   samples and sample values the client sent, once per exporter.
# Called as: it_otlp_grpc_go.sh PROFLOW SOURCE_DIR BUILD_DIR
set -eu

PROFLOW=$1
SRC=$2
BUILD=$3
T=$(mktemp -d "${TMPDIR:-/tmp}/pf-it-grpc-go.XXXXXX")
PF_PID=
GO_PID=
mkdir -p "$BUILD"

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
clean_up_at_exit "$T" PF_PID GO_PID

PEER=$("$SRC/../../bench/gateway/baseline/build.sh" "$BUILD/go-peer") ||
	fail "building the grpc-go peer (scripts/setup.sh installs its Debian packages)"
GO_PORT=$(free_port "$T")
RX_PORT=$(free_port "$T")
METRICS=$(free_port "$T")
REQUESTS=25 # per compression, 3 samples (5 + 7 + 11 = 23) each

"$PEER" "127.0.0.1:$GO_PORT" >"$T/go_server.log" 2>&1 &
GO_PID=$!
cat >"$T/proflow.yaml" <<YAML
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:$RX_PORT}
exporters:
  otlp/gzip:
    endpoint: 127.0.0.1:$GO_PORT
    tls: {insecure: true}
    compression: gzip
  otlp/none:
    endpoint: 127.0.0.1:$GO_PORT
    tls: {insecure: true}
    compression: none
service:
  telemetry: {metrics: {address: 127.0.0.1:$METRICS}, logs: {level: info}}
  pipelines:
    profiles: {receivers: [otlp], exporters: [otlp/gzip, otlp/none]}
YAML
"$PROFLOW" --config "$T/proflow.yaml" >"$T/proflow.log" 2>&1 &
PF_PID=$!

listening() { grep -q "listening on" "$T/go_server.log" && curl -sf "http://127.0.0.1:$METRICS/metrics" >/dev/null; }
wait_for 20 listening || fail "proflow or the grpc-go server did not start"

for compression in gzip none; do
	"$PEER" send "127.0.0.1:$RX_PORT" "$REQUESTS" "$compression" >>"$T/go_client.log" 2>&1 ||
		fail "the grpc-go client ($compression): $(tail -1 "$T/go_client.log")"
done
SAMPLES=$((2 * REQUESTS * 3))
EVENTS=$((2 * REQUESTS * 23))

sent() {
	curl -sf "http://127.0.0.1:$METRICS/metrics" |
		awk -v want="$SAMPLES" '/^otelcol_exporter_sent_profile_samples/ { n++; if ($NF != want) bad = 1 }
			END { exit !(n == 2 && !bad) }'
}
wait_for 30 sent || fail "proflow's exporters did not send $SAMPLES samples each: $(curl -sf "http://127.0.0.1:$METRICS/metrics" | grep -E '^otelcol_(receiver_accepted|exporter_sent)')"

kill -TERM "$PF_PID"
wait "$PF_PID" || fail "proflow exited with $?"
PF_PID=
kill -TERM "$GO_PID"
wait "$GO_PID" || fail "the grpc-go server exited with $?"
GO_PID=
got=$(sed -n 's/^otlp_go_peer: requests=[0-9]* samples=\([0-9]*\) events=\([0-9]*\)$/\1 \2/p' "$T/go_server.log")
[ "$got" = "$((2 * SAMPLES)) $((2 * EVENTS))" ] ||
	fail "the grpc-go server counted '$got' (samples events), want '$((2 * SAMPLES)) $((2 * EVENTS))'"
grep -q "receiver/otlp: accepted $SAMPLES, refused 0, failed 0 samples" "$T/proflow.log" ||
	fail "proflow's receiver did not accept exactly $SAMPLES samples: $(grep 'receiver/otlp: accepted' "$T/proflow.log")"
echo "ok: grpc-go -> proflow (gzip, none): $SAMPLES samples accepted; proflow -> grpc-go (gzip, none): $((2 * SAMPLES)) samples, $((2 * EVENTS)) in values"
