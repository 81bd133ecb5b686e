#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Configures and builds one flavour of proflow into build/<flavour>:
#   release        optimised, the collector alone (README command 1; no test tool needed)
#   release tests  the same with the test suite, fuzz replays and benchmarks (command 2)
#   asan           AddressSanitizer + UndefinedBehaviorSanitizer, with the tests
#   fuzz           clang + libFuzzer targets (also ASan + UBSan), with the tests
set -euo pipefail
flavour=${1:-release}
with=${2:-}
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/build/$flavour"
case "$flavour" in
release) args=(-DCMAKE_BUILD_TYPE=Release) ;;
debug) args=(-DCMAKE_BUILD_TYPE=Debug) ;;
asan) args=(-DCMAKE_BUILD_TYPE=Debug -DPF_SANITIZE=ON) ;;
fuzz) args=(-DCMAKE_BUILD_TYPE=Debug -DPF_FUZZ=ON -DCMAKE_C_COMPILER=clang) ;;
*) echo "build.sh: unknown flavour $flavour (release|debug|asan|fuzz)" >&2; exit 2 ;;
esac
case "$flavour/$with" in
release/) args+=(-DBUILD_TESTING=OFF) ;;
*/ | */tests) args+=(-DBUILD_TESTING=ON) ;;
*) echo "build.sh: unknown option $with (tests)" >&2; exit 2 ;;
esac
cmake -S "$root" -B "$dir" -G Ninja "${args[@]}" >/dev/null
ninja -C "$dir" -j "$(nproc)"
if [ "$flavour/$with" = release/ ]; then
	echo "build.sh: built the collector alone; \`build.sh release tests\` builds the test suite too" >&2
fi
