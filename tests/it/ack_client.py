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

from pbwire import put_field, put_varint, put_vfield


def request(n):
    """ExportProfilesServiceRequest: one profile, one sample on the stack `main` worth n."""
    strings = [b"", b"main", b"samples", b"count"]
    dictionary = (
        put_field(1, b"")  # mapping_table[0]
        + put_field(2, b"")  # location_table[0]
        + put_field(2, put_field(3, put_vfield(1, 1)))  # location 1: one line of function 1
        + put_field(3, b"")  # function_table[0]
        + put_field(3, put_vfield(1, 1))  # function 1: name "main"
        + put_field(4, b"")  # link_table[0]
        + b"".join(put_field(5, s) for s in strings)
        + put_field(6, b"")  # attribute_table[0]
        + put_field(7, b"")  # stack_table[0]
        + put_field(7, put_field(1, put_varint(1)))  # stack 1: location 1
    )
    sample = put_vfield(1, 1) + put_field(4, put_varint(n))
    now = time.time_ns()
    profile = (
        put_field(1, put_vfield(1, 2) + put_vfield(2, 3))
        + put_field(2, sample)
        + put_varint(3 << 3 | 1)
        + now.to_bytes(8, "little")
    )
    scope = put_field(2, profile)
    resource = put_field(2, scope)
    return put_field(1, resource) + put_field(2, dictionary)


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
