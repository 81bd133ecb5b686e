# SPDX-License-Identifier: Apache-2.0
"""Protobuf wire format for the test peers: reading (fake_pyroscope.py, tenant_sink.py)
and writing (ack_client.py, otlp_requests.py)."""


def varint(buf, i):
    """The varint at buf[i] and the index after it."""
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def fields(buf):
    """(field number, wire type, value) of one protobuf message."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            val, i = varint(buf, i)
        elif wire == 2:
            n, i = varint(buf, i)
            val, i = buf[i : i + n], i + n
        elif wire == 1:
            val, i = buf[i : i + 8], i + 8
        elif wire == 5:
            val, i = buf[i : i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wire)
        yield num, wire, val


def put_varint(v):
    """The varint encoding of v >= 0."""
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def put_field(num, payload):
    """A length-delimited field."""
    return put_varint(num << 3 | 2) + put_varint(len(payload)) + payload


def put_vfield(num, value):
    """A varint field."""
    return put_varint(num << 3) + put_varint(value)
