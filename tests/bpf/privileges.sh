#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bpf.<scenario> on privileges, the real proflow against the cost3 workload:
#   capabilities_dropped    as root, once started, every thread of proflow holds only what its
#                           pipelines need: CAP_SYS_PTRACE and CAP_SYSLOG with an ebpf receiver
#                           (and it still profiles), nothing without; ambient empty, bounding the
#                           same, no_new_privs. proflow used to keep every capability for life.
#   non_root_same_profiles  proflow as root and as a dedicated user holding only the capabilities of
#                           deploy/systemd/proflow.service (read from the unit) profile the same
#                           workload at the same time: sample counts within 5 %, functions named
#                           in both. Without them, the error names exactly that set.
# Usage: privileges.sh SCENARIO PROFLOW WORKLOAD_DIR UNIT_FILE WORK_DIR
# Exits 77 (skip) without root or BPF, 1 instead when CI=true.
set -u
scenario=$1 proflow=$2 bin=$3 unit=$4 work=$5
# shellcheck source=../it/lib.sh
source "$(dirname "$0")/../it/lib.sh"
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

require_bpf
command -v setpriv >/dev/null || fail "setpriv (util-linux) is missing"
rm -rf "$work"
mkdir -p "$work"
chmod 755 "$work"
root_pid='' user_pid='' workload='' syscalls=''
clean_up_at_exit "$work" root_pid user_pid workload syscalls

CAP_SYS_PTRACE=19 CAP_SYSLOG=34 CAP_BPF=39

# config NAME [ebpf]: writes $work/NAME.yaml, an ebpf receiver (when asked) and an OTLP/gRPC
# receiver (whose gRPC threads must drop too) into symbolize and folded stacks in $work/NAME.
config() {
	local name=$1 receivers=otlp
	mkdir -p "$work/$name"
	{
		echo "receivers:"
		if [ "${2:-}" = ebpf ]; then
			receivers="ebpf, otlp"
			printf '  ebpf: {frequency: 499, report_interval: 1s, comm: ["^cost3$", "^syscalls$"]}\n'
		fi
		echo "  otlp: {protocols: {grpc: {endpoint: 127.0.0.1:$(free_port "$work")}}}"
		echo "processors: {symbolize: {}}"
		echo "exporters:"
		echo "  flamegraph: {directory: $work/$name, format: folded, sample_type: samples, group_by: process}"
		echo "service:"
		echo "  telemetry: {metrics: {address: \"\"}}"
		echo "  pipelines: {profiles: {receivers: [$receivers], processors: [symbolize], exporters: [flamegraph]}}"
	} >"$work/$name.yaml"
	chmod -R a+rX "$work/$name.yaml" "$work/$name"
}

# started LOG PID: proflow started (or exited: skip or fail), and said what it kept.
started() {
	if ! wait_for 20 grep -q "everything is ready" "$1"; then
		kill -0 "$2" 2>/dev/null || { grep -q "cannot profile\|cannot load\|cannot open perf" "$1" &&
			skip "$(grep -m1 "error receiver/ebpf" "$1")"; }
		fail "proflow did not start: $(tail -3 "$1")"
	fi
	wait_for 5 grep -q "capabilities kept" "$1" || echo "proflow did not say which capabilities it kept"
	kill -0 "$2" || fail "proflow exited: $(tail -3 "$1")"
}

# expect_caps PID MASK BOUNDING: every thread's effective and permitted sets are MASK, its ambient
# set empty, its bounding set BOUNDING (not looked at when "-"), and no_new_privs set.
expect_caps() {
	local pid=$1 want status t bounding='v["CapBnd:"]'
	if [ "$3" = - ]; then
		want="$(printf '%016x %016x 0000000000000000 - 1' "$2" "$2")" bounding='"-"'
	else
		want="$(printf '%016x %016x 0000000000000000 %016x 1' "$2" "$2" "$3")"
	fi
	for t in /proc/"$pid"/task/*; do
		status=$(awk '/^(CapEff|CapPrm|CapAmb|CapBnd|NoNewPrivs):/ { v[$1] = $2 }
			END { print v["CapEff:"], v["CapPrm:"], v["CapAmb:"], '"$bounding"', v["NoNewPrivs:"] }' "$t/status")
		echo "thread ${t##*/} ($(cat "$t/comm")): effective permitted ambient bounding no_new_privs: $status"
		[ "$status" = "$want" ] || fail "thread ${t##*/} of $pid holds $status, expected $want"
	done
}

