#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# README command 1: installs what the collector needs (no test tool), builds it
# alone and runs proflow's main job on its default config, examples/host.yaml:
# every process on this host sampled with eBPF at 99 Hz, symbolized on the
# host, written every 10 s as an interactive flame graph and pprof files into
# ./proflow-out. Runs until Ctrl-C, or for PROFLOW_DURATION (e.g. 60s) when set.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh" release >/dev/null

export PROFLOW_OUT=${PROFLOW_OUT:-$PWD/proflow-out}
mkdir -p "$PROFLOW_OUT"
args=(--config "$root/examples/host.yaml")
[ -z "${PROFLOW_DURATION:-}" ] || args+=(--duration "$PROFLOW_DURATION")

echo "proflow: profiling this host; flame graphs and pprof files go to $PROFLOW_OUT"
"$root/build/release/main/proflow" "${args[@]}"

echo "proflow: the flame graph of the whole run is $PROFLOW_OUT/cumulative.svg"
echo "proflow: pprof files (go tool pprof -top FILE):"
ls -1t "$PROFLOW_OUT" | grep '\.pb\.gz$' | head -5
