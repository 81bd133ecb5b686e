#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# it.symbolize_debuginfod: a stripped binary's static function, inlined frame and file:line come
# from Debian's real debuginfod server (pprof file -> pprof receiver -> symbolize -> pprof files):
# the first batch is named without them while the fetch runs, later ones with them; with
# debuginfod.enabled false nothing reaches the server and nothing is named.
# Usage: it_symbolize_debuginfod.sh PROFLOW SRC_DIR
set -eu
PROFLOW=$1
SRC=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/pf-it-debuginfod.XXXXXX")
SRV_PID=
PF_PID=
export GO111MODULE=off GOFLAGS="" GOCACHE="$T/gocache" GOTELEMETRY=off PPROF_TMPDIR="$T" HOME="$T"

# fail, skip, wait_for, free_port, metric, clean_up_at_exit.
. "$(dirname "$0")/lib.sh"
clean_up_at_exit "$T" SRV_PID PF_PID

command -v debuginfod >/dev/null || skip "debuginfod (Debian package debuginfod) is missing"
for tool in cc objcopy strip nm readelf go curl python3; do
	command -v $tool >/dev/null || fail "$tool is missing"
done

# The program, its debug info split off into the served directory, the binary stripped
# (it keeps its build ID and nothing that names the static functions).
mkdir -p "$T/bin" "$T/served" "$T/in" "$T/out"
cc -g -O1 -o "$T/dbgd.full" "$SRC/dbgd.c" || fail "cannot build the program"
objcopy --only-keep-debug "$T/dbgd.full" "$T/served/dbgd.debug"
strip -o "$T/bin/dbgd" "$T/dbgd.full"
BUILD_ID=$(readelf -n "$T/bin/dbgd" | awk '/Build ID:/ { print $3 }')
[ -n "$BUILD_ID" ] || fail "the program has no build ID"
! nm "$T/bin/dbgd" 2>/dev/null | grep -q pf_dbgd || fail "strip left pf_dbgd_* in the binary"
LEAF=$(nm "$T/served/dbgd.debug" | awk '$3 == "pf_dbgd_static_leaf" { print $1 }')
[ -n "$LEAF" ] || fail "pf_dbgd_static_leaf is not in the debug file"
LEAF_LINE=$(grep -n DBGD_LEAF "$SRC/dbgd.c" | cut -d: -f1)
INLINED_LINE=$(grep -n DBGD_INLINED "$SRC/dbgd.c" | cut -d: -f1)

# The server, indexing the directory; its first scan takes about a second.
PORT=$(free_port "$T")
env -u DEBUGINFOD_URLS debuginfod -p "$PORT" -F -d "$T/debuginfod.sqlite" "$T/served" \
	>"$T/debuginfod.log" 2>&1 &
# shellcheck disable=SC2034 # read by clean_up_at_exit
SRV_PID=$!
served() { curl -sf -o /dev/null "http://127.0.0.1:$PORT/buildid/$BUILD_ID/debuginfo"; }
wait_for 60 served || fail "debuginfod did not serve $BUILD_ID within 60 s"
# Requests for debug files the server got so far.
server_requests() {
	curl -sf "http://127.0.0.1:$PORT/metrics" |
		awk '$1 == "http_requests_total{type=\"debuginfo\"}" { n = $2 } END { print n + 0 }'
}

# One pprof file: one sample at pf_dbgd_static_leaf's first instruction (inside the inlined
# pf_dbgd_inlined) in a mapping of the stripped binary, as a PIE loaded at 0x555555554000.
write_profile() {
	python3 - "$1" "$T/bin/dbgd" "$BUILD_ID" "$LEAF" "$(dirname "$0")" <<'PY'
import sys
sys.path.insert(0, sys.argv[5])
from pbwire import put_field, put_varint, put_vfield
out, binary, build_id, leaf = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4], 16)
base = 0x555555554000
strings = ["", "samples", "count", binary, build_id]
vt = put_vfield(1, 1) + put_vfield(2, 2)
sample = put_field(1, put_varint(1)) + put_field(2, put_varint(5))
mapping = (put_vfield(1, 1) + put_vfield(2, base) + put_vfield(3, base + 0x100000) +
           put_vfield(4, 0) + put_vfield(5, 3) + put_vfield(6, 4))
location = put_vfield(1, 1) + put_vfield(2, 1) + put_vfield(3, base + leaf)
body = put_field(1, vt) + put_field(2, sample) + put_field(3, mapping) + put_field(4, location)
for s in strings:
    body += put_field(6, s.encode())
