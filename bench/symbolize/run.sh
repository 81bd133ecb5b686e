#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Symbolizes ADDRS addresses of a large generated -O2 -g binary (inlined
# helpers in every function) with proflow's symbolizer, `eu-addr2line -f -i`
# and `addr2line -f -i -C`; prints the median wall time of RUNS runs of each,
# the time ratios, and the share of addresses whose function names (the whole
# inline chain) are identical.
#
#   bench/symbolize/run.sh [build-dir]            (default: build-bench)
#   RUNS=5 ADDRS=1000000 FUNCS=20000 FILES=2000 bench/symbolize/run.sh
#
# eu-addr2line walks a compile unit per address, so its time grows with the
# size of the CUs: FILES sets how many the FUNCS functions are spread over
# (the default, 10 per file, keeps its 5 runs within about an hour; with 50
# per file one run took 15 minutes on a loaded 2-CPU machine).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build-bench}
runs=${RUNS:-5}
naddrs=${ADDRS:-1000000}
nfuncs=${FUNCS:-20000}
nfiles=${FILES:-2000}
work=$build/bench-symbolize
mkdir -p "$work"
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt package 'time')" >&2; exit 1; }
for tool in eu-addr2line addr2line nm cc; do
	command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 1; }
done

echo "== building the driver"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
if ninja -C "$build" -t targets all | grep -q '^bench_symbolize_addrs:'; then
	ninja -C "$build" -j2 bench_symbolize_addrs >"$work/build.log" || { cat "$work/build.log"; exit 1; }
	ours=$build/bench/symbolize/bench_symbolize_addrs
else
	# bench/ not wired into the top-level CMakeLists: link by hand.
	ninja -C "$build" -j2 pf_components pf_runtime pf_model >"$work/build.log" || { cat "$work/build.log"; exit 1; }
	ours=$work/bench_symbolize_addrs
	cc -O2 -std=gnu11 -D_GNU_SOURCE -I"$root" -I"$build" -o "$ours" "$here/symbolize_addrs.c" \
		"$build/libpf_components.a" "$build/libpf_runtime.a" "$build/libpf_model.a" \
		$(pkg-config --libs libdw libelf libxxhash zlib) /usr/lib/x86_64-linux-gnu/libiberty.a
fi

