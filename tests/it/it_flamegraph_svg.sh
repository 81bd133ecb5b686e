#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# it.flamegraph_svg: a real CPU profile of the Go target goes through proflow (pprof receiver ->
# flamegraph exporter, SVG and folded); the SVG is well-formed XML, and in headless Chromium its
# search finds main.hotLoop with the share `go tool pprof` gives it, and its zoom works.
. "$(dirname "$0")/pprof_lib.sh"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || fail "chromium is not installed (Debian package chromium)"
command -v xmllint >/dev/null || fail "xmllint is not installed (Debian package libxml2-utils)"

build_target
TPORT=$(free_port "$T")
start_target "$TPORT"
# A loaded machine may starve the burner for a second: retry until the profile has samples.
total=
for _ in 1 2 3 4 5; do
	curl -sf --max-time 20 -o "$T/cpu.pb.gz" "http://127.0.0.1:$TPORT/debug/pprof/profile?seconds=2" ||
		fail "fetching a CPU profile"
	total=$(pprof_total "$T/cpu.pb.gz")
	[ -z "$total" ] || [ "$total" -eq 0 ] || break
done
stop_target
[ -n "$total" ] && [ "$total" -gt 0 ] || fail "the CPU profile has no samples"

mkdir -p "$T/in" "$T/out"
cp "$T/cpu.pb.gz" "$T/in/"
cat >"$T/config.yaml" <<YAML
receivers:
  pprof:
    paths: ["$T/in/*.pb.gz"]
exporters:
  flamegraph:
    directory: $T/out
    title: "Go target <it> & friends"
  flamegraph/folded:
    directory: $T/out
    format: folded
service:
  telemetry:
    logs: {level: debug}
  pipelines:
    profiles:
      receivers: [pprof]
      exporters: [flamegraph, flamegraph/folded]
YAML
start_proflow "$T/config.yaml"
written() { [ -s "$T/out/cumulative.svg" ] && [ -s "$T/out/cumulative.folded" ]; }
wait_for 10 written || fail "no flame graph written"
stop_proflow
grep -q "exporter/flamegraph: flame graph written to $T/out/flamegraph\." "$T/proflow.log" ||
	fail "the first flame graph was not logged"
set -- "$T"/out/flamegraph.*.svg
[ "$#" -eq 1 ] && [ -s "$1" ] || fail "want one per-batch SVG, got: $*"
SVG=$1
cmp -s "$SVG" "$T/out/cumulative.svg" || fail "one batch: the cumulative SVG differs from it"
xmllint --noout "$SVG" || fail "the SVG is not well-formed XML"
grep -q 'Go target &lt;it&gt; &amp; friends' "$SVG" || fail "the title is not escaped"

# The folded text holds the profile's total, in nanoseconds.
folded_total=$(awk '{ s += $NF } END { printf "%.0f\n", s }' "$T"/out/flamegraph.*.folded)
[ "$folded_total" = "$total" ] || fail "folded total $folded_total != pprof total $total"

# What go tool pprof says main.hotLoop costs, cumulatively, in percent.
want=$(go tool pprof -top -cum -unit=ns "$T/cpu.pb.gz" 2>/dev/null |
	awk '$NF == "main.hotLoop" { sub(/%$/, "", $5); print $5 }')
[ -n "$want" ] || fail "go tool pprof does not know main.hotLoop"

# chromium_dom URL: the DOM of the page after its scripts ran.
chromium_dom() {
	timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run --user-data-dir="$T/chromium" \
		--dump-dom "$1" 2>>"$T/chromium.log"
}
# matched URL: the percentage the SVG's search reports.
matched() {
	chromium_dom "$1" | grep -oE 'id="matched"[^>]*>Matched: [0-9.]+%' | grep -oE '[0-9.]+%' |
		tr -d %
}
close_to() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; exit !(d < 0.015 && d > -0.015) }'; }

got=$(matched "file://$SVG?s=hotLoop")
[ -n "$got" ] || fail "the search reported nothing (chromium log: $(tail -n 3 "$T/chromium.log"))"
echo "main.hotLoop: pprof ${want}%, flame graph search ${got}%"
close_to "$got" "$want" || fail "search matched ${got}%, pprof says ${want}%"

got=$(matched "file://$SVG?s=no_such_function")
[ "$got" = "0.00" ] || fail "a search for nothing matched ${got}%"

# Zoomed on main.hotLoop, the search for it covers everything shown, and
# main.coldLoop (beside it) is hidden.
dom=$(chromium_dom "file://$SVG?z=%5Emain%5C.hotLoop%24&s=hotLoop")
echo "$dom" | grep -q 'id="matched"[^>]*>Matched: 100.00%' || fail "zoomed search is not 100%"
echo "$dom" | grep -q '<g class="f hide"[^>]*><title>main.coldLoop ' || fail "zoom left coldLoop shown"
echo "$dom" | grep -q 'id="unzoom" class="button"' || fail "zoom did not offer Reset Zoom"

# A picture for people (kept in the build directory).
rm -f "$BUILD/flamegraph.png"
timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
	--disable-component-update --disable-sync --no-first-run --user-data-dir="$T/chromium" \
	--window-size=1200,600 --screenshot="$BUILD/flamegraph.png" "file://$SVG?s=hotLoop" \
	2>>"$T/chromium.log" || fail "chromium could not take a screenshot"
[ -s "$BUILD/flamegraph.png" ] || fail "no screenshot"
echo PASS
