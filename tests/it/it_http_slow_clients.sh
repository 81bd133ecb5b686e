#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# it.http_slow_clients: 1,000 connections from one address trickle header lines at the otlp
# receiver's HTTP port (slowloris). The ones over max_connections_per_client get 503 with
# Retry-After at once; while the rest are held, a valid OTLP/HTTP request from another address
# is answered 200 within 1 s, and /metrics and health_check answer; read_header_timeout closes
# the held ones although every line would reset an idle timeout. (slow_clients.py does the client side.)
# Called as: it_http_slow_clients.sh PROFLOW
set -eu

PROFLOW=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/pf-it-slow.XXXXXX")
PID=

. "$HERE/lib.sh"
clean_up_at_exit "$T" PID

N=1000
PER_CLIENT=100
DEADLINE_S=4
# 1,000 sockets on the client side.
ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((N + 100)) ] || fail "ulimit -n $(ulimit -n): too low for $N connections"

RX=$(free_port "$T")
METRICS=$(free_port "$T")
HEALTH=$(free_port "$T")
cat >"$T/config.yaml" <<YAML
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:$RX
        read_header_timeout: ${DEADLINE_S}s
        max_connections_per_client: $PER_CLIENT
exporters:
  debug: {}
extensions:
  health_check:
    endpoint: 127.0.0.1:$HEALTH
service:
  extensions: [health_check]
  telemetry:
    metrics: {address: "127.0.0.1:$METRICS"}
  pipelines:
    profiles:
      receivers: [otlp]
      exporters: [debug]
YAML

"$PROFLOW" --config "$T/config.yaml" >"$T/proflow.log" 2>&1 &
PID=$!
wait_for 10 curl -sf "http://127.0.0.1:$HEALTH/" || fail "proflow did not become healthy"

python3 "$HERE/slow_clients.py" "$RX" "$METRICS" "$HEALTH" "$N" "$PER_CLIENT" "$DEADLINE_S" ||
	fail "slow clients"
kill -0 "$PID" 2>/dev/null || fail "proflow died"
echo "PASS"
