"""The wire codec against dnspython on mutated real answers: whatever the codec accepts,
dnspython accepts too, with the same rcode, answer set and CNAME chain.

A fixed seed and a few thousand cases (bit flips, truncations, byte insertions and
deletions, rewritten compression pointers and section counts), so a run takes seconds and a
failure reproduces. Where the codec is stricter than dnspython (it rejects), the question
only goes to the next server: that is never a wrong verdict.
"""

from __future__ import annotations

import ipaddress
import random

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from auditor.net.dnswire import (
    MalformedResponse,
    decode,
    normalize,
    qname_wire,
    question_tail,
    response_to,
)

from .helpers import answer

SEED = 20261130
CASES = 3000
SOA = ("lab.test.", 60, "IN", "SOA", "ns1.lab.test. hostmaster.lab.test. 1 3600 600 86400 60")


def _seeds() -> list[tuple[dns.message.Message, bytes]]:
    """(query, response wire) for the shapes a resolver sends."""
    out = []

    def add(qname: str, qtype: str, *records: str, rcode: int = 0, soa: bool = False, **kw):
        query = dns.message.make_query(qname, qtype, use_edns=kw.pop("edns", 0))
        query.id = 0x5EED
        response = answer(query, *records, rcode=rcode)
        if soa:
            response.authority.append(dns.rrset.from_text(*SOA))
        if kw.get("option"):
            response.use_edns(0, options=[dns.edns.GenericOption(65001, b"\x01\x02")])
        if kw.get("tc"):
            response.flags |= dns.flags.TC
        out.append((query, response.to_wire()))

    add("native.lab.test", "AAAA", "native.lab.test. 60 IN AAAA 2001:db8:2::80")
    add("native.lab.test", "A", "native.lab.test. 60 IN A 192.0.2.80", edns=-1)
    add(
        "multi.lab.test",
        "AAAA",
        "multi.lab.test. 60 IN AAAA 2001:db8::1",
        "multi.lab.test. 60 IN AAAA 2001:db8::2",
        option=True,
    )
    add(
        "alias.lab.test",
        "AAAA",
        "alias.lab.test. 60 IN CNAME alias2.lab.test.",
        "alias2.lab.test. 60 IN CNAME v4only.lab.test.",
        "v4only.lab.test. 60 IN AAAA 64:ff9b::c000:250",
    )
    add("partial.lab.test", "AAAA", "partial.lab.test. 60 IN CNAME far.other.test.")
    add("alias.lab.test", "A", "alias.lab.test. 60 IN CNAME v4only.lab.test.", soa=True)
    add("nodata.lab.test", "AAAA", soa=True)
    add("missing.lab.test", "AAAA", rcode=dns.rcode.NXDOMAIN, soa=True)
    add("lame.lab.test", "AAAA", rcode=dns.rcode.SERVFAIL)
    add("mapped.lab.test", "AAAA", "mapped.lab.test. 60 IN AAAA ::ffff:192.0.2.7", tc=True)
    return out


def _mutate(rng: random.Random, wire: bytes) -> bytes:
    data = bytearray(wire)
    kind = rng.randrange(6)
    if kind == 0:  # bit flips
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == 1:  # truncation
        del data[rng.randrange(len(data)) :]
    elif kind == 2:  # byte insertion
        at = rng.randrange(len(data) + 1)
        data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
    elif kind == 3:  # byte deletion
        at = rng.randrange(len(data))
        del data[at : at + rng.randint(1, 4)]
    elif kind == 4:  # compression pointers rewritten, forwards and backwards
        pointers = [i for i in range(12, len(data) - 1) if data[i] & 0xC0 == 0xC0]
        for i in rng.sample(pointers, min(len(pointers), rng.randint(1, 2))):
            target = rng.randrange(len(data) + 8)
            data[i], data[i + 1] = 0xC0 | (target >> 8), target & 0xFF
    else:  # section counts
        at = rng.choice((4, 6, 8, 10))
        data[at], data[at + 1] = 0, rng.randrange(4)
    return bytes(data)


def _dnspython(query: dns.message.Message, wire: bytes):
    """(rcode, answer set, CNAME chain) as dnspython reads it, or None when it rejects."""
    try:
        msg = dns.message.from_wire(wire)
        if not query.is_response(msg):
            return None
        rcode = msg.rcode()
        if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            return rcode, set(), []
        result = msg.resolve_chaining()
    except Exception:  # noqa: BLE001 - any refusal by dnspython counts as a rejection
        return None
    records = {ipaddress.ip_address(r.address) for r in result.answer or ()}
    chain = [normalize(next(iter(c)).target.to_text()) for c in result.cnames]
    return rcode, records, chain


def _codec(query: dns.message.Message, wire: bytes):
    """(rcode, answer set, CNAME chain) as the resolver takes it, or None when it rejects:
    the multiplexer's match (message id, response to the question) and the codec."""
    q = query.question[0]
    qname = normalize(q.name.to_text())
    if len(wire) < 2 or int.from_bytes(wire[:2]) != query.id:
        return None
    if not response_to(wire, qname_wire(qname).lower(), question_tail(q.rdtype)):
        return None
    try:
        parsed = decode(wire, qname, q.rdtype)
    except MalformedResponse:
        return None
    return parsed.rcode, {ipaddress.ip_address(r) for r in parsed.records}, parsed.chain


def test_the_unmutated_answers_read_the_same() -> None:
    for query, wire in _seeds():
        got = _codec(query, wire)
        assert got is not None and got == _dnspython(query, wire)


def test_mutated_answers_never_read_differently_from_dnspython() -> None:
    rng = random.Random(SEED)
    seeds = _seeds()
    accepted = rejected = 0
    for case in range(CASES):
        query, wire = rng.choice(seeds)
        mutated = _mutate(rng, wire)
        ours = _codec(query, mutated)  # anything but MalformedResponse fails the test here
        if ours is None:
            rejected += 1
            continue
        accepted += 1
        theirs = _dnspython(query, mutated)
        assert theirs == ours, f"case {case}: {mutated.hex()} codec {ours} dnspython {theirs}"
    assert accepted > CASES // 10 and rejected > CASES // 10  # both sides of the line were tried
