#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# it.otlp_gateway: two real proflow processes on loopback, an agent (pprof files -> otlp,
# otlphttp and otlphttp/tls exporters) and a gateway (otlp receivers -> pprof files): gRPC and
# HTTP with mTLS, HTTP with TLS only, each with a bearer token; a wrong token, a missing client
# certificate and plaintext are refused; the gateway is stopped for 30 s while the agent keeps
# sending and every sample arrives after its restart; an agent killed with -9 while its file
# queue holds batches re-sends them after its restart. Counted at both ends over /metrics.
# Called as: it_otlp_gateway.sh PROFLOW BUILD_DIR PPROF_FILE [OUTAGE_SECONDS]
set -eu

PROFLOW=$1
BUILD=$2
SEED=$3
OUTAGE=${4:-30}
T=$(mktemp -d "${TMPDIR:-/tmp}/pf-it-otlp.XXXXXX")
GW_PID=
AG_PID=
mkdir -p "$BUILD"

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
clean_up_at_exit "$T" GW_PID AG_PID

# ---- certificates: a CA, a server certificate for 127.0.0.1/localhost, a client certificate ----
cd "$T"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
	-subj "/CN=proflow test CA" >/dev/null 2>&1 || fail "openssl: CA"
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
	-subj "/CN=localhost" >/dev/null 2>&1 || fail "openssl: server key"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
	-days 2 -extfile server.ext >/dev/null 2>&1 || fail "openssl: server cert"
openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr \
	-subj "/CN=agent" >/dev/null 2>&1 || fail "openssl: client key"
printf 'extendedKeyUsage=clientAuth\n' >client.ext
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem \
	-days 2 -extfile client.ext >/dev/null 2>&1 || fail "openssl: client cert"

GRPC_PORT=$(free_port "$T")
HTTP_PORT=$(free_port "$T")
HTTPS_PORT=$(free_port "$T")
GW_METRICS=$(free_port "$T")
AG_METRICS=$(free_port "$T")
TOKEN=s3cret-token

# ---- the gateway ----
cat >gateway.yaml <<YAML
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$GRPC_PORT
        tls: {cert_file: $T/server.pem, key_file: $T/server.key, client_ca_file: $T/ca.pem}
        auth: {authenticator: bearertokenauth}
      http:
        endpoint: 127.0.0.1:$HTTP_PORT
        tls: {cert_file: $T/server.pem, key_file: $T/server.key, client_ca_file: $T/ca.pem}
        auth: {authenticator: bearertokenauth}
  otlp/tls:
    protocols:
      http:
        endpoint: 127.0.0.1:$HTTPS_PORT
        tls: {cert_file: $T/server.pem, key_file: $T/server.key}
        auth: {authenticator: bearertokenauth}
exporters:
  pprof:
    directory: $T/gw-out
extensions:
  bearertokenauth:
    token: $TOKEN
service:
  extensions: [bearertokenauth]
  telemetry:
    logs: {level: debug}
    metrics: {address: "127.0.0.1:$GW_METRICS"}
  pipelines:
    profiles:
      receivers: [otlp, otlp/tls]
      exporters: [pprof]
YAML

start_gateway() {
	"$PROFLOW" --config "$T/gateway.yaml" >>"$T/gateway.log" 2>&1 &
	GW_PID=$!
	wait_for 10 curl -sf --max-time 2 "http://127.0.0.1:$GW_METRICS/metrics" ||
		fail "the gateway did not start"
}

stop_gateway() {
	kill -TERM "$GW_PID"
	wait "$GW_PID" || fail "the gateway exited with $? after SIGTERM"
	GW_PID=
}

# agent_config FILE TOKEN QUEUE_YAML: pprof files in $T/in -> otlp (gRPC, mTLS), otlphttp
# (mTLS) and otlphttp/tls (TLS, the server checked against the CA by the name localhost).
agent_config() {
	cat >"$1" <<YAML
receivers:
  pprof:
    paths: ["$T/in/*.pb.gz"]
    watch: true
    delete_after_read: true
    poll_interval: 200ms
exporters:
  otlp:
    endpoint: 127.0.0.1:$GRPC_PORT
    tls: {ca_file: $T/ca.pem, cert_file: $T/client.pem, key_file: $T/client.key, server_name_override: localhost}
    auth: {authenticator: bearertokenauth}
    retry_on_failure: {initial_interval: 200ms, max_interval: 2s, max_elapsed_time: 10m}
    sending_queue: $3
  otlphttp:
    endpoint: https://127.0.0.1:$HTTP_PORT
    tls: {ca_file: $T/ca.pem, cert_file: $T/client.pem, key_file: $T/client.key}
    headers: {Authorization: Bearer $2}
    retry_on_failure: {initial_interval: 200ms, max_interval: 2s, max_elapsed_time: 10m}
    sending_queue: $3
  otlphttp/tls:
    endpoint: https://localhost:$HTTPS_PORT
    tls: {ca_file: $T/ca.pem}
    headers: {Authorization: Bearer $2}
    retry_on_failure: {initial_interval: 200ms, max_interval: 2s, max_elapsed_time: 10m}
    sending_queue: $3
extensions:
  bearertokenauth:
    token: $2
service:
  extensions: [bearertokenauth]
  telemetry:
    logs: {level: debug}
    metrics: {address: "127.0.0.1:$AG_METRICS"}
  pipelines:
    profiles:
      receivers: [pprof]
      exporters: [$EXPORTERS]
YAML
}

