"""The DNS wire codec: questions out, the common answers (A, AAAA, CNAME) in.

Why hand-written: a scan decodes thousands of answers in one DNS phase, and dnspython's general
parser (`dns.message.from_wire`) builds name objects, rdatasets and a message for each. On a
realistic batch of AAAA and A answers (plain answers, CNAME chains, NODATA and NXDOMAIN with an
SOA; `bench/dns_codec.py`, figures in docs/benchmarks.md) this codec gets the same results
54 times faster. It reads every section by dnspython's rules (backward compression pointers,
one OPT record, the question echoed, class IN) and accepts nothing dnspython would reject;
anything else (other types and classes, names needing escapes, EDNS options dnspython
parses, an extended rcode) makes `decode_fast` raise :class:`MalformedResponse`, and `decode`
hands the message to dnspython. The tests check both paths against dnspython, including a
fuzz test on mutated answers (tests/net/test_dnswire_fuzz.py).

Names are lowercase A-labels without the trailing dot.
"""

from __future__ import annotations

import functools
import re
import socket
import struct
from dataclasses import dataclass
from typing import Any

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype

NOERROR = "NOERROR"
NXDOMAIN = "NXDOMAIN"
SERVFAIL = "SERVFAIL"

TYPE_A = 1
TYPE_CNAME = 5
TYPE_SOA = 6
TYPE_AAAA = 28
TYPE_OPT = 41
_FAMILY = {TYPE_A: socket.AF_INET, TYPE_AAAA: socket.AF_INET6}
_FAST_TYPES = frozenset({TYPE_A, TYPE_AAAA})
EDNS_PAYLOAD = 1232  # DNS flag day 2020: no IP fragmentation
MAX_CNAME_HOPS = 16  # dnspython's limit too (dns.message.MAX_CHAIN)
# Rcodes whose response may leave the question section empty (dnspython's `is_response`).
_MAY_OMIT_QUESTION = frozenset({1, 2, 4, 5})  # FORMERR, SERVFAIL, NOTIMP, REFUSED

_LABEL_OK = re.compile(rb"^[A-Za-z0-9_*-]+$")
_HEADER = struct.Struct("!HHHHHH")
_RR_FIXED = struct.Struct("!HHIH")
_TAIL = struct.Struct("!HH")
_OPT_RR = b"\x00" + struct.pack("!HHIH", 41, EDNS_PAYLOAD, 0, 0)
# EDNS options dnspython parses (and may reject); others it keeps as opaque bytes.
_KNOWN_OPTIONS = frozenset(
    code for code in range(64) if dns.edns.get_option_class(code) is not dns.edns.GenericOption
)


class MalformedResponse(ValueError):
    """A DNS response that cannot be parsed, or is not an answer to the question."""


class BadName(ValueError):
    """A name that cannot be asked (an empty or too long label, invalid IDN)."""


def normalize(name: str) -> str:
    """The form names are asked and matched in: lowercase, no trailing dot, internationalized
    labels as A-labels (punycode, IDNA 2003 as dnspython encodes them)."""
    text = name.strip().rstrip(".").lower()
    if text.isascii():
        return text
    try:
        return dns.name.from_text(text + ".").to_text(omit_final_dot=True).lower()
    except (dns.exception.DNSException, UnicodeError):
        return text  # asking it raises BadName


@functools.lru_cache(maxsize=64)
def question_tail(qtype: int) -> bytes:
    """The type and class (IN) that follow the name in a question."""
    return _TAIL.pack(qtype, 1)


@dataclass(slots=True)
class Parsed:
    """What an answer says about one question. `records` and `chain` are only filled for
    NOERROR and NXDOMAIN: other rcodes decide nothing."""

    rcode: int
    truncated: bool
    authoritative: bool
    records: list[str]
    chain: list[str]
    zone: str | None = None  # the owner of the SOA in the authority section


def encode_query(
    qid: int, qname_wire: bytes, qtype: int, *, recursion: bool = True, edns: bool = True
) -> bytes:
    """A DNS question: header, one question, and an EDNS(0) OPT record (1232-byte payload)."""
    flags = 0x0100 if recursion else 0
    header = _HEADER.pack(qid, flags, 1, 0, 0, 1 if edns else 0)
    return header + qname_wire + question_tail(qtype) + (_OPT_RR if edns else b"")


_PLAIN_NAME = re.compile(r"[a-z0-9_*-]{1,63}(?:\.[a-z0-9_*-]{1,63})*")
_LENGTH_BYTE = [bytes((n,)) for n in range(64)]


