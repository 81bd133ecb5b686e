#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# example.<file>: validates one examples/*.yaml and runs it for real against the
# Go pprof target, then checks that the pprof files it wrote name the target's
# hot function. Called as: example.sh PROFLOW GO_SOURCE_DIR BUILD_DIR EXAMPLE
. "$(dirname "$0")/pprof_lib.sh"
EXAMPLE=$4

"$PROFLOW" validate --config "$EXAMPLE" >"$T/validate.log" 2>&1 ||
	fail "proflow validate rejected $EXAMPLE: $(cat "$T/validate.log")"

build_target
port=$(free_port)
start_target "$port"

# Inputs for every variable the examples read, all inside the test's temp dir.
export PPROF_TARGET="http://127.0.0.1:$port/debug/pprof/profile?seconds=2"
export PPROF_IN="$T/in" PROFLOW_OUT="$T/out" PROFLOW_METRICS="127.0.0.1:$(free_port)"
mkdir -p "$PPROF_IN" "$PROFLOW_OUT"
curl -sf -o "$PPROF_IN/target.pb.gz" "http://127.0.0.1:$port/debug/pprof/profile?seconds=2" ||
	fail "fetching a profile from the Go target"

# --duration stops it like SIGTERM would; the final flush must still write files.
(cd "$T" && "$PROFLOW" --config "$EXAMPLE" --duration 8s >"$T/proflow.log" 2>&1) ||
	fail "proflow exited with $? running $EXAMPLE"

shopt -s nullglob
files=("$PROFLOW_OUT"/*.pb.gz)
[ "${#files[@]}" -gt 0 ] || fail "$EXAMPLE wrote no pprof file into $PROFLOW_OUT"
top=$(top_function "${files[@]}")
[ "$top" = "main.hotLoop" ] || fail "top function of the written profiles is '$top', not main.hotLoop"
echo "ok: $(basename "$EXAMPLE") wrote ${#files[@]} file(s); top function $top"
