# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Sourced by the integration tests: the helpers they share.

# clean_up_at_exit DIR PIDVAR...: when the test exits, or on SIGINT/SIGTERM,
# kills and reaps the processes whose pids the named variables then hold,
# shows the last 40 lines of DIR/*.log and of the files in FAILURE_FILES
# (set by the test, may be empty) when it failed, and removes DIR.
clean_up_at_exit() {
	_at_exit_dir=$1
	shift
	_at_exit_pid_vars="$*"
	trap _clean_up EXIT
	trap 'exit 130' INT TERM
}

_clean_up() {
	local status=$? var pid f
	for var in $_at_exit_pid_vars; do
		pid=${!var:-}
		[ -n "$pid" ] || continue
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [ "$status" -ne 0 ]; then
		# shellcheck disable=SC2086 # FAILURE_FILES is a list of paths
		for f in "$_at_exit_dir"/*.log ${FAILURE_FILES:-}; do
			[ -f "$f" ] || continue
			echo "---- $(basename "$f") ----" >&2
			tail -n 40 "$f" >&2
		done
	fi
	rm -rf "$_at_exit_dir"
	exit "$status"
}

# fail MESSAGE: reports and ends the test.
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# skip MESSAGE: the test cannot run here: exit 77 (ctest's skip), or fail
# when CI=true, where everything a test needs is there.
skip() {
	echo "SKIP: $*" >&2
	[ "${CI:-}" != true ] || fail "skipped under CI: $*"
	exit 77
}

# wait_for SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds;
# returns 1 when SECONDS pass first (wall-clock time: on a loaded machine a
# slow COMMAND gets fewer tries, not more time).
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# free_port DIR: a loopback TCP port free now and not handed out before to
# this test. The kernel may give the same ephemeral port to two binds in a
# row once the first is closed, so ports already given are listed in
# DIR/.ports (the test's own directory).
free_port() {
	local list="$1/.ports" port
	while :; do
		port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		grep -qx "$port" "$list" 2>/dev/null || break
	done
	echo "$port" >>"$list"
	echo "$port"
}

# metric PORT NAME [FILTER]: the sum of the series of NAME (or NAME_total) on
# proflow's /metrics at 127.0.0.1:PORT whose labels contain FILTER.
metric() {
	curl -sf --max-time 5 "http://127.0.0.1:$1/metrics" |
		awk -v n="$2" -v f="${3:-}" '($1 == n || index($1, n "{") == 1 || index($1, n "_total") == 1) && (f == "" || index($1, f)) { s += $NF } END { printf "%.0f\n", s }'
}
