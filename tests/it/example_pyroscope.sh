#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Sourced by example.sh for examples that export to Pyroscope: runs the example
# on a JFR recording against fake_pyroscope.py, once per API (push, ingest),
# and checks the series labels and that the CPU profile names the hot method.

JFR_DATA=$(dirname "$0")/../data/jfr/workload.jfr
[ -s "$JFR_DATA" ] || fail "missing $JFR_DATA"

run_pyroscope_api() { # API
	local api=$1 out="$T/pyroscope-$1" port
	port=$(free_port "$T")
	export JFR_IN="$T/jfr-$api" PYROSCOPE_URL="http://127.0.0.1:$port" PYROSCOPE_API=$api
	export PROFLOW_METRICS="127.0.0.1:$(free_port "$T")"
	mkdir -p "$JFR_IN"
	cp "$JFR_DATA" "$JFR_IN/"
	python3 "$(dirname "$0")/fake_pyroscope.py" "$port" "$out" &
	TARGET_PID=$!
	wait_for 10 python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" ||
		fail "fake Pyroscope did not start"
	(cd "$T" && "$PROFLOW" --config "$EXAMPLE" --duration 6s >"$T/proflow.log" 2>&1) ||
		fail "proflow exited with $? running $EXAMPLE ($api)"
	kill "$TARGET_PID"
	wait "$TARGET_PID" 2>/dev/null || true
	TARGET_PID=
	[ -s "$out/requests.jsonl" ] || fail "$api: Pyroscope got no request"
	! grep -q '"error"' "$out/requests.jsonl" || fail "$api: bad request: $(grep '"error"' "$out/requests.jsonl")"
	python3 - "$api" "$out/requests.jsonl" <<'PY' || fail "$api: unexpected series"
import json, sys
api, rows = sys.argv[1], [json.loads(l) for l in open(sys.argv[2])]
if api == "push":
    names = {r["labels"]["__name__"] for r in rows}
    assert {"process_cpu", "memory", "mutex"} <= names, names
    for r in rows:
        l = r["labels"]
        assert l["service_name"] == "Workload" and l["source"] == "jfr", l
        assert l["deployment_environment"] == "dev" and l["__delta__"] == "false", l
else:
    for r in rows:
        name = r["query"]["name"]
        assert name.startswith("Workload{") and "source=jfr" in name, name
        assert "deployment.environment=dev" in name, name
        assert r["query"]["spyName"] == "proflow", r["query"]
PY
	if [ "$api" = push ]; then
		files=("$out"/process_cpu.*.pb.gz)
	else
		files=("$out"/cpu_samples.*.pb.gz)
	fi
	[ -e "${files[0]}" ] || fail "$api: no CPU profile arrived"
	top=$(top_function "${files[@]}")
	[ "$top" = "Workload.spinPrimes" ] ||
		fail "$api: top function of the CPU profile is '$top', not Workload.spinPrimes"
	echo "ok: $(basename "$EXAMPLE") $api: $(wc -l <"$out/requests.jsonl") series; top function $top"
}

run_pyroscope_api push
run_pyroscope_api ingest
