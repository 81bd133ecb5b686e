# SPDX-License-Identifier: Apache-2.0
"""Judges proflow's stacks of one process against perf's (perf record --call-graph dwarf on the
same process in the same window), for the bpf.stack_* tests.

Usage: stack_compare.py PERF_SCRIPT PPROF_DIR MAPS [--through INNER:OUTER]

  PERF_SCRIPT  `perf script -F comm,pid,tid,ip,sym,dso --no-inline` of the reference recording
  PPROF_DIR    proflow's pprof files of the process (*.pb.gz)
  MAPS         /proc/PID/maps of the process, read during the window (several copies may follow
               each other in the file)
  --through    also: of the samples whose stack holds INNER (a signal handler), those whose stack
               goes on through the signal frame to OUTER (the interrupted function) and to the
               root; both named as perf names them

A frame is known by its function, not by a symbolizer's name for it: the binary's base name and
the start of the FDE (.eh_frame, read with readelf) holding the code address (return address - 1
for callers, which perf prints already), both sides alike. So proflow's symbolizer is not judged here, its unwinder is.

Checks, each printed with its figures; exit 1 when one fails, 2 when perf's reference is broken:
  - perf reaches the root in >= 99 % of its samples (the reference is sound);
  - proflow reaches the root in >= 99 % of its samples. The root is one of the functions that
    perf's stacks end in and whose call frame information leaves the return address undefined
    (_start, the thread entry of clone3); a stack whose outermost frame is proflow's
    "[truncated..." marker does not reach it;
  - no location of proflow's lies outside its pprof mapping, nor outside an executable mapping
    of the process;
  - each function with >= 5 % inclusive share in perf's profile is within 3 points in proflow's
    (inclusive: share of the samples whose stack holds it at least once);
  - no caller -> callee edge perf never saw weighs >= 0.5 % of proflow's samples;
  - with --through: >= 99 % of the handler's samples on both sides go on through the signal frame.
"""

import bisect
import collections
import glob
import gzip
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "it"))
import pbwire  # noqa: E402

ROOT_MIN = 99.0
SHARE_MIN = 5.0
SHARE_TOLERANCE = 3.0
EDGE_MAX = 0.5
MIN_SAMPLES = 1000
TRUNCATED_PREFIX = "[truncated"


class Binary:
    """A file's PT_LOAD segments and FDEs (vaddr ranges, and whether the CFI leaves the return
    address undefined: an outermost frame)."""

    def __init__(self, path):
        self.loads = []  # (file offset, vaddr, file size)
        self.starts, self.fdes = [], []  # sorted FDE starts; (start, end, outermost)
        if not path.startswith("/"):  # [vdso], anonymous memory: no file to read
            return
        headers = run(["readelf", "-lW", path])
        # Its own .eh_frame: no following of links to a debug file (which makes readelf exit 1).
        frames = run(["readelf", "-wN", "--debug-dump=frames", path])
        for m in re.finditer(r"^\s*LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)", headers, re.M):
            self.loads.append(tuple(int(x, 16) for x in m.groups()))
        self._read_fdes(frames)

    def _read_fdes(self, text):
        cie_undefined, fdes = {}, []
        entry = None  # ("cie", offset) or ("fde", index)
        for line in text.splitlines():
            m = re.match(r"^([0-9a-f]+) [0-9a-f]+ [0-9a-f]+ (CIE|FDE)(?: cie=([0-9a-f]+) pc=([0-9a-f]+)\.\.([0-9a-f]+))?", line)
            if m:
                if m.group(2) == "CIE":
                    cie_undefined[m.group(1)] = False
                    entry = ("cie", m.group(1))
                else:
                    fdes.append([int(m.group(4), 16), int(m.group(5), 16), m.group(3), False])
                    entry = ("fde", len(fdes) - 1)
            elif line.startswith("Contents of the"):
                entry = None
            elif entry and "DW_CFA_undefined: r16" in line:
                if entry[0] == "cie":
                    cie_undefined[entry[1]] = True
                else:
                    fdes[entry[1]][3] = True
        fdes.sort()
        self.fdes = [(s, e, own or cie_undefined.get(cie, False)) for s, e, cie, own in fdes]
        self.starts = [f[0] for f in self.fdes]

    def fde(self, offset):
        """(start offset, outermost) of the FDE holding the code at file offset, or None."""
        for off, vaddr, size in self.loads:
            if off <= offset < off + size:
                vaddr += offset - off
                break
        else:
            return None
        i = bisect.bisect_right(self.starts, vaddr) - 1
        if i < 0 or vaddr >= self.fdes[i][1]:
            return None
        start = self.fdes[i][0]
        for off, va, size in self.loads:
            if va <= start < va + size:
                return start - va + off, self.fdes[i][2]
        return None


