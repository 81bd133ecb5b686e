#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# it.pprof_ack: a pipeline of pprof files answers 2xx only for what is on disk. An otlp
# receiver (HTTP) feeds the pprof exporter, whose directory is a small tmpfs that fills up;
# a real client sends many requests (one sample each, worth the request's number): each
# 2xx-answered number is in a file, the rest were answered 503, and proflow goes on.
# Needs root (mount); otherwise it is skipped (77), a failure under CI=true.
# Called as: it_pprof_ack.sh PROFLOW TEST_SOURCE_DIR BUILD_DIR [REQUESTS]
set -eu

PROFLOW=$1
SRC=$2
BUILD=$3
REQUESTS=${4:-200}
mkdir -p "$BUILD"
T=$(mktemp -d "$BUILD/run.XXXXXX")
PF_PID=

# shellcheck source=lib.sh
. "$SRC/lib.sh"
clean_up_at_exit "$T" PF_PID
# shellcheck disable=SC2154 # st is the trap's own
trap 'st=$?; umount -l "$T/out" 2>/dev/null || true; set +e; (exit $st); _clean_up' EXIT

[ "$(id -u)" = 0 ] || skip "needs root to mount a tmpfs"
mkdir -p "$T/out"
# 32 KiB: a few dozen small pprof files (tmpfs gives each file a page)
mount -t tmpfs -o size=32k,mode=0700 tmpfs "$T/out" || skip "cannot mount a tmpfs"
RX=$(free_port "$T")
METRICS=$(free_port "$T")

cat >"$T/config.yaml" <<YAML
receivers:
  otlp:
    protocols:
      http: {endpoint: "127.0.0.1:$RX"}
exporters:
  pprof:
    directory: $T/out
service:
  telemetry:
    logs: {level: info}
    metrics: {address: "127.0.0.1:$METRICS"}
  pipelines:
    profiles:
      receivers: [otlp]
      exporters: [pprof]
YAML
"$PROFLOW" --config "$T/config.yaml" >>"$T/proflow.log" 2>&1 &
PF_PID=$!
wait_for 10 curl -sf --max-time 2 "http://127.0.0.1:$METRICS/metrics" || fail "proflow did not start"

python3 "$SRC/ack_client.py" "$RX" "$REQUESTS" 4 "$T/client" || fail "the client failed"
acked=$(wc -l <"$T/client/acked")
refused=$(awk '$1 == 503 { print $2 }' "$T/client/statuses")
echo "pprof on a full tmpfs: $(tr '\n' ' ' <"$T/client/statuses")(status count)"
[ "$acked" -gt 0 ] || fail "no request was answered 2xx"
[ "${refused:-0}" -gt 0 ] || fail "nothing refused: the tmpfs never filled"
[ "$((acked + ${refused:-0}))" = "$REQUESTS" ] || fail "answers other than 2xx and 503"

# Every 2xx-answered number must be the value of a sample in some file.
missing=$(python3 - "$SRC" "$T" <<'PY'
import glob, gzip, os, sys
sys.path.insert(0, sys.argv[1])
from pbwire import fields, varint

def packed(buf):
    i, out = 0, []
    while i < len(buf):
        v, i = varint(buf, i)
        out.append(v)
    return out

got = set()
for path in glob.glob(os.path.join(sys.argv[2], "out", "*.pb.gz")):
    try:
        data = gzip.decompress(open(path, "rb").read())
    except (OSError, EOFError):
        continue  # a file cut by the full disk is no file proflow kept
    for num, wire, val in fields(data):
        if num == 2:  # Profile.sample
            for snum, swire, sval in fields(val):
                if snum == 2:  # Sample.value
                    got.update(packed(sval) if swire == 2 else [sval])
acked = {int(l) for l in open(os.path.join(sys.argv[2], "client", "acked")) if l.strip()}
print(len(acked - got))
PY
)
[ "$missing" = 0 ] || fail "$missing 2xx-answered requests are in no pprof file"
kill -0 "$PF_PID" || fail "proflow died"
kill -TERM "$PF_PID"
wait "$PF_PID" || fail "proflow exited with $? after SIGTERM"
PF_PID=
echo "ok: $REQUESTS requests, $acked answered 2xx (each in a file), ${refused:-0} answered 503 on a full disk"
echo PASS
