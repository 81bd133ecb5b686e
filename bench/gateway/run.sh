#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# One proflow gateway (otlp receiver -> aggregate -> otlp exporter) on
# loopback, fed by CLIENTS concurrent OTLP/gRPC clients (bench_gateway_loadgen)
# for SECONDS; its otlp exporter sends to a sink proflow (otlp receiver ->
# debug). Prints, per sampled event and per OTLP Sample message (one per
# distinct stack and process, carrying its count), the sustained rate through
# the gateway, its CPU seconds per million and rate per core; p50/p99 request
# latency, its peak RSS, and bytes on the wire (protobuf and gzip).
# bench_gateway_codec runs the same per-request work in one thread, for
# profilers (see codec.c).
#
#   bench/gateway/run.sh [build-dir]        (default: build-bench)
#   CLIENTS=8 SECONDS_RUN=20 PROCS=4 COMPRESSION=none bench/gateway/run.sh
#
# A request is one agent's report: PROCS processes, each 10 s of 99 Hz on
# 4 threads (3,960 events) over ~1,000 distinct stacks of depth 20-60
# (workload.c).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build-bench}
clients=${CLIENTS:-4}
seconds=${SECONDS_RUN:-10}
procs=${PROCS:-4}
compression=${COMPRESSION:-gzip}
work=$build/bench-gateway
mkdir -p "$work"

if [ ! -x "$build/main/proflow" ] || [ ! -x "$build/bench/gateway/bench_gateway_loadgen" ]; then
	echo "== building proflow and the load generator"
	cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	ninja -C "$build" -j2 proflow bench_gateway_loadgen bench_gateway_codec >/dev/null
fi
proflow=$build/main/proflow
loadgen=$build/bench/gateway/bench_gateway_loadgen

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
gw_port=$(free_port)
sink_port=$(free_port)

cat >"$work/sink.yaml" <<YAML
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:$sink_port}
exporters:
  debug: {verbosity: basic}
service:
  telemetry: {metrics: {address: ""}, logs: {level: warn}}
  pipelines:
    profiles: {receivers: [otlp], exporters: [debug]}
YAML
cat >"$work/gateway.yaml" <<YAML
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:$gw_port, max_concurrent_requests: 32}
processors:
  aggregate: {interval: 2s}
exporters:
  otlp:
    endpoint: 127.0.0.1:$sink_port
    tls: {insecure: true}
service:
  telemetry: {metrics: {address: ""}, logs: {level: info}}
  pipelines:
    profiles: {receivers: [otlp], processors: [aggregate], exporters: [otlp]}
YAML

"$proflow" --config "$work/sink.yaml" >"$work/sink.log" 2>&1 &
sink_pid=$!
"$proflow" --config "$work/gateway.yaml" >"$work/gateway.log" 2>&1 &
gw_pid=$!
trap 'kill $gw_pid $sink_pid 2>/dev/null || true' EXIT
sleep 1

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tck=$(getconf CLK_TCK)
c0=$(cpu_ticks $gw_pid)

/usr/bin/time -f "loadgen_cpu_s=%U+%S" -o "$work/loadgen.time" \
	"$loadgen" "127.0.0.1:$gw_port" "$clients" "$seconds" "$procs" "$compression" \
	>"$work/loadgen.out" 2>"$work/loadgen.err"
c1=$(cpu_ticks $gw_pid)
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$gw_pid/status")
sleep 3 # the last aggregate interval reaches the sink
kill -TERM $gw_pid
wait $gw_pid || true
kill -TERM $sink_pid
wait $sink_pid || true
trap - EXIT

. "$work/loadgen.out"
cpu_s=$(awk -v a="$c0" -v b="$c1" -v t="$tck" 'BEGIN {printf "%.2f", (b - a) / t}')
cat "$work/loadgen.err"
echo "clients=$clients seconds=$seconds processes_per_request=$procs compression=$compression"
echo "load generator CPU: $(sed -n "s/loadgen_cpu_s=//p" "$work/loadgen.time") s (user+sys; same 2-core machine)"
echo "requests: $requests_ok ok, $requests_failed refused or failed"
echo "sustained: $events_per_s sampled events/s, $sample_messages_per_s OTLP Sample messages/s"
awk -v e="$events" -v m="$sample_messages" -v c="$cpu_s" -v w="$wall_s" 'BEGIN {
	printf "gateway CPU: %.2f s over %.1f s = %.2f cores\n", c, w, c / w
	printf "per event: %.3f CPU s per million, %.0f events/s per core\n",
		c / (e / 1e6), (c > 0 ? e / c : 0)
	printf "per Sample message: %.3f CPU s per million, %.0f Sample messages/s per core\n",
		c / (m / 1e6), (c > 0 ? m / c : 0) }'
echo "latency: p50 $p50_ms ms, p99 $p99_ms ms"
echo "gateway peak RSS: $((hwm / 1024)) MiB"
echo "wire: $bytes_per_event_raw bytes/event protobuf, $bytes_per_event_gzip gzip; $bytes_per_sample_msg_raw bytes per Sample message protobuf, $bytes_per_sample_msg_gzip gzip"
grep -E "receiver/otlp: accepted|exporter/otlp: sent" "$work/gateway.log" | sed 's/^/gateway: /'
