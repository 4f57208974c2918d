"""WAF IP-set parity: does every web ACL rule that matches IPv4 IP sets match IPv6 clients too?
Pure functions over `GetWebACL`/`GetRuleGroup` answers and the address version of each IP set.

A rule passes when it references an IPv6 IP set next to its IPv4 ones (an OrStatement of both),
or when it has a twin: a rule of the same list (the web ACL's, or one rule group's) with the
same action and the same statement except that its IP sets are IPv6, and with no rule between
the two that matches IP sets (rules that match no IP set decide both families alike, so IPv4
and IPv6 clients reach the twins through the same decisions). Two rules are as good as one
only for a positive match: under a NotStatement, "not in the IPv4 set" matches every IPv6
client, so the split is not equivalent and the rule keeps its gap.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

IPSET_REF = "IPSetReferenceStatement"
GROUP_REF = "RuleGroupReferenceStatement"
EXPECTED = (
    "an IPSetReferenceStatement to an IPV6 IP set with the same networks, in the same rule "
    "(OrStatement of both sets), or a twin rule with the same action matching the IPV6 set"
)


def references(node: Any, key: str) -> list[str]:
    """ARNs of every `key` statement (IPSetReferenceStatement…) in a statement tree."""
    found: list[str] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key and isinstance(v, dict) and v.get("ARN"):
                found.append(v["ARN"])
            else:
                found += references(v, key)
    elif isinstance(node, list):
        for item in node:
            found += references(item, key)
    return found


def ip_set_ref(arn: str) -> dict[str, str] | None:
    """arn:aws:wafv2:REGION:ACCOUNT:regional|global/ipset/NAME/ID → get_ip_set parameters."""
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return None
    path = parts[5].split("/")
    if len(path) != 4 or path[1] != "ipset":
        return None
    return {
        "Scope": "CLOUDFRONT" if path[0] == "global" else "REGIONAL",
        "Name": path[2],
        "Id": path[3],
    }


def ip_set_name(arn: str) -> str:
    return arn.rsplit("/", 2)[-2] if arn.count("/") >= 2 else arn


def rule_action(rule: dict) -> str:
    action = rule.get("Action") or rule.get("OverrideAction") or {}
    return next(iter(action), "?").lower() if isinstance(action, dict) else "?"


def group_arns(acl: dict) -> list[str]:
    """The rule groups a web ACL's rules reference (managed rule groups are not read)."""
    return [a for r in acl.get("Rules") or [] for a in references(r.get("Statement"), GROUP_REF)]


def ip_set_arns(rules: Iterable[dict]) -> list[str]:
    return list(dict.fromkeys(a for r in rules for a in references(r.get("Statement"), IPSET_REF)))


@dataclass
class RuleCheck:
    """One rule that matches IP sets."""

    rule: str  # "name" or "group/name"
    priority: Any
    action: str
    ipv4_sets: list[str]
    ipv6_sets: list[str]
    twin: str = ""  # the rule that matches the IPv6 sets for this one

    @property
    def gap(self) -> bool:
        return bool(self.ipv4_sets) and not self.ipv6_sets and not self.twin

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "priority": self.priority,
            "action": self.action,
            "ipv4_sets": self.ipv4_sets,
            "ipv6_sets": self.ipv6_sets,
        }
        if self.twin:
            out["ipv6_twin"] = self.twin
        if self.gap:
            out["expected"] = EXPECTED
        return out


@dataclass
class WafParity:
    rules: list[RuleCheck] = field(default_factory=list)

    @property
    def gaps(self) -> list[RuleCheck]:
        return [r for r in self.rules if r.gap]


def _shape(rule: dict) -> str | None:
    """The rule with its IP set ARNs blanked out: equal shapes differ only in their IP sets.
    None when an IP set is matched under a NotStatement (a split is not equivalent there)."""

    def walk(node: Any, negated: bool) -> Any:
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if k == IPSET_REF and isinstance(v, dict):
                    if negated:
                        raise ValueError
                    out[k] = {kk: vv for kk, vv in v.items() if kk != "ARN"}
                else:
                    out[k] = walk(v, negated or k == "NotStatement")
            return out
        if isinstance(node, list):
            return [walk(x, negated) for x in node]
        return node

    try:
        statement = walk(rule.get("Statement"), False)
    except ValueError:
        return None
    action = rule.get("Action") or rule.get("OverrideAction")
    return json.dumps([statement, action], sort_keys=True, default=str)


def _priority(rule: dict) -> int:
    try:
        return int(rule.get("Priority", 0))
    except (TypeError, ValueError):
        return 0


def _check_list(prefix: str, rules: list[dict], versions: Mapping[str, str]) -> list[RuleCheck]:
    ordered = sorted(rules, key=_priority)
    checks: list[tuple[dict, RuleCheck]] = []
    for rule in ordered:
        arns = references(rule.get("Statement"), IPSET_REF)
        if not arns:
            continue
        fams = {a: versions.get(a, "") for a in arns}
        item = RuleCheck(
            f"{prefix}{rule.get('Name', '?')}",
            rule.get("Priority"),
            rule_action(rule),
            [a for a, v in fams.items() if v == "IPV4"],
            [a for a, v in fams.items() if v == "IPV6"],
        )
        checks.append((rule, item))
    for pos, (rule, item) in enumerate(checks):
        if not item.ipv4_sets or item.ipv6_sets:
            continue
        shape = _shape(rule)
        if shape is None:
            continue
        # the nearest rules matching IP sets, before and after: nothing between them matches
        # an IP set, so both families reach the pair through the same decisions
        for near in (pos - 1, pos + 1):
            if not 0 <= near < len(checks):
                continue
            other, other_item = checks[near]
            if other_item.ipv6_sets and not other_item.ipv4_sets and _shape(other) == shape:
                item.twin = other_item.rule
                break
    return [item for _, item in checks]


def waf_parity(acl: dict, groups: Mapping[str, dict], versions: Mapping[str, str]) -> WafParity:
    """Check the rules of a web ACL and of the rule groups it references.

    `groups` maps rule-group ARNs to `GetRuleGroup`'s `RuleGroup`; `versions` maps IP-set ARNs
    to their `IPAddressVersion` (`IPV4`/`IPV6`; anything else counts as neither).
    """
    result = WafParity(_check_list("", list(acl.get("Rules") or []), versions))
    for arn in dict.fromkeys(group_arns(acl)):
        group = groups.get(arn) or {}
        name = group.get("Name", arn)
        result.rules += _check_list(f"{name}/", list(group.get("Rules") or []), versions)
    return result
