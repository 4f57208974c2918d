"""AWS Network Firewall and IPv6: firewall endpoints that are dual-stack, and stateful rules
that name IPv6 addresses wherever they name IPv4 ones. Pure functions; checks/transit.py words
the findings.

Rule headers are read from both stateful forms: `StatefulRules` (a 5-tuple header) and
`RulesString` (Suricata rules, one per line: ``action proto src sport dir dst dport (opts)``).
Hand-written because no maintained Python library parses Suricata rule headers; only the
header is read (addresses, ports, direction), the options only to pair rules.

An address side is a Suricata address expression: ``any``, a CIDR, ``$VAR`` (an IP set
variable of the rule group, or the firewall policy's), a list ``[a, b, !c]``. A side whose
addresses are all IPv4 is IPv4-only; a rule with an IPv4-only side has an IPv6 counterpart when
the rule itself covers IPv6 there (a list or variable holding both families, or ``any``) or
another rule with the same action, protocol, ports, direction and options names IPv6 there.
Unknown variables (``$HOME_NET`` by default is the VPC's CIDRs) and prefix-list references are
never counted as IPv4-only: the audit cannot tell, and does not guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from auditor.aws.helpers import network

NFW_OK = ("DUALSTACK", "IPV6")
# options that name a rule rather than what it matches: ignored when pairing rules
_NAMING_OPTIONS = {"sid", "rev", "msg", "metadata", "classtype", "gid", "reference", "priority"}
_RULE_RE = re.compile(
    r"^\s*(?P<action>\S+)\s+(?P<proto>\S+)\s+(?P<src>\[[^\]]*\]|\S+)\s+(?P<sport>\[[^\]]*\]|\S+)"
    r"\s+(?P<dir>->|<>)\s+(?P<dst>\[[^\]]*\]|\S+)\s+(?P<dport>\[[^\]]*\]|\S+)\s*(?:\((?P<opts>.*)\))?"
    r"\s*$"
)
MAX_RULES = 20_000  # per rule group; a larger RulesString is cut (and the cut reported)


@dataclass(frozen=True)
class Rule:
    ref: str  # sid:N, or the rule's position
    action: str
    proto: str
    src: str
    sport: str
    direction: str
    dst: str
    dport: str
    options: tuple[str, ...]

    @property
    def key(self) -> tuple:
        return (self.action, self.proto, self.sport, self.direction, self.dport, self.options)

    def text(self) -> str:
        return (
            f"{self.action} {self.proto} {self.src} {self.sport} {self.direction} "
            f"{self.dst} {self.dport}"
        )


def _options(raw: str) -> tuple[tuple[str, ...], str]:
    """(pairing options, sid) from a Suricata option string."""
    kept: list[str] = []
    sid = ""
    for part in re.split(r";(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", raw or ""):
        part = part.strip()
        if not part:
            continue
        name, _, value = part.partition(":")
        name = name.strip().lower()
        if name == "sid":
            sid = value.strip()
        if name not in _NAMING_OPTIONS:
            kept.append(part)
    return tuple(sorted(kept)), sid


def parse_rules_string(text: str) -> tuple[list[Rule], int]:
    """Rules of a Suricata RulesString; returns (rules, lines that are not rules)."""
    rules: list[Rule] = []
    bad = 0
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if len(rules) >= MAX_RULES:
            bad += 1
            continue
        m = _RULE_RE.match(line)
        if m is None:
            bad += 1
            continue
        opts, sid = _options(m.group("opts") or "")
        rules.append(
            Rule(
                ref=f"sid:{sid}" if sid else f"line {n}",
                action=m.group("action").lower(),
                proto=m.group("proto").lower(),
                src=m.group("src"),
                sport=m.group("sport").lower(),
                direction=m.group("dir"),
                dst=m.group("dst"),
                dport=m.group("dport").lower(),
                options=opts,
            )
        )
    return rules, bad


def parse_stateful_rules(items: Iterable[Mapping]) -> list[Rule]:
    rules = []
    for n, item in enumerate(items, 1):
        head = item.get("Header") or {}
        opts: list[str] = []
        sid = ""
        for o in item.get("RuleOptions") or []:
            kw = str(o.get("Keyword", "")).lower()
            value = ",".join(str(s) for s in o.get("Settings") or [])
            if kw == "sid":
                sid = value
            if kw not in _NAMING_OPTIONS:
                opts.append(f"{kw}:{value}" if value else kw)
        rules.append(
            Rule(
                ref=f"sid:{sid}" if sid else f"rule {n}",
                action=str(item.get("Action", "")).lower(),
                proto=str(head.get("Protocol", "")).lower(),
                src=str(head.get("Source", "")),
                sport=str(head.get("SourcePort", "")).lower(),
                direction="<>" if str(head.get("Direction", "")).upper() == "ANY" else "->",
                dst=str(head.get("Destination", "")),
                dport=str(head.get("DestinationPort", "")).lower(),
                options=tuple(sorted(opts)),
            )
        )
    return rules


@dataclass
class Side:
    """The families an address expression covers: ipv4/ipv6 CIDRs named, `unknown` when it
    uses ``any``, an unknown variable or a reference the audit cannot resolve."""

    v4: list[str] = field(default_factory=list)
    v6: list[str] = field(default_factory=list)
    unknown: bool = False
    variables: list[str] = field(default_factory=list)

    @property
    def v4_only(self) -> bool:
        return bool(self.v4) and not self.v6 and not self.unknown

    @property
    def covers_v6(self) -> bool:
        return bool(self.v6) or self.unknown


def _split(expr: str) -> list[str]:
    expr = expr.strip()
    if expr.startswith("!"):
        return [expr]
    if expr.startswith("[") and expr.endswith("]"):
        expr = expr[1:-1]
    return [p.strip() for p in expr.split(",") if p.strip()]


def resolve(expr: str, variables: Mapping[str, list[str]], depth: int = 0) -> Side:
    side = Side()
    for part in _split(expr):
        if part.startswith("!") or depth > 5:
            side.unknown = True  # a negation covers everything else, of both families
            continue
        if part.lower() == "any":
            side.unknown = True
            continue
        if part.startswith("$") or part.startswith("@"):
            name = part[1:]
            if part.startswith("$") and name in variables:
                side.variables.append(name)
                inner = Side()
                for item in variables[name]:
                    sub = resolve(item, variables, depth + 1)
                    inner.v4 += sub.v4
                    inner.v6 += sub.v6
                    inner.unknown = inner.unknown or sub.unknown
                side.v4 += inner.v4
                side.v6 += inner.v6
                side.unknown = side.unknown or inner.unknown
            else:
                side.unknown = True
            continue
        net = network(part)
        if net is None:
            side.unknown = True
        elif net.version == 4:
            side.v4.append(part)
        else:
            side.v6.append(part)
    return side


@dataclass
class RuleGap:
    group: str  # rule group name or ARN
    rule: str  # sid:N or position
    text: str  # the rule header
    ipv4_only: dict[str, list[str]]  # side → the IPv4 CIDRs it names
    variables: list[str]  # IP set variables of those sides that hold only IPv4


@dataclass
class GroupParity:
    group: str
    rules: int = 0
    gaps: list[RuleGap] = field(default_factory=list)
    unparsed: int = 0


def group_variables(rule_group: Mapping, policy_vars: Mapping[str, list[str]]) -> dict:
    ipsets = ((rule_group.get("RuleVariables") or {}).get("IPSets")) or {}
    out = {k: list(v) for k, v in policy_vars.items()}
    for name, value in ipsets.items():
        out[name] = [str(d) for d in (value or {}).get("Definition") or []]
    return out


def policy_variables(policy: Mapping) -> dict[str, list[str]]:
    """Firewall policy variables (`PolicyVariables.RuleVariables`, e.g. HOME_NET)."""
    ipsets = ((policy.get("PolicyVariables") or {}).get("RuleVariables")) or {}
    return {k: [str(d) for d in (v or {}).get("Definition") or []] for k, v in ipsets.items()}


def group_parity(
    name: str, rule_group: Mapping, policy_vars: Mapping[str, list[str]] | None = None
) -> GroupParity:
    """Stateful rules of one rule group (`DescribeRuleGroup`'s `RuleGroup`) naming IPv4
    addresses without an IPv6 counterpart."""
    variables = group_variables(rule_group, policy_vars or {})
    source = rule_group.get("RulesSource") or {}
    rules: list[Rule] = []
    out = GroupParity(name)
    if source.get("RulesString"):
        rules, out.unparsed = parse_rules_string(str(source["RulesString"]))
    if source.get("StatefulRules"):
        rules += parse_stateful_rules(source["StatefulRules"])
    out.rules = len(rules)
    resolved = [(r, resolve(r.src, variables), resolve(r.dst, variables)) for r in rules]
    by_key: dict[tuple, list[tuple[Side, Side]]] = {}
    for r, src, dst in resolved:
        by_key.setdefault(r.key, []).append((src, dst))
    for r, src, dst in resolved:
        if not (src.v4_only or dst.v4_only):
            continue
        twins = by_key.get(r.key, [])
        covered = any(
            (not src.v4_only or s2.covers_v6) and (not dst.v4_only or d2.covers_v6)
            for s2, d2 in twins
        )
        if covered:
            continue
        sides = {
            label: side.v4
            for label, side in (("source", src), ("destination", dst))
            if side.v4_only
        }
        v4_vars = sorted(
            {
                var
                for side in (src, dst)
                if side.v4_only
                for var in side.variables
                if not any(":" in d for d in variables.get(var, []))
            }
        )
        out.gaps.append(RuleGap(name, r.ref, r.text(), sides, v4_vars))
    return out


@dataclass
class FirewallVerdict:
    name: str
    arn: str
    vpc: str
    ipv4_only_subnets: list[str]  # subnet mappings that are not dual-stack
    mapping_types: dict[str, str]
    groups: list[GroupParity] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)  # rule groups that could not be read

    @property
    def gaps(self) -> list[RuleGap]:
        return [g for group in self.groups for g in group.gaps]

    @property
    def ok(self) -> bool:
        return not self.ipv4_only_subnets and not self.gaps

    def fix(self) -> list[str]:
        steps = []
        if self.ipv4_only_subnets:
            steps.append(
                "give subnets "
                + ", ".join(self.ipv4_only_subnets)
                + " IPv6 CIDRs, then aws network-firewall associate-subnets --firewall-name "
                f"{self.name} --subnet-mappings "
                + " ".join(f"SubnetId={s},IPAddressType=DUALSTACK" for s in self.ipv4_only_subnets)
            )
        for group in sorted({g.group for g in self.gaps}):
            variables = sorted({v for g in self.gaps if g.group == group for v in g.variables})
            what = (
                "add the IPv6 ranges of the same hosts to IP set variable(s) "
                + ", ".join(variables)
                if variables
                else "add an IPv6 twin of each rule listed"
            )
            steps.append(
                f"{what} in rule group {group}: aws network-firewall describe-rule-group "
                f"--rule-group-arn {group} > rg.json, edit, aws network-firewall "
                "update-rule-group --rule-group-arn … --update-token … --rule-group file://rg.json"
            )
        return steps


def firewall_mappings(firewall: Mapping) -> tuple[list[str], dict[str, str]]:
    """(subnets whose endpoint is not dual-stack, subnet → IPAddressType); absent is IPV4."""
    types = {
        str(m.get("SubnetId")): str(m.get("IPAddressType") or "IPV4")
        for m in firewall.get("SubnetMappings") or []
    }
    return [s for s, t in types.items() if t not in NFW_OK], types


def stateful_group_arns(policy: Mapping) -> list[str]:
    return [
        str(ref["ResourceArn"])
        for ref in policy.get("StatefulRuleGroupReferences") or []
        if ref.get("ResourceArn")
    ]
