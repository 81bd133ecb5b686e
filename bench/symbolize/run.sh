#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Symbolizes ADDRS addresses of a large generated -O2 -g binary (inlined
# helpers in every function) with proflow's symbolizer, `eu-addr2line -f -i`
# and `addr2line -f -i -C`; prints the median wall time of RUNS runs of each,
# the time ratios, and the share of addresses whose function names (the whole
# inline chain) are identical.
#
#   bench/symbolize/run.sh [build-dir]            (default: build-bench)
#   RUNS=5 ADDRS=1000000 FUNCS=20000 FILES=400 bench/symbolize/run.sh
#
# eu-addr2line walks a compile unit per address, so its time grows with the
# size of the CUs: FILES sets how many the FUNCS functions are spread over.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build-bench}
runs=${RUNS:-5}
naddrs=${ADDRS:-1000000}
nfuncs=${FUNCS:-20000}
nfiles=${FILES:-400}
work=$build/bench-symbolize
mkdir -p "$work"
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

now() { date +%s.%N; }

# Runs "$@" < addrs > out RUNS times; prints the median seconds.
median_of() {
	out=$1
	shift
	: >"$work/times"
	i=0
	while [ $i -lt "$runs" ]; do
		t0=$(now)
		"$@" <"$addrs" >"$out"
		t1=$(now)
		echo "$t0 $t1" | awk '{ printf "%.3f\n", $2 - $1 }' >>"$work/times"
		i=$((i + 1))
	done
	sort -n "$work/times" | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'
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
t_ours=$(median_of "$work/ours.out" "$ours" "$bin")
echo "   median ${t_ours}s"
echo "== addr2line -f -i -C ($runs runs)"
t_bu=$(median_of "$work/bu.out" addr2line -a -f -i -C -e "$bin")
echo "   median ${t_bu}s"
echo "== eu-addr2line -f -i ($runs runs)"
t_eu=$(median_of "$work/eu.out" eu-addr2line -a -f -i -e "$bin")
echo "   median ${t_eu}s"

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

echo
printf '%-22s %10s %14s %12s %16s\n' tool "median s" "us/address" "vs proflow" "same names %"
printf '%-22s %10s %14s %12s %16s\n' "proflow symbolize" "$t_ours" \
	"$(awk -v t="$t_ours" -v n="$naddrs" 'BEGIN { printf "%.2f", 1e6 * t / n }')" "1.00x" "-"
printf '%-22s %10s %14s %12s %16s\n' "eu-addr2line -f -i" "$t_eu" \
	"$(awk -v t="$t_eu" -v n="$naddrs" 'BEGIN { printf "%.2f", 1e6 * t / n }')" \
	"$(awk -v a="$t_eu" -v b="$t_ours" 'BEGIN { printf "%.1fx", a / b }')" "$same_eu"
printf '%-22s %10s %14s %12s %16s\n' "addr2line -f -i -C" "$t_bu" \
	"$(awk -v t="$t_bu" -v n="$naddrs" 'BEGIN { printf "%.2f", 1e6 * t / n }')" \
	"$(awk -v a="$t_bu" -v b="$t_ours" 'BEGIN { printf "%.1fx", a / b }')" "$same_bu"
echo
echo "target: >= 10x faster than eu-addr2line with the same names for >= 99.9 % of addresses"
awk -v a="$t_eu" -v b="$t_ours" -v s="$same_eu" 'BEGIN {
	ok = a / b >= 10 && s >= 99.9
	printf "%s: %.1fx faster, %.3f %% identical\n", ok ? "MET" : "NOT MET", a / b, s
	exit !ok }'
