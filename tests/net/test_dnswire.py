"""The DNS wire codec, checked against dnspython."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from auditor.net.dnswire import (
    MalformedResponse,
    decode,
    decode_fast,
    encode_query,
    parse_message,
    qname_wire,
)

from .helpers import answer


def test_encoded_question_is_what_dnspython_reads() -> None:
    wire = encode_query(0x1234, qname_wire("Native.Lab.Test."), dns.rdatatype.AAAA)
    msg = dns.message.from_wire(wire)
    assert msg.id == 0x1234
    assert msg.flags & dns.flags.RD
    assert msg.question[0].name == dns.name.from_text("native.lab.test.")
    assert msg.question[0].rdtype == dns.rdatatype.AAAA
    assert msg.edns == 0 and msg.payload == 1232
    norec = dns.message.from_wire(encode_query(1, qname_wire("x.test"), 6, recursion=False))
    assert not norec.flags & dns.flags.RD


def test_qname_wire_agrees_with_dnspython_and_handles_idna() -> None:
    for name in ("a.b.c", "xn--bcher-kva.example", "_sip._tcp.example.com", "*.wild.test"):
        assert qname_wire(name) == dns.name.from_text(name + ".").to_wire()
    assert qname_wire("bücher.example") == dns.name.from_text("bücher.example.").to_wire()


def _response(qname: str, qtype: str, *records: str, rcode: str = "NOERROR") -> bytes:
    query = dns.message.make_query(qname, qtype, use_edns=0)
    msg = answer(query, *records, rcode=dns.rcode.from_text(rcode))
    if rcode != "NOERROR" or not records:
        msg.authority.append(
            dns.rrset.from_text("lab.test.", 60, "IN", "SOA", "ns1.lab.test. h.lab.test. 1 2 3 4 5")
        )
    return msg.to_wire()


CASES = [
    ("native.lab.test", "AAAA", ["native.lab.test. 60 IN AAAA 2001:db8:2::80"], "NOERROR"),
    ("native.lab.test", "A", ["native.lab.test. 60 IN A 192.0.2.80"], "NOERROR"),
    (
        "alias.lab.test",
        "AAAA",
        [
            "alias.lab.test. 60 IN CNAME alias2.lab.test.",
            "alias2.lab.test. 60 IN CNAME v4only.lab.test.",
            "v4only.lab.test. 60 IN AAAA 2001:db8:64::c000:250",
        ],
        "NOERROR",
    ),
    (
        "Multi.Lab.Test",
        "AAAA",
        ["multi.lab.test. 60 IN AAAA 2001:db8::1", "multi.lab.test. 60 IN AAAA 2001:db8::2"],
        "NOERROR",
    ),
    ("nodata.lab.test", "AAAA", [], "NOERROR"),
    ("missing.lab.test", "AAAA", [], "NXDOMAIN"),
    ("host.lame.lab.test", "AAAA", [], "SERVFAIL"),
    # a chain whose target the server did not resolve
    ("partial.lab.test", "AAAA", ["partial.lab.test. 60 IN CNAME far.other.test."], "NOERROR"),
]


@pytest.mark.parametrize(("qname", "qtype", "records", "rcode"), CASES)
def test_fast_decoder_agrees_with_dnspython(
    qname: str, qtype: str, records: list[str], rcode: str
) -> None:
    wire = _response(qname, qtype, *records, rcode=rcode)
    rdtype = dns.rdatatype.from_text(qtype)
    fast = decode_fast(wire, qname.lower(), rdtype)
    slow = parse_message(dns.message.from_wire(wire), qname.lower(), rdtype)
    assert (fast.rcode, fast.records, fast.chain, fast.truncated) == (
        slow.rcode,
        slow.records,
        slow.chain,
        slow.truncated,
    )
    assert fast.rcode == dns.rcode.from_text(rcode)


def test_decoder_results_for_a_cname_chain() -> None:
    wire = _response(*CASES[2][:2], *CASES[2][2])
    parsed = decode(wire, "alias.lab.test", dns.rdatatype.AAAA)
    assert parsed.chain == ["alias2.lab.test", "v4only.lab.test"]
    assert parsed.records == ["2001:db8:64::c000:250"]


def test_names_needing_escapes_go_to_dnspython() -> None:
    query = dns.message.make_query("odd.lab.test", "AAAA")
    msg = answer(
        query,
        r"odd.lab.test. 60 IN CNAME we\.ird.lab.test.",
        r"we\.ird.lab.test. 60 IN AAAA 2001:db8::5",
    )
    wire = msg.to_wire()
    with pytest.raises(MalformedResponse):
        decode_fast(wire, "odd.lab.test", dns.rdatatype.AAAA)
    parsed = decode(wire, "odd.lab.test", dns.rdatatype.AAAA)
    assert parsed.records == ["2001:db8::5"]


def test_garbage_is_malformed() -> None:
    with pytest.raises(MalformedResponse):
        decode(b"\x12\x34\x81\x80\x00\x01\x00\x01", "x.test", dns.rdatatype.AAAA)
    wire = bytearray(_response(*CASES[0][:2], *CASES[0][2]))
    with pytest.raises(MalformedResponse):
        decode(bytes(wire[:-20]), "native.lab.test", dns.rdatatype.AAAA)  # cut into the AAAA
