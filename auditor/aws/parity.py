"""IPv4/IPv6 parity of packet filters: security groups (allow-only, order-free) and network
ACLs (first match by rule number, implicit deny).

A rule matches addresses and *traffic*. Traffic is compared across families: TCP/UDP by
protocol and port range, "all traffic" (-1) only by "all traffic", other IP protocols by number,
and ICMP by meaning, since ICMP and ICMPv6 number their types differently (echo request is
ICMP type 8 and ICMPv6 type 128; "fragmentation needed" (type 3 code 4) is ICMPv6 "packet too
big" (type 2), which path MTU discovery needs). ICMP types with no counterpart in the other
family (timestamp, redirect, neighbour discovery…) need none.

Addresses are compared only where the mapping is certain: `0.0.0.0/0` is `::/0`. Any other IPv4
range (or IPv4 prefix list) cannot be mapped by a program: which IPv6 prefix the same hosts use
is a fact only a person knows, so such rules are reported as needing a human mapping.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

ANY_V4 = "0.0.0.0/0"
ANY_V6 = "::/0"
MAX_PORT = 65535

PROTOCOL_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "-1": "all"}
PROTOCOL_NUMBERS = {"tcp": "6", "udp": "17", "icmp": "1", "icmpv6": "58", "all": "-1"}

# ICMP kinds that exist in both families, with (ICMP type, code) and ICMPv6 type.
ICMP_KINDS: dict[str, tuple[tuple[int, int | None], int]] = {
    "echo-reply": ((0, None), 129),
    "unreachable": ((3, None), 1),
    "packet-too-big": ((3, 4), 2),
    "echo-request": ((8, None), 128),
    "time-exceeded": ((11, None), 3),
    "parameter-problem": ((12, None), 4),
}
_V4_TYPE_KIND = {0: "echo-reply", 8: "echo-request", 11: "time-exceeded", 12: "parameter-problem"}
_V6_TYPE_KIND = {kind_v6: kind for kind, (_, kind_v6) in ICMP_KINDS.items()}
COMPARABLE_ICMP = frozenset(ICMP_KINDS)


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@dataclass(frozen=True)
class Traffic:
    """What a rule matches apart from addresses.

    `proto` is `all`, `tcp`, `udp`, `icmp` (ICMP for IPv4 rules, ICMPv6 for IPv6 rules) or an IP
    protocol number. TCP/UDP carry a port range; ICMP carries the kinds it matches (None: every
    type), where a kind is a name from ICMP_KINDS or `icmp4:<type>`/`icmp6:<type>` for types
    that exist in one family only. Both SG coverage and NACL evaluation compare ICMP through
    `meaning`, so "all ICMP" is covered by the ICMPv6 types that mean the same (echo, unreachable,
    packet too big, time exceeded, parameter problem) as well as by "all ICMPv6".
    """

    proto: str
    lo: int = 0
    hi: int = MAX_PORT
    kinds: frozenset[str] | None = None

    @property
    def comparable_kinds(self) -> frozenset[str] | None:
        if self.kinds is None:
            return None
        return self.kinds & COMPARABLE_ICMP

    @property
    def meaning(self) -> frozenset[str]:
        """The ICMP kinds both families have that this rule matches ("all ICMP" matches every
        one of them): what SG and NACL parity compare across families."""
        return COMPARABLE_ICMP if self.kinds is None else self.kinds & COMPARABLE_ICMP


def canonical_protocol(raw: Any, family: int) -> str:
    """`tcp`/`6` → tcp; ICMP of the rule's own family → icmp; -1/all → all; else the number."""
    text = str(raw).strip().lower()
    text = PROTOCOL_NUMBERS.get(text, text)
    if text == "-1":
        return "all"
    if text == "6":
        return "tcp"
    if text == "17":
        return "udp"
    if (family == 4 and text == "1") or (family == 6 and text == "58"):
        return "icmp"
    return text


def icmp_kinds(icmp_type: int, icmp_code: int, family: int) -> frozenset[str] | None:
    if icmp_type == -1:
        return None
    if family == 4:
        if icmp_type == 3:
            if icmp_code == 4:
                return frozenset({"packet-too-big"})
            if icmp_code == -1:
                return frozenset({"unreachable", "packet-too-big"})
            return frozenset({"unreachable"})
        return frozenset({_V4_TYPE_KIND.get(icmp_type, f"icmp4:{icmp_type}")})
    return frozenset({_V6_TYPE_KIND.get(icmp_type, f"icmp6:{icmp_type}")})


