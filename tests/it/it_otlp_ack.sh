#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# it.otlp_ack: an OK is a promise of delivery. A gateway with three pipelines (an otlp receiver
# over HTTP -> an otlphttp exporter: with a file queue on a small tmpfs that fills up, with a
# file queue whose max_size is reached while requests are in flight, with a small memory queue
# whose batches are encoded on the thread pool while the answer waits) takes many requests from
# a real client while its backends are down, so its disk and its queues are full. The memory
# queue's backend comes up: every 2xx-answered sample of it arrives. Then the gateway is killed
# with -9 and restarted with the other backends up: every 2xx-answered sample arrives. The rest
# were answered 503 with Retry-After. Needs root (mount); otherwise it is skipped (77), a
# failure under CI=true.
# Called as: it_otlp_ack.sh PROFLOW TEST_SOURCE_DIR BUILD_DIR [REQUESTS]
set -eu

PROFLOW=$1
SRC=$2
BUILD=$3
REQUESTS=${4:-300}
mkdir -p "$BUILD"
T=$(mktemp -d "$BUILD/run.XXXXXX")
GW_PID=
SINK_DISK_PID=
SINK_FULL_PID=

# shellcheck source=lib.sh
. "$SRC/lib.sh"
SINK_MEM_PID=
clean_up_at_exit "$T" GW_PID SINK_DISK_PID SINK_FULL_PID SINK_MEM_PID
# the tmpfs goes before the directory holding it (lazily: proflow may still hold it open)
# shellcheck disable=SC2154 # st is the trap's own
trap 'st=$?; umount -l "$T/disk" 2>/dev/null || true; set +e; (exit $st); _clean_up' EXIT

[ "$(id -u)" = 0 ] || skip "needs root to mount a tmpfs"
mkdir -p "$T/disk" "$T/queue"
# 64 KiB: about a dozen request files (tmpfs gives each file a page)
mount -t tmpfs -o size=64k,mode=0700 tmpfs "$T/disk" || skip "cannot mount a tmpfs"

DISK_RX=$(free_port "$T")
FULL_RX=$(free_port "$T")
MEM_RX=$(free_port "$T")
METRICS=$(free_port "$T")
DISK_PORT=$(free_port "$T")
FULL_PORT=$(free_port "$T")
MEM_PORT=$(free_port "$T")

cat >"$T/gateway.yaml" <<YAML
receivers:
  otlp/disk:
    protocols:
      http: {endpoint: "127.0.0.1:$DISK_RX"}
  otlp/full:
    protocols:
      http: {endpoint: "127.0.0.1:$FULL_RX"}
  otlp/mem:
    protocols:
      http: {endpoint: "127.0.0.1:$MEM_RX"}
exporters:
  otlphttp/disk:
    endpoint: http://127.0.0.1:$DISK_PORT
    retry_on_failure: {initial_interval: 100ms, max_interval: 500ms, max_elapsed_time: 10m}
    sending_queue: {storage: file, directory: $T/disk, queue_size: 1000, num_consumers: 4, max_size: 0}
  otlphttp/full:
    endpoint: http://127.0.0.1:$FULL_PORT
    retry_on_failure: {initial_interval: 100ms, max_interval: 500ms, max_elapsed_time: 10m}
    sending_queue: {storage: file, directory: $T/queue, max_size: 2KiB, num_consumers: 4}
  otlphttp/mem:
    endpoint: http://127.0.0.1:$MEM_PORT
    retry_on_failure: {initial_interval: 100ms, max_interval: 500ms, max_elapsed_time: 10m}
    sending_queue: {queue_size: 5, num_consumers: 2}
service:
  telemetry:
    logs: {level: info}
    metrics: {address: "127.0.0.1:$METRICS"}
  pipelines:
    profiles/disk:
      receivers: [otlp/disk]
      exporters: [otlphttp/disk]
    profiles/full:
      receivers: [otlp/full]
      exporters: [otlphttp/full]
    profiles/mem:
      receivers: [otlp/mem]
      exporters: [otlphttp/mem]
YAML

start_gateway() {
	"$PROFLOW" --config "$T/gateway.yaml" >>"$T/gateway.log" 2>&1 &
	GW_PID=$!
	wait_for 10 curl -sf --max-time 2 "http://127.0.0.1:$METRICS/metrics" ||
		fail "the gateway did not start"
}

