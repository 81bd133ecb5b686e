# SPDX-License-Identifier: Apache-2.0
"""Writes the OTLP profiles requests it_otlp_decode.sh sends: valid ones, ones with
invalid UTF-8 in a string field, and ones at the size limit crafted to expand when
decoded.

  otlp_requests.py DIR [SIZE_MIB]
"""
import sys

from pbwire import put_field, put_varint, put_vfield


def request(strings, sample, scope_name=b"proflow", empty_strings=0):
    """ExportProfilesServiceRequest: one profile of one sample, a minimal dictionary
    whose string_table is `strings` (after "") and `empty_strings` more "",
    sample_type cpu/nanoseconds."""
    prof = put_field(1, put_vfield(1, 1) + put_vfield(2, 2)) + put_field(2, sample)
    scope = put_field(1, put_field(1, scope_name))
    sp = scope + put_field(2, prof)
    rp = put_field(1, put_field(1, put_field(1, b"service.name") + put_field(2, put_field(1, b"app")))) + put_field(2, sp)
    d = b"".join(
        [put_field(1, b""), put_field(2, b""), put_field(3, b""), put_field(4, b"")]
        + [put_field(5, s) for s in [b""] + strings]
        + [put_field(5, b"") * empty_strings, put_field(6, b""), put_field(7, b"")]
    )
    return put_field(1, rp) + put_field(2, d)


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
    sample = put_vfield(1, 0) + put_field(4, put_varint(7))
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
    files["expand_values.pb"] = request([b"cpu", b"ns"], put_vfield(1, 0) + put_field(4, b"\x01" * n))
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