body += put_field(11, vt) + put_vfield(12, 1)
with open(out + ".tmp", "wb") as f:
    f.write(body)
import os
os.rename(out + ".tmp", out)
PY
}

# Runs proflow with debuginfod enabled ($1 true|false) on the files written by $2 runs.
start_proflow() {
	MPORT=$(free_port "$T")
	cat >"$T/config.yaml" <<YAML
receivers:
  pprof:
    paths: ["$T/in/*.pb"]
    watch: true
    delete_after_read: true
    poll_interval: 100ms
processors:
  symbolize:
    debuginfod:
      enabled: $1
      cache_dir: $T/cache
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
      processors: [symbolize]
      exporters: [pprof]
YAML
	DEBUGINFOD_URLS="http://127.0.0.1:$PORT" "$PROFLOW" --config "$T/config.yaml" \
		>"$T/proflow.log" 2>&1 &
	PF_PID=$!
}

stop_proflow() {
	kill -TERM "$PF_PID"
	wait "$PF_PID" || fail "proflow exited with $?"
	PF_PID=
}

gone() { [ ! -e "$1" ]; }

# Feeds file number $1 and waits until it was read; prints the locations of what came out
# (`go tool pprof -raw`, one location's frames per line: "function file:line ...").
feed() {
	local n=$1 before after
	before=$(ls "$T/out" | wc -l)
	write_profile "$T/in/p$n.pb"
	wait_for 20 gone "$T/in/p$n.pb" || fail "p$n.pb was not read"
	more() { [ "$(ls "$T/out" | wc -l)" -gt "$before" ]; }
	wait_for 20 more || fail "no pprof output for p$n.pb"
	after=$(ls -t "$T/out"/* | head -1)
	go tool pprof -raw "$after" 2>"$T/pprof.err" | awk '
		/^Locations/ { on = 1; next }
		/^Mappings/ { on = 0 }
		on && /^ *[0-9]+:/ { if (loc) print loc; loc = ""; $1 = ""; $2 = ""; $3 = "" }
		on { for (i = 1; i <= NF; i++) if ($i !~ /^s=/) loc = loc " " $i }
		END { if (loc) print loc }' || fail "go tool pprof: $(cat "$T/pprof.err")"
}

want_leaf="pf_dbgd_inlined $SRC/dbgd.c:$INLINED_LINE pf_dbgd_static_leaf $SRC/dbgd.c:$LEAF_LINE"

# Enabled: the first batch goes on without the debug file, a later one has it.
start_proflow true
first=$(feed 1)
echo "first batch: $first"
case $first in *pf_dbgd*) fail "the first batch waited for the debug file: $first" ;; esac
named=
for n in 2 3 4 5 6 7 8 9 10; do
	got=$(feed "$n")
	echo "batch $n: $got"
	# shellcheck disable=SC2086 # squeezes the blanks
	[ "$(echo $got)" = "$want_leaf" ] && named=$n && break
	sleep 0.5
done
[ -n "$named" ] || fail "no batch named the leaf \"$want_leaf\""
requests=$(metric "$MPORT" proflow_debuginfod_requests)
found=$(metric "$MPORT" proflow_debuginfod_found)
bytes=$(metric "$MPORT" proflow_debuginfod_received_bytes)
echo "proflow: $requests requests, $found found, $bytes bytes"
[ "$requests" = 1 ] || fail "$requests debuginfod requests, want 1 (one per build ID)"
[ "$found" = 1 ] || fail "$found debug files found, want 1"
[ "$bytes" -eq "$(stat -c %s "$T/served/dbgd.debug")" ] || fail "received $bytes bytes"
stop_proflow
[ -s "$T/cache/$BUILD_ID/debuginfo" ] || fail "nothing in the cache_dir"

# Disabled: nothing named from debug info, no request to the server.
rm -rf "$T/cache" "$T/out"/*
asked=$(server_requests)
start_proflow false
for n in 11 12 13; do
	got=$(feed "$n")
	echo "disabled, batch $n: $got"
	case $got in *pf_dbgd*) fail "named without debuginfod: $got" ;; esac
done
[ "$(metric "$MPORT" proflow_debuginfod_requests)" = 0 ] ||
	fail "proflow counted debuginfod requests while disabled"
stop_proflow
[ "$(server_requests)" = "$asked" ] || fail "the server got requests while debuginfod was disabled"
[ ! -e "$T/cache" ] || fail "the cache_dir was created while debuginfod was disabled"
echo "PASS: named from debuginfod in batch $named, not while disabled"
