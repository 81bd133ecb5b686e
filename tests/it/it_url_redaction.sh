#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# it.url_redaction: passwords in URLs (http://user:pass@host) never reach the log or an error
# message: the otlphttp and pyroscope exporters' endpoints and a pprof scrape target of a
# running proflow, and an endpoint refused by `proflow validate`. The user name stays, the
# password shows as ***.
# Called as: it_url_redaction.sh PROFLOW
set -eu

PROFLOW=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/pf-it-redact.XXXXXX")
PID=

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
clean_up_at_exit "$T" PID

DEAD=$(free_port "$T") # nothing listens there: every send and scrape fails and is logged
METRICS=$(free_port "$T")
cat >"$T/run.yaml" <<YAML
receivers:
  pprof:
    targets: ["http://scraper:Scrape-Pass-1@127.0.0.1:$DEAD/debug/pprof/profile?seconds=1"]
    interval: 1s
    timeout: 500ms
exporters:
  otlphttp:
    endpoint: http://agent:Otlp-Pass-2@127.0.0.1:$DEAD
  pyroscope:
    endpoint: http://pyro:Pyro-Pass-3@127.0.0.1:$DEAD
service:
  telemetry:
    logs: {level: debug}
    metrics: {address: "127.0.0.1:$METRICS"}
  pipelines:
    profiles:
      receivers: [pprof]
      exporters: [otlphttp, pyroscope]
YAML
"$PROFLOW" --config "$T/run.yaml" >"$T/proflow.log" 2>&1 &
PID=$!
# Started, and the scrape failed at least twice (logged, rate-limited).
wait_for 10 grep -q "scraper:\*\*\*@127.0.0.1" "$T/proflow.log" ||
	fail "the scrape failure was not logged with a redacted URL"
kill -TERM "$PID"
wait "$PID" || true
PID=
grep -q "sending to http://agent:\*\*\*@127.0.0.1:$DEAD" "$T/proflow.log" ||
	fail "otlphttp did not log its redacted endpoint"
grep -q "sending to http://pyro:\*\*\*@127.0.0.1:$DEAD" "$T/proflow.log" ||
	fail "pyroscope did not log its redacted endpoint"

cat >"$T/bad.yaml" <<YAML
receivers:
  pprof:
    targets: ["http://127.0.0.1:$DEAD/debug/pprof/profile"]
exporters:
  otlphttp:
    endpoint: ftp://agent:Otlp-Pass-4@127.0.0.1:$DEAD
service:
  pipelines:
    profiles:
      receivers: [pprof]
      exporters: [otlphttp]
YAML
"$PROFLOW" validate --config "$T/bad.yaml" >"$T/validate.log" 2>&1 && fail "validate accepted an ftp:// endpoint"
grep -q "ftp://agent:\*\*\*@127.0.0.1" "$T/validate.log" || fail "validate's error lacks the redacted URL"

for f in "$T/proflow.log" "$T/validate.log"; do
	if grep -n -- "-Pass-" "$f"; then
		fail "a password from a URL is in $(basename "$f")"
	fi
done
echo PASS
