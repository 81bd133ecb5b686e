#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Totals of a JFR recording, from the JDK's `jfr print --json` (truth) or from proflow's pprof files.

  jfr_compare.py truth FILE.jfr...   what the JDK reports
  jfr_compare.py pprof FILE.pb.gz... what proflow wrote (read through `go tool pprof -raw`)

Both print the same keys, one per line, sorted:
  cpu.events N                   jdk.ExecutionSample events
  cpu.method.<Class.method> N    ExecutionSample events whose top frame is that method
  wall.events N                  jdk.NativeMethodSample events + profiler.WallClockSample samples
  alloc.events N / alloc.bytes N ObjectAllocationSample (weight) + ObjectAllocationIn/OutsideTLAB
  lock.events N / lock.ns N      JavaMonitorEnter + ThreadPark (duration)
  gc.<name>.events N / gc.<name>.ns N   GarbageCollection per collector (sumOfPauses)
  malloc.events N / malloc.bytes N      profiler.Malloc (async-profiler nativemem; size)
  live.events N / live.bytes N          profiler.LiveObject (async-profiler; allocationSize)
"""
import collections
import json
import re
import subprocess
import sys

EVENTS = ["jdk.ExecutionSample", "jdk.NativeMethodSample", "jdk.ObjectAllocationSample", "jdk.ObjectAllocationInNewTLAB",
          "jdk.ObjectAllocationOutsideTLAB", "jdk.JavaMonitorEnter", "jdk.ThreadPark",
          "jdk.GarbageCollection", "profiler.WallClockSample", "profiler.Malloc",
          "profiler.LiveObject"]


def iso_ns(text):
    """ISO-8601 duration ("PT0.040179101S", "PT1M2.5S") to integer nanoseconds."""
    m = re.fullmatch(r"(-)?PT(?:(\d+)H)?(?:(\d+)M)?(?:(-?\d+)(?:\.(\d+))?S)?", text)
    if not m:
        raise ValueError("bad duration " + text)
    sign, h, mi, s, frac = m.groups()
    ns = (int(h or 0) * 3600 + int(mi or 0) * 60 + int(s or 0)) * 10**9
    ns += int((frac or "0").ljust(9, "0")[:9])
    return -ns if sign else ns


def truth(files):
    out = collections.Counter()
    for f in files:
        text = subprocess.run(["jfr", "print", "--json", "--stack-depth", "1", "--events",
                               ",".join(EVENTS), f], check=True, capture_output=True,
                              text=True).stdout
        for ev in json.loads(text)["recording"]["events"]:
            t, v = ev["type"], ev["values"]
            if t == "jdk.ExecutionSample":
                out["cpu.events"] += 1
                frames = (v.get("stackTrace") or {}).get("frames") or []
                if frames:
                    m = frames[0]["method"]
                    cls = (m.get("type") or {}).get("name", "").replace("/", ".")
                    out["cpu.method." + (cls + "." if cls else "") + m["name"]] += 1
            elif t == "jdk.NativeMethodSample":
                out["wall.events"] += 1
            elif t == "profiler.WallClockSample":
                out["wall.events"] += int(v["samples"])
            elif t.startswith("jdk.ObjectAllocation"):
                out["alloc.events"] += 1
                out["alloc.bytes"] += int(v["weight"] if t.endswith("Sample")
                                          else v["allocationSize"])
            elif t in ("jdk.JavaMonitorEnter", "jdk.ThreadPark"):
                out["lock.events"] += 1
                out["lock.ns"] += iso_ns(v["duration"])
            elif t == "jdk.GarbageCollection":
                out["gc.%s.events" % v["name"]] += 1
                out["gc.%s.ns" % v["name"]] += iso_ns(v["sumOfPauses"])
            elif t == "profiler.Malloc":
                out["malloc.events"] += 1
                out["malloc.bytes"] += int(v["size"])
            elif t == "profiler.LiveObject":
                out["live.events"] += 1
                out["live.bytes"] += int(v["allocationSize"])
    return out


def raw(path):
    """(sample types, [(values, [location ids], labels)], {location id: function})."""
    text = subprocess.run(["go", "tool", "pprof", "-raw", path], check=True,
                          capture_output=True, text=True).stdout
    types, samples, locs, section = [], [], {}, None
    for line in text.splitlines():
        if line in ("Samples:", "Locations", "Mappings"):
            section = line
            continue
        if section == "Samples:":
            if not types:
                types = line.split()
            elif re.match(r"^\s+-?\d+", line) and ":" in line and "[" not in line:
                vals, ids = line.split(":", 1)
                samples.append(([int(x) for x in vals.split()], [int(x) for x in ids.split()],
                                {}))
            elif "[" in line and samples:
                k, val = line.strip().split(":", 1)
                samples[-1][2][k] = val.strip("[]")
        elif section == "Locations":
            # "<id>: 0x<addr> M=<mapping> <function> <file>:<line> s=<start>(...)";
            # JVM native frames' names contain spaces ("vtable stub").
            m = re.match(r"^\s*(\d+): 0x[0-9a-f]+ M=\d+ (.+?) \S*:-?\d+ s=-?\d+", line)
            if m:
                locs[int(m.group(1))] = m.group(2)
    return types, samples, locs


def from_pprof(files):
    out = collections.Counter()
    for f in files:
        types, samples, locs = raw(f)
        kinds = tuple(types)
        for vals, ids, labels in samples:
            if kinds == ("samples/count", "cpu/nanoseconds"):
                out["cpu.events"] += vals[0]
                if ids:
                    out["cpu.method." + locs[ids[0]]] += vals[0]
            elif kinds == ("samples/count", "wall/nanoseconds"):
                out["wall.events"] += vals[0]
            elif kinds == ("alloc_objects/count", "alloc_space/bytes"):
                out["alloc.events"] += vals[0]
                out["alloc.bytes"] += vals[1]
            elif kinds == ("contentions/count", "lock/nanoseconds"):
                out["lock.events"] += vals[0]
                out["lock.ns"] += vals[1]
            elif kinds == ("gc/count", "gc_pause/nanoseconds"):
                name = labels.get("jvm.gc.name", "unknown")
                out["gc.%s.events" % name] += vals[0]
                out["gc.%s.ns" % name] += vals[1]
            elif kinds == ("malloc_objects/count", "malloc_bytes/bytes"):
                out["malloc.events"] += vals[0]
                out["malloc.bytes"] += vals[1]
            elif kinds == ("inuse_objects/count", "inuse_space/bytes"):
                out["live.events"] += vals[0]
                out["live.bytes"] += vals[1]
    return out


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("truth", "pprof"):
        sys.exit(__doc__)
    got = truth(sys.argv[2:]) if sys.argv[1] == "truth" else from_pprof(sys.argv[2:])
    for k in sorted(got):
        print(k, got[k])


if __name__ == "__main__":
    main()
