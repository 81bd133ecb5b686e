#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Run by the build for each component library: a component may include the
# framework, formats/ and host/, and its own folder, never another component.
#   check_includes.sh SOURCE_ROOT COMPONENT_DIR FILE...
set -euo pipefail
root=$1
own=${2#"$root"/}
shift 2
status=0
for file in "$@"; do
	while IFS=: read -r line text; do
		target=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/' <<<"$text")
		case $target in
		"$own"/*) ;;
		receivers/* | processors/* | exporters/* | extensions/*)
			echo "${file#"$root"/}:$line: a component may not include another component's header \"$target\"; shared code belongs in the framework" >&2
			status=1
			;;
		esac
	done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" || true)
done
exit $status
