#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# it.tenants: a multi-tenant gateway. An agent (two pprof receivers, each with its own otlp
# exporter whose headers_setter sets X-Scope-OrgID: tenant-a or tenant-b) feeds a gateway whose otlp
# receiver has include_metadata, whose aggregate processor keeps metadata_keys
# [x-scope-orgid] apart, and whose exporter sets X-Scope-OrgID from the batch's client metadata
# with the headers_setter extension. A Python backend (tenant_sink.py) records every request's
# X-Scope-OrgID and sample values: each tenant's total must equal what its files held. A second
# exporter, otlphttp/fixed, sends everything with a fixed X-Scope-OrgID from another
# headers_setter, which also deletes a configured header.
# Called as: it_tenants.sh PROFLOW SOURCE_DIR BUILD_DIR PPROF_FILE EXPORTER
# (EXPORTER: pyroscope or otlphttp, the gateway's exporter type)
set -eu

PROFLOW=$1
SRC=$2
BUILD=$3
SEED=$4
EXPORTER=$5
T=$(mktemp -d "${TMPDIR:-/tmp}/pf-it-tenants.XXXXXX")
GW_PID=
AG_PID=
SINK_PID=
mkdir -p "$BUILD"

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
FAILURE_FILES="$T/sink/requests.jsonl"
clean_up_at_exit "$T" AG_PID GW_PID SINK_PID

SINK_PORT=$(free_port "$T")
GRPC_PORT=$(free_port "$T")
GW_METRICS=$(free_port "$T")
AG_METRICS=$(free_port "$T")
cd "$T"
mkdir -p in-a in-b sink

python3 "$SRC/tenant_sink.py" "$SINK_PORT" "$T/sink" >"$T/sink.log" 2>&1 &
SINK_PID=$!

case "$EXPORTER" in
pyroscope) ENDPOINT="http://127.0.0.1:$SINK_PORT" ;;
otlphttp) ENDPOINT="http://127.0.0.1:$SINK_PORT" ;;
*) fail "unknown exporter $EXPORTER" ;;
esac

cat >gateway.yaml <<YAML
extensions:
  headers_setter:
    headers:
      - key: X-Scope-OrgID
        from_context: x-scope-orgid
  headers_setter/fixed:
    headers:
      - {key: X-Scope-OrgID, value: all-tenants}
      - {key: X-Unwanted, action: delete}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$GRPC_PORT
        include_metadata: true
processors:
  aggregate:
    interval: 500ms
    metadata_keys: [x-scope-orgid]
exporters:
  $EXPORTER:
    endpoint: $ENDPOINT
    auth: {authenticator: headers_setter}
    retry_on_failure: {initial_interval: 200ms, max_interval: 1s}
  otlphttp/fixed:
    endpoint: http://127.0.0.1:$SINK_PORT
    headers: {X-Unwanted: "yes"}
    auth: {authenticator: headers_setter/fixed}
    retry_on_failure: {initial_interval: 200ms, max_interval: 1s}
service:
  extensions: [headers_setter, headers_setter/fixed]
  telemetry:
    logs: {level: debug}
    metrics: {address: "127.0.0.1:$GW_METRICS"}
  pipelines:
    profiles:
      receivers: [otlp]
      processors: [aggregate]
      exporters: [$EXPORTER, otlphttp/fixed]
YAML

# The agent's otlp exporters get their tenant from headers_setter too (fixed values, upserted
# over a placeholder header): the gRPC side of the authenticator.
cat >agent.yaml <<YAML
extensions:
  headers_setter/a:
    headers: [{key: X-Scope-OrgID, value: tenant-a}]
  headers_setter/b:
    headers: [{key: x-scope-orgid, value: tenant-b, action: update}]
receivers:
  pprof/a:
    paths: ["$T/in-a/*.pb.gz"]
    watch: true
    poll_interval: 100ms
  pprof/b:
    paths: ["$T/in-b/*.pb.gz"]
    watch: true
    poll_interval: 100ms
exporters:
  otlp/a:
    endpoint: 127.0.0.1:$GRPC_PORT
    tls: {insecure: true}
    headers: {X-Scope-OrgID: placeholder}
    auth: {authenticator: headers_setter/a}
  otlp/b:
    endpoint: 127.0.0.1:$GRPC_PORT
    tls: {insecure: true}
    headers: {X-Scope-OrgID: placeholder}
    auth: {authenticator: headers_setter/b}
service:
  extensions: [headers_setter/a, headers_setter/b]
  telemetry:
    metrics: {address: "127.0.0.1:$AG_METRICS"}
  pipelines:
    profiles/a:
      receivers: [pprof/a]
      exporters: [otlp/a]
    profiles/b:
      receivers: [pprof/b]
      exporters: [otlp/b]
YAML

"$PROFLOW" validate --config gateway.yaml >/dev/null || fail "gateway config invalid"
"$PROFLOW" validate --config agent.yaml >/dev/null || fail "agent config invalid"
"$PROFLOW" --config gateway.yaml >"$T/gateway.log" 2>&1 &
GW_PID=$!
wait_for 10 curl -sf --max-time 2 "http://127.0.0.1:$GW_METRICS/metrics" ||
	fail "the gateway did not start"
"$PROFLOW" --config agent.yaml >"$T/agent.log" 2>&1 &
AG_PID=$!
wait_for 10 curl -sf --max-time 2 "http://127.0.0.1:$AG_METRICS/metrics" ||
	fail "the agent did not start"

# tenant-a gets the seed once, tenant-b twice.
drop() {
	cp "$SEED" "$T/$1/.$2.tmp"
	mv "$T/$1/.$2.tmp" "$T/$1/$2.pb.gz"
}
drop in-a f1
drop in-b f1
drop in-b f2
ONE=$(python3 "$SRC/tenant_sink.py" --sum "$SEED")
[ "$ONE" -gt 0 ] || fail "the seed profile holds no samples"

# totals: "tenant-a <sum>" and "tenant-b <sum>", plus any other tenant (or none) seen.
totals() {
	python3 - "$T/sink/requests.jsonl" <<'PY'
import collections, json, os, sys
t = collections.Counter()
if os.path.exists(sys.argv[1]):
    for line in open(sys.argv[1]):
        r = json.loads(line)
        t[str(r["tenant"])] += r["sum"]
for k in sorted(t):
    print(k, t[k])
PY
}
want="all-tenants $((3 * ONE))
tenant-a $ONE
tenant-b $((2 * ONE))"
complete() { [ "$(totals)" = "$want" ]; }
wait_for 30 complete || {
	echo "backend totals:"
	totals
	fail "expected per tenant: $(echo "$want" | tr '\n' ' ')"
}
# Nothing more arrives (no batch counted twice, none without a tenant).
sleep 1.5
[ "$(totals)" = "$want" ] || fail "more arrived later: $(totals | tr '\n' ' ')"
requests=$(wc -l <"$T/sink/requests.jsonl")

kill -TERM "$AG_PID"
wait "$AG_PID" || fail "the agent exited with $? after SIGTERM"
AG_PID=
kill -TERM "$GW_PID"
wait "$GW_PID" || fail "the gateway exited with $? after SIGTERM"
GW_PID=
echo "ok: $EXPORTER forwarded tenant-a $ONE and tenant-b $((2 * ONE)) in sample values and all-tenants $((3 * ONE)) through otlphttp/fixed, $requests requests"
