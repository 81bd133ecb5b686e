#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# it.jfr_cut_while_read: a JFR recording cut to nothing and rewritten (O_TRUNC, as jcmd JFR.dump to
# the same path does) while the jfr receiver decodes it is an input error, logged; proflow goes on
# and reads the next recording. When the receiver read chunks through mmap, the cut killed it with
# SIGBUS.
#
# Called as: it_jfr_cut.sh PROFLOW DATA_DIR WORK_DIR
set -eu

PROFLOW=$1
DATA=$2
mkdir -p "$3"
T=$(mktemp -d "$3/run.XXXXXX")
PF_PID=

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
clean_up_at_exit "$T" PF_PID

mkdir -p "$T/in" "$T/out"
# 300 chunks (~44 MB): decoding them takes long enough to be cut in the middle.
for _ in $(seq 300); do cat "$DATA/jfr/workload.jfr"; done >"$T/big.jfr"

cat >"$T/config.yaml" <<YAML
receivers:
  jfr:
    paths: ["$T/in/*.jfr"]
    poll_interval: 10ms
exporters:
  pprof:
    directory: $T/out
service:
  pipelines:
    profiles:
      receivers: [jfr]
      exporters: [pprof]
YAML
"$PROFLOW" --config "$T/config.yaml" >"$T/proflow.log" 2>&1 &
PF_PID=$!
wait_for 10 grep -q "everything is ready" "$T/proflow.log" || fail "proflow did not start"

# reading FILE: proflow has FILE open.
reading() {
	local fd
	for fd in /proc/"$PF_PID"/fd/*; do
		[ "$(readlink "$fd" 2>/dev/null)" = "$1" ] && return 0
	done
	return 1
}

for round in 1 2 3; do
	f="$T/in/cut$round.jfr"
	cp "$T/big.jfr" "$T/in/.cut$round.tmp"
	mv "$T/in/.cut$round.tmp" "$f"
	for _ in $(seq 3000); do
		reading "$f" && break
		kill -0 "$PF_PID" 2>/dev/null || fail "proflow exited before round $round"
		sleep 0.005
	done
	reading "$f" || fail "proflow did not open $f"
	# The writer reopens the path with O_TRUNC and writes a new recording's start.
	: >"$f"
	head -c 100 "$DATA/jfr/workload.jfr" >>"$f"
	sleep 0.5
	kill -0 "$PF_PID" 2>/dev/null || fail "proflow died when $f was cut under it (round $round)"
done
logged() { grep -q "skipped $T/in/cut[123].jfr: " "$T/proflow.log"; }
wait_for 10 logged || fail "no cut recording was logged as skipped"

# And the next recording is read as usual.
cp "$DATA/jfr/workload.jfr" "$T/in/.good.tmp"
mv "$T/in/.good.tmp" "$T/in/good.jfr"
written() { ls "$T/out"/*.pb.gz >/dev/null 2>&1; }
wait_for 20 written || fail "the good recording after the cut ones was not exported"
kill -0 "$PF_PID" 2>/dev/null || fail "proflow died"
kill -TERM "$PF_PID"
status=0
wait "$PF_PID" || status=$?
PF_PID=
[ "$status" -eq 0 ] || fail "proflow exited with status $status"
grep -Eq "receiver/jfr: .*; [1-9][0-9]* input errors" "$T/proflow.log" ||
	fail "the cut recordings were not counted as input errors"
echo "PASS: 3 recordings cut while read, proflow alive, $(grep -c "skipped $T/in/cut" "$T/proflow.log") logged"