def _plain(text: str) -> bool:
    """Whether a normalized name is plain: lowercase letters, digits, `_`, `*` and `-` in
    labels of 1 to 63 bytes, at most 253 in all. Its text then maps label by label onto its
    wire form."""
    return len(text) <= 253 and _PLAIN_NAME.fullmatch(text) is not None


def _plain_wire(text: str) -> bytes:
    return b"".join([_LENGTH_BYTE[len(label)] + label for label in text.encode().split(b".")]) + (
        b"\0"
    )


def qname_wire(name: str) -> bytes:
    """Wire form of a name; plain ASCII names are encoded directly, others by dnspython.
    Raises BadName when it cannot be a DNS name."""
    text = normalize(name)
    if _plain(text):
        return _plain_wire(text)
    try:
        return dns.name.from_text(text + ".").to_wire()
    except (dns.exception.DNSException, UnicodeError) as exc:
        raise BadName(f"{name!r} is not a DNS name: {exc}") from None


@functools.lru_cache(maxsize=1 << 16)
def question_name(qname: str) -> tuple[bytes, bytes, bool]:
    """A normalized name as questions carry it: (wire form, lowercase wire form, whether it is
    plain). Raises BadName as `qname_wire` does."""
    if _plain(qname):
        wire = _plain_wire(qname)
        return wire, wire, True
    wire = qname_wire(qname)
    return wire, wire.lower(), False


def response_to(data: bytes, name: bytes, tail: bytes) -> bool:
    """Whether a datagram whose message id matched is a response to the question (`name` in
    lowercase wire form, `tail` its type and class), by the rule dnspython's `is_response`
    applies: QR set, opcode QUERY, the same single question; FORMERR, SERVFAIL, NOTIMP and
    REFUSED may leave the question out."""
    if len(data) < 12 or not data[2] & 0x80 or data[2] & 0x78:
        return False
    count = data[4:6]
    if count == b"\x00\x00":
        return data[3] & 0x0F in _MAY_OMIT_QUESTION
    if count != b"\x00\x01":
        return False
    end = 12 + len(name)
    return data[12:end].lower() == name and data[end : end + 4] == tail


def _question_suffix(qname: str, target: int) -> str | None:
    """The name a compression pointer to `target` names when it points at the start of a
    label of the question (plain `qname`, checked to be at offset 12): that suffix of
    `qname`. None anywhere else, or when `qname` is "" (the question is not known)."""
    start = target - 12
    if qname and 0 <= start < len(qname) and (start == 0 or qname[start - 1] == "."):
        return qname[start:]
    return None


def _read_name(
    wire: bytes, offset: int, limit: int, qname: str = "", skip: bool = False
) -> tuple[str, int]:
    """A name and the offset after it, by dnspython's rules: a compression pointer points
    strictly before the part that holds it, at most 16 of them, what it points to ends before
    that part, and the name is at most 255 bytes. Labels that would need escaping in text
    raise (dnspython reads those).

    `qname` is the question's name when the message's question was checked to be its wire
    form at offset 12 (plain labels, no pointers): a pointer to the start of one of its
    labels ends the name with that suffix of `qname`, without reading the labels again."""
    labels: list[bytes] = []
    end = -1
    part = bound = offset
    hops = 0
    size = 1
    suffix = ""
    while True:
        if offset >= limit:
            raise MalformedResponse("name runs past its space")
        length = wire[offset]
        if length == 0:
            offset += 1
            break
        if length >= 0xC0:
            if offset + 2 > limit:
                raise MalformedResponse("name runs past its space")
            target = ((length & 0x3F) << 8) | wire[offset + 1]
            if target >= bound:
                raise MalformedResponse("compression pointer does not point backwards")
            hops += 1
            if hops > 16:
                raise MalformedResponse("compression pointer chain too long")
            if end < 0:
                end = offset + 2
            at_question = _question_suffix(qname, target)
            if at_question is not None:
                # It takes len(suffix) + 1 bytes on the wire before the root label.
                suffix = at_question
                size += len(suffix) + 1
                if size > 255:
                    raise MalformedResponse("name longer than 255 bytes")
                break
            limit = part
            offset = part = bound = target
            continue
        if length > 63:
            raise MalformedResponse("unknown label type")
        if offset + 1 + length > limit:
            raise MalformedResponse("name runs past its space")
        size += 1 + length
        if size > 255:
            raise MalformedResponse("name longer than 255 bytes")
        if not skip:
            label = wire[offset + 1 : offset + 1 + length]
            if not _LABEL_OK.match(label):
                raise MalformedResponse("label needs escaping")  # dnspython handles it
            labels.append(label)
        offset += 1 + length
    if not labels:
        return suffix, (end if end >= 0 else offset)
    text = b".".join(labels).decode("ascii").lower()
    return (text + "." + suffix if suffix else text), (end if end >= 0 else offset)


