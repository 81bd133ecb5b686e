#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Building unwind tables: for libc, libpython3.11, the largest ELF file on
# the host and the one with the largest .eh_frame, the median of RUNS runs
# (one process each) of proflow's CFI compiler: wall time and peak RSS per MB
# of CFI, with two baselines measured in the same run on the same file:
# `readelf --debug-dump=frames-interp` (prints the same rows) and libdw's CFI
# API asked for the same rows (dwarf_cfi_addrframe row after row). Then every
# executable file mapped by this host's processes, compiled once each and
# all kept: files, wall time, peak RSS, total table bytes.
#
#   bench/unwind_tables/run.sh [build-dir]          (default: build/release)
#   RUNS=5 bench/unwind_tables/run.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build/release}
runs=${RUNS:-5}
for tool in readelf cmake ninja awk find; do
	command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 1; }
done

echo "== building the driver"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$build" -j2 bench_unwind_tables >/dev/null
bench=$build/bench/unwind_tables/bench_unwind_tables

# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# the value of key=... in a line of the driver's output
field() { tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }
now() { date +%s.%N; }

eh_bytes() {
	local hex
	hex=$(readelf -SW "$1" 2>/dev/null | sed 's/^ *\[ *[0-9]*\]//' | awk '$1 == ".eh_frame" { print $5 }' | head -1)
	printf '%d\n' "0x${hex:-0}"
}

echo "== finding the largest ELF files (find / -xdev)"
big=$(find / -xdev -type f -size +8M 2>/dev/null | while read -r f; do
	[ "$(head -c4 "$f" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ] && stat -c '%s %n' "$f"
done | sort -rn | head -20 || true)
# the largest that has CFI at all (Go binaries have none), and the one with the most
with_cfi=$(echo "$big" | while read -r size f; do echo "$(eh_bytes "$f") $size $f"; done | awk '$1 > 0')
largest=$(echo "$with_cfi" | sort -k2,2rn | head -1 | cut -d' ' -f3-)
most_cfi=$(echo "$with_cfi" | sort -k1,1rn | head -1 | cut -d' ' -f3-)

files=(/lib/x86_64-linux-gnu/libc.so.6 /usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0 "$largest")
[ "$most_cfi" != "$largest" ] && files+=("$most_cfi")

printf '\n%-58s %8s %9s %9s %10s %10s %9s %8s %9s %8s %9s %8s\n' file "CFI MB" "ours ms" "ms/MB" \
	"KiB/MB" "table KiB" "rows" "can't %" "readelf" "ratio" "libdw ms" "ratio"
for f in "${files[@]}"; do
	[ -r "$f" ] || { echo "$f: missing (libpython3.11 is in scripts/setup.sh)"; continue; }
	ours_t=() ours_m=() re_t=() dw_t=()
	for ((i = 0; i < runs; i++)); do
		# interleaved, so a busy moment of the machine hits all three alike
		line=$("$bench" ours "$f")
		ours_t+=("$(echo "$line" | field seconds)")
		ours_m+=("$(echo "$line" | field peak_kib)")
		t0=$(now)
		readelf -W -wN --debug-dump=frames-interp "$f" >/dev/null
		re_t+=("$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')")
		dw_t+=("$("$bench" libdw "$f" | field seconds || true)")
	done
	cfi=$(echo "$line" | field cfi_bytes)
	tb=$(echo "$line" | field table_bytes)
	rows=$(echo "$line" | field rows)
	unk=$(echo "$line" | field unknown_pct)
	t=$(printf '%s\n' "${ours_t[@]}" | median)
	m=$(printf '%s\n' "${ours_m[@]}" | median)
	r=$(printf '%s\n' "${re_t[@]}" | median)
	d=$(printf '%s\n' "${dw_t[@]}" | median)
	awk -v f="$f" -v cfi="$cfi" -v t="$t" -v m="$m" -v tb="$tb" -v rows="$rows" -v unk="$unk" -v r="$r" -v d="$d" 'BEGIN {
		mb = cfi / 1048576
		printf "%-58s %8.2f %9.2f %9.2f %10.0f %10.0f %9d %8.3f %9.0f %8.1f %9.1f %8.1f\n",
			f, mb, t * 1000, t * 1000 / mb, m / mb, tb / 1024, rows, unk, r * 1000, r / t, d * 1000, d / t
	}'
done
echo "(ms: median wall time of $runs runs; KiB/MB: peak RSS above the process's start per MB of CFI;"
echo " can't %: share of the code with CFI whose rule a row cannot express (DWARF expressions, CFA in another register);"
echo " readelf: ms of readelf --debug-dump=frames-interp; libdw: ms of dwarf_cfi_addrframe over the same rows;"
echo " ratio: their time / ours)"

echo
echo "== every executable file mapped on this host ($runs runs; baseline: readelf over the same files)"
echo "(processes come and go between runs: each figure is the median of its own)"
# the same files the driver compiles: executable mappings of a file, once each
maps_files=$(cat /proc/[0-9]*/maps 2>/dev/null | awk '$2 ~ /x/ && $6 ~ /^\// { print $6 }' |
	while read -r f; do [ -f "$f" ] && readlink -f "$f"; done | sort -u || true)
hs=() hm=() ht=() hr=() hf=() hc=()
for ((i = 0; i < runs; i++)); do
	line=$("$bench" host)
	hs+=("$(echo "$line" | field seconds)")
	hm+=("$(echo "$line" | field peak_total_kib)")
	ht+=("$(echo "$line" | field table_bytes)")
	hf+=("$(echo "$line" | field files)")
	hc+=("$(echo "$line" | field cfi_bytes)")
	t0=$(now)
	echo "$maps_files" | while read -r f; do readelf -W -wN --debug-dump=frames-interp "$f" >/dev/null 2>&1 || true; done
	hr+=("$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')")
done
echo "$line"
awk -v s="$(printf '%s\n' "${hs[@]}" | median)" -v m="$(printf '%s\n' "${hm[@]}" | median)" \
	-v tb="$(printf '%s\n' "${ht[@]}" | median)" -v files="$(printf '%s\n' "${hf[@]}" | median)" \
	-v r="$(printf '%s\n' "${hr[@]}" | median)" -v rfiles="$(echo "$maps_files" | grep -c .)" \
	-v cfi="$(printf '%s\n' "${hc[@]}" | median)" 'BEGIN {
	printf "files %d, CFI %.1f MB: %.0f ms total (%.2f ms per file, %.1f ms per MB), peak RSS %.1f MiB, tables %.1f MiB (%.2f bytes per CFI byte)\n",
		files, cfi / 1048576, s * 1000, s * 1000 / files, s * 1000 / (cfi / 1048576), m / 1024, tb / 1048576, tb / cfi
	printf "readelf over the same %d files: %.0f ms (%.1f x ours)\n", rfiles, r * 1000, r / s
}'