# ---- 1. backends down: the client fills the tmpfs and the other queue's max_size ----
start_gateway
ACKED=0
REFUSED=0
REFUSED_DISK=0
REFUSED_FULL=0
REFUSED_MEM=0
for q in disk full mem; do
	case $q in disk) port=$DISK_RX ;; full) port=$FULL_RX ;; *) port=$MEM_RX ;; esac
	python3 "$SRC/ack_client.py" "$port" "$REQUESTS" 4 "$T/client-$q" || fail "the client failed"
	acked=$(wc -l <"$T/client-$q/acked")
	refused=$(awk '$1 == 503 { print $2 }' "$T/client-$q/statuses")
	echo "otlphttp/$q: $(tr '\n' ' ' <"$T/client-$q/statuses")(status count)"
	[ "$acked" -gt 0 ] || fail "otlphttp/$q: no request was answered 2xx"
	[ "$((acked + ${refused:-0}))" = "$REQUESTS" ] ||
		fail "otlphttp/$q: answers other than 2xx and 503 with Retry-After"
	ACKED=$((ACKED + acked))
	REFUSED=$((REFUSED + ${refused:-0}))
	case $q in
	disk) REFUSED_DISK=${refused:-0} ;;
	full) REFUSED_FULL=${refused:-0} ;;
	*) REFUSED_MEM=${refused:-0} ;;
	esac
done
[ "$(metric "$METRICS" otelcol_receiver_refused_profile_samples)" = "$REFUSED" ] ||
	fail "refused $(metric "$METRICS" otelcol_receiver_refused_profile_samples) samples counted, $REFUSED requests refused"
[ "$(metric "$METRICS" otelcol_receiver_accepted_profile_samples)" = "$ACKED" ] ||
	fail "accepted $(metric "$METRICS" otelcol_receiver_accepted_profile_samples) samples counted, $ACKED requests answered 2xx"

# missing QUEUE...: how many 2xx-answered request numbers have not arrived at each queue's
# backend (each request is one sample whose value is its number; a sink writes each request's sum)
missing() {
	python3 - "$T" "$@" <<'PY'
import json, os, sys
for q in sys.argv[2:]:
    acked = {int(l) for l in open(os.path.join(sys.argv[1], "client-" + q, "acked")) if l.strip()}
    path, got = os.path.join(sys.argv[1], "sink-" + q, "requests.jsonl"), set()
    if os.path.exists(path):
        got = {json.loads(l)["sum"] for l in open(path) if l.strip()}
    print(len(acked - got), end=" ")
print()
PY
}
all_arrived() { [ "$(missing "$@" | tr -d ' 0')" = "" ]; }

# ---- 2. the memory queue's backend comes up: every 2xx-answered sample of it arrives ----
python3 "$SRC/tenant_sink.py" "$MEM_PORT" "$T/sink-mem" &
# shellcheck disable=SC2034 # read by clean_up_at_exit
SINK_MEM_PID=$!
wait_for 60 all_arrived mem ||
	fail "2xx-answered requests that never reached otlphttp/mem's backend: $(missing mem)"

# ---- 3. kill -9, backends up, restart: every 2xx-answered sample arrives at both ----
kill -KILL "$GW_PID"
{ wait "$GW_PID"; } 2>/dev/null || true
GW_PID=
python3 "$SRC/tenant_sink.py" "$DISK_PORT" "$T/sink-disk" &
# shellcheck disable=SC2034 # read by clean_up_at_exit
SINK_DISK_PID=$!
python3 "$SRC/tenant_sink.py" "$FULL_PORT" "$T/sink-full" &
# shellcheck disable=SC2034 # read by clean_up_at_exit
SINK_FULL_PID=$!
start_gateway

FAILURE_FILES="$T/client-disk/statuses $T/client-full/statuses"
wait_for 60 all_arrived disk full ||
	fail "after kill -9 and restart, 2xx-answered requests that never reached otlphttp/disk's and otlphttp/full's backends: $(missing disk full)"
kill -TERM "$GW_PID"
wait "$GW_PID" || fail "the gateway exited with $? after SIGTERM"
GW_PID=
# not vacuous: both limits were reached
[ "$REFUSED_DISK" -gt 0 ] || fail "otlphttp/disk: nothing refused: the tmpfs never filled"
grep -q "could not store a request" "$T/gateway.log" || fail "otlphttp/disk: no failed write logged"
[ "$REFUSED_FULL" -gt 0 ] || fail "otlphttp/full: nothing refused: max_size never reached"
[ "$REFUSED_MEM" -gt 0 ] || fail "otlphttp/mem: nothing refused: queue_size never reached"
echo "ok: 3 x $REQUESTS requests, $ACKED answered 2xx and $REFUSED 503 (disk full, max_size or queue_size reached); every 2xx-answered sample arrived (the file queues' after kill -9)"
echo PASS
