#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Compares proflow's pprof decode + encode with Go's profile.Parse + Write on
# one large generated profile; prints median wall time and peak RSS of each
# and the Go/proflow ratios.
#
#   bench/pprof/run.sh [build-dir]        (default: build-bench)
#   RUNS=5 SAMPLES=1000000 LOCATIONS=150000 bench/pprof/run.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build-bench}
runs=${RUNS:-5}
samples=${SAMPLES:-1000000}
locations=${LOCATIONS:-150000}
work=$build/bench-pprof
mkdir -p "$work"

export GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE=${GOCACHE:-$work/gocache}
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt package 'time')" >&2; exit 1; }

echo "== building"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
if ninja -C "$build" -t targets all | grep -q '^bench_pprof_roundtrip:'; then
	ninja -C "$build" -j2 bench_pprof_roundtrip >"$work/build.log" || { cat "$work/build.log"; exit 1; }
	ours=$build/bench/pprof/bench_pprof_roundtrip
else
	# bench/ not wired into the top-level CMakeLists yet: link by hand.
	ninja -C "$build" -j2 pf_formats pf_model >"$work/build.log" || { cat "$work/build.log"; exit 1; }
	ours=$work/bench_pprof_roundtrip
	cc -O2 -std=gnu11 -D_GNU_SOURCE -I"$root" -I"$build" -o "$ours" "$here/pprof_roundtrip.c" \
		"$build/libpf_formats.a" "$build/libpf_model.a" \
		$(pkg-config --libs libprotobuf-c libdeflate zlib libxxhash libuv) -lm
fi
go_bin=$work/goroundtrip
(cd "$here" && go build -o "$go_bin" ./goroundtrip)

input=$work/large-$samples-$locations.pb.gz
if [ ! -s "$input" ]; then
	echo "== generating $input"
	(cd "$here" && go run ./gen -o "$input" -samples "$samples" -locations "$locations")
fi
echo "input: $(du -h "$input" | cut -f1) gzip, $("$go_bin" "$input" /dev/null)"

echo "== checking that Go reads what we write"
"$ours" "$input" "$work/ours.pb.gz" >/dev/null 2>&1
"$go_bin" "$work/ours.pb.gz" /dev/null | sed 's/^/go reads ours: /'
# Every sample, stack and label as go tool pprof prints them, on a small profile.
small=$work/small.pb.gz
[ -s "$small" ] || (cd "$here" && go run ./gen -o "$small" -samples 20000 -locations 8000 \
	-functions 3000 -stacks 4000)
"$ours" "$small" "$work/small.ours.pb.gz" >/dev/null 2>&1
a=$(go tool pprof -traces "$small" 2>/dev/null | md5sum)
b=$(go tool pprof -traces "$work/small.ours.pb.gz" 2>/dev/null | md5sum)
if [ "$a" = "$b" ]; then
	echo "go tool pprof -traces: identical before and after our round trip"
else
	echo "go tool pprof -traces differs after our round trip" >&2
	exit 1
fi

# run NAME CMD...: appends "wall_s peak_rss_kib user_s sys_s" per run to $work/NAME.times
run() {
	name=$1
	shift
	: >"$work/$name.times"
	i=0
	while [ "$i" -lt "$runs" ]; do
		/usr/bin/time -f "%e %M %U %S" -o "$work/$name.time1" "$@" >/dev/null
		cat "$work/$name.time1" >>"$work/$name.times"
		i=$((i + 1))
	done
}
median() { # column file; column 0 is user + sys CPU time
	if [ "$1" = 0 ]; then
		awk '{print $3 + $4}' "$2"
	else
		cut -d' ' -f"$1" "$2"
	fi | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}

echo "== timing $runs runs each"
run go "$go_bin" "$input" "$work/go.out.pb.gz"
run proflow "$ours" "$input" "$work/proflow.out.pb.gz"

gw=$(median 1 "$work/go.times")
gr=$(median 2 "$work/go.times")
pw=$(median 1 "$work/proflow.times")
pr=$(median 2 "$work/proflow.times")
gc=$(median 0 "$work/go.times")
pc=$(median 0 "$work/proflow.times")
echo "load average while measuring: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
awk -v gw="$gw" -v gr="$gr" -v pw="$pw" -v pr="$pr" -v gc="$gc" -v pc="$pc" -v gs="$(stat -c %s "$work/go.out.pb.gz")" \
	-v ps="$(stat -c %s "$work/proflow.out.pb.gz")" 'BEGIN {
	printf "%-26s %9s %9s %15s %13s\n", "medians", "wall (s)", "CPU (s)", "peak RSS (MiB)",
		"output (MiB)"
	printf "%-26s %9.2f %9.2f %15.1f %13.1f\n", "go profile.Parse+Write", gw, gc, gr / 1024,
		gs / 1048576
	printf "%-26s %9.2f %9.2f %15.1f %13.1f\n", "proflow decode+encode", pw, pc, pr / 1024,
		ps / 1048576
	printf "%-26s %8.2fx %8.2fx %14.2fx\n", "go / proflow", gw / pw, gc / pc, gr / pr
	printf "target: >= 3x faster and <= 1/3 of the peak RSS: %s\n",
		(gw / pw >= 3 && gr / pr >= 3) ? "met" : "NOT met"
}'
