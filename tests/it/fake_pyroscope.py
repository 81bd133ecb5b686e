#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# A stand-in for Grafana Pyroscope's ingestion: decodes Push API requests
# (Connect, protobuf PushRequest) and /ingest multipart pprof, checks them,
# and writes each profile and a JSON line per request into OUT_DIR.
# Usage: fake_pyroscope.py PORT OUT_DIR
import json
import os
import re
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from pbwire import fields



def push_request(body):
    """PushRequest -> [(labels dict, [(raw_profile, ID)])]."""
    series = []
    for num, _, s in fields(body):
        assert num == 1, "PushRequest field %d" % num
        labels, samples = {}, []
        for snum, _, v in fields(s):
            if snum == 1:
                pair = {n: bytes(x).decode() for n, _, x in fields(v)}
                assert pair.get(1), "label without a name"
                assert pair[1] not in labels, "duplicate label " + pair[1]
                labels[pair[1]] = pair.get(2, "")
            elif snum == 2:
                raw = ident = None
                for n, _, x in fields(v):
                    if n == 1:
                        raw = bytes(x)
                    elif n == 2:
                        ident = bytes(x).decode()
                samples.append((raw, ident))
        series.append((labels, samples))
    return series


def multipart(ctype, body):
    m = re.search(r"boundary=([^;]+)", ctype)
    assert m, "no boundary in " + ctype
    delim = b"--" + m.group(1).encode()
    parts = {}
    for chunk in body.split(delim)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]+)"', head).group(1).decode()
        parts[name] = data[:-2]  # the CRLF before the next delimiter
    return parts


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def record(self, entry):
        with open(os.path.join(OUT, "requests.jsonl"), "a") as f:
            f.write(json.dumps(entry) + "\n")

    def save(self, name, data):
        n = len(os.listdir(OUT))
        path = os.path.join(OUT, "%s.%d.pb.gz" % (re.sub(r"[^A-Za-z0-9_]", "_", name), n))
        with open(path, "wb") as f:
            f.write(data)
        return path

    def reply(self, status, ctype, body):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        ctype = self.headers.get("Content-Type", "")
        try:
            if url.path == "/push.v1.PusherService/Push":
                assert ctype == "application/proto", "Content-Type " + ctype
                assert self.headers.get("Connect-Protocol-Version") == "1"
                for labels, samples in push_request(body):
                    assert labels.get("__name__") and labels.get("service_name"), labels
                    for raw, ident in samples:
                        assert raw[:2] == b"\x1f\x8b", "raw_profile is not gzipped"
                        assert uuid.UUID(ident).version == 4, ident
                        path = self.save(labels["__name__"], raw)
                        self.record({"api": "push", "labels": labels, "file": path})
            elif url.path == "/ingest":
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                assert q.get("format") == "pprof" and q.get("name"), q
                parts = multipart(ctype, body)
                assert parts["profile"][:2] == b"\x1f\x8b", "profile is not gzipped"
                types = json.loads(parts.get("sample_type_config", b"{}"))
                # Named by its sample types: cpu_samples, alloc_objects_alloc_space, ...
                path = self.save("_".join(sorted(types)) or "profile", parts["profile"])
                self.record({"api": "ingest", "query": q, "file": path})
            else:
                self.reply(404, "text/plain", b"404 page not found\n")
                return
        except (AssertionError, ValueError, KeyError, IndexError) as e:
            self.record({"error": str(e)})
            msg = json.dumps({"code": "invalid_argument", "message": str(e)}).encode()
            self.reply(400, "application/json", msg)
            return
        self.reply(200, "application/proto", b"")


if __name__ == "__main__":
    OUT = sys.argv[2]
    os.makedirs(OUT, exist_ok=True)
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
