"""The DNS wire codec: questions out, the common answers (A, AAAA, CNAME) in.

Why hand-written: a scan decodes thousands of answers in one DNS phase, and dnspython's general
parser (`dns.message.from_wire`) builds name objects, rdatasets and a message for each. On a
realistic batch of AAAA and A answers (plain answers, CNAME chains, NODATA and NXDOMAIN with an
SOA; `bench/dns_codec.py`, figures in docs/benchmarks.md) this codec gets the same results
27.6 times faster. Anything it does not handle (other types, names needing escapes, other
layouts) makes `decode_fast` raise :class:`MalformedResponse`, and `decode` hands the message
to dnspython instead. The tests check both paths against dnspython.

Names are lowercase without the trailing dot.
"""

from __future__ import annotations

import contextlib
import re
import socket
import struct
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

NOERROR = "NOERROR"
NXDOMAIN = "NXDOMAIN"
SERVFAIL = "SERVFAIL"

TYPE_A = 1
TYPE_CNAME = 5
TYPE_AAAA = 28
_FAST_TYPES = frozenset({TYPE_A, TYPE_AAAA})
EDNS_PAYLOAD = 1232  # DNS flag day 2020: no IP fragmentation
MAX_CNAME_HOPS = 16

_LABEL_OK = re.compile(rb"^[A-Za-z0-9_*-]+$")
_HEADER = struct.Struct("!HHHHHH")
_RR_FIXED = struct.Struct("!HHIH")
_TAIL = struct.Struct("!HH")
_OPT_RR = b"\x00" + struct.pack("!HHIH", 41, EDNS_PAYLOAD, 0, 0)


class MalformedResponse(ValueError):
    """A DNS response that cannot be parsed."""


def normalize(name: str) -> str:
    return name.strip().rstrip(".").lower()


def question_tail(qtype: int) -> bytes:
    """The type and class (IN) that follow the name in a question."""
    return _TAIL.pack(qtype, 1)


@dataclass
class Parsed:
    rcode: int
    truncated: bool
    authoritative: bool
    records: list[str]
    chain: list[str]
    authority_count: int
    zone: str | None = None


def encode_query(
    qid: int, qname_wire: bytes, qtype: int, *, recursion: bool = True, edns: bool = True
) -> bytes:
    """A DNS question: header, one question, and an EDNS(0) OPT record (1232-byte payload)."""
    flags = 0x0100 if recursion else 0
    header = _HEADER.pack(qid, flags, 1, 0, 0, 1 if edns else 0)
    return header + qname_wire + _TAIL.pack(qtype, 1) + (_OPT_RR if edns else b"")


_PLAIN_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9_*-]{1,63}(\.[a-z0-9_*-]{1,63})*$")


def qname_wire(name: str) -> bytes:
    """Wire form of a name; plain ASCII names are encoded directly, others by dnspython."""
    text = normalize(name)
    if _PLAIN_NAME.match(text):
        return b"".join(bytes((len(label),)) + label for label in text.encode().split(b".")) + b"\0"
    return dns.name.from_text(text + ".").to_wire()


def _read_name(wire: bytes, offset: int) -> tuple[str, int]:
    labels: list[bytes] = []
    end = -1
    hops = 0
    while True:
        length = wire[offset]
        if length == 0:
            offset += 1
            break
        if length >= 0xC0:
            if end < 0:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | wire[offset + 1]
            hops += 1
            if hops > 64:
                raise MalformedResponse("compression loop")
            continue
        if length > 63:
            raise MalformedResponse("unknown label type")
        label = wire[offset + 1 : offset + 1 + length]
        if len(label) != length or not _LABEL_OK.match(label):
            raise MalformedResponse("label needs escaping")  # dnspython handles it
        labels.append(label)
        offset += 1 + length
    return b".".join(labels).decode("ascii").lower(), (end if end >= 0 else offset)


def follow(qname: str, cnames: dict[str, str]) -> list[str]:
    chain: list[str] = []
    current = qname
    while current in cnames and len(chain) < MAX_CNAME_HOPS:
        current = cnames[current]
        if current in chain or current == qname:
            break
        chain.append(current)
    return chain