def traffic(
    protocol: Any,
    family: int,
    *,
    from_port: Any = None,
    to_port: Any = None,
    icmp_type: Any = None,
    icmp_code: Any = None,
) -> Traffic:
    """Build the Traffic of one rule. Security groups put the ICMP type/code in
    FromPort/ToPort; network ACLs in IcmpTypeCode."""
    proto = canonical_protocol(protocol, family)
    if proto in ("tcp", "udp"):
        lo, hi = _int(from_port, 0), _int(to_port, MAX_PORT)
        if lo < 0 or hi < 0:  # -1 on a TCP/UDP rule means every port
            lo, hi = 0, MAX_PORT
        return Traffic(proto, max(0, lo), min(MAX_PORT, hi))
    if proto == "icmp":
        t = _int(icmp_type if icmp_type is not None else from_port, -1)
        c = _int(icmp_code if icmp_code is not None else to_port, -1)
        return Traffic(proto, kinds=icmp_kinds(t, c, family))
    return Traffic(proto)


# --- display ---------------------------------------------------------------------------------


def _kind_text(kind: str, family: int) -> str:
    if kind in ICMP_KINDS:
        (t4, c4), t6 = ICMP_KINDS[kind]
        if family == 4:
            return f"{kind} (type {t4}" + (f" code {c4})" if c4 is not None else ")")
        return f"{kind} (type {t6})"
    return f"type {kind.split(':', 1)[1]}"


def describe(t: Traffic, family: int) -> str:
    """`tcp/443`, `udp/1024-65535`, `all traffic`, `icmpv6 echo-request (type 128)`…"""
    if t.proto == "all":
        return "all traffic"
    if t.proto in ("tcp", "udp"):
        if t.lo == 0 and t.hi == MAX_PORT:
            return f"{t.proto}/all ports"
        return f"{t.proto}/{t.lo}" if t.lo == t.hi else f"{t.proto}/{t.lo}-{t.hi}"
    if t.proto == "icmp":
        name = "icmp" if family == 4 else "icmpv6"
        if t.kinds is None:
            return f"{name} (all types)"
        kinds = t.kinds
        if family == 4 and {"unreachable", "packet-too-big"} <= kinds:
            kinds = (kinds - {"unreachable", "packet-too-big"}) | {"__unreach_all"}
        parts = sorted(
            "unreachable (type 3)" if k == "__unreach_all" else _kind_text(k, family) for k in kinds
        )
        return f"{name} " + ", ".join(parts)
    return f"protocol {t.proto}"


# --- coverage (security groups: union of allow rules) ---------------------------------------


def _merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def missing(need: Traffic, have: Sequence[Traffic]) -> list[Traffic]:
    """The parts of `need` (an IPv4 rule's traffic) that the IPv6 rules `have` do not allow.

    Empty when fully covered. ICMP types with no ICMPv6 equivalent need no counterpart.
    """
    if any(h.proto == "all" for h in have):
        return []
    same = [h for h in have if h.proto == need.proto]
    if need.proto == "all":
        return [need]
    if need.proto in ("tcp", "udp"):
        gaps: list[Traffic] = []
        cursor = need.lo
        for lo, hi in _merge((h.lo, h.hi) for h in same):
            if hi < cursor or lo > need.hi:
                continue
            if lo > cursor:
                gaps.append(Traffic(need.proto, cursor, lo - 1))
            cursor = max(cursor, hi + 1)
            if cursor > need.hi:
                break
        if cursor <= need.hi:
            gaps.append(Traffic(need.proto, cursor, need.hi))
        return gaps
    if need.proto == "icmp":
        covered: set[str] = set()
        for h in same:
            covered |= h.meaning
        left = need.meaning - covered
        return [Traffic("icmp", kinds=frozenset(left))] if left else []
    return [] if same else [need]


# --- security groups -------------------------------------------------------------------------


@dataclass
class RuleGap:
    """One IPv4 rule (or part of it) without an IPv6 counterpart."""

    direction: str  # ingress | egress
    rule: str  # "tcp/443 from 0.0.0.0/0"
    expected: str  # "tcp/443 from ::/0"
    peer: str
    description: str = ""
    note: str = ""

    def to_dict(self) -> dict[str, str]:
        out = {"direction": self.direction, "rule": self.rule, "expected": self.expected}
        if self.description:
            out["description"] = self.description
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class SgParity:
    missing: list[RuleGap] = field(default_factory=list)  # 0.0.0.0/0 without ::/0: fail
    needs_mapping: list[RuleGap] = field(default_factory=list)  # other IPv4 peers: warn
    assumed_mapped: list[str] = field(default_factory=list)  # covered by specific IPv6 peers
    no_equivalent: list[str] = field(default_factory=list)  # ICMP types only IPv4 has
    rules_v4: int = 0
    rules_v6: int = 0


