#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# it.otlp_decode: the real proflow's otlp receiver (gRPC and HTTP, default limits) against
# requests written by otlp_requests.py, sent with curl (gRPC as HTTP/2 with prior knowledge):
# - several requests at the 64 MiB size limit crafted to expand when decoded (JSON and protobuf
#   lists of 1-byte values, 2-byte empty strings) at once, then as many gzip'd (64 MiB each
#   once inflated): each is answered (200, 413 or 503; gRPC OK, RESOURCE_EXHAUSTED or
#   UNAVAILABLE), proflow's peak RSS (VmHWM) stays under BOUND_MIB, and a valid request is
#   accepted afterwards;
# - invalid UTF-8 in a string field (string_table, scope name; JSON raw bytes and an unpaired
#   surrogate escape) is refused with 400 / INVALID_ARGUMENT naming the field, while the same
#   requests with valid strings are accepted.
# Called as: it_otlp_decode.sh PROFLOW [BOUND_MIB]
set -eu

PROFLOW=$1
BOUND_MIB=${2:-512}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/pf-it-decode.XXXXXX")
PF_PID=

. "$HERE/lib.sh"
clean_up_at_exit "$T" PF_PID

python3 "$HERE/otlp_requests.py" "$T" 64 || fail "writing the requests"
GRPC_PORT=$(free_port "$T")
HTTP_PORT=$(free_port "$T")
METRICS=$(free_port "$T")
cat >"$T/proflow.yaml" <<YAML
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:$GRPC_PORT"}
      http: {endpoint: "127.0.0.1:$HTTP_PORT"}
exporters:
  pprof:
    directory: $T/out
service:
  telemetry:
    metrics: {address: "127.0.0.1:$METRICS"}
  pipelines:
    profiles:
      receivers: [otlp]
      exporters: [pprof]
YAML
mkdir -p "$T/out"
"$PROFLOW" --config "$T/proflow.yaml" >"$T/proflow.log" 2>&1 &
PF_PID=$!
wait_for 10 curl -sf --max-time 2 "http://127.0.0.1:$METRICS/metrics" || fail "proflow did not start"

# post FILE TYPE OUT [CURL_ARGS...]: POSTs FILE as TYPE (x-protobuf or json), the answer's
# body into OUT; prints the HTTP status (000: no answer).
post() {
	local file=$1 type=$2 out=$3
	shift 3
	curl -s -o "$out" -w '%{http_code}' --max-time 120 -H "Content-Type: application/$type" \
		"$@" --data-binary "@$file" "http://127.0.0.1:$HTTP_PORT/v1development/profiles" || true
}

# grpc FILE OUT: sends FILE (one gRPC message) to ProfilesService/Export; the response
# headers and trailers go to OUT; prints grpc-status (none: no answer).
grpc() {
	curl -s --http2-prior-knowledge -o /dev/null -D "$2" --max-time 120 \
		-H 'Content-Type: application/grpc' -H 'TE: trailers' --data-binary "@$1" \
		"http://127.0.0.1:$GRPC_PORT/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export" ||
		true
	tr -d '\r' <"$2" | awk -F': ' 'tolower($1) == "grpc-status" { s = $2 } END { print (s == "" ? "none" : s) }'
}

hwm_kib() { awk '$1 == "VmHWM:" { print $2 }' "/proc/$PF_PID/status"; }

# ---- 1. requests at the size limit, crafted to expand, all at once ----
START_KIB=$(hwm_kib)
post "$T/expand_values.json" json "$T/r1" >"$T/c1" &
P1=$!
post "$T/expand_values.json" json "$T/r2" >"$T/c2" &
P2=$!
post "$T/expand_values.pb" x-protobuf "$T/r3" >"$T/c3" &
P3=$!
grpc "$T/expand_strings.grpc" "$T/h4" >"$T/c4" &
P4=$!
wait $P1 $P2 $P3 $P4
kill -0 "$PF_PID" 2>/dev/null || fail "proflow died under the expanding requests"
PEAK_KIB=$(hwm_kib)
for i in 1 2 3; do
	case $(cat "$T/c$i") in 200 | 413 | 503) ;; *) fail "expanding request $i: HTTP $(cat "$T/c$i"), want 200, 413 or 503" ;; esac
done
case $(cat "$T/c4") in 0 | 8 | 14) ;; *) fail "expanding gRPC request: grpc-status $(cat "$T/c4"), want 0, 8 or 14" ;; esac
echo "ok: 4 requests of 64 MiB at once (JSON x2, protobuf; gRPC) answered HTTP $(cat "$T/c1") $(cat "$T/c2") $(cat "$T/c3"), grpc-status $(cat "$T/c4"); VmHWM $((START_KIB / 1024)) MiB at start, $((PEAK_KIB / 1024)) MiB peak (bound $BOUND_MIB MiB)"
[ "$PEAK_KIB" -lt $((BOUND_MIB * 1024)) ] ||
	fail "peak RSS $((PEAK_KIB / 1024)) MiB is over the bound of $BOUND_MIB MiB"
