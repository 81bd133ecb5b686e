# SPDX-License-Identifier: Apache-2.0
"""Writes the OTLP profiles requests it_otlp_decode.sh sends: valid ones, ones with
invalid UTF-8 in a string field, and ones at the size limit crafted to expand when
decoded.

  otlp_requests.py DIR [SIZE_MIB]
"""
import sys


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


def vfield(num, v):
    return varint(num << 3) + varint(v)


def request(strings, sample, scope_name=b"proflow", empty_strings=0):
    """ExportProfilesServiceRequest: one profile of one sample, a minimal dictionary
    whose string_table is `strings` (after "") and `empty_strings` more "",
    sample_type cpu/nanoseconds."""
    prof = field(1, vfield(1, 1) + vfield(2, 2)) + field(2, sample)
    scope = field(1, field(1, scope_name))
    sp = scope + field(2, prof)
    rp = field(1, field(1, field(1, b"service.name") + field(2, field(1, b"app")))) + field(2, sp)
    d = b"".join(
        [field(1, b""), field(2, b""), field(3, b""), field(4, b"")]
        + [field(5, s) for s in [b""] + strings]
        + [field(5, b"") * empty_strings, field(6, b""), field(7, b"")]
    )
    return field(1, rp) + field(2, d)


def json_request(strings, values_text):
    table = ",".join('"%s"' % s for s in [""] + strings)
    return (
        '{"resourceProfiles":[{"scopeProfiles":[{"scope":{"name":"proflow"},"profiles":[{'
        '"sampleType":{"typeStrindex":1,"unitStrindex":2},"samples":[{"values":[%s]}]}]}]}],'
        '"dictionary":{"stringTable":[%s],"mappingTable":[{}],"locationTable":[{}],'
        '"functionTable":[{}],"linkTable":[{}],"attributeTable":[{}],"stackTable":[{}]}}'
        % (values_text, table)
    ).encode()


def main():
    out = sys.argv[1]
    limit = int(sys.argv[2] if len(sys.argv) > 2 else 64) << 20
    sample = vfield(1, 0) + field(4, varint(7))
    files = {
        "valid.pb": request([b"cpu", b"nanoseconds"], sample),
        "valid.json": json_request(["cpu", "nanoseconds"], "7"),
        "bad_string_table.pb": request([b"cpu", b"nano\xffseconds"], sample),
        "bad_scope_name.pb": request([b"cpu", b"nanoseconds"], sample, b"pro\xc0\xafflow"),
        "bad_string_table.json": json_request(["cpu", "nano\xffseconds"], "7").replace(
            b"\xc3\xbf", b"\xff"
        ),
        "bad_surrogate.json": json_request(["cpu", "nano\\ud800seconds"], "7"),
    }
    # At the limit, crafted to expand: 1-byte values (8 bytes each decoded) in JSON
    # ("1,": 2 bytes of text) and protobuf (one packed list), and 2-byte empty
    # strings (16 bytes each) in protobuf.
    head = len(json_request([], "")) + 64
    files["expand_values.json"] = json_request(["cpu", "ns"], "1," * ((limit - head) // 2) + "1")
    n = limit - 4096
    files["expand_values.pb"] = request([b"cpu", b"ns"], vfield(1, 0) + field(4, b"\x01" * n))
    files["expand_strings.pb"] = request([b"cpu", b"ns"], sample, empty_strings=(limit - 4096) // 2)
    for name, data in files.items():
        assert len(data) <= limit, (name, len(data))
        with open("%s/%s" % (out, name), "wb") as f:
            f.write(data)
        if name.endswith(".pb"):
            # The same as one gRPC message (uncompressed, 4-byte length).
            with open("%s/%s.grpc" % (out, name[:-3]), "wb") as f:
                f.write(b"\0" + len(data).to_bytes(4, "big") + data)


main()
