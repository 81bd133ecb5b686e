#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# it.pprof_scrape: proflow scrapes a Go program's /debug/pprof/profile, aggregates and writes pprof
# files; go tool pprof must find the Go program's hot function with its share, and the files must
# hold exactly what the receiver accepted.
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
    interval: 3s
    timeout: 2950ms
    job: pproftarget
processors:
  aggregate:
    interval: 5s
exporters:
  pprof:
    directory: $T/out
service:
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

# Two scrapes of 2 s each, 3 s apart.
have_reads() { [ "$(read_lines | wc -l)" -ge "$1" ]; }
wait_for 20 have_reads 2 || fail "no two scrapes read within 20 s"

# Every sample the receiver read was accepted (retry if a scrape lands between the reads).
ok=
for _ in 1 2 3 4 5; do
	m1=$(metric "$MPORT" otelcol_receiver_accepted_profile_samples)
	logged=$(log_samples)
	m2=$(metric "$MPORT" otelcol_receiver_accepted_profile_samples)
	if [ "$m1" = "$m2" ] && [ "$m1" = "$logged" ] && [ "$m1" -gt 0 ]; then
		ok=1
		break
	fi
	sleep 0.5
done
[ -n "$ok" ] || fail "accepted samples $m1/$m2 in /metrics, $logged in the receiver's log"
errors=$(metric "$MPORT" proflow_component_input_errors)
[ "$errors" = 0 ] || fail "$errors input errors"

stop_proflow

# What Go itself serves, for comparison of the hot function's share. Only once
# proflow has stopped: Go answers 500 while another CPU profile is running.
curl -sf --max-time 20 -o "$T/direct.pb.gz" "http://127.0.0.1:$TPORT/debug/pprof/profile?seconds=2" ||
	fail "fetching a profile directly"
stop_target

set -- "$T"/out/*
[ -f "$1" ] || fail "no pprof file written"
echo "files: $#"

# The files hold exactly the CPU time of every profile the receiver read.
want=$(log_sum cpu/nanoseconds)
got=$(pprof_total "$@")
echo "cpu ns: read $want, written $got"
[ -n "$got" ] && [ "$got" = "$want" ] || fail "written total $got != read total $want"

top=$(top_function "$@")
[ "$top" = main.hotLoop ] || fail "top function is $top, not main.hotLoop"
hot=$(flat_ns main.hotLoop "$@")
cold=$(flat_ns main.coldLoop "$@")
dhot=$(flat_ns main.hotLoop "$T/direct.pb.gz")
dcold=$(flat_ns main.coldLoop "$T/direct.pb.gz")
python3 - "$hot" "$cold" "$dhot" "$dcold" <<'PY' || fail "hot function share out of bounds"
import sys
hot, cold, dhot, dcold = map(int, sys.argv[1:])
share = hot / (hot + cold)
direct = dhot / (dhot + dcold)
print(f"main.hotLoop share: through proflow {share:.3f}, direct {direct:.3f}")
# About 0.8 each; the bounds leave room for sampling noise on a loaded machine.
assert 0.6 <= share <= 0.93, share
assert abs(share - direct) <= 0.15, (share, direct)
PY
echo PASS
