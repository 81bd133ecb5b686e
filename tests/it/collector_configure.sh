#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# it.collector_configures_without_test_tools: configuring the collector alone (BUILD_TESTING=OFF,
# as README command 1 does) needs none of the programs and libraries the tests look for: Go, a
# JDK, clang-format and cmocka were REQUIRED by the release build. Every find_program and
# pkg_check_modules under tests/ and bench/ is hidden, then the collector configures and the
# test suite does not (so the tools were really hidden).
# Usage: collector_configure.sh SOURCE_DIR WORK_DIR
set -u
src=$1 work=$2
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
rm -rf "$work"
mkdir -p "$work/bin" "$work/pkgconfig"
clean_up_at_exit "$work"

programs=$(grep -rhoE 'find_program\([A-Z_]+ [a-zA-Z0-9_.+-]+' "$src/tests" "$src/bench" \
	--include=CMakeLists.txt | awk '{ print $2 }' | sort -u)
modules=$(grep -rhoE 'pkg_check_modules\([A-Z_]+ (REQUIRED )?(IMPORTED_TARGET )?[a-zA-Z0-9_.+-]+' \
	"$src/tests" "$src/bench" --include=CMakeLists.txt | awk '{ print $NF }' | sort -u)
echo "hidden programs:" $programs "; hidden pkg-config modules:" $modules
[ -n "$programs" ] && [ -n "$modules" ] || fail "found no test tool to hide"

# A PATH and a pkg-config path holding everything else.
IFS=: read -ra dirs <<<"$PATH:/usr/sbin:/sbin"
for d in "${dirs[@]}"; do
	for f in "$d"/*; do
		name=${f##*/}
		[ -x "$f" ] && [ ! -e "$work/bin/$name" ] || continue
		echo "$programs" | grep -qxF "$name" || ln -s "$f" "$work/bin/$name"
	done
done
IFS=: read -ra dirs <<<"$(pkg-config --variable pc_path pkg-config)"
for d in "${dirs[@]}"; do
	for f in "$d"/*.pc; do
		name=${f##*/}
		[ -e "$f" ] && [ ! -e "$work/pkgconfig/$name" ] || continue
		echo "$modules" | grep -qxF "${name%.pc}" || ln -s "$f" "$work/pkgconfig/$name"
	done
done

# CMake also looks in the system's prefixes: only PATH, and the directories of headers and libraries,
# count here.
configure() { # BUILD_TESTING (ON reconfigures the same tree: quicker)
	PATH=$work/bin PKG_CONFIG_LIBDIR=$work/pkgconfig cmake -S "$src" -B "$work/build" -G Ninja \
		-DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING="$1" -DCMAKE_FIND_USE_CMAKE_SYSTEM_PATH=OFF \
		-DCMAKE_LIBRARY_PATH="/usr/lib/$(gcc -print-multiarch);/usr/lib" -DCMAKE_INCLUDE_PATH=/usr/include \
		>"$work/configure-$1.log" 2>&1
}
configure OFF || { tail -20 "$work/configure-OFF.log"; fail "the collector alone does not configure without the test tools"; }
grep -q "^BUILD_TESTING:BOOL=OFF" "$work/build/CMakeCache.txt" || fail "BUILD_TESTING is not OFF"
[ ! -e "$work/build/tests" ] || fail "BUILD_TESTING=OFF still configured tests/"
if configure ON; then
	fail "the test suite configured without its tools: they were not hidden, the test proves nothing"
fi
echo "PASS: the collector configures without" $programs $modules