# counts FOLDED PID: "samples named" of cost3 PID (other tests may run a cost3 meanwhile): all its
# samples, those in pf_cost* under main.
counts() {
	awk -v p="cost3 ($2);" 'index($0, p) == 1 { n += $NF; if (index($0, ";main;pf_cost")) named += $NF }
		END { print n + 0, named + 0 }' "$1"
}

# kernel_frames FOLDED PID: samples of syscalls PID in pf_sys_writer, those with the kernel's write
# path named beneath, those with a kernel frame left as an address (/proc/kallsyms unreadable).
kernel_frames() {
	awk -v p="syscalls ($2);" 'index($0, p) == 1 && index($0, ";main;pf_sys_writer") {
			n += $NF
			if ($0 ~ /;(ksys_write|vfs_write)(;| )/) named += $NF
			if (index($0, ";[kernel.kallsyms]+0x")) bare += $NF
		}
		END { print n + 0, named + 0, bare + 0 }' "$1"
}

# workload SECONDS: runs cost3 for SECONDS; its pid in $workload.
workload() {
	"$bin/cost3" "$1" &
	workload=$!
	wait "$workload" || fail "workload failed"
}

# stop PIDVAR: SIGTERM, wait, exit status 0.
stop() {
	local pid=${!1}
	kill -TERM "$pid"
	wait "$pid" || fail "proflow ($1) exited with $?"
	eval "$1="
}

case $scenario in
capabilities_dropped)
	config ebpf ebpf
	"$proflow" --config "$work/ebpf.yaml" >"$work/ebpf.log" 2>&1 &
	root_pid=$!
	started "$work/ebpf.log" "$root_pid"
	grep "capabilities kept" "$work/ebpf.log"
	keep=$(((1 << CAP_SYS_PTRACE) | (1 << CAP_SYSLOG)))
	# Linux before 6.5 with unprivileged_bpf_disabled wants CAP_BPF for map reads.
	grep -q "capabilities kept: cap_bpf," "$work/ebpf.log" && keep=$((keep | (1 << CAP_BPF)))
	expect_caps "$root_pid" "$keep" "$keep"
	workload 4
	sleep 1.5 # the last samples reach a drain
	expect_caps "$root_pid" "$keep" "$keep" >/dev/null # threads started since, too
	stop root_pid
	read -r total named < <(counts "$work/ebpf/cumulative.folded" "$workload")
	echo "after the drop: $total samples of cost3, $named in pf_cost* under main"
	[ "$total" -ge 100 ] || fail "only $total samples of cost3 after dropping capabilities"
	[ $((named * 100)) -ge $((total * 95)) ] || fail "only $named of $total samples named"

	config plain
	"$proflow" --config "$work/plain.yaml" >"$work/plain.log" 2>&1 &
	root_pid=$!
	started "$work/plain.log" "$root_pid"
	grep "capabilities kept" "$work/plain.log"
	expect_caps "$root_pid" 0 0
	stop root_pid
	;;