bin=$work/big-$nfuncs-$nfiles
if [ ! -x "$bin" ]; then
	echo "== generating and compiling $nfuncs functions in $nfiles files (-O2 -g; minutes)"
	src=$work/src-$nfuncs-$nfiles
	rm -rf "$src"
	mkdir -p "$src"
	awk -v N="$nfuncs" -v F="$nfiles" -v DIR="$src" -f "$here/gen.awk"
	ls "$src"/*.c | xargs -P2 -I{} cc -O2 -g -c {} -o {}.o
	cc -o "$bin.tmp" "$src"/*.o && mv "$bin.tmp" "$bin"
	rm -rf "$src"
fi
addrs=$work/addrs-$nfuncs-$nfiles-$naddrs
if [ ! -s "$addrs" ]; then
	nm -S --defined-only "$bin" | awk '$3 ~ /^[Tt]$/ && NF == 4 { print $1, $2 }' |
		awk -v M="$naddrs" -f "$here/pick.awk" >"$addrs"
fi
echo "binary: $(du -h "$bin" | cut -f1) ($nfuncs functions, $nfiles CUs); addresses: $naddrs ($(sort -u "$addrs" | wc -l) distinct)"

# Runs "$@" < addrs > out RUNS times; prints the median wall seconds and
# the median CPU (user + sys) seconds, which other load on a shared machine
# disturbs less.
median_of() {
	out=$1
	shift
	: >"$work/times"
	i=0
	while [ $i -lt "$runs" ]; do
		/usr/bin/time -f "%e %U %S" -o "$work/time.one" "$@" <"$addrs" >"$out"
		awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' "$work/time.one" >>"$work/times"
		i=$((i + 1))
	done
	awk '{ print $1 }' "$work/times" | sort -n | awk '{ t[NR] = $1 } END { printf "%s ", t[int((NR + 1) / 2)] }'
	awk '{ print $2 }' "$work/times" | sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'
}

# One line per address: its function names, innermost first, ";"-joined.
# The driver marks all but the outermost frame " inlined at ...".
chains_marked() {
	awk 'NR % 2 == 1 {
		inl = index($0, " inlined at ")
		name = inl ? substr($0, 1, inl - 1) : $0
		chain = chain == "" ? name : chain ";" name
		if (!inl) { print chain; chain = "" }
	}' "$1"
}
# addr2line -a and eu-addr2line -a: an address line starts each group (eu
# marks only the first frame " inlined at ... in <outermost>").
chains_addressed() {
	awk '/^0x[0-9a-f]+$/ { if (n) print chain; chain = ""; n = 1; k = 0; next }
	     { k++; if (k % 2 == 1) {
		inl = index($0, " inlined at ")
		name = inl ? substr($0, 1, inl - 1) : $0
		chain = chain == "" ? name : chain ";" name } }
	     END { if (n) print chain }' "$1"
}

echo "== proflow symbolizer ($runs runs)"
set -- $(median_of "$work/ours.out" "$ours" "$bin")
t_ours=$1 c_ours=$2
echo "   median ${t_ours}s wall, ${c_ours}s CPU"
echo "== addr2line -f -i -C ($runs runs)"
set -- $(median_of "$work/bu.out" addr2line -a -f -i -C -e "$bin")
t_bu=$1 c_bu=$2
echo "   median ${t_bu}s wall, ${c_bu}s CPU"
echo "== eu-addr2line -f -i ($runs runs; the slow one)"
set -- $(median_of "$work/eu.out" eu-addr2line -a -f -i -e "$bin")
t_eu=$1 c_eu=$2
echo "   median ${t_eu}s wall, ${c_eu}s CPU"

chains_marked "$work/ours.out" >"$work/ours.chains"
chains_addressed "$work/eu.out" >"$work/eu.chains"
chains_addressed "$work/bu.out" >"$work/bu.chains"
same() {
	paste -d '\n' "$1" "$2" | awk -v n="$naddrs" 'NR % 2 == 1 { a = $0; next }
		{ if (a == $0) s++ } END { printf "%.3f", 100 * s / n }'
}
same_eu=$(same "$work/ours.chains" "$work/eu.chains")
same_bu=$(same "$work/ours.chains" "$work/bu.chains")
lines=$(wc -l <"$work/ours.chains")
[ "$lines" -eq "$naddrs" ] || echo "warning: the driver answered $lines of $naddrs addresses"

row() { # name wall cpu same
	awk -v n="$1" -v w="$2" -v c="$3" -v s="$4" -v n0="$naddrs" -v w0="$t_ours" -v c0="$c_ours" 'BEGIN {
		printf "%-20s %9.2f %9.2f %11.2f %9.1fx %9.1fx %9s\n", n, w, c, 1e6 * c / n0,
			w / w0, c / c0, s }'
}
echo
printf '%-20s %9s %9s %11s %10s %10s %9s\n' tool "wall s" "CPU s" "CPU us/addr" "wall vs" "CPU vs" "same %"
row "proflow symbolize" "$t_ours" "$c_ours" -
row "eu-addr2line -f -i" "$t_eu" "$c_eu" "$same_eu"
row "addr2line -f -i -C" "$t_bu" "$c_bu" "$same_bu"
echo "(medians of $runs runs; \"vs\" = the tool's time / proflow's; \"same %\" = addresses whose whole inline chain of names is identical to proflow's)"
echo
echo "target: >= 10x faster than eu-addr2line with the same names for >= 99.9 % of addresses"
awk -v a="$c_eu" -v b="$c_ours" -v s="$same_eu" 'BEGIN {
	ok = a / b >= 10 && s >= 99.9
	printf "%s: %.1fx less CPU, %.3f %% identical\n", ok ? "MET" : "NOT MET", a / b, s
	exit !ok }'
