#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# it.readme: the config shown in README.md is valid, and the components the
# README lists are exactly the ones `proflow components` prints.
# Called as: readme.sh PROFLOW README WORK_DIR
set -euo pipefail
proflow=$1 readme=$2 work=$3
mkdir -p "$work"

awk '/^```yaml$/ { on = 1; next } /^```$/ { if (on) exit } on' "$readme" >"$work/readme.yaml"
[ -s "$work/readme.yaml" ] || { echo "FAIL: no yaml block in $readme"; exit 1; }
"$proflow" validate --config "$work/readme.yaml" || { echo "FAIL: the README's config is invalid"; exit 1; }

listed=$(sed -nE 's/^\| (receiver|processor|exporter|extension) \| `([a-z_]+)`[^|]*\|.*/\1 \2/p' "$readme" | sort)
built=$("$proflow" components | awk '
	/^receivers:/ { k = "receiver" } /^processors:/ { k = "processor" }
	/^exporters:/ { k = "exporter" } /^extensions:/ { k = "extension" }
	/^  - name: / { gsub(/"/, "", $3); print k, $3 }' | sort)
if [ "$listed" != "$built" ]; then
	echo "FAIL: README lists"; echo "$listed"; echo "but proflow components prints"; echo "$built"
	exit 1
fi
echo "ok: README config valid; $(echo "$built" | wc -l) components listed as built"
