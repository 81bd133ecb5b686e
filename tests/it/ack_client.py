#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# The client of it.otlp_ack: sends N OTLP/HTTP export requests, each one sample whose value is
# the request's number (1..N), from THREADS threads, and writes the numbers the collector
# answered 2xx to OUT/acked and a count per status to OUT/statuses.
# Usage: ack_client.py PORT N THREADS OUT
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, payload):
    """A length-delimited field."""
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def vfield(num, value):
    """A varint field."""
    return varint(num << 3) + varint(value)


def request(n):
    """ExportProfilesServiceRequest: one profile, one sample on the stack `main` worth n."""
    strings = [b"", b"main", b"samples", b"count"]
    dictionary = (
        field(1, b"")  # mapping_table[0]
        + field(2, b"")  # location_table[0]
        + field(2, field(3, vfield(1, 1)))  # location 1: one line of function 1
        + field(3, b"")  # function_table[0]
        + field(3, vfield(1, 1))  # function 1: name "main"
        + field(4, b"")  # link_table[0]
        + b"".join(field(5, s) for s in strings)
        + field(6, b"")  # attribute_table[0]
        + field(7, b"")  # stack_table[0]
        + field(7, field(1, varint(1)))  # stack 1: location 1
    )
    sample = vfield(1, 1) + field(4, varint(n))
    now = time.time_ns()
    profile = (
        field(1, vfield(1, 2) + vfield(2, 3))
        + field(2, sample)
        + varint(3 << 3 | 1)
        + now.to_bytes(8, "little")
    )
    scope = field(2, profile)
    resource = field(2, scope)
    return field(1, resource) + field(2, dictionary)


def main():
    port, total, threads, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    url = "http://127.0.0.1:%d/v1development/profiles" % port
    lock = threading.Lock()
    acked, statuses = [], Counter()
    todo = iter(range(1, total + 1))

    def worker():
        while True:
            with lock:
                n = next(todo, None)
            if n is None:
                return
            req = urllib.request.Request(url, data=request(n), method="POST")
            req.add_header("Content-Type", "application/x-protobuf")
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    code = resp.status
                    resp.read()
            except urllib.error.HTTPError as e:
                code = e.code
                if code == 503 and not e.headers.get("Retry-After"):
                    code = "503-without-retry-after"
            except OSError as e:
                code = "error: %s" % e
            with lock:
                statuses[code] += 1
                if isinstance(code, int) and 200 <= code < 300:
                    acked.append(n)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "acked"), "w") as f:
        f.write("".join("%d\n" % n for n in sorted(acked)))
    with open(os.path.join(out, "statuses"), "w") as f:
        f.write("".join("%s %d\n" % (k, v) for k, v in sorted(statuses.items(), key=str)))


if __name__ == "__main__":
    main()
