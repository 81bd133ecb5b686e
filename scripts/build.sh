#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Configures and builds one flavour of proflow into build/<flavour>:
#   release  optimised build (the binary README command 1 runs)
#   asan     AddressSanitizer + UndefinedBehaviorSanitizer
#   fuzz     clang + libFuzzer targets (also ASan + UBSan)
set -euo pipefail
flavour=${1:-release}
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/build/$flavour"
case "$flavour" in
release) args=(-DCMAKE_BUILD_TYPE=Release) ;;
debug) args=(-DCMAKE_BUILD_TYPE=Debug) ;;
asan) args=(-DCMAKE_BUILD_TYPE=Debug -DPF_SANITIZE=ON) ;;
fuzz) args=(-DCMAKE_BUILD_TYPE=Debug -DPF_FUZZ=ON -DCMAKE_C_COMPILER=clang) ;;
*) echo "build.sh: unknown flavour $flavour (release|debug|asan|fuzz)" >&2; exit 2 ;;
esac
cmake -S "$root" -B "$dir" -G Ninja "${args[@]}" >/dev/null
ninja -C "$dir" -j "$(nproc)"
