# SPDX-License-Identifier: Apache-2.0
# Shared steps of the pprof receiver's integration tests (sourced by it_pprof_*.sh):
# a temp dir, free ports, the Go pprof target, the proflow binary, and cleanup
# that leaves no process behind.
#
# The sourcing script is called as: script PROFLOW GO_SOURCE_DIR BUILD_DIR

set -eu

PROFLOW=$1
GO_SRC=$2
BUILD=$3
T=$(mktemp -d "${TMPDIR:-/tmp}/pf-it-pprof.XXXXXX")
TARGET_PID=
PF_PID=
export GOCACHE="$BUILD/gocache" GOPATH="$BUILD/gopath" GOFLAGS=-mod=mod GOPROXY=off \
	GO111MODULE=on GOTELEMETRY=off PPROF_TMPDIR="$T" HOME="${HOME:-$T}"

# fail, wait_for, free_port, clean_up_at_exit.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
clean_up_at_exit "$T" PF_PID TARGET_PID

build_target() {
	mkdir -p "$BUILD"
	(cd "$GO_SRC" && go build -o "$BUILD/pproftarget" .) || fail "building the Go target"
}

# start_target PORT: the Go program serving net/http/pprof on 127.0.0.1:PORT.
start_target() {
	"$BUILD/pproftarget" "127.0.0.1:$1" >"$T/target.log" 2>&1 &
	TARGET_PID=$!
	wait_for 10 curl -sf --max-time 2 "http://127.0.0.1:$1/debug/pprof/" || fail "Go target did not start"
}

stop_target() {
	if [ -n "$TARGET_PID" ]; then
		kill -TERM "$TARGET_PID" 2>/dev/null || true
		wait "$TARGET_PID" 2>/dev/null || true
		TARGET_PID=
	fi
}

# start_proflow CONFIG: runs the real binary in the background, log in $T/proflow.log.
start_proflow() {
	"$PROFLOW" --config "$1" >"$T/proflow.log" 2>&1 &
	PF_PID=$!
}

# stop_proflow: SIGTERM, then waits up to 30 s; fails unless it exits 0.
stop_proflow() {
	local i=0 rc=0
	kill -TERM "$PF_PID"
	while kill -0 "$PF_PID" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 300 ] || fail "proflow did not exit within 30 s of SIGTERM"
		sleep 0.1
	done
	wait "$PF_PID" || rc=$?
	PF_PID=
	[ "$rc" -eq 0 ] || fail "proflow exited with $rc after SIGTERM"
}

# read_lines: the receiver's debug lines for profiles it read.
read_lines() {
	grep -E 'receiver/pprof[^ ]*: read ' "$T/proflow.log" || true
}

# log_sum KEY: the sum of KEY=N over the receiver's read lines.
log_sum() {
	read_lines | grep -oE "(^| )$1=[0-9]+" | awk -F= '{ s += $2 } END { printf "%.0f\n", s }'
}

# log_samples: the sum of the sample counts in the read lines.
log_samples() {
	read_lines | grep -oE '[0-9]+ samples' | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# pprof_total FILE...: total cpu nanoseconds as go tool pprof reports it.
pprof_total() {
	go tool pprof -top -unit=ns "$@" 2>/dev/null |
		sed -nE 's/.* of ([0-9]+)ns total.*/\1/p' | head -n1
}

# Go's asynchronous preemption pushes runtime.asyncPreempt on top of the loop it
# interrupts; hiding it gives those samples back to the loop they were taken in.
PREEMPT='^runtime\.asyncPreempt$'

# flat_ns FUNCTION FILE...: the flat cpu nanoseconds of FUNCTION.
flat_ns() {
	local fn=$1
	shift
	go tool pprof -top -unit=ns -hide="$PREEMPT" "$@" 2>/dev/null |
		awk -v f="$fn" '$NF == f { sub(/ns$/, "", $1); print $1; found = 1 } END { if (!found) print 0 }'
}

# top_function FILE...: the function with the largest flat share.
top_function() {
	go tool pprof -top -unit=ns -hide="$PREEMPT" "$@" 2>/dev/null | awk '/flat%/ { getline; print $NF; exit }'
}
