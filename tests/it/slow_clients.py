#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Slow clients against a proflow HTTP receiver: opens N connections from one
address that trickle header lines, and while they are held checks that a
valid OTLP/HTTP request from another address is answered 200 within 1 s, that
/metrics and the health check answer, that the connections over the
per-address limit got 503 with Retry-After, and that the held ones are
closed at the header deadline although they keep sending.
Called as: slow_clients.py RX_PORT METRICS_PORT HEALTH_PORT N PER_CLIENT HEADER_DEADLINE_S"""
import selectors
import socket
import sys
import time
import urllib.request

rx_port, metrics_port, health_port, n, per_client = (int(a) for a in sys.argv[1:6])
deadline_s = float(sys.argv[6])
ATTACKER = "127.0.0.2"


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def get(url, timeout=1.0):
    t0 = time.monotonic()
    with urllib.request.urlopen(url, timeout=timeout) as r:
        r.read()
        return r.status, time.monotonic() - t0


# The slow connections: a request line and a header, and nothing more yet.
start = time.monotonic()
conns = []
for i in range(n):
    s = socket.socket()
    s.bind((ATTACKER, 0))
    s.settimeout(2.0)
    try:
        s.connect(("127.0.0.1", rx_port))
        s.sendall(b"POST /v1development/profiles HTTP/1.1\r\nHost: x\r\n")
    except OSError as e:
        fail(f"slow connection {i} not accepted within 2 s: {e!r}")
    conns.append(s)
opened = time.monotonic() - start
print(f"{n} connections opened in {opened:.2f} s")

# Those over the limit are answered at once.
time.sleep(0.5)
refused, reset, held = 0, 0, []
for s in conns:
    s.setblocking(False)
    try:
        data = s.recv(4096)
    except BlockingIOError:
        held.append(s)
        continue
    except ConnectionResetError:
        reset += 1
        s.close()
        continue
    if data.startswith(b"HTTP/1.1 503") and b"\r\nRetry-After: 1\r\n" in data:
        refused += 1
    else:
        fail(f"an over-limit connection got {data[:60]!r} instead of 503 + Retry-After")
    s.close()
print(f"held {len(held)}, refused with 503 + Retry-After {refused}, reset {reset}")
if reset:
    fail(f"{reset} connections were reset instead of answered")
if len(held) != min(n, per_client) or refused != n - len(held):
    fail(f"expected {min(n, per_client)} held and the rest refused")

# While they are held: a valid request from another address, /metrics, health.
req = urllib.request.Request(
    f"http://127.0.0.1:{rx_port}/v1development/profiles",
    data=b"",
    headers={"Content-Type": "application/x-protobuf"},
    method="POST",
)
try:
    t0 = time.monotonic()
    with urllib.request.urlopen(req, timeout=1.0) as r:
        r.read()
        status, took = r.status, time.monotonic() - t0
except Exception as e:  # noqa: BLE001 - any failure fails the test
    fail(f"the valid OTLP/HTTP request failed while slow clients are held: {e!r}")
print(f"valid request: {status} in {took * 1000:.0f} ms")
if status != 200 or took >= 1.0:
    fail("the valid request was not answered 200 within 1 s")
for name, url in (
    ("/metrics", f"http://127.0.0.1:{metrics_port}/metrics"),
    ("health_check", f"http://127.0.0.1:{health_port}/"),
):
    try:
        code, took = get(url)
    except Exception as e:  # noqa: BLE001
        fail(f"{name} did not answer while slow clients are held: {e!r}")
    print(f"{name}: {code} in {took * 1000:.0f} ms")
    if code != 200:
        fail(f"{name} answered {code}")

# The held ones keep sending a header line each 0.5 s; the header deadline
# (absolute from accept, not reset by each line) closes them all.
sel = selectors.DefaultSelector()
for s in held:
    sel.register(s, selectors.EVENT_READ)
closed_at = []
open_socks = set(held)
while open_socks and time.monotonic() - start < deadline_s + 5:
    for s in list(open_socks):
        try:
            s.send(b"X-Slow: y\r\n")
        except OSError:
            pass
    for key, _ in sel.select(timeout=0.5):
        s = key.fileobj
        try:
            data = s.recv(4096)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            data = b""
        if data:
            continue  # an answer (408/400) before the close
        closed_at.append(time.monotonic() - start)
        sel.unregister(s)
        open_socks.discard(s)
        s.close()
if open_socks:
    fail(f"{len(open_socks)} slow connections still open {deadline_s + 5:.0f} s after they began")
print(f"held connections closed between {min(closed_at):.1f} s and {max(closed_at):.1f} s")
if min(closed_at) < deadline_s - 0.5:
    fail("a held connection was closed before the header deadline")
print("ok")
