#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Checks the jfr receiver against the JDK on recordings you have: for each
# FILE.jfr, proflow reads it into pprof files and tests/it/jfr_compare.py
# compares their totals (events, per-method ExecutionSample counts, bytes,
# nanoseconds) with what the JDK's `jfr print --json` reports. Use it on
# recordings of JDKs or profilers the test suite cannot run here (Debian 12
# ships JDK 17 only).
#
#   scripts/jfr-check.sh [-b build-dir] FILE.jfr...
#
# Prints one line per file: SAME, DIFF (with the diff), EMPTY (no profile
# events for either side) or JDK-FAILED (jfr print itself rejected the file).
# Exits 1 when any file is DIFF.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build/release
if [ "${1:-}" = "-b" ]; then
	build=$2
	shift 2
fi
[ $# -gt 0 ] || { sed -n '3,14p' "$0" >&2; exit 2; }
proflow=$build/main/proflow
[ -x "$proflow" ] || { echo "jfr-check: no $proflow; run scripts/build.sh release" >&2; exit 2; }
compare=$root/tests/it/jfr_compare.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

differ=0
for file in "$@"; do
	name=$(basename "$file" .jfr)
	dir=$work/$name
	mkdir -p "$dir/in" "$dir/out"
	cp "$file" "$dir/in/$name.jfr"
	cat >"$dir/config.yaml" <<YAML
receivers:
  jfr: {paths: ["$dir/in/*.jfr"], poll_interval: 100ms}
exporters:
  pprof: {directory: $dir/out}
service:
  telemetry: {metrics: {address: ""}, logs: {level: warn}}
  pipelines:
    profiles: {receivers: [jfr], exporters: [pprof]}
YAML
	"$proflow" --config "$dir/config.yaml" --duration 3s >"$dir/proflow.log" 2>&1
	if ! python3 "$compare" truth "$file" >"$dir/jdk.txt" 2>"$dir/jdk.err"; then
		echo "$name: JDK-FAILED ($(tail -n1 "$dir/jdk.err" | cut -c1-120))"
		continue
	fi
	shopt -s nullglob
	outputs=("$dir"/out/*.pb.gz)
	shopt -u nullglob
	if [ ${#outputs[@]} -eq 0 ]; then
		: >"$dir/proflow.txt"
	else
		python3 "$compare" pprof "${outputs[@]}" >"$dir/proflow.txt"
	fi
	if ! diff -q "$dir/jdk.txt" "$dir/proflow.txt" >/dev/null; then
		echo "$name: DIFF (< jdk, > proflow)"
		diff "$dir/jdk.txt" "$dir/proflow.txt" | head -20
		grep -i 'warn\|error' "$dir/proflow.log" | head -5
		differ=1
	elif [ ! -s "$dir/jdk.txt" ]; then
		echo "$name: EMPTY (no events proflow maps)"
	else
		echo "$name: SAME ($(wc -l <"$dir/jdk.txt") totals, $(grep '^cpu.events' "$dir/jdk.txt" || echo 'cpu.events 0'))"
	fi
done
exit $differ