def _preposition(direction: str) -> str:
    return "from" if direction == "ingress" else "to"


def sg_parity(group: dict, prefix_list_family: dict[str, str]) -> SgParity:
    """Compare every IPv4 peer of a security group with its IPv6 rules, per direction.

    `prefix_list_family` maps prefix-list ids to `IPv4`/`IPv6`. Referenced security groups
    match both families and need no counterpart.
    """
    result = SgParity()
    for direction, key in (("ingress", "IpPermissions"), ("egress", "IpPermissionsEgress")):
        prep = _preposition(direction)
        v6_any: list[Traffic] = []
        v6_specific: list[Traffic] = []
        v4_peers: list[tuple[Traffic, str, str, str]] = []  # traffic, peer, kind, description
        for perm in group.get(key) or []:
            proto = perm.get("IpProtocol", "-1")
            args = {"from_port": perm.get("FromPort"), "to_port": perm.get("ToPort")}
            t4 = traffic(proto, 4, **args)
            t6 = traffic(proto, 6, **args)
            for rng in perm.get("Ipv6Ranges") or []:
                result.rules_v6 += 1
                (v6_any if rng.get("CidrIpv6") == ANY_V6 else v6_specific).append(t6)
            for rng in perm.get("IpRanges") or []:
                result.rules_v4 += 1
                v4_peers.append((t4, rng.get("CidrIp", ""), "cidr", rng.get("Description", "")))
            for pl in perm.get("PrefixListIds") or []:
                pl_id = pl.get("PrefixListId", "")
                family = prefix_list_family.get(pl_id, "")
                if family == "IPv6":
                    result.rules_v6 += 1
                    v6_specific.append(t6)
                else:
                    result.rules_v4 += 1
                    v4_peers.append(
                        (
                            t4,
                            pl_id,
                            "prefix-list" if family else "prefix-list?",
                            pl.get("Description", ""),
                        )
                    )
        for t4, peer, kind, desc in v4_peers:
            rule = f"{describe(t4, 4)} {prep} {peer}"
            if t4.proto == "icmp" and t4.kinds is not None and not t4.comparable_kinds:
                result.no_equivalent.append(f"{direction}: {rule}")
                continue
            gaps = missing(t4, v6_any)
            if not gaps:
                continue
            if peer == ANY_V4:
                for gap in gaps:
                    result.missing.append(
                        RuleGap(
                            direction,
                            rule,
                            f"{describe(_to_v6(gap), 6)} {prep} {ANY_V6}",
                            peer,
                            desc,
                        )
                    )
                continue
            if not missing(t4, v6_any + v6_specific):
                result.assumed_mapped.append(f"{direction}: {rule}")
                continue
            what = "prefix list" if kind.startswith("prefix-list") else "range"
            note = (
                f"the address family of prefix list {peer} could not be read"
                if kind == "prefix-list?"
                else f"which IPv6 {what} do the hosts of {peer} use? a person has to map it"
            )
            result.needs_mapping.append(
                RuleGap(
                    direction,
                    rule,
                    f"{describe(_to_v6(t4), 6)} {prep} <the IPv6 prefix of {peer}>",
                    peer,
                    desc,
                    note,
                )
            )
    return result


def _to_v6(t: Traffic) -> Traffic:
    """The IPv6 form of an IPv4 rule's traffic (ICMP kinds without an equivalent dropped)."""
    if t.proto == "icmp" and t.kinds is not None:
        return Traffic("icmp", kinds=t.comparable_kinds)
    return t


# --- network ACLs (first match by rule number, implicit deny) --------------------------------

IMPLICIT_RULE = 32767


@dataclass(frozen=True)
class AclEntry:
    number: int
    action: str  # allow | deny
    traffic: Traffic
    cidr: str
    family: int

    def text(self, prep: str = "from") -> str:
        what = describe(self.traffic, self.family)
        return f"#{self.number} {self.action} {what} {prep} {self.cidr}"