def run(argv):
    """argv's output; empty when it cannot run (an unreadable file is a binary without FDEs)."""
    try:
        return subprocess.run(argv, capture_output=True, text=True).stdout
    except OSError:
        return ""


class Frames:
    """Frame identity: (binary base name, FDE start) from a file path and offset."""

    def __init__(self):
        self.binaries = {}
        self.outermost = set()

    def key(self, path, offset, caller):
        binary = self.binaries.get(path)
        if binary is None:
            binary = self.binaries[path] = Binary(path)
        base = os.path.basename(path) or path or "[anonymous]"
        found = binary.fde(offset - 1 if caller else offset)
        if not found:  # no file or no FDE: the binary as a whole (the vDSO, JIT code)
            return (base, None)
        if found[1]:
            self.outermost.add((base, found[0]))
        return (base, found[0])


def read_perf(path, frames):
    """perf's samples as lists of frame keys, leaf first, and perf's names of the keys."""
    stacks, names = [], collections.defaultdict(collections.Counter)
    stack = None
    with open(path, errors="replace") as f:
        for line in f:
            if not line.strip():
                continue
            if not line[0].isspace():
                stack = []
                stacks.append(stack)
                continue
            m = re.match(r"^\s*([0-9a-f]+) (.*) \((.*)\)$", line.rstrip("\n"))
            if not m or stack is None:
                continue
            ip, sym, dso = int(m.group(1), 16), m.group(2), m.group(3)
            if dso.startswith("[kernel") or ip >= 0xFFFF800000000000:
                continue
            if dso == "[unknown]":  # an address perf could not place: a frame of its own
                stack.append(("[unknown]", ip))
                continue
            # perf prints a user frame's address as its offset in the file, and a caller's
            # already less one (at its call instruction), as libdw's dwfl_frame_pc() does.
            k = frames.key(dso, ip, False)
            stack.append(k)
            if sym != "[unknown]":
                names[k][re.sub(r"@.*", "", sym)] += 1
    return stacks, {k: c.most_common(1)[0][0] for k, c in names.items()}


def read_pprof(directory, frames):
    """proflow's samples as (count, keys leaf first, locations) from its pprof files, and the
    locations outside their mapping."""
    samples, outside = [], []
    files = sorted(glob.glob(os.path.join(directory, "*.pb.gz")))
    for name in files:
        with gzip.open(name) as f:
            msg = f.read()
        strings, raw_samples, mappings, locations, functions, types = [], [], {}, {}, {}, []
        for num, wire, val in pbwire.fields(msg):
            if num == 6:
                strings.append(val.decode(errors="replace"))
            elif num == 1:
                types.append(dict(submessage(val)).get(1, 0))
            elif num == 2:
                raw_samples.append(val)
            elif num == 3:
                m = dict(submessage(val))
                mappings[m.get(1, 0)] = (m.get(2, 0), m.get(3, 0), m.get(4, 0), m.get(5, 0))
            elif num == 4:
                loc = {"lines": []}
                for n, w, v in pbwire.fields(val):
                    if n == 4:
                        loc["lines"].append(dict(submessage(v)).get(1, 0))
                    elif w == 0:
                        loc[n] = v
                locations[loc.get(1, 0)] = loc
            elif num == 5:
                fn = dict(submessage(val))
                functions[fn.get(1, 0)] = fn.get(2, 0)
        count_index = next((i for i, t in enumerate(types) if strings[t] == "samples"), 0)
        for val in raw_samples:
            ids, values = [], []
            for n, w, v in pbwire.fields(val):
                if n in (1, 2):
                    (ids if n == 1 else values).extend(packed(w, v))
            keys, locs = [], []
            for lid in ids:
                loc = locations[lid]
                address, mapping = loc.get(3, 0), mappings.get(loc.get(2, 0))
                path = strings[mapping[3]] if mapping else ""
                if path.startswith("[kernel"):
                    continue
                if not address:  # a frame without address: proflow's own marker
                    fname = strings[functions.get(loc["lines"][0], 0)] if loc["lines"] else ""
                    keys.append(("", fname))
                    continue
                locs.append((address, path))
                if not mapping or not mapping[0] <= address < mapping[1]:
                    outside.append((address, path or "no mapping"))
                    keys.append(("", "0x%x" % address))
                    continue
                keys.append(frames.key(path, address - mapping[0] + mapping[2], bool(keys)))
            samples.append((values[count_index] if values else 1, keys, locs))
    return samples, outside, len(files)


