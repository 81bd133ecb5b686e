#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# it.symbolize_<scenario>: proflow (ebpf -> symbolize -> pprof) names what it samples on this host.
#   shlib_lines: a shared library built with -g resolves with its file:line.
#   node_jit:    a Node.js program run with --perf-basic-prof shows its JavaScript function names,
#                and their stacks reach node::Start through the JIT frames.
# Usage: it_symbolize.sh SCENARIO PROFLOW SRC_DIR WORK_DIR
# Exits 77 (skip) without root or BPF, 1 instead when CI=true.
set -u
scenario=$1 proflow=$2 src=$3 work=$4

skip() {
	echo "SKIP it.symbolize_$scenario: $*"
	if [ "${CI:-}" = true ]; then
		echo "CI=true: a skipped test is a failure"
		exit 1
	fi
	exit 77
}
fail() {
	echo "FAIL it.symbolize_$scenario: $*"
	[ -f "$work/proflow.log" ] && tail -20 "$work/proflow.log"
	exit 1
}

[ "$(id -u)" = 0 ] || skip "needs root (CAP_BPF, CAP_PERFMON)"
[ -r /sys/kernel/btf/vmlinux ] || skip "the kernel has no BTF (/sys/kernel/btf/vmlinux)"
export GO111MODULE=off GOFLAGS= GOCACHE=${GOCACHE:-$work/gocache}
command -v go >/dev/null || fail "go (for go tool pprof) is missing"
rm -rf "$work"
mkdir -p "$work/out"

# Starts proflow keeping processes whose comm matches $1; waits until ready.
start_proflow() {
	cat >"$work/config.yaml" <<EOC
receivers:
  ebpf:
    frequency: 499
    report_interval: 1s
    comm: ["$1"]
processors:
  symbolize:
exporters:
  pprof:
    directory: $work/out
service:
  telemetry:
    metrics:
      address: 127.0.0.1:0
  pipelines:
    profiles:
      receivers: [ebpf]
      processors: [symbolize]
      exporters: [pprof]
EOC
	"$proflow" --config "$work/config.yaml" >"$work/proflow.log" 2>&1 &
	proflow_pid=$!
	for _ in $(seq 100); do
		grep -q "everything is ready" "$work/proflow.log" && return 0
		if ! kill -0 $proflow_pid 2>/dev/null; then
			if grep -q "cannot profile\|cannot load\|cannot open perf" "$work/proflow.log"; then
				skip "$(grep -m1 "error receiver/ebpf" "$work/proflow.log")"
			fi
			fail "proflow exited at start"
		fi
		sleep 0.1
	done
	fail "proflow not ready after 10 s"
}

# Stops proflow and writes every sample's leaf frame with its file:line
# ("<value> <function> <file>:<line>") to $work/leaves.
stop_proflow() {
	sleep 1.5
	kill -TERM $proflow_pid
	wait $proflow_pid || fail "proflow exited with $?"
	ls "$work"/out/*.pb.gz >/dev/null 2>&1 || fail "no pprof output"
	go tool pprof -sample_index=samples -traces -lines "$work"/out/*.pb.gz >"$work/traces" 2>"$work/pprof.err" ||
		fail "go tool pprof: $(cat "$work/pprof.err")"
	# A trace's first frame line carries its value: "   12   func file:line".
	awk '/^-+\+/ { first = 1; next }
	     first && NF >= 2 && $1 ~ /^[0-9]/ { v = $1; $1 = ""; print v, substr($0, 2); first = 0 }' \
		"$work/traces" >"$work/leaves"
}

case $scenario in
shlib_lines)
	cc -g -O1 -fno-omit-frame-pointer -fPIC -shared -o "$work/libpfhot.so" "$src/hot.c" &&
		cc -g -O1 -fno-omit-frame-pointer -o "$work/usehot" "$src/usehot.c" -L"$work" -lpfhot \
			-Wl,-rpath,"$work" || fail "cannot build the workload"
	decl=$(grep -n HOT_DECL "$src/hot.c" | cut -d: -f1)
	end=$(grep -n HOT_END "$src/hot.c" | cut -d: -f1)
	start_proflow '^usehot$'
	"$work/usehot" 4 >/dev/null || fail "workload failed"
	stop_proflow
	# Samples whose leaf is pf_shlib_hot, and those of them at a line of its body in hot.c
	# (at least 200 samples of the ~2000 a free CPU gives in 4 s at 499 Hz: other load
	# may share the CPUs).
	read -r total named inbody < <(awk -v d="$decl" -v e="$end" '
		{ t += $1 }
		$2 == "pf_shlib_hot" { n += $1; split($3, fl, ":")
			if (fl[1] ~ /\/hot\.c$/ && fl[2] >= d && fl[2] <= e) b += $1 }
		END { print t + 0, n + 0, b + 0 }' "$work/leaves")
	echo "samples: $total, leaf pf_shlib_hot: $named, at hot.c:$decl-$end: $inbody"
	grep -m3 pf_shlib_hot "$work/leaves"
	[ "$total" -ge 200 ] || fail "only $total samples"
	[ $((named * 100)) -ge $((total * 90)) ] || fail "pf_shlib_hot is the leaf of only $named of $total"
	[ "$inbody" = "$named" ] || fail "only $inbody of $named pf_shlib_hot samples carry hot.c:$decl-$end"
	;;
node_jit)
	command -v node >/dev/null || fail "node is missing"
	start_proflow '^node$'
	node --perf-basic-prof "$src/hot.js" 4 >/dev/null &
	node_pid=$!
	wait $node_pid || fail "node failed"
	stop_proflow
	rm -f "/tmp/perf-$node_pid.map"
	read -r total alpha beta < <(awk '
		{ t += $1 } /pfHotAlpha/ { a += $1 } /pfHotBeta/ { b += $1 }
		END { print t + 0, a + 0, b + 0 }' "$work/leaves")
	echo "samples: $total, leaf pfHotAlpha: $alpha, pfHotBeta: $beta"
	grep -m2 pfHot "$work/leaves"
	[ "$total" -ge 200 ] || fail "only $total samples"
	[ "$alpha" -gt 0 ] && [ "$beta" -gt 0 ] || fail "the JavaScript functions are not named"
	# Both are hot: together they are most of node's time.
	[ $(((alpha + beta) * 100)) -ge $((total * 50)) ] ||
		fail "pfHotAlpha + pfHotBeta are the leaf of only $((alpha + beta)) of $total"
	# Their stacks go on through the JIT frames (frame pointers) into
	# node's own code (its CFI) up to node::Start, not cut short: JIT pages
	# mapped after the process was read are read again at once.
	read -r hot whole < <(awk '
		function flush() { if (leaf ~ /pfHot/) { h += v; if (start && !cut) w += v } }
		/^-+\+/ { flush(); first = 1; leaf = ""; start = 0; cut = 0; next }
		first && NF >= 2 && $1 ~ /^[0-9]/ { v = $1; leaf = $2; first = 0 }
		/node::Start\(/ { start = 1 }
		/\[truncated/ { cut = 1 }
		END { flush(); print h + 0, w + 0 }' "$work/traces")
	echo "samples in pfHot*: $hot, whole to node::Start: $whole"
	[ $((whole * 100)) -ge $((hot * 95)) ] ||
		fail "only $whole of $hot JavaScript samples reach node::Start"
	;;
*)
	fail "unknown scenario"
	;;
esac
echo "PASS it.symbolize_$scenario"