start_agent() {
	"$PROFLOW" --config "$1" >>"$T/agent.log" 2>&1 &
	AG_PID=$!
	wait_for 10 curl -sf --max-time 2 "http://127.0.0.1:$AG_METRICS/metrics" ||
		fail "the agent did not start"
}

stop_agent() {
	kill -TERM "$AG_PID"
	wait "$AG_PID" || fail "the agent exited with $? after SIGTERM"
	AG_PID=
}

EXPORTERS="otlp, otlphttp, otlphttp/tls"
NEXP=3
N=0
drop_file() {
	N=$((N + 1))
	cp "$SEED" "$T/in/.f$N.tmp"
	mv "$T/in/.f$N.tmp" "$T/in/f$N.pb.gz"
}

read_samples() { metric "$AG_METRICS" otelcol_receiver_accepted_profile_samples; }
sent() { metric "$AG_METRICS" otelcol_exporter_sent_profile_samples "exporter=\"$1\""; }
failed() { metric "$AG_METRICS" otelcol_exporter_send_failed_profile_samples "exporter=\"$1\""; }
gw_accepted() { metric "$GW_METRICS" otelcol_receiver_accepted_profile_samples; }
equal() { [ "$1" = "$2" ]; }
all_sent() {
	local r
	r=$(read_samples)
	[ "$r" -gt 0 ] && [ "$(sent otlp)" = "$r" ] && [ "$(sent otlphttp)" = "$r" ] &&
		[ "$(sent otlphttp/tls)" = "$r" ]
}
status() { echo "read $(read_samples), otlp $(sent otlp) ($(failed otlp) failed), otlphttp $(sent otlphttp) ($(failed otlphttp) failed), otlphttp/tls $(sent otlphttp/tls) ($(failed otlphttp/tls) failed)"; }

mkdir -p "$T/in" "$T/gw-out"

# ---- 1. a bearer token over gRPC and HTTP with mTLS, and HTTP with TLS: every sample arrives 3 times ----
start_gateway
agent_config "$T/agent.yaml" "$TOKEN" "{queue_size: 100}"
start_agent "$T/agent.yaml"
drop_file
drop_file
wait_for 20 all_sent || fail "not every sample sent: $(status)"
R1=$(read_samples)
[ "$R1" -gt 0 ] || fail "the agent read nothing"
[ "$(gw_accepted)" = $((NEXP * R1)) ] || fail "gateway accepted $(gw_accepted), want $NEXP x $R1"
echo "ok: token, gRPC with mTLS, HTTP with mTLS, HTTP with TLS: $R1 samples each way"

# ---- 1b. what the HTTPS receivers refuse, asked with curl ----
GW=$(gw_accepted)
URL=/v1development/profiles
# post URL CURL_ARGS...: the HTTP status of a POST of the seed (000: no answer)
post() {
	local url=$1
	shift
	curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H 'Content-Type: application/x-protobuf' \
		--data-binary @/dev/null "$@" "$url" || true
}
code=$(post "http://127.0.0.1:$HTTP_PORT$URL" -H "Authorization: Bearer $TOKEN")
[ "$code" != 200 ] || fail "the mTLS port answered plaintext HTTP"
code=$(post "https://127.0.0.1:$HTTP_PORT$URL" --cacert ca.pem -H "Authorization: Bearer $TOKEN")
case $code in 401 | 000) ;; *) fail "no client certificate: HTTP $code, want 401 or a failed handshake" ;; esac
code=$(post "https://127.0.0.1:$HTTP_PORT$URL" --cacert ca.pem --cert client.pem --key client.key \
	-H "Authorization: Bearer wrong-token")