def submessage(buf):
    return [(n, v) for n, w, v in pbwire.fields(buf)]


def packed(wire, val):
    if wire == 0:
        return [val]
    out, i = [], 0
    while i < len(val):
        v, i = pbwire.varint(val, i)
        out.append(v)
    return out


def read_maps(path):
    """The executable mappings of the process, (start, end, path)."""
    spans = set()
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and "x" in parts[1]:
                start, end = (int(x, 16) for x in parts[0].split("-"))
                spans.add((start, end, parts[5] if len(parts) > 5 else ""))
    return sorted(spans)


def percent(n, total):
    return 100.0 * n / total if total else 0.0


def inclusive(weighted):
    """Inclusive share (%) of each key over [(count, keys)]."""
    total = sum(c for c, _ in weighted)
    per = collections.Counter()
    for c, keys in weighted:
        for k in set(keys):
            per[k] += c
    return {k: percent(n, total) for k, n in per.items()}


def edges(weighted):
    per = collections.Counter()
    for c, keys in weighted:
        for e in set(zip(keys[1:], keys)):  # (caller, callee)
            per[e] += c
    return per


def reaches(keys, roots):
    return bool(keys) and keys[-1] in roots


def through(weighted, inner, outer, roots):
    """(samples holding inner, of them going on to outer and the root)."""
    held = ok = 0
    for c, keys in weighted:
        if inner not in keys:
            continue
        held += c
        i = keys.index(inner)
        if outer in keys[i + 1 :] and reaches(keys, roots):
            ok += c
    return held, ok


