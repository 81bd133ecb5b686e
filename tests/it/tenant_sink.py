#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# A backend stand-in for it.tenants: takes OTLP/HTTP profiles (/v1development/profiles) and
# Pyroscope Push requests, and writes one JSON line per request to OUT_DIR/requests.jsonl with
# its X-Scope-OrgID header (null when absent) and the sum of every sample value it carries.
# Usage: tenant_sink.py PORT OUT_DIR     serve
#        tenant_sink.py --sum FILE       print the sum of the sample values of a pprof file
import gzip
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pbwire import fields, varint



def int64s(wire, val):
    """A repeated int64 field's values, packed or not."""
    if wire == 0:
        vals = [val]
    else:
        vals, i = [], 0
        while i < len(val):
            v, i = varint(val, i)
            vals.append(v)
    return [v - (1 << 64) if v >= 1 << 63 else v for v in vals]


def sub(buf, num):
    return [bytes(v) for n, w, v in fields(buf) if n == num and w == 2]


def pprof_sum(raw):
    """Sum of Sample.value (2) over Profile.sample (2)."""
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return sum(sum(int64s(w, v)) for s in sub(raw, 2) for n, w, v in fields(s) if n == 2)


def otlp_sum(body):
    """ExportProfilesServiceRequest: resource_profiles (1) > scope_profiles (2) >
    profiles (2) > samples (2) > values (4)."""
    total = 0
    for rp in sub(body, 1):
        for sp in sub(rp, 2):
            for prof in sub(sp, 2):
                for s in sub(prof, 2):
                    total += sum(sum(int64s(w, v)) for n, w, v in fields(s) if n == 4)
    return total


def push_sum(body):
    """PushRequest: series (1) > samples (2) > raw_profile (1), a gzipped pprof."""
    return sum(pprof_sum(raw) for s in sub(body, 1) for rs in sub(s, 2) for raw in sub(rs, 1))


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if self.path == "/v1development/profiles":
            total, ctype = otlp_sum(body), "application/x-protobuf"
        elif self.path == "/push.v1.PusherService/Push":
            total, ctype = push_sum(body), "application/proto"
        else:
            self.send_response(404)
            self.end_headers()
            return
        if self.headers.get("X-Unwanted"):
            self.send_response(400)
            self.end_headers()
            return
        tenants = self.headers.get_all("X-Scope-OrgID") or []
        entry = {"path": self.path, "tenant": tenants[0] if len(tenants) == 1 else tenants or None,
                 "sum": total}
        with open(os.path.join(OUT, "requests.jsonl"), "a") as f:
            f.write(json.dumps(entry) + "\n")
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", "0")
        self.end_headers()


if __name__ == "__main__":
    if sys.argv[1] == "--sum":
        with open(sys.argv[2], "rb") as f:
            print(pprof_sum(f.read()))
        sys.exit(0)
    OUT = sys.argv[2]
    os.makedirs(OUT, exist_ok=True)
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