def _step_over(wire: bytes, offset: int, limit: int, qname: str) -> int:
    """The offset after a name that is only checked (the names in an SOA record). The usual
    form, one label and a pointer to the question's name or a suffix of it (`qname` as in
    `_read_name`), is checked in a few steps; any other goes through `_read_name`."""
    length = wire[offset]
    if length == 0:
        return offset + 1
    at = offset + 1 + length
    if length < 64 and at + 2 <= limit and wire[at] >= 0xC0:
        suffix = _question_suffix(qname, (wire[at] & 0x3F) << 8 | wire[at + 1])
        if suffix is not None and length + len(suffix) + 3 <= 255:
            return at + 2
    return _read_name(wire, offset, limit, qname, True)[1]


def _chase(
    qname: str, qtype: int, rcode: int, answers: dict[str, list[str]], cnames: dict[str, str]
) -> tuple[list[str], list[str]]:
    """(records, CNAME chain) as dnspython's `resolve_chaining` finds them: the records of the
    question type at the name, else the name's CNAME, at most 15 in a row."""
    if rcode not in (0, 3):
        return [], []
    name, chain = qname, []
    while True:
        if name in answers:
            if rcode == 3:
                raise MalformedResponse("NXDOMAIN with an answer")
            return answers[name], chain
        if qtype == TYPE_CNAME or name not in cnames:
            return [], chain
        name = cnames[name]
        chain.append(name)
        if len(chain) >= MAX_CNAME_HOPS:
            raise MalformedResponse("CNAME chain too long or looping")


def _check_options(wire: bytes, offset: int, end: int) -> None:
    """EDNS options: only ones dnspython keeps as opaque bytes (it validates the others)."""
    while offset < end:
        code, length = _TAIL.unpack_from(wire, offset)
        offset += 4 + length
        if offset > end or code in _KNOWN_OPTIONS:
            raise MalformedResponse("EDNS option left to dnspython")


_NOT_FAST = (MalformedResponse, IndexError, struct.error, UnicodeDecodeError, ValueError, OSError)


def decode_fast(wire: bytes, qname: str, qtype: int) -> Parsed:
    """Parse an A/AAAA answer to (qname, qtype); raise MalformedResponse for anything it does
    not handle or that is not a well-formed response to that question."""
    try:
        return _decode_fast(wire, qname, qtype)
    except MalformedResponse:
        raise
    except _NOT_FAST as exc:
        raise MalformedResponse(str(exc) or type(exc).__name__) from None


def _decode_fast(wire: bytes, qname: str, qtype: int) -> Parsed:
    _qid, flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(wire, 0)
    if flags & 0xF800 != 0x8000:
        raise MalformedResponse("not a response to a query")  # QR set, opcode QUERY
    size = len(wire)
    offset = 12
    known = ""  # the question's name, once the message is known to hold it at offset 12
    if qdcount == 1:
        _, lower, plain = question_name(qname)
        offset += len(lower)
        if wire[12:offset].lower() != lower or _TAIL.unpack_from(wire, offset) != (qtype, 1):
            raise MalformedResponse("answers a different question")  # or names it oddly
        offset += 4
        known = qname if plain else ""
    elif qdcount > 1 or flags & 0x000F not in _MAY_OMIT_QUESTION:
        raise MalformedResponse("not one question")
    direct: list[str] = []  # addresses of the question's type at the question's name
    others: dict[str, list[str]] = {}  # ... at other names (a chain's), rarely any
    cnames: dict[str, str] = {}
    zone = None
    opt = False
    authority, additional = ancount, ancount + nscount
    for index in range(additional + arcount):
        first = wire[offset]
        if first >= 0xC0 and qdcount:
            # Usually a pointer to the question's name or to one of its suffixes (a zone).
            target = (first & 0x3F) << 8 | wire[offset + 1]
            suffix = qname if target == 12 else _question_suffix(known, target)
            if suffix is not None:
                owner, offset = suffix, offset + 2
            else:
                owner, offset = _read_name(wire, offset, size, known)
        elif first == 0:
            owner, offset = "", offset + 1  # the root (an OPT record's owner)
        else:
            owner, offset = _read_name(wire, offset, size, known)
        rtype, rclass, ttl, rdlen = _RR_FIXED.unpack_from(wire, offset)
        offset += 10
        end = offset + rdlen
        if end > size:
            raise MalformedResponse("record runs past the message")
        if rtype == TYPE_OPT:
            if index < additional or opt or owner:
                raise MalformedResponse("OPT record out of place")
            if ttl >> 24:
                raise MalformedResponse("extended rcode")  # dnspython combines it
            opt = True
            if end > offset:
                _check_options(wire, offset, end)
        elif rclass != 1:
            raise MalformedResponse("class other than IN")
        elif rtype in (TYPE_AAAA, TYPE_A):
            if rdlen != (16 if rtype == TYPE_AAAA else 4):
                raise MalformedResponse("bad address length")
            if rtype == qtype and index < authority:
                found = direct if owner == qname else others.setdefault(owner, [])
                text = socket.inet_ntop(_FAMILY[rtype], wire[offset:end])
                if text not in found:
                    found.append(text)
        elif rtype == TYPE_CNAME:
            target, after = _read_name(wire, offset, end, known)
            if after != end:
                raise MalformedResponse("CNAME data longer than its name")
            if index < authority:
                cnames[owner] = target  # a CNAME set holds one record: the last one read
        elif rtype == TYPE_SOA:
            after = _step_over(wire, offset, end, known)  # the primary server
            after = _step_over(wire, after, end, known)  # the mailbox
            if after + 20 != end:
                raise MalformedResponse("bad SOA length")
            if authority <= index < additional:
                zone = owner
        else:
            raise MalformedResponse("record type left to dnspython")
        offset = end
    if offset != size:
        raise MalformedResponse("trailing bytes after the message")
    rcode = flags & 0x000F
    if cnames or rcode not in (0, 3):
        if direct:
            others[qname] = direct
        records, chain = _chase(qname, qtype, rcode, others, cnames)
    else:  # no chain to follow: the records at the name itself (as `_chase` finds them)
        records, chain = direct, []
        if records and rcode == 3:
            raise MalformedResponse("NXDOMAIN with an answer")
    return Parsed(rcode, bool(flags & 0x0200), bool(flags & 0x0400), records, chain, zone)


