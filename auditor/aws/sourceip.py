"""`aws:SourceIp` parity of resource policies (S3 bucket policies): pure functions over the
policy document.

A condition that lists IPv4 ranges must list the IPv6 ranges of the same clients, or its
statement must have a twin: a statement identical but for the addresses, listing the IPv6 ones.
With `IpAddress` the twins add up to one statement listing both (either matches). With
`NotIpAddress` they do not: "not in the IPv4 list" is true of every IPv6 client and "not in the
IPv6 list" of every IPv4 client, so together two Deny twins lock out everyone and two Allow twins
admit everyone; that split is reported as what it is.

IPv4-mapped IPv6 ranges (`::ffff:0:0/96` and ranges inside it) are IPv4 written as IPv6: no IPv6
client ever comes from them, so they count as IPv4.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any

ANY_V4 = "0.0.0.0/0"
ANY_V6 = "::/0"
SOURCE_IP = "aws:sourceip"
IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")

CONSEQUENCE = {
    ("allow", False): "IPv6 clients do not match this Allow",
    ("allow", True): "this Allow admits every IPv6 client",
    ("deny", False): "this Deny does not apply to IPv6 clients",
    ("deny", True): "this Deny locks out every IPv6 client",
}
SPLIT_CONSEQUENCE = {
    "allow": "together these Allows admit every client (each client is outside one list)",
    "deny": "together these Denies lock out every client (each client is outside one list)",
}


def address_family(value: Any) -> int | None:
    """4 or 6 for an address or range (IPv4-mapped IPv6 counts as 4); None if unreadable."""
    try:
        net = ipaddress.ip_network(str(value).strip(), strict=False)
    except ValueError:
        return None
    if isinstance(net, ipaddress.IPv6Network) and net.subnet_of(IPV4_MAPPED):
        return 4
    return net.version


def is_ipv4_mapped(value: Any) -> bool:
    return address_family(value) == 4 and ":" in str(value)


@dataclass
class SourceIpGap:
    statement: str  # Sid or #index
    effect: str
    operator: str
    ipv4: list[str]
    consequence: str
    expected: str
    ipv4_mapped: list[str] = field(default_factory=list)
    split_with: str = ""  # the NotIpAddress twin listing the IPv6 ranges

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "statement": self.statement,
            "effect": self.effect,
            "operator": self.operator,
            "ipv4": self.ipv4,
            "consequence": self.consequence,
            "expected": self.expected,
        }
        if self.ipv4_mapped:
            out["ipv4_mapped"] = self.ipv4_mapped
        if self.split_with:
            out["split_with"] = self.split_with
        return out


@dataclass
class SourceIpParity:
    gaps: list[SourceIpGap] = field(default_factory=list)
    conditions: int = 0  # aws:SourceIp conditions seen
    twins: list[dict[str, str]] = field(default_factory=list)  # IPv4 statement → its IPv6 twin


@dataclass
class _Condition:
    index: int
    statement: dict
    operator: str
    values: list[str]
    v4: list[str]
    v6: list[str]

    @property
    def label(self) -> str:
        return str(self.statement.get("Sid") or f"#{self.index}")


def _bare(operator: str) -> str:
    bare = operator.lower()
    for prefix in ("forallvalues:", "foranyvalue:"):
        bare = bare.removeprefix(prefix)
    return bare


def _shape(statement: dict) -> str:
    """The statement without its Sid and its aws:SourceIp values."""
    copy: dict[str, Any] = {k: v for k, v in statement.items() if k != "Sid"}
    conditions: dict[str, Any] = {}
    for operator, block in (statement.get("Condition") or {}).items():
        if isinstance(block, dict):
            block = {k: ("*" if k.lower() == SOURCE_IP else v) for k, v in block.items()}
        conditions[operator] = block
    copy["Condition"] = conditions
    return json.dumps(copy, sort_keys=True, default=str)


def _conditions(policy: dict) -> list[_Condition]:
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    out: list[_Condition] = []
    for index, st in enumerate(statements if isinstance(statements, list) else []):
        if not isinstance(st, dict) or not isinstance(st.get("Condition") or {}, dict):
            continue
        for operator, block in (st.get("Condition") or {}).items():
            if not isinstance(block, dict):
                continue
            for key, raw in block.items():
                if key.lower() != SOURCE_IP:
                    continue
                values = [raw] if isinstance(raw, str) else [str(v) for v in raw or []]
                fams = [(v, address_family(v)) for v in values]
                out.append(
                    _Condition(
                        index,
                        st,
                        operator,
                        values,
                        [v for v, f in fams if f == 4],
                        [v for v, f in fams if f == 6],
                    )
                )
    return out


def source_ip_parity(policy: dict) -> SourceIpParity:
    """Every aws:SourceIp condition listing IPv4 ranges and no IPv6 range, unless a twin
    statement (IpAddress) lists the IPv6 ones."""
    conditions = _conditions(policy)
    result = SourceIpParity(conditions=len(conditions))
    for cond in conditions:
        if not cond.v4 or cond.v6:
            continue
        shape = _shape(cond.statement)
        twin = next(
            (
                other
                for other in conditions
                if other is not cond
                and other.operator == cond.operator
                and other.v6
                and not other.v4
                and _shape(other.statement) == shape
            ),
            None,
        )
        negated = _bare(cond.operator).startswith("notipaddress")
        effect = str(cond.statement.get("Effect", "")).lower()
        if twin is not None and not negated:
            result.twins.append({"ipv4": cond.label, "ipv6": twin.label})
            continue
        expected = (
            f"add {ANY_V6} to aws:SourceIp"
            if ANY_V4 in cond.v4
            else "add the IPv6 prefixes of the same networks to aws:SourceIp"
        )
        gap = SourceIpGap(
            cond.label,
            str(cond.statement.get("Effect", "")),
            cond.operator,
            cond.v4,
            CONSEQUENCE.get((effect, negated), ""),
            expected,
            ipv4_mapped=[v for v in cond.v4 if ":" in v],
        )
        if twin is not None:
            gap.split_with = twin.label
            gap.consequence = SPLIT_CONSEQUENCE.get(effect, gap.consequence)
            gap.expected = (
                f"list the IPv4 and IPv6 ranges in one {cond.operator} condition (merge "
                f"statement {twin.label} into {cond.label})"
            )
        result.gaps.append(gap)
    return result