def acl_entries(entries: Iterable[dict], egress: bool) -> tuple[list[AclEntry], list[AclEntry]]:
    """IPv4 and IPv6 entries of one direction, sorted by rule number, implicit rules dropped."""
    v4: list[AclEntry] = []
    v6: list[AclEntry] = []
    for e in entries:
        if bool(e.get("Egress")) != egress:
            continue
        number = _int(e.get("RuleNumber"), IMPLICIT_RULE)
        if number >= IMPLICIT_RULE:
            continue
        ports = e.get("PortRange") or {}
        icmp = e.get("IcmpTypeCode") or {}
        family = 6 if e.get("Ipv6CidrBlock") else 4
        t = traffic(
            e.get("Protocol", "-1"),
            family,
            from_port=ports.get("From"),
            to_port=ports.get("To"),
            icmp_type=icmp.get("Type"),
            icmp_code=icmp.get("Code"),
        )
        entry = AclEntry(
            number,
            str(e.get("RuleAction", "deny")).lower(),
            t,
            e.get("Ipv6CidrBlock") or e.get("CidrBlock") or "",
            family,
        )
        (v6 if family == 6 else v4).append(entry)
    v4.sort(key=lambda x: x.number)
    v6.sort(key=lambda x: x.number)
    return v4, v6


@dataclass(frozen=True)
class _Atom:
    proto: str
    lo: int = 0
    hi: int = MAX_PORT
    kind: str = ""


def _atoms(entries: Sequence[AclEntry]) -> list[_Atom]:
    """Split the traffic space so that every entry either covers an atom or misses it."""
    atoms: list[_Atom] = []
    for proto in ("tcp", "udp"):
        cuts = {0, MAX_PORT + 1}
        for e in entries:
            if e.traffic.proto == proto:
                cuts |= {e.traffic.lo, e.traffic.hi + 1}
        edges = sorted(c for c in cuts if 0 <= c <= MAX_PORT + 1)
        atoms += [_Atom(proto, a, b - 1) for a, b in itertools.pairwise(edges)]
    atoms += [_Atom("icmp", kind=k) for k in sorted(COMPARABLE_ICMP)]
    numbers = sorted(
        {e.traffic.proto for e in entries} - {"tcp", "udp", "icmp", "all"}, key=lambda p: _int(p, 0)
    )
    atoms += [_Atom(p) for p in numbers]
    atoms.append(_Atom("other"))  # any protocol no entry names
    return atoms


def _covers(t: Traffic, atom: _Atom) -> bool:
    if t.proto == "all":
        return True
    if t.proto != atom.proto:
        return False
    if t.proto in ("tcp", "udp"):
        return t.lo <= atom.lo and atom.hi <= t.hi
    if t.proto == "icmp":
        return atom.kind in t.meaning
    return True


def _decide(entries: Sequence[AclEntry], atom: _Atom) -> AclEntry | None:
    for e in entries:
        if _covers(e.traffic, atom):
            return e
    return None  # the implicit deny


def _atoms_text(atoms: Sequence[_Atom], family: int, universe: Sequence[_Atom] = ()) -> str:
    if universe and set(atoms) == set(universe):
        return "all traffic"
    parts: list[str] = []
    for proto in ("tcp", "udp"):
        spans = _merge((a.lo, a.hi) for a in atoms if a.proto == proto)
        parts += [describe(Traffic(proto, lo, hi), family) for lo, hi in spans]
    kinds = frozenset(a.kind for a in atoms if a.proto == "icmp")
    if kinds:
        parts.append(
            describe(Traffic("icmp", kinds=None if kinds == COMPARABLE_ICMP else kinds), family)
        )
    parts += [
        describe(Traffic(a.proto), family)
        for a in atoms
        if a.proto not in ("tcp", "udp", "icmp", "other")
    ]
    if any(a.proto == "other" for a in atoms):
        parts.append("other protocols")
    return ", ".join(parts)


def _free_number(after: int, before: int, used: set[int]) -> int | None:
    for n in range(after + 1, before):
        if n not in used:
            return n
    for n in range(before - 1, 0, -1):
        if n not in used:
            return n
    return None


@dataclass
class AclGap:
    direction: str
    problem: str  # one sentence
    ipv4_rule: str
    ipv6_rule: str
    expected: str
    traffic: str

    def to_dict(self) -> dict[str, str]:
        return {
            "direction": self.direction,
            "problem": self.problem,
            "ipv4_rule": self.ipv4_rule,
            "ipv6_rule": self.ipv6_rule,
            "traffic": self.traffic,
            "expected": self.expected,
        }