def main(argv):
    if len(argv) not in (4, 6) or (len(argv) == 6 and argv[4] != "--through"):
        sys.exit(__doc__)
    frames = Frames()
    perf_stacks, names = read_perf(argv[1], frames)
    samples, outside, files = read_pprof(argv[2], frames)
    spans = read_maps(argv[3])

    def name(k):
        if k in names:
            return names[k]
        if not k[0]:
            return k[1]
        if k[1] is None:
            return k[0]
        return "%s+0x%x" % k

    perf_w = [(1, s) for s in perf_stacks]
    pf_w = [(c, keys) for c, keys, _ in samples]
    perf_n, pf_n = len(perf_w), sum(c for c, _ in pf_w)
    failures, broken = [], []
    print("samples: perf %d, proflow %d (%d pprof files)" % (perf_n, pf_n, files))
    if perf_n < MIN_SAMPLES:
        broken.append("perf recorded only %d samples" % perf_n)
    if pf_n < MIN_SAMPLES:
        failures.append("proflow exported only %d samples" % pf_n)

    # The root: what perf's stacks end in, where the CFI says there is no caller.
    ends = collections.Counter(s[-1] for s in perf_stacks if s)
    roots = {k for k in ends if k in frames.outermost}
    print("root functions (perf's outermost frames whose CFI has no return address): %s" %
          (", ".join("%s (%.1f %%)" % (name(k), percent(ends[k], perf_n)) for k in sorted(roots, key=str)) or "none"))
    perf_root = percent(sum(1 for s in perf_stacks if reaches(s, roots)), perf_n)
    pf_root = percent(sum(c for c, keys in pf_w if reaches(keys, roots)), pf_n)
    marked = percent(sum(c for c, keys in pf_w if keys and keys[-1][0] == "" and keys[-1][1].startswith(TRUNCATED_PREFIX)), pf_n)
    single = percent(sum(c for c, keys in pf_w if len(keys) == 1), pf_n)
    print("reach the root: perf %.1f %%, proflow %.1f %% (marked truncated %.1f %%, single frames %.1f %%)" %
          (perf_root, pf_root, marked, single))
    if perf_root < ROOT_MIN:
        broken.append("perf reaches the root in %.1f %% of its samples" % perf_root)
    if pf_root < ROOT_MIN:
        pf_ends = collections.Counter()
        for c, keys in pf_w:
            if keys and not reaches(keys, roots):
                pf_ends[keys[-1]] += c
        print("proflow's stacks that miss the root most often end in: " +
              ", ".join("%s (%.1f %%)" % (name(k), percent(n, pf_n)) for k, n in pf_ends.most_common(5)))
        failures.append("proflow reaches the root in %.1f %% of its samples (perf %.1f %%)" % (pf_root, perf_root))

    # Frames outside a mapping: of the pprof, or of the process.
    starts = [s[0] for s in spans]
    not_mapped = collections.Counter()
    for c, _, locs in samples:
        for address, path in set(locs):
            i = bisect.bisect_right(starts, address) - 1
            if i < 0 or address >= spans[i][1]:
                not_mapped[(address, path)] += c
    bad = collections.Counter(outside)
    print("locations outside their pprof mapping: %d, outside the process's executable mappings: %d" %
          (len(bad), len(not_mapped)))
    for (address, path), n in (bad + not_mapped).most_common(5):
        print("  0x%x (%s), in %d samples" % (address, path, n))
    if bad or not_mapped:
        failures.append("%d locations outside a mapping" % len(set(bad) | set(not_mapped)))

    # Inclusive shares of the functions that weigh >= 5 % in perf's profile.
    perf_inc, pf_inc = inclusive(perf_w), inclusive(pf_w)
    print("%-44s %8s %8s %7s" % ("function (inclusive)", "perf %", "proflow %", "diff"))
    off = []
    for k in sorted((k for k, v in perf_inc.items() if v >= SHARE_MIN), key=lambda k: (-perf_inc[k], name(k))):
        d = pf_inc.get(k, 0.0) - perf_inc[k]
        flag = "" if abs(d) <= SHARE_TOLERANCE else "  <-- off by more than %.0f points" % SHARE_TOLERANCE
        print("%-44s %8.1f %8.1f %+7.1f%s" % (name(k)[:44], perf_inc[k], pf_inc.get(k, 0.0), d, flag))
        if flag:
            off.append(name(k))
    if off:
        failures.append("%d functions off by more than %.0f points: %s" % (len(off), SHARE_TOLERANCE, ", ".join(off)))

    # Edges the program does not have, as far as perf saw it.
    perf_edges = edges(perf_w)
    invented = [(e, n) for e, n in edges(pf_w).items() if e not in perf_edges and percent(n, pf_n) >= EDGE_MAX]
    invented.sort(key=lambda x: -x[1])
    print("edges caller -> callee perf never saw, >= %.1f %% of proflow's samples: %d" % (EDGE_MAX, len(invented)))
    for (caller, callee), n in invented[:8]:
        print("  %s -> %s: %.1f %%" % (name(caller), name(callee), percent(n, pf_n)))
    if invented:
        failures.append("%d edges perf never saw" % len(invented))

    if len(argv) == 6:
        inner_name, outer_name = argv[5].split(":")
        by_name = {v: k for k, v in names.items()}
        if inner_name not in by_name or outer_name not in by_name:
            broken.append("perf names no %s" % " nor ".join(n for n in (inner_name, outer_name) if n not in by_name))
        else:
            inner, outer = by_name[inner_name], by_name[outer_name]
            for side, w, sink in (("perf", perf_w, broken), ("proflow", pf_w, failures)):
                held, ok = through(w, inner, outer, roots)
                print("%s: %d samples in %s, %.1f %% of them on through the signal frame to %s and the root" %
                      (side, held, inner_name, percent(ok, held), outer_name))
                if held < MIN_SAMPLES / 2 or percent(ok, held) < ROOT_MIN:
                    sink.append("%s: %d of %d samples in %s go on to %s and the root" % (side, ok, held, inner_name, outer_name))

    for b in broken:
        print("REFERENCE BROKEN: " + b)
    for f in failures:
        print("MISMATCH: " + f)
    return 2 if broken else 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
