#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# it.pprof_files: the pprof receiver watching a directory with delete_after_read: a file present at
# start and one arriving later are read and deleted, a corrupt one is counted, logged and kept.
. "$(dirname "$0")/pprof_lib.sh"

build_target
TPORT=$(free_port "$T")
MPORT=$(free_port "$T")
start_target "$TPORT"
# A loaded machine may starve the burner for a second: retry until the profile has samples.
seed=
for _ in 1 2 3 4 5; do
	curl -sf --max-time 20 -o "$T/seed.pb.gz" "http://127.0.0.1:$TPORT/debug/pprof/profile?seconds=1" ||
		fail "fetching a seed profile"
	seed=$(pprof_total "$T/seed.pb.gz")
	[ -z "$seed" ] || [ "$seed" -eq 0 ] || break
done
stop_target
[ -n "$seed" ] && [ "$seed" -gt 0 ] || fail "seed profile has no samples"

mkdir -p "$T/in" "$T/out"
cp "$T/seed.pb.gz" "$T/in/first.pb.gz"
printf 'this is not a profile' >"$T/in/corrupt.pb.gz"
cat >"$T/config.yaml" <<YAML
receivers:
  pprof:
    paths: ["$T/in/*.pb.gz", "$T/in/*.pb"]
    watch: true
    delete_after_read: true
    poll_interval: 200ms
    resource: {deployment.environment.name: test}
processors:
  aggregate:
    interval: 1h
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

gone() { [ ! -e "$1" ]; }
wait_for 10 gone "$T/in/first.pb.gz" || fail "first.pb.gz not read and deleted"

# A file arriving later, uncompressed this time, written through a name outside the globs.
gunzip -c "$T/seed.pb.gz" >"$T/in/second.tmp"
mv "$T/in/second.tmp" "$T/in/second.pb"
wait_for 10 gone "$T/in/second.pb" || fail "second.pb not read and deleted"

[ -e "$T/in/corrupt.pb.gz" ] || fail "the corrupt file was deleted"
errors() { [ "$(metric "$MPORT" proflow_component_input_errors)" = 1 ]; }
wait_for 5 errors || fail "input errors: $(metric "$MPORT" proflow_component_input_errors), want 1"
grep -q "skipped $T/in/corrupt.pb.gz: not a valid profile" "$T/proflow.log" ||
	fail "the corrupt file was not logged"
[ "$(grep -c 'corrupt.pb.gz' "$T/proflow.log")" -eq 1 ] || fail "the corrupt file was logged twice"
sleep 0.5 # a few more polls: nothing is read twice
[ "$(read_lines | wc -l)" -eq 2 ] || fail "$(read_lines | wc -l) reads, want 2"
accepted=$(metric "$MPORT" otelcol_receiver_accepted_profile_samples)
[ "$accepted" = "$(log_samples)" ] || fail "accepted $accepted != read $(log_samples)"

stop_proflow
set -- "$T"/out/*
[ -f "$1" ] || fail "no pprof file written"
got=$(pprof_total "$@")
echo "cpu ns: seed $seed, written $got"
[ "$got" = $((2 * seed)) ] || fail "written total $got != 2 x $seed"
echo PASS