@dataclass
class AclParity:
    gaps: list[AclGap] = field(default_factory=list)  # behaviour differs for any address: fail
    needs_mapping: list[RuleGap] = field(default_factory=list)
    assumed_mapped: list[str] = field(default_factory=list)
    entries: dict[str, list[str]] = field(default_factory=dict)


def acl_parity(entries: Sequence[dict]) -> AclParity:
    """Evaluate both families the way the VPC does (lowest rule number first, then the
    implicit deny) for traffic from/to any address and report where they decide differently.

    This covers missing counterparts, counterparts in the wrong order, and IPv6 entries that
    allow what IPv4 denies. Entries for specific IPv4 ranges are reported for a human mapping.
    """
    result = AclParity()
    for direction, egress in (("ingress", False), ("egress", True)):
        prep = "to" if egress else "from"
        v4, v6 = acl_entries(entries, egress)
        result.entries[direction] = [e.text(prep) for e in v4 + v6]
        used = {e.number for e in v4 + v6}
        w4 = [e for e in v4 if e.cidr == ANY_V4]
        w6 = [e for e in v6 if e.cidr == ANY_V6]
        groups: dict[tuple[int, int], list[_Atom]] = {}
        deciders: dict[tuple[int, int], tuple[AclEntry | None, AclEntry | None]] = {}
        universe = _atoms(w4 + w6)
        for atom in universe:
            d4, d6 = _decide(w4, atom), _decide(w6, atom)
            a4 = d4.action if d4 else "deny"
            a6 = d6.action if d6 else "deny"
            if a4 == a6:
                continue
            key = (d4.number if d4 else IMPLICIT_RULE, d6.number if d6 else IMPLICIT_RULE)
            groups.setdefault(key, []).append(atom)
            deciders[key] = (d4, d6)
        for key in sorted(groups):
            d4, d6 = deciders[key]
            atoms = groups[key]
            what4 = _atoms_text(atoms, 4, universe)
            what6 = _atoms_text(atoms, 6, universe)
            rule4 = d4.text(prep) if d4 else "* deny all traffic (implicit)"
            rule6 = d6.text(prep) if d6 else "* deny all traffic (implicit)"
            before = d6.number if d6 else IMPLICIT_RULE
            after = d4.number if d4 else 0
            n = _free_number(after, before, used)
            at = f"#{n}" if n is not None else f"a rule number below #{before}"
            if d4 is not None:
                twin = describe(_to_v6(d4.traffic), 6)
                expected = (
                    f"IPv6 entry {at}: {d4.action} {twin} {prep} {ANY_V6} "
                    f"(the twin of IPv4 #{d4.number})"
                )
                if d6 is None:
                    problem = (
                        f"IPv4 entry #{d4.number} {d4.action}s {what4} {prep} {ANY_V4} but no IPv6 "
                        f"entry does: IPv6 falls to the implicit deny"
                    )
                elif d4.action == "allow":
                    problem = (
                        f"IPv4 entry #{d4.number} allows {what4} {prep} {ANY_V4} but IPv6 entry "
                        f"#{d6.number} denies it first"
                    )
                else:
                    problem = (
                        f"IPv4 entry #{d4.number} denies {what4} {prep} {ANY_V4} but IPv6 entry "
                        f"#{d6.number} allows it: IPv6 traffic bypasses the deny"
                    )
            else:
                assert d6 is not None
                expected = (
                    f"narrow or remove IPv6 entry #{d6.number}, or add the IPv4 entry it mirrors"
                )
                problem = (
                    f"IPv6 entry #{d6.number} allows {what6} {prep} {ANY_V6}, which IPv4 denies "
                    f"(implicit deny)"
                )
            result.gaps.append(AclGap(direction, problem, rule4, rule6, expected, what4))
        s6 = [e for e in v6 if e.cidr != ANY_V6]
        for e in v4:
            if e.cidr == ANY_V4:
                continue
            rule = e.text(prep)
            if any(x.action == e.action and x.traffic == _to_v6(e.traffic) for x in s6):
                result.assumed_mapped.append(f"{direction}: {rule}")
                continue
            result.needs_mapping.append(
                RuleGap(
                    direction,
                    rule,
                    f"{e.action} {describe(_to_v6(e.traffic), 6)} {prep} "
                    f"<the IPv6 prefix of {e.cidr}>",
                    e.cidr,
                    note=f"which IPv6 range do the hosts of {e.cidr} use? a person has to map it",
                )
            )
    return result