# The same gzip'd: small bodies, each inflated to 64 MiB before it is decoded.
for f in expand_values.json expand_values.pb expand_strings.pb; do gzip -1 -k "$T/$f"; done
# Resets VmHWM to the current RSS (Linux 4.0+), so this step's peak is its own.
echo 5 >"/proc/$PF_PID/clear_refs" || fail "cannot reset VmHWM"
START_KIB=$(hwm_kib)
PIDS=
for i in 5 6 7 8 9 10; do
	case $i in
	5 | 8) post "$T/expand_values.json.gz" json "$T/r$i" -H 'Content-Encoding: gzip' >"$T/c$i" & ;;
	6 | 9) post "$T/expand_values.pb.gz" x-protobuf "$T/r$i" -H 'Content-Encoding: gzip' >"$T/c$i" & ;;
	*) post "$T/expand_strings.pb.gz" x-protobuf "$T/r$i" -H 'Content-Encoding: gzip' >"$T/c$i" & ;;
	esac
	PIDS="$PIDS $!"
done
# shellcheck disable=SC2086 # a list of pids
wait $PIDS
kill -0 "$PF_PID" 2>/dev/null || fail "proflow died under the gzip'd expanding requests"
PEAK_KIB=$(hwm_kib)
CODES=
for i in 5 6 7 8 9 10; do
	case $(cat "$T/c$i") in 200 | 413 | 503) ;; *) fail "gzip'd expanding request $i: HTTP $(cat "$T/c$i"), want 200, 413 or 503" ;; esac
	CODES="$CODES $(cat "$T/c$i")"
done
echo "ok: 6 gzip'd requests of 64 MiB inflated at once answered HTTP$CODES; VmHWM $((START_KIB / 1024)) MiB at start, $((PEAK_KIB / 1024)) MiB peak (bound $BOUND_MIB MiB)"
[ "$PEAK_KIB" -lt $((BOUND_MIB * 1024)) ] ||
	fail "peak RSS $((PEAK_KIB / 1024)) MiB is over the bound of $BOUND_MIB MiB"
grep -aq "decoding the request needs more than" "$T/r1" "$T/r2" "$T/r3" "$T/h4" ||
	grep -aq "decoding memory is in use" "$T/r1" "$T/r2" "$T/r3" ||
	echo "note: no request was refused for its decoding memory"

# ---- 2. the same shape with valid strings is accepted, by both protocols, after the burst ----
[ "$(post "$T/valid.pb" x-protobuf "$T/r")" = 200 ] || fail "valid protobuf request: HTTP $(post "$T/valid.pb" x-protobuf "$T/r")"
[ "$(post "$T/valid.json" json "$T/r")" = 200 ] || fail "valid JSON request refused: $(cat "$T/r")"
[ "$(grpc "$T/valid.grpc" "$T/h")" = 0 ] || fail "valid gRPC request refused: $(cat "$T/h")"
echo "ok: valid requests accepted over HTTP (protobuf, JSON) and gRPC"

# ---- 3. invalid UTF-8 in string fields: 400 / INVALID_ARGUMENT naming the field ----
# expect_400 FILE TYPE TEXT
expect_400() {
	local code
	code=$(post "$1" "$2" "$T/r")
	[ "$code" = 400 ] || fail "$(basename "$1"): HTTP $code, want 400 ($(cat "$T/r"))"
	grep -aqF "$3" "$T/r" || fail "$(basename "$1"): the answer lacks '$3': $(cat "$T/r")"
}
expect_400 "$T/bad_string_table.pb" x-protobuf "dictionary.string_table[2]: invalid UTF-8 at byte 4"
expect_400 "$T/bad_scope_name.pb" x-protobuf "scope_profiles[0].scope.name: invalid UTF-8 at byte 3"
expect_400 "$T/bad_string_table.json" json "string_table[2]: invalid UTF-8 at byte 4"
expect_400 "$T/bad_surrogate.json" json "string_table[2]: invalid UTF-8 at byte 4 (an unpaired surrogate"
for f in bad_string_table bad_scope_name; do
	st=$(grpc "$T/$f.grpc" "$T/h")
	[ "$st" = 3 ] || fail "$f over gRPC: grpc-status $st, want 3 (INVALID_ARGUMENT)"
	grep -aqiE "grpc-message:.*invalid(%20| )UTF-8" "$T/h" || fail "$f over gRPC: no message naming it: $(cat "$T/h")"
done
echo "ok: invalid UTF-8 refused with 400 (protobuf, JSON) and INVALID_ARGUMENT (gRPC), naming the field"
kill -0 "$PF_PID" 2>/dev/null || fail "proflow died"
