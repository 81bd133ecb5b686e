#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# it.validate_unreadable_config_not_echoed: a user who runs proflow with CAP_DAC_READ_SEARCH (as the
# old error hint recommended granting) ran `proflow validate --config /etc/shadow` and got a line of
# it back in the error. A file the user cannot read is refused, its text never printed; a file the
# user can read still gets errors quoting it.
# Usage: it_unreadable_config.sh PROFLOW WORK_DIR. Exits 77 (skip) when not root (it switches user).
set -u
proflow=$1 work=$2
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root to run proflow as another user with CAP_DAC_READ_SEARCH"
	exit 77
fi
command -v setpriv >/dev/null || fail "setpriv (util-linux) is missing"
rm -rf "$work"
mkdir -p "$work"
chmod 755 "$work"
clean_up_at_exit "$work"

# shellcheck disable=SC2016 # the $ are the text of a shadow line
secret='root:$y$j9T$PF_SECRET_7f3a9c:19000:0:99999:7:::'
printf '%s\n' "$secret" >"$work/shadow"
chmod 600 "$work/shadow"
printf 'receivers: {}\nPF_VISIBLE_KEY: 1\n' >"$work/readable.yaml"
chmod 644 "$work/readable.yaml"

# nobody, with CAP_DAC_READ_SEARCH as an ambient capability.
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all,+dac_read_search \
		--ambient-caps=-all,+dac_read_search "$@"
}

# The capability is really there: it reads the file past its mode.
as_nobody head -c 200 "$work/shadow" | grep -qF "$secret" ||
	fail "setup: nobody with CAP_DAC_READ_SEARCH cannot read the file, the test proves nothing"
# And nobody without it cannot.
if setpriv --reuid=65534 --regid=65534 --clear-groups cat "$work/shadow" >/dev/null 2>&1; then
	fail "setup: nobody reads a mode 0600 root file without a capability"
fi

for command in validate run; do
	args=(--config "$work/shadow")
	[ "$command" = validate ] && args=(validate "${args[@]}")
	[ "$command" = run ] && args+=(--duration 1s)
	as_nobody "$proflow" "${args[@]}" >"$work/$command.out" 2>&1
	status=$?
	echo "$command as nobody with CAP_DAC_READ_SEARCH: exit $status: $(cat "$work/$command.out")"
	[ "$status" = 1 ] || fail "$command exited $status, expected 1"
	if grep -qF PF_SECRET "$work/$command.out"; then
		fail "$command printed the content of a file its user cannot read"
	fi
	grep -q "cannot open the config file: Permission denied for user 65534" "$work/$command.out" ||
		fail "$command does not say the user cannot read the file"
done

# Root (uid 0) reads it as before; a readable file's errors still quote it.
"$proflow" validate --config "$work/shadow" >"$work/root.out" 2>&1
grep -qF PF_SECRET "$work/root.out" || fail "root's error no longer names the bad key: $(cat "$work/root.out")"
as_nobody "$proflow" validate --config "$work/readable.yaml" >"$work/readable.out" 2>&1
grep -q 'unknown top-level key "PF_VISIBLE_KEY"' "$work/readable.out" ||
	fail "a readable file's error no longer names the bad key: $(cat "$work/readable.out")"
echo "PASS: the unreadable file was refused without quoting it"
