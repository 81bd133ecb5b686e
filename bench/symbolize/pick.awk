# SPDX-License-Identifier: Apache-2.0
# Picks M addresses (seeded, so every run and tool sees the same) inside the
# functions listed as "ADDR SIZE" hex lines (nm -S output).
function hex(s,    i, v) {
	v = 0;
	s = tolower(s);
	for (i = 1; i <= length(s); i++)
		v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1;
	return v;
}
BEGIN { srand(11); }
{ a[NR] = hex($1); s[NR] = hex($2); }
END {
	for (i = 0; i < M; i++) {
		j = int(rand() * NR) + 1;
		printf "0x%x\n", a[j] + int(rand() * s[j]);
	}
}
