#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# it.pprof_sigterm: SIGTERM while a scrape is in flight; proflow waits for it, and the profile it
# brings back still reaches the pprof file written at shutdown.
. "$(dirname "$0")/pprof_lib.sh"

build_target
TPORT=$(free_port "$T")
MPORT=$(free_port "$T")
start_target "$TPORT"

mkdir -p "$T/out"
cat >"$T/config.yaml" <<YAML
receivers:
  pprof:
    targets: ["http://127.0.0.1:$TPORT/debug/pprof/profile?seconds=2"]
    interval: 4s
    timeout: 3900ms
processors:
  aggregate:
    interval: 1h
exporters:
  pprof:
    directory: $T/out
service:
  shutdown_timeout: 10s
  telemetry:
    logs: {level: debug}
    metrics: {address: "127.0.0.1:$MPORT"}
  pipelines:
    profiles:
      receivers: [pprof]
      processors: [aggregate]
      exporters: [pprof]
YAML
start_proflow "$T/config.yaml"

# Scrapes start at 0 s and 4 s and last about 2.1 s: the first is read at about 2.1 s; SIGTERM at
# about 4.8 s falls in the middle of the second.
have_reads() { [ "$(read_lines | wc -l)" -ge "$1" ]; }
wait_for 15 have_reads 1 || fail "first scrape not read within 15 s"
sleep 2.7
[ "$(read_lines | wc -l)" -eq 1 ] || fail "second scrape already done: timing off"
stop_proflow
stop_target

grep -q 'waiting for 1 scrapes in flight' "$T/proflow.log" || fail "no scrape was in flight at SIGTERM"
[ "$(read_lines | wc -l)" -eq 2 ] || fail "the scrape in flight at SIGTERM was not read"

set -- "$T"/out/*
[ -f "$1" ] || fail "no pprof file written at shutdown"
want=$(log_sum cpu/nanoseconds)
got=$(pprof_total "$@")
echo "cpu ns: read $want, written $got in $# file(s)"
[ -n "$got" ] && [ "$got" = "$want" ] || fail "written total $got != read total $want"
echo PASS
