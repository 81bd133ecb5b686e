#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# unit.component_includes: the build's check refuses a component that includes
# another component's header, and accepts every component folder of the tree.
set -euo pipefail
root=$1
check=$root/scripts/check_includes.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/exporters/mine"
printf '#include "exporters/mine/own.h"\n#include "model/batch.h"\n' >"$work/exporters/mine/ok.c"
printf '#include "model/batch.h"\n  #  include "receivers/otlp/receiver.h"\n' >"$work/exporters/mine/bad.c"
"$check" "$work" "$work/exporters/mine" "$work/exporters/mine/ok.c" ||
	{ echo "FAIL: an include of the framework and of its own folder was refused"; exit 1; }
if "$check" "$work" "$work/exporters/mine" "$work/exporters/mine/bad.c" 2>"$work/err"; then
	echo "FAIL: an include of another component's header was accepted"
	exit 1
fi
grep -q 'exporters/mine/bad.c:2: .*"receivers/otlp/receiver.h"' "$work/err" ||
	{ echo "FAIL: the refusal does not name file:line and header:"; cat "$work/err"; exit 1; }

n=0
for dir in "$root"/receivers/*/ "$root"/processors/*/ "$root"/exporters/*/ "$root"/extensions/*/; do
	dir=${dir%/}
	"$check" "$root" "$dir" "$dir"/*.[ch]
	n=$((n + 1))
done
echo "ok: a cross-component include is refused at file:line; $n component folders include none"
