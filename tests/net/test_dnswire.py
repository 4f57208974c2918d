"""The DNS wire codec, checked against dnspython."""

from __future__ import annotations

import struct

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from auditor.net.dnswire import (
    BadName,
    MalformedResponse,
    decode,
    decode_fast,
    encode_query,
    normalize,
    parse_message,
    qname_wire,
    question_tail,
    rcode_text,
    response_to,
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


# --------------------------------------------------------------------------- what is not an answer

Q = qname_wire("native.lab.test")
AAAA = 28
ADDRESS = bytes.fromhex("20010db8000200000000000000000080")  # 2001:db8:2::80


def _rr(owner: bytes, rtype: int, rdata: bytes, rclass: int = 1, ttl: int = 60) -> bytes:
    return owner + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def _message(
    flags: int = 0x8180,
    question: bytes | None = Q + question_tail(AAAA),
    answers: tuple[bytes, ...] = (_rr(b"\xc0\x0c", AAAA, ADDRESS),),
    additional: tuple[bytes, ...] = (),
) -> bytes:
    header = struct.pack(
        "!HHHHHH", 0x1234, flags, 1 if question else 0, len(answers), 0, len(additional)
    )
    return header + (question or b"") + b"".join(answers) + b"".join(additional)


def _reads(wire: bytes) -> tuple[int, list[str]]:
    parsed = decode(wire, "native.lab.test", AAAA)
    return parsed.rcode, parsed.records


def test_the_hand_built_answer_reads_as_dnspython_reads_it() -> None:
    wire = _message()
    assert _reads(wire) == (0, ["2001:db8:2::80"])
    assert dns.message.from_wire(wire).answer[0][0].address == "2001:db8:2::80"
    assert response_to(wire, Q, question_tail(AAAA))


def test_a_record_of_another_class_is_no_answer() -> None:
    wire = _message(answers=(_rr(b"\xc0\x0c", AAAA, ADDRESS, rclass=3),))  # CHAOS
    with pytest.raises(MalformedResponse):
        decode_fast(wire, "native.lab.test", AAAA)
    assert _reads(wire) == (0, [])


def test_a_query_is_not_a_response() -> None:
    wire = _message(flags=0x0100)  # QR unset
    assert not response_to(wire, Q, question_tail(AAAA))
    with pytest.raises(MalformedResponse):
        decode(wire, "native.lab.test", AAAA)


def test_an_answer_without_the_question_or_to_another_one_is_refused() -> None:
    owner = Q  # the owner written out: there is no question to point to
    bare = _message(question=None, answers=(_rr(owner, AAAA, ADDRESS),))
    other = _message(question=qname_wire("evil.test") + question_tail(AAAA))
    other_type = _message(question=Q + question_tail(1))
    for wire in (bare, other, other_type):
        assert not response_to(wire, Q, question_tail(AAAA))
        with pytest.raises(MalformedResponse):
            decode(wire, "native.lab.test", AAAA)
    # a SERVFAIL may leave the question out (dnspython accepts it): no records either way
    servfail = _message(flags=0x8182, question=None, answers=())
    assert response_to(servfail, Q, question_tail(AAAA))
    assert _reads(servfail) == (2, [])


def test_an_extended_rcode_is_not_noerror() -> None:
    opt = _rr(b"\x00", 41, b"", rclass=1232, ttl=1 << 24)  # extended rcode 1: BADVERS (16)
    wire = _message(additional=(opt,))
    assert dns.message.from_wire(wire).rcode() == dns.rcode.BADVERS
    rcode, records = _reads(wire)
    assert rcode == dns.rcode.BADVERS and rcode_text(rcode) == "BADVERS"
    assert records == []  # an error rcode decides nothing


def test_forward_and_looping_compression_pointers_are_refused() -> None:
    # The answer's owner points forward, at a name inside the CNAME record after it.
    target = qname_wire("native.lab.test")
    first = b"\xc0\x00" + struct.pack("!HHIH", AAAA, 1, 60, 16) + ADDRESS
    forward_at = 12 + len(Q) + 4 + len(first) + 12  # the second record's rdata
    forward = struct.pack("!H", 0xC000 | forward_at) + struct.pack("!HHIH", AAAA, 1, 60, 16)
    wire = _message(answers=(forward + ADDRESS, _rr(b"\xc0\x0c", 5, target)))
    loop_at = 12 + len(Q) + 4
    looping = _message(answers=(_rr(struct.pack("!H", 0xC000 | loop_at), AAAA, ADDRESS),))
    for bad in (wire, looping):
        with pytest.raises(dns.name.BadPointer):
            dns.message.from_wire(bad)  # dnspython refuses it too
        with pytest.raises(MalformedResponse):
            decode(bad, "native.lab.test", AAAA)


def test_trailing_bytes_and_answers_for_nxdomain_are_refused_as_dnspython_does() -> None:
    with pytest.raises(MalformedResponse):
        decode(_message() + b"\x00", "native.lab.test", AAAA)
    with pytest.raises(MalformedResponse):
        decode(_message(flags=0x8183), "native.lab.test", AAAA)  # NXDOMAIN with an AAAA


def test_idn_names_are_matched_on_the_a_label() -> None:
    assert normalize("Bücher.Example.") == "xn--bcher-kva.example"
    wire = _response(
        "xn--bcher-kva.example", "AAAA", "xn--bcher-kva.example. 60 IN AAAA 2001:db8::b"
    )
    assert decode(wire, normalize("bücher.example"), AAAA).records == ["2001:db8::b"]
    with pytest.raises(BadName):
        qname_wire("x" * 64 + ".test")


def test_a_cname_loop_inside_one_answer_is_refused_as_dnspython_refuses_it() -> None:
    wire = _response(
        "loop.lab.test",
        "AAAA",
        "loop.lab.test. 60 IN CNAME loop2.lab.test.",
        "loop2.lab.test. 60 IN CNAME loop.lab.test.",
    )
    with pytest.raises(dns.message.ChainTooLong):
        dns.message.from_wire(wire).resolve_chaining()
    with pytest.raises(MalformedResponse):
        decode(wire, "loop.lab.test", AAAA)


def _with_pointer(wire: bytes, at: int, target: int) -> bytes:
    return wire[:at] + bytes((0xC0 | target >> 8, target & 0xFF)) + wire[at + 2 :]


def _dnspython_reading(wire: bytes, qname: str, rdtype: int):
    """(rcode, records, chain, zone) as dnspython reads the message, or None if it refuses."""
    try:
        msg = dns.message.from_wire(wire)
        parsed = parse_message(msg, qname, rdtype)
    except Exception:  # noqa: BLE001 - any refusal
        return None
    return parsed.rcode, parsed.records, parsed.chain, parsed.zone


def _codec_reading(wire: bytes, qname: str, rdtype: int):
    try:
        parsed = decode(wire, qname, rdtype)
    except MalformedResponse:
        return None
    return parsed.rcode, parsed.records, parsed.chain, parsed.zone


@pytest.mark.parametrize("owner", [False, True])
def test_names_pointing_anywhere_into_the_question_read_as_dnspython_reads_them(
    owner: bool,
) -> None:
    """The codec reads a pointer to the start of a question label from the question's text;
    pointed at any other byte of the question (or of the header) it must still agree with
    dnspython, rejecting or accepting the same way."""
    qname, rdtype = "www.svc.lab.test", dns.rdatatype.AAAA
    query = dns.message.make_query(qname, "AAAA", use_edns=0)
    if owner:  # the SOA owner (the zone) points into the question
        response = answer(query, rcode=dns.rcode.NXDOMAIN)
        response.authority.append(
            dns.rrset.from_text("svc.lab.test.", 60, "IN", "SOA", "ns1.x. h.x. 1 2 3 4 5")
        )
    else:  # a CNAME's target points into the question
        response = answer(query, f"{qname}. 60 IN CNAME svc.lab.test.")
    wire = response.to_wire()
    at = wire.index(b"\xc0", 12 + len(qname_wire(qname)) + 4 + (0 if owner else 12))
    agreed = {True: 0, False: 0}
    for target in range(0, 12 + len(qname_wire(qname))):
        mutated = _with_pointer(wire, at, target)
        ours = _codec_reading(mutated, qname, rdtype)
        assert ours == _dnspython_reading(mutated, qname, rdtype), f"pointer to {target}"
        agreed[ours is not None] += 1
    assert agreed[True] >= 4 and agreed[False] >= 4  # label starts read, the rest refused


def test_a_question_echoed_in_other_letter_case_reads_the_same() -> None:
    """Resolvers may echo the question with its letter case changed (0x20 randomization)."""
    qname = "www.svc.lab.test"
    query = dns.message.make_query(qname, "A", use_edns=0)
    response = answer(query, rcode=dns.rcode.NXDOMAIN)
    response.authority.append(
        dns.rrset.from_text("lab.test.", 60, "IN", "SOA", "ns1.lab.test. h.lab.test. 1 2 3 4 5")
    )
    wire = bytearray(response.to_wire())
    end = 12 + len(qname_wire(qname))
    wire[12:end] = bytes(wire[12:end]).upper()
    parsed = decode(bytes(wire), qname, dns.rdatatype.A)
    assert (parsed.rcode, parsed.zone) == (dns.rcode.NXDOMAIN, "lab.test")