def decode_fast(wire: bytes, qname: str, qtype: int) -> Parsed:
    """Parse an A/AAAA answer; raise MalformedResponse for anything it does not handle."""
    try:
        _qid, flags, qdcount, ancount, nscount, _arcount = _HEADER.unpack_from(wire, 0)
        offset = 12
        question = None
        for _ in range(qdcount):
            name, offset = _read_name(wire, offset)
            question = question or name
            offset += 4
        owners: list[tuple[str, int, str]] = []
        for _ in range(ancount):
            if question is not None and wire[offset] == 0xC0 and wire[offset + 1] == 12:
                owner, offset = question, offset + 2  # the usual pointer to the question name
            else:
                owner, offset = _read_name(wire, offset)
            rtype, _rclass, _ttl, rdlen = _RR_FIXED.unpack_from(wire, offset)
            offset += 10
            end = offset + rdlen
            if end > len(wire):
                raise MalformedResponse("record runs past the message")
            if rtype == TYPE_AAAA and rdlen == 16:
                owners.append((owner, rtype, socket.inet_ntop(socket.AF_INET6, wire[offset:end])))
            elif rtype == TYPE_A and rdlen == 4:
                owners.append((owner, rtype, socket.inet_ntop(socket.AF_INET, wire[offset:end])))
            elif rtype == TYPE_CNAME:
                owners.append((owner, rtype, _read_name(wire, offset)[0]))
            elif rtype in (TYPE_A, TYPE_AAAA):
                raise MalformedResponse("bad address length")
            offset = end
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise MalformedResponse(str(exc)) from None
    cnames = {o: d for o, t, d in owners if t == TYPE_CNAME}
    chain = follow(qname, cnames)
    final = chain[-1] if chain else qname
    return Parsed(
        rcode=flags & 0x000F,
        truncated=bool(flags & 0x0200),
        authoritative=bool(flags & 0x0400),
        records=[d for o, t, d in owners if t == qtype and o == final],
        chain=chain,
        authority_count=nscount,
    )


def rdata_text(rdata: Any) -> str:
    if rdata.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        return str(rdata.address)
    if rdata.rdtype in (dns.rdatatype.CNAME, dns.rdatatype.NS, dns.rdatatype.PTR):
        return normalize(rdata.target.to_text())
    return rdata.to_text()


def parse_message(msg: dns.message.Message, qname: str, qtype: int) -> Parsed:
    """The same result as decode_fast, from a dnspython message (any type, any layout)."""
    cnames: dict[str, str] = {}
    by_owner: dict[str, list[str]] = {}
    for rrset in msg.answer:
        owner = normalize(rrset.name.to_text())
        if rrset.rdtype == dns.rdatatype.CNAME:
            for rdata in rrset:
                cnames[owner] = normalize(rdata.target.to_text())
        elif rrset.rdtype == qtype:
            by_owner.setdefault(owner, []).extend(rdata_text(r) for r in rrset)
    chain = follow(qname, cnames)
    final = chain[-1] if chain else qname
    zone = None
    for rrset in msg.authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            zone = normalize(rrset.name.to_text())
    return Parsed(
        rcode=msg.rcode(),
        truncated=bool(msg.flags & dns.flags.TC),
        authoritative=bool(msg.flags & dns.flags.AA),
        records=by_owner.get(final, []),
        chain=chain,
        authority_count=len(msg.authority),
        zone=zone,
    )


def decode(wire: bytes, qname: str, qtype: int) -> Parsed:
    if qtype in _FAST_TYPES:
        with contextlib.suppress(MalformedResponse):
            return decode_fast(wire, qname, qtype)
    try:
        msg = dns.message.from_wire(wire, ignore_trailing=True)
    except dns.exception.DNSException as exc:
        raise MalformedResponse(f"{type(exc).__name__}: {exc}") from None
    return parse_message(msg, qname, qtype)


_RCODES: dict[int, str] = {}


def rcode_text(value: int) -> str:
    text = _RCODES.get(value)
    if text is None:
        text = _RCODES[value] = dns.rcode.to_text(value)  # type: ignore[arg-type]
    return text


class _TypeCodes(dict):
    def __missing__(self, key: str) -> int:
        value = self[key] = int(dns.rdatatype.from_text(key))
        return value


TYPES: dict[str, int] = _TypeCodes()
