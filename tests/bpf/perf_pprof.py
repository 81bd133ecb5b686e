# SPDX-License-Identifier: Apache-2.0
"""Writes perf's stacks as the pprof file proflow would export for them (absolute addresses,
return addresses for callers, the process's mappings), so that the bpf.stack_* tests see
stack_compare.py pass the reference itself: a failure is then proflow's, not the judge's.

Usage: perf_pprof.py PERF_SCRIPT MAPS OUT_DIR
"""

import collections
import gzip
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "it"))
from pbwire import put_field, put_varint, put_vfield  # noqa: E402


def main(argv):
    if len(argv) != 4:
        sys.exit(__doc__)
    perf_script, maps_file, out_dir = argv[1:]
    maps = set()
    with open(maps_file) as f:
        for line in f:
            p = line.split()
            if len(p) >= 6 and "x" in p[1]:
                start, end = (int(x, 16) for x in p[0].split("-"))
                maps.add((start, end, int(p[2], 16), p[5]))
    maps = sorted(maps)

    stacks, stack = collections.Counter(), None
    with open(perf_script, errors="replace") as f:
        for line in list(f) + ["end\n"]:
            if not line.strip():
                continue
            if not line[0].isspace():
                if stack is not None:
                    stacks[tuple(stack)] += 1
                stack = []
                continue
            m = re.match(r"^\s*([0-9a-f]+) .* \((.*)\)$", line.rstrip("\n"))
            if not m or stack is None or m.group(2).startswith("[kernel"):
                continue
            offset, dso = int(m.group(1), 16), m.group(2)
            for i, (start, end, file_offset, path) in enumerate(maps):
                if path == dso and file_offset <= offset < file_offset + end - start:
                    # perf prints a caller at its call instruction, proflow exports the return address.
                    stack.append((start + offset - file_offset + (1 if stack else 0), i))
                    break

    strings, locations, used = ["", "samples", "count"], {}, {}
    for s in stacks:
        for loc in s:
            locations.setdefault(loc, len(locations) + 1)
            used.setdefault(loc[1], len(used) + 1)
    msg = put_field(1, put_vfield(1, 1) + put_vfield(2, 2))
    for s, n in stacks.items():
        ids = b"".join(put_varint(locations[loc]) for loc in s)
        msg += put_field(2, put_field(1, ids) + put_field(2, put_varint(n)))
    for i, mapping_id in used.items():
        start, end, file_offset, path = maps[i]
        strings.append(path)
        msg += put_field(3, put_vfield(1, mapping_id) + put_vfield(2, start) + put_vfield(3, end) +
                         put_vfield(4, file_offset) + put_vfield(5, len(strings) - 1))
    for (address, i), location_id in locations.items():
        msg += put_field(4, put_vfield(1, location_id) + put_vfield(2, used[i]) + put_vfield(3, address))
    for s in strings:
        msg += put_field(6, s.encode())
    os.makedirs(out_dir, exist_ok=True)
    with gzip.open(os.path.join(out_dir, "perf.pb.gz"), "wb") as f:
        f.write(msg)


if __name__ == "__main__":
    main(sys.argv)
