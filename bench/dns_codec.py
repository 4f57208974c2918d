"""DNS wire codec: the hand-written A/AAAA decoder against dnspython's general parser.

A realistic batch of answers as a recursive resolver sends them (EDNS, name compression): for
each of N names the AAAA and the A answer, in a mix of plain answers (one or two addresses),
CNAME chains, NODATA and NXDOMAIN with an SOA in the authority section. Both sides decode
every answer into the same result (rcode, records, CNAME chain, zone): the codec with
`decode_fast`, dnspython with `dns.message.from_wire` plus `parse_message` (what `decode` falls
back to). Rounds alternate between the two in one process; the ratio of the medians is the
figure.

    .venv/bin/python bench/dns_codec.py [--names 2000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from auditor.net.dnswire import decode_fast, parse_message

SOA = "lab.test. 60 IN SOA ns1.lab.test. hostmaster.lab.test. 1 3600 600 86400 60"


def _answer(qname: str, qtype: str, records: list[str], rcode: int = 0) -> bytes:
    query = dns.message.make_query(qname, qtype, use_edns=0, payload=1232)
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    for text in records:
        name, ttl, rdclass, rdtype, *data = text.split()
        response.answer.append(dns.rrset.from_text(name, int(ttl), rdclass, rdtype, " ".join(data)))
    if rcode or not records or records[-1].split()[3] == "CNAME":
        response.authority.append(dns.rrset.from_text(*SOA.split()[:4], " ".join(SOA.split()[4:])))
    return response.to_wire()


def batch(names: int, seed: int = 6) -> list[tuple[bytes, str, int]]:
    """(wire, qname, qtype) for the AAAA and A answers of `names` names."""
    rng = random.Random(seed)
    out = []
    for i in range(names):
        host = f"host{i}.svc.lab.test."
        kind = rng.choices(["plain", "two", "chain", "nodata", "nx"], [50, 15, 15, 12, 8])[0]
        for qtype in ("AAAA", "A"):
            v6, v4 = f"2001:db8:{i % 65536:x}::{i % 9 + 1}", f"192.0.2.{i % 250}"
            addr = v6 if qtype == "AAAA" else v4
            rr = f"{host} 60 IN {qtype} {addr}"
            if kind == "plain":
                wire = _answer(host, qtype, [rr])
            elif kind == "two":
                other = addr[:-1] + "a" if qtype == "AAAA" else f"198.51.100.{i % 250}"
                wire = _answer(host, qtype, [rr, f"{host} 60 IN {qtype} {other}"])
            elif kind == "chain":
                edge = f"edge{i}.cdn.lab.test."
                wire = _answer(
                    host,
                    qtype,
                    [f"{host} 60 IN CNAME {edge}", f"{edge} 60 IN {qtype} {addr}"],
                )
            elif kind == "nodata":
                wire = _answer(host, qtype, [])
            else:
                wire = _answer(host, qtype, [], rcode=dns.rcode.NXDOMAIN)
            out.append((wire, host.rstrip("."), dns.rdatatype.from_text(qtype)))
    return out


def run_codec(answers: list[tuple[bytes, str, int]]) -> float:
    start = time.perf_counter()
    for wire, qname, qtype in answers:
        decode_fast(wire, qname, qtype)
    return time.perf_counter() - start


def run_dnspython(answers: list[tuple[bytes, str, int]]) -> float:
    start = time.perf_counter()
    for wire, qname, qtype in answers:
        parse_message(dns.message.from_wire(wire), qname, qtype)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    answers = batch(args.names)
    for wire, qname, qtype in answers:  # both sides must agree before their speed means anything
        fast = decode_fast(wire, qname, qtype)
        slow = parse_message(dns.message.from_wire(wire), qname, qtype)
        assert (fast.rcode, fast.records, fast.chain, fast.zone) == (
            slow.rcode,
            slow.records,
            slow.chain,
            slow.zone,
        ), qname
    codec, dnspy = [], []
    for _ in range(args.rounds):
        codec.append(run_codec(answers))
        dnspy.append(run_dnspython(answers))
    c, d = statistics.median(codec), statistics.median(dnspy)
    print(
        json.dumps(
            {
                "answers": len(answers),
                "codec_us_per_answer": round(c / len(answers) * 1e6, 2),
                "dnspython_us_per_answer": round(d / len(answers) * 1e6, 2),
                "speedup": round(d / c, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