non_root_same_profiles)
	# The unit's sets, e.g. "CAP_BPF CAP_PERFMON CAP_SYS_PTRACE CAP_SYSLOG", as setpriv and setcap spell them.
	ambient=$(sed -n 's/^AmbientCapabilities=//p' "$unit")
	[ -n "$ambient" ] || fail "no AmbientCapabilities= in $unit"
	[ "$ambient" = "$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")" ] ||
		fail "$unit: AmbientCapabilities= and CapabilityBoundingSet= differ"
	grep -qx "NoNewPrivileges=yes" "$unit" || fail "$unit: no NoNewPrivileges=yes"
	readme=$(dirname "$unit")/../../README.md
	grep -qxF "AmbientCapabilities=$ambient" "$readme" || fail "README.md names another set than $unit"
	# systemd settings this test cannot apply without systemd, known to break profiling.
	if grep -E "^(ProtectKernelTunables|ProtectKernelLogs|ProtectProc|PrivateUsers)=" "$unit" |
		grep -vE "=(no|false|default)$"; then
		fail "$unit hides /proc/kallsyms, CAP_SYSLOG or other processes"
	fi
	unit_user=$(sed -n 's/^User=//p' "$unit")
	[ -n "$unit_user" ] && [ "$unit_user" != root ] ||
		fail "$unit runs as '$unit_user', not a dedicated user"
	caps=$(echo "$ambient" | tr 'A-Z ' 'a-z\n' | sed 's/^cap_//' | sort | paste -sd, -)
	plus=$(echo "$caps" | sed 's/^/+/; s/,/,+/g')
	user='proflow-test' # the unit's user, under a name no deployment uses
	id "$user" >/dev/null 2>&1 ||
		useradd --system --no-create-home --shell /usr/sbin/nologin "$user" ||
		fail "cannot create user $user"
	# as_user CAPS COMMAND...: becomes COMMAND as $user holding CAPS ("+bpf,+perfmon", or "");
	# run it in a subshell (its pid is then proflow's).
	as_user() {
		local sets=-all${1:+,$1}
		exec setpriv --reuid="$user" --regid="$user" --init-groups --no-new-privs \
			--inh-caps="$sets" --ambient-caps="$sets" --bounding-set="$sets" "${@:2}"
	}

	config user ebpf
	chown "$user" "$work/user"
	# Without the capabilities: refused, and told to grant exactly the unit's set.
	(as_user "" "$proflow" --config "$work/user.yaml" --duration 5s) >"$work/nocaps.log" 2>&1 &&
		fail "proflow profiled as $user without capabilities"
	grep -m1 "receiver/ebpf" "$work/nocaps.log"
	want="setcap $(echo "$ambient" | tr 'A-Z ' 'a-z,')+ep"
	grep -qF "$want proflow" "$work/nocaps.log" || fail "the error does not recommend \`$want\`"
	grep -qF "\`$want" "$readme" || fail "README.md does not recommend \`$want\`"
	grep -q "dac_read_search" "$work/nocaps.log" && fail "the error recommends cap_dac_read_search"

	config root ebpf
	"$proflow" --config "$work/root.yaml" >"$work/root.log" 2>&1 &
	root_pid=$!
	as_user "$plus" "$proflow" --config "$work/user.yaml" >"$work/user.log" 2>&1 &
	user_pid=$!
	started "$work/root.log" "$root_pid"
	started "$work/user.log" "$user_pid"
	grep "capabilities kept" "$work/user.log"
	[ "$(awk '/^Uid:/ { print $2 }' /proc/"$user_pid"/status)" = "$(id -u "$user")" ] ||
		fail "proflow does not run as $user"
	# Without CAP_SETPCAP it cannot shrink the bounding set (the unit's set).
	expect_caps "$user_pid" $(((1 << CAP_SYS_PTRACE) | (1 << CAP_SYSLOG))) - >/dev/null
	# Both sample the same run of the workloads, at the same frequency.
	"$bin/syscalls" 5 &
	syscalls=$!
	workload 5
	wait "$syscalls" || fail "the syscalls workload failed"
	sleep 1.5
	stop root_pid
	stop user_pid
	read -r root_total root_named < <(counts "$work/root/cumulative.folded" "$workload")
	read -r user_total user_named < <(counts "$work/user/cumulative.folded" "$workload")
	echo "cost3 samples as root: $root_total ($root_named named);" \
		"as $user with $caps: $user_total ($user_named named)"
	[ "$root_total" -ge 200 ] || fail "only $root_total samples as root"
	diff=$((root_total > user_total ? root_total - user_total : user_total - root_total))
	echo "difference: $diff samples ($((diff * 1000 / root_total / 10)).$((diff * 1000 / root_total % 10)) %)"
	[ $((diff * 100)) -le $((root_total * 5)) ] || fail "sample counts differ by more than 5 %"
	[ $((root_named * 100)) -ge $((root_total * 95)) ] || fail "as root only $root_named of $root_total named"
	[ $((user_named * 100)) -ge $((user_total * 95)) ] || fail "as $user only $user_named of $user_total named"
	# Kernel frames are named in both (CAP_SYSLOG: /proc/kallsyms shows addresses).
	for who in root user; do
		read -r inner named bare < <(kernel_frames "$work/$who/cumulative.folded" "$syscalls")
		echo "$who: syscalls samples in pf_sys_writer $inner, kernel write path named in $named," \
			"kernel frames left as addresses in $bare"
		[ "$named" -ge 20 ] || fail "$who: kernel write path named in only $named samples"
		[ $((bare * 100)) -le $((inner * 2)) ] || fail "$who: kernel frames unnamed in $bare of $inner"
	done
	;;
*)
	fail "unknown scenario $scenario"
	;;
esac
echo "PASS bpf.$scenario"
