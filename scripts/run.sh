#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# README command 1: installs, builds and runs proflow's main job on its
# default config. Until the eBPF receiver lands, the default pipeline scrapes
# a demo Go service's CPU profile (examples/scrape-go.yaml) and writes pprof
# files into ./proflow-out.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh" release
bin="$root/build/release/main/proflow"
out=${PROFLOW_OUT:-$PWD/proflow-out}
duration=${PROFLOW_DURATION:-40s}
mkdir -p "$out"

# The demo service: a Go program with net/http/pprof and two hot functions.
demo="$root/build/release/pproftarget"
(cd "$root/tests/it/go" && GOCACHE="$root/build/go-cache" GOPATH="$root/build/gopath" \
	GOFLAGS=-mod=mod GOPROXY=off GO111MODULE=on go build -o "$demo" .)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$demo" "127.0.0.1:$port" >/dev/null &
demo_pid=$!
trap 'kill $demo_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do
	curl -sf -o /dev/null "http://127.0.0.1:$port/debug/pprof/" && break
	sleep 0.1
done

echo "proflow: profiling the demo service on 127.0.0.1:$port for $duration; output in $out"
PPROF_TARGET="http://127.0.0.1:$port/debug/pprof/profile?seconds=5" PROFLOW_OUT="$out" \
	"$bin" --config "$root/examples/scrape-go.yaml" --duration "$duration"

echo "proflow: pprof files written:"
ls -1 "$out"
latest=$(ls -1t "$out"/*.pb.gz | head -1)
echo "proflow: top functions of $latest (go tool pprof -top):"
go tool pprof -top -hide='^runtime\.asyncPreempt$' "$latest" 2>/dev/null | head -12
