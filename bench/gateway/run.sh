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
# Baseline, measured in the same run with the same load: a Go gateway that
# only receives (grpc-go, gzip) and unmarshals (google.golang.org/protobuf)
# each request and counts its samples (baseline/main.go; built offline here
# from Debian's golang-google-grpc-dev, golang-google-protobuf-dev and
# protoc-gen-go, with Go types generated from proto/). Proflow and the
# baseline run RUNS times each, interleaved; figures are medians over the runs
# and ratios are proflow / baseline of the medians.
#
#   bench/gateway/run.sh [build-dir]        (default: build-bench)
#   CLIENTS=8 SECONDS_RUN=20 PROCS=4 COMPRESSION=none RUNS=5 bench/gateway/run.sh
#
# A request is one agent's report: PROCS processes, each 10 s of 99 Hz on
# 4 threads (3,960 events) over ~1,000 distinct stacks of depth 20-60
# (workload.c).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build-bench}
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
clients=${CLIENTS:-4}
seconds=${SECONDS_RUN:-10}
procs=${PROCS:-4}
compression=${COMPRESSION:-gzip}
runs=${RUNS:-3}
work=$build/bench-gateway
mkdir -p "$work"

if [ ! -x "$build/main/proflow" ] || [ ! -x "$build/bench/gateway/bench_gateway_loadgen" ]; then
	echo "== building proflow and the load generator"
	cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	ninja -C "$build" -j2 proflow bench_gateway_loadgen bench_gateway_codec >/dev/null
fi
proflow=$build/main/proflow
loadgen=$build/bench/gateway/bench_gateway_loadgen

# The Go baseline, built offline from Debian's packages.
baseline=$("$here/baseline/build.sh" "$work/baseline-go")

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tck=$(getconf CLK_TCK)
pids=
trap 'kill $pids 2>/dev/null || true' EXIT

# measure NAME RUN PID PORT: drives PID's server at PORT with the load
# generator; writes NAME.RUN.env (loadgen's key=value lines, cpu_s, rss_kib,
# loadgen_cpu_s).
measure() {
	c0=$(cpu_ticks "$3")
	/usr/bin/time -f "loadgen_cpu_s=%U+%S" -o "$work/$1.$2.time" \
		"$loadgen" "127.0.0.1:$4" "$clients" "$seconds" "$procs" "$compression" \
		>"$work/$1.$2.env" 2>"$work/$1.$2.loadgen.err"
	c1=$(cpu_ticks "$3")
	{
		awk -v a="$c0" -v b="$c1" -v t="$tck" 'BEGIN {printf "cpu_s=%.2f\n", (b - a) / t}'
		awk '/VmHWM/ {print "rss_kib=" $2}' "/proc/$3/status"
		awk -F'[=+]' '/^loadgen_cpu_s=/ {printf "loadgen_cpu_s=%.2f\n", $2 + $3}' \
			"$work/$1.$2.time"
	} >>"$work/$1.$2.env"
}

run_proflow() {
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
	"$proflow" --config "$work/sink.yaml" >"$work/sink.$1.log" 2>&1 &
	sink_pid=$!
	"$proflow" --config "$work/gateway.yaml" >"$work/gateway.$1.log" 2>&1 &
	gw_pid=$!
	pids="$gw_pid $sink_pid"
	sleep 1
	measure proflow "$1" $gw_pid "$gw_port"
	sleep 3 # the last aggregate interval reaches the sink
	kill -TERM $gw_pid
	wait $gw_pid || true
	kill -TERM $sink_pid
	wait $sink_pid || true
	pids=
}

run_baseline() {
	bl_port=$(free_port)
	"$baseline" "127.0.0.1:$bl_port" >"$work/baseline.$1.log" 2>&1 &
	bl_pid=$!
	pids=$bl_pid
	sleep 1
	measure baseline "$1" $bl_pid "$bl_port"
	kill -TERM $bl_pid
	wait $bl_pid || true
	pids=
}

i=1
while [ $i -le "$runs" ]; do
	run_proflow $i
	run_baseline $i
	i=$((i + 1))
done
trap - EXIT

# derive NAME: per run, derived figures appended to NAME.RUN.env.
derive() {
	i=1
	while [ $i -le "$runs" ]; do
		awk -F= '{v[$1] = $2} END {
			c = v["cpu_s"]
			printf "cores=%.4f\n", c / v["wall_s"]
			printf "cpu_per_m_events=%.4f\n", c / (v["events"] / 1e6)
			printf "cpu_per_m_msgs=%.4f\n", c / (v["sample_messages"] / 1e6)
			printf "events_per_core=%.0f\n", (c > 0 ? v["events"] / c : 0)
			printf "msgs_per_core=%.0f\n", (c > 0 ? v["sample_messages"] / c : 0)
			printf "rss_mib=%.1f\n", v["rss_kib"] / 1024 }' "$work/$1.$i.env" >"$work/$1.$i.derived"
		cat "$work/$1.$i.derived" >>"$work/$1.$i.env"
		i=$((i + 1))
	done
}
derive proflow
derive baseline

