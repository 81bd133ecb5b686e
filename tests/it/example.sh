#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# example.<file>: validates one examples/*.yaml and runs it for real against the
# Go pprof target, then checks that the pprof files it wrote name the target's
# hot function. Called as: example.sh PROFLOW GO_SOURCE_DIR BUILD_DIR EXAMPLE
. "$(dirname "$0")/pprof_lib.sh"
EXAMPLE=$4

# Host profiling needs root and a kernel with BTF; only then is a skip allowed,
# and never in CI.
uses_ebpf=false
if grep -q '^  ebpf:' "$EXAMPLE"; then
	uses_ebpf=true
	why=
	[ "$(id -u)" = 0 ] || why="needs root for the ebpf receiver"
	[ -r /sys/kernel/btf/vmlinux ] || why="the kernel has no BTF"
	if [ -n "$why" ]; then
		echo "SKIP: $why"
		[ "${CI:-}" = true ] && fail "CI=true: a skipped example is a failure"
		exit 77
	fi
fi

"$PROFLOW" validate --config "$EXAMPLE" >"$T/validate.log" 2>&1 ||
	fail "proflow validate rejected $EXAMPLE: $(cat "$T/validate.log")"

# Examples that export to Pyroscope run on a JFR recording against a fake one.
if grep -q '^  pyroscope:' "$EXAMPLE"; then
	. "$(dirname "$0")/example_pyroscope.sh"
	exit 0
fi

build_target
port=$(free_port "$T")
start_target "$port"

# Inputs for every variable the examples read, all inside the test's temp dir.
export PPROF_TARGET="http://127.0.0.1:$port/debug/pprof/profile?seconds=2"
export PPROF_IN="$T/in" PROFLOW_OUT="$T/out" PROFLOW_METRICS="127.0.0.1:$(free_port "$T")"
export PROFLOW_HEALTH="127.0.0.1:$(free_port "$T")"
mkdir -p "$PPROF_IN" "$PROFLOW_OUT"
curl -sf -o "$PPROF_IN/target.pb.gz" "http://127.0.0.1:$port/debug/pprof/profile?seconds=2" ||
	fail "fetching a profile from the Go target"

if grep -q '^  otlp:' "$EXAMPLE" && sed -n '/^receivers:/,/^[a-z]/p' "$EXAMPLE" | grep -q '^  otlp:'; then
	# A gateway: an agent (pprof files -> otlp) sends to it, and its otlp
	# exporter sends on to a sink proflow (otlp receiver -> pprof files).
	export PROFLOW_OTLP_GRPC="127.0.0.1:$(free_port "$T")" PROFLOW_OTLP_HTTP="127.0.0.1:$(free_port "$T")"
	sink_port=$(free_port "$T")
	export PROFLOW_UPSTREAM="127.0.0.1:$sink_port"
	mkdir -p "$T/sink"
	cat >"$T/sink.yaml" <<SINK
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$sink_port
exporters:
  pprof:
    directory: $T/sink
service:
  telemetry:
    metrics: {address: ""}
  pipelines:
    profiles: {receivers: [otlp], exporters: [pprof]}
SINK
	cat >"$T/agent.yaml" <<AGENT
receivers:
  pprof:
    paths: ["$PPROF_IN/*.pb.gz"]
exporters:
  otlp:
    endpoint: $PROFLOW_OTLP_GRPC
    tls: {insecure: true}
service:
  telemetry:
    metrics: {address: ""}
  pipelines:
    profiles: {receivers: [pprof], exporters: [otlp]}
AGENT
	"$PROFLOW" --config "$T/sink.yaml" --duration 20s >"$T/sink.log" 2>&1 &
	sink_pid=$!
	(cd "$T" && "$PROFLOW" --config "$EXAMPLE" --duration 14s >"$T/proflow.log" 2>&1) &
	gw_pid=$!
	sleep 2
	"$PROFLOW" --config "$T/agent.yaml" --duration 3s >"$T/agent.log" 2>&1 ||
		fail "the agent exited with $?: $(tail -5 "$T/agent.log")"
	wait $gw_pid || fail "proflow exited with $? running $EXAMPLE: $(tail -5 "$T/proflow.log")"
	kill -TERM $sink_pid 2>/dev/null
	wait $sink_pid
	ls "$T/sink"/*.pb.gz >/dev/null 2>&1 || fail "the gateway's otlp exporter delivered nothing to the sink"
elif grep -q 'GATEWAY_ENDPOINT' "$EXAMPLE"; then
	# An agent: a gateway peer (otlp receiver -> pprof files in PROFLOW_OUT) takes what it sends.
	gw_port=$(free_port "$T")
	export GATEWAY_ENDPOINT="127.0.0.1:$gw_port" GATEWAY_TOKEN=example PROFLOW_QUEUE="$T/queue"
	cat >"$T/peer.yaml" <<PEER
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$gw_port
exporters:
  pprof:
    directory: $PROFLOW_OUT
service:
  telemetry:
    metrics: {address: ""}
  pipelines:
    profiles: {receivers: [otlp], exporters: [pprof]}
PEER
	"$PROFLOW" --config "$T/peer.yaml" --duration 14s >"$T/peer.log" 2>&1 &
	peer_pid=$!
	sleep 1
	(cd "$T" && "$PROFLOW" --config "$EXAMPLE" --duration 8s >"$T/proflow.log" 2>&1) ||
		fail "proflow exited with $? running $EXAMPLE"
	kill -TERM $peer_pid 2>/dev/null
	wait $peer_pid || fail "the gateway peer exited with $?: $(tail -5 "$T/peer.log")"
else
	# --duration stops it like SIGTERM would; the final flush must still write files.
	(cd "$T" && "$PROFLOW" --config "$EXAMPLE" --duration 8s >"$T/proflow.log" 2>&1) ||
		fail "proflow exited with $? running $EXAMPLE"
fi

shopt -s nullglob
if $uses_ebpf; then
	# Whole-host profiles come one file per process; the Go target's must name
	# its loop. Only this test's target: other tests run theirs at the same time.
	files=("$PROFLOW_OUT"/pproftarget.pid"$TARGET_PID".*.pb.gz)
	[ -s "$PROFLOW_OUT/cumulative.svg" ] || fail "$EXAMPLE wrote no cumulative.svg"
else
	files=("$PROFLOW_OUT"/*.pb.gz)
fi
[ "${#files[@]}" -gt 0 ] || fail "$EXAMPLE wrote no pprof file into $PROFLOW_OUT"
top=$(top_function "${files[@]}")
if [ "$top" != "main.hotLoop" ]; then
	# What the profiles held, for the log: their mappings and heaviest stacks.
	go tool pprof -raw "${files[@]}" 2>&1 | sed -n '/^Mappings/,$p' >&2
	go tool pprof -traces "${files[@]}" 2>&1 | head -60 >&2
	fail "top function of the written profiles is '$top', not main.hotLoop"
fi
echo "ok: $(basename "$EXAMPLE") wrote ${#files[@]} file(s); top function $top"
