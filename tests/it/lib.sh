# SPDX-License-Identifier: Apache-2.0
# Sourced by the integration tests: the helpers they share.

# fail MESSAGE: reports and ends the test.
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# wait_for SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds;
# returns 1 when SECONDS pass first.
wait_for() {
	local limit=$(($1 * 10)) i=0
	shift
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -lt "$limit" ] || return 1
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