def rdata_text(rdata: Any) -> str:
    if rdata.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        return socket.inet_ntop(_FAMILY[rdata.rdtype], rdata.to_digestable())
    if rdata.rdtype in (dns.rdatatype.CNAME, dns.rdatatype.NS, dns.rdatatype.PTR):
        return normalize(rdata.target.to_text())
    return rdata.to_text()


def parse_message(msg: dns.message.Message, qname: str, qtype: int) -> Parsed:
    """The same result as decode_fast, from a dnspython message (any type, any layout); the
    CNAME chain is dnspython's own `resolve_chaining`."""
    rcode = msg.rcode()
    records: list[str] = []
    chain: list[str] = []
    if rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        if not isinstance(msg, dns.message.QueryMessage):
            raise MalformedResponse("not a response to a query")
        result = msg.resolve_chaining()
        chain = [normalize(next(iter(rrset)).target.to_text()) for rrset in result.cnames]
        if result.answer is not None:
            records = list(dict.fromkeys(rdata_text(r) for r in result.answer))
    zone = None
    for rrset in msg.authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            zone = normalize(rrset.name.to_text())
    return Parsed(
        rcode=rcode,
        truncated=bool(msg.flags & dns.flags.TC),
        authoritative=bool(msg.flags & dns.flags.AA),
        records=records,
        chain=chain,
        zone=zone,
    )


def _check_response(msg: dns.message.Message, qname: str, qtype: int) -> None:
    """dnspython's `is_response` without the message id (the multiplexer matched it)."""
    if not msg.flags & dns.flags.QR or msg.opcode() != dns.opcode.QUERY:
        raise MalformedResponse("not a response to a query")
    if not msg.question:
        if msg.rcode() not in _MAY_OMIT_QUESTION:
            raise MalformedResponse("no question")
        return
    q = msg.question[0]
    if (
        len(msg.question) != 1
        or normalize(q.name.to_text()) != qname
        or q.rdtype != qtype
        or q.rdclass != dns.rdataclass.IN
    ):
        raise MalformedResponse("answers a different question")


def decode(wire: bytes, qname: str, qtype: int) -> Parsed:
    """The answer to (qname, qtype) in `wire`: the fast path when it can, else dnspython.
    Raises MalformedResponse, and nothing else, for anything dnspython would not accept."""
    if qtype in _FAST_TYPES:
        try:
            return _decode_fast(wire, qname, qtype)
        except _NOT_FAST:
            pass  # dnspython decides
    try:
        msg = dns.message.from_wire(wire)
        _check_response(msg, qname, qtype)
        return parse_message(msg, qname, qtype)
    except MalformedResponse:
        raise
    except Exception as exc:  # noqa: BLE001 - hostile input: whatever the parser raises
        raise MalformedResponse(f"{type(exc).__name__}: {exc}") from None


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