[ "$code" = 401 ] || fail "mTLS with a wrong token: HTTP $code, want 401"
code=$(post "https://localhost:$HTTPS_PORT$URL" --cacert ca.pem)
[ "$code" = 401 ] || fail "TLS without a token: HTTP $code, want 401"
code=$(post "https://localhost:$HTTPS_PORT$URL" --cacert ca.pem -H "Authorization: Bearer $TOKEN")
[ "$code" = 200 ] || fail "TLS with the token and an empty request: HTTP $code, want 200"
[ "$(gw_accepted)" = "$GW" ] || fail "the gateway accepted samples from refused requests"
echo "ok: HTTPS refuses plaintext, a missing client certificate and a wrong or missing token"

# ---- 2. the gateway is stopped for $OUTAGE s while the agent keeps reading ----
GW_BEFORE=$(gw_accepted)
stop_gateway
end=$((SECONDS + OUTAGE))
while [ "$SECONDS" -lt "$end" ]; do
	drop_file
	sleep 2
done
R2=$(read_samples)
[ "$R2" -gt "$R1" ] || fail "the agent read nothing during the outage"
[ "$(sent otlp)" = "$R1" ] || fail "sent during the outage?"
start_gateway
wait_for 60 all_sent || fail "after the outage: $(status)"
[ "$((GW_BEFORE + $(gw_accepted)))" = $((NEXP * R2)) ] ||
	fail "gateway got $GW_BEFORE + $(gw_accepted), agent read $R2 (x $NEXP exporters)"
[ "$(failed otlp)" = 0 ] && [ "$(failed otlphttp)" = 0 ] && [ "$(failed otlphttp/tls)" = 0 ] ||
	fail "samples failed during the outage: $(status)"
echo "ok: ${OUTAGE}s outage: agent read $R2 samples, sent $(sent otlp) over gRPC, $(sent otlphttp) over HTTP+mTLS and $(sent otlphttp/tls) over HTTP+TLS; gateway accepted $GW_BEFORE before + $(gw_accepted) after"
stop_agent

# ---- 3. a wrong token is refused (and not retried) ----
agent_config "$T/agent-bad.yaml" "wrong-token" "{queue_size: 100}"
GW=$(gw_accepted)
start_agent "$T/agent-bad.yaml"
drop_file
all_failed() {
	[ "$(failed otlp)" -gt 0 ] && [ "$(failed otlphttp)" -gt 0 ] && [ "$(failed otlphttp/tls)" -gt 0 ]
}
wait_for 20 all_failed || fail "a wrong token was not refused: $(status)"
[ "$(sent otlp)" = 0 ] && [ "$(sent otlphttp)" = 0 ] && [ "$(sent otlphttp/tls)" = 0 ] ||
	fail "sent with a wrong token: $(status)"
[ "$(gw_accepted)" = "$GW" ] || fail "the gateway accepted a wrong token"
grep -q "UNAUTHENTICATED" "$T/agent.log" || fail "gRPC refusal not logged"
grep -q "HTTP 401" "$T/agent.log" || fail "HTTP refusal not logged"
stop_agent
echo "ok: wrong token refused over gRPC and HTTP (mTLS and TLS)"

# ---- 4. kill -9 with a file queue holding batches; the restarted agent re-sends them ----
stop_gateway
mkdir -p "$T/queue"
agent_config "$T/agent-file.yaml" "$TOKEN" "{storage: file, directory: $T/queue, queue_size: 100}"
start_agent "$T/agent-file.yaml"
drop_file
drop_file
drop_file
read_all() { [ "$(read_samples)" -gt 0 ] && [ ! -e "$T/in/f$N.pb.gz" ]; }
wait_for 20 read_all || fail "the agent did not read the files"
sleep 1
R4=$(read_samples)
stored() { [ "$(find "$T/queue" -type f | wc -l)" -ge 6 ]; }
wait_for 10 stored || fail "nothing stored in the file queue: $(find "$T/queue" -type f | wc -l) files"
kill -KILL "$AG_PID"
{ wait "$AG_PID"; } 2>/dev/null || true
AG_PID=
start_gateway
start_agent "$T/agent-file.yaml"
arrived() { [ "$(gw_accepted)" -ge $((NEXP * R4)) ]; }
wait_for 60 arrived || fail "after kill -9: gateway got $(gw_accepted), agent had read $R4 (x $NEXP exporters)"
RESENT=$(($(sent otlp) + $(sent otlphttp) + $(sent otlphttp/tls)))
stop_agent
stop_gateway
echo "ok: kill -9 with $R4 samples per exporter queued on disk: $RESENT re-sent after restart"
echo PASS