# med NAME KEY [FORMAT]: median of KEY over NAME's runs (printf FORMAT, default %.4f).
med() {
	i=1
	while [ $i -le "$runs" ]; do
		sed -n "s/^$2=//p" "$work/$1.$i.env"
		i=$((i + 1))
	done | sort -g | awk -v f="${3:-%.4f}" '{a[NR] = $1} END {
		m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		printf f "\n", m }'
}
# each NAME KEY: KEY in every run, in run order.
each() {
	i=1
	while [ $i -le "$runs" ]; do
		sed -n "s/^$2=//p" "$work/$1.$i.env"
		i=$((i + 1))
	done | awk '{printf "%s%.3f", (NR > 1 ? " " : ""), $1} END {print ""}'
}

# report NAME WHAT: the figures of one server, medians over the runs.
report() {
	echo "load generator CPU: $(med "$1" loadgen_cpu_s %.2f) s (user+sys; same 2-core machine)"
	echo "requests: $(med "$1" requests_ok %.0f) ok, $(med "$1" requests_failed %.0f) refused or failed"
	echo "sustained: $(med "$1" events_per_s %.0f) sampled events/s, $(med "$1" sample_messages_per_s %.0f) OTLP Sample messages/s"
	awk -v c="$(med "$1" cpu_s)" -v w="$(med "$1" wall_s)" -v k="$(med "$1" cores)" \
		-v w2="$2" 'BEGIN { printf "%s CPU: %.2f s over %.1f s = %.2f cores\n", w2, c, w, k }'
	awk -v a="$(med "$1" cpu_per_m_events)" -v b="$(med "$1" events_per_core)" \
		'BEGIN { printf "per event: %.3f CPU s per million, %.0f events/s per core\n", a, b }'
	awk -v a="$(med "$1" cpu_per_m_msgs)" -v b="$(med "$1" msgs_per_core)" \
		'BEGIN { printf "per Sample message: %.3f CPU s per million, %.0f Sample messages/s per core\n", a, b }'
	echo "latency: p50 $(med "$1" p50_ms %.2f) ms, p99 $(med "$1" p99_ms %.2f) ms"
	echo "$2 peak RSS: $(med "$1" rss_mib %.1f) MiB"
	echo "runs, CPU s per million Sample messages: $(each "$1" cpu_per_m_msgs)"
}

cat "$work/proflow.1.loadgen.err"
echo "clients=$clients seconds=$seconds processes_per_request=$procs compression=$compression runs=$runs"
echo "(proflow and the baseline run interleaved, $runs time(s) each; figures are medians over the runs)"
echo
echo "== proflow gateway: otlp receiver -> aggregate -> otlp exporter -> sink"
report proflow gateway
(
	# shellcheck disable=SC1091
	. "$work/proflow.1.env"
	# shellcheck disable=SC2154
	echo "wire: $bytes_per_event_raw bytes/event protobuf, $bytes_per_event_gzip gzip; $bytes_per_sample_msg_raw bytes per Sample message protobuf, $bytes_per_sample_msg_gzip gzip"
)
grep -E "receiver/otlp: accepted|exporter/otlp: sent" "$work/gateway.$runs.log" | sed "s/^/gateway (run $runs): /"
echo
echo "== baseline: Go (grpc-go + google.golang.org/protobuf) receive + unmarshal only"
report baseline baseline
sed -n "s/^otlp_go_peer: requests=/baseline (run $runs) received: requests=/p" "$work/baseline.$runs.log"
echo
echo "== ratio proflow / baseline (of the medians)"
awk -v pm="$(med proflow cpu_per_m_msgs)" -v bm="$(med baseline cpu_per_m_msgs)" \
	-v pe="$(med proflow cpu_per_m_events)" -v be="$(med baseline cpu_per_m_events)" \
	-v pr="$(med proflow rss_mib)" -v br="$(med baseline rss_mib)" 'BEGIN {
	printf "CPU s per million Sample messages: %.3f / %.3f = %.2fx\n", pm, bm, pm / bm
	printf "CPU s per million events: %.3f / %.3f = %.2fx\n", pe, be, pe / be
	printf "peak RSS: %.1f / %.1f MiB = %.2fx\n", pr, br, pr / br }'
echo "note: the baseline only receives, decompresses, unmarshals and counts; proflow also converts"
echo "every message, aggregates it and exports the aggregate to the sink, so it does strictly more"
echo "work per message, and the baseline is a lower bound of what a Go gateway (the Collector) pays."
