#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# README command 2 and CI: installs the collector's packages and the test
# peers, builds and runs every test three ways: the release build, the
# ASan+UBSan build, and a short libFuzzer run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" tests

jobs=$(nproc)
status=0
run_suite() { # flavour ctest-args...
	local flavour=$1
	shift
	echo "=== $flavour build"
	"$root/scripts/build.sh" "$flavour" tests
	echo "=== $flavour tests"
	if ! (cd "$root/build/$flavour" && ctest --output-on-failure -j "$jobs" "$@"); then
		status=1
	fi
}

run_suite release
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_suite asan
run_suite fuzz -L fuzz
exit $status
