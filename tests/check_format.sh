#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Fails when a C source or header differs from what clang-format makes of it.
set -euo pipefail
root=$1
cd "$root"
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
[ -n "$files" ] || { echo "no C files found"; exit 1; }
# shellcheck disable=SC2086
clang-format --dry-run --Werror $files
echo "$(echo "$files" | wc -l) files formatted as .clang-format says"
