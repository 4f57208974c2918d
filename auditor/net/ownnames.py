"""Own names compared across families: a `dns.reachable` finding refined with the IPv4 side.

From a dual-stack vantage each own name is also probed on its A records over IPv4 (the same
:func:`auditor.net.dual.prove_ipv4` every network check uses), and the class comes from the same
:func:`auditor.net.classify.compare_families`: a broken AAAA with IPv4 working is `broken` and
masked, a name that fails over IPv4 the same way is `down` (not an IPv6 finding), two answers
that differ are `differs`. One rule is the own names': a name without an AAAA record stays
`unreachable` even when IPv4 answers, since a NAT64 at some client is no fix for a record the
name's owner has to publish.
"""

from __future__ import annotations

import dataclasses

from auditor.model import Finding
from auditor.net import classify as cls
from auditor.net.dual import Ipv4Side, answered, compare
from auditor.net.findings import REMEDIATION
from auditor.net.probe import Attempt


def own_name_class(
    v6_class: str, shown: Attempt | None, side: Ipv4Side | None, differ: bool
) -> str:
    """The class of an own name once its IPv4 side is known (pure); `differ`: the two
    families' answers differ."""
    klass = cls.compare_families(
        v6_class,
        v6_answered=answered(shown),
        v4=side.outcome if side is not None else None,
        differ=differ,
    )
    return cls.UNREACHABLE if klass == cls.IPV4_ONLY else klass


def _v4_said(side: Ipv4Side) -> str:
    four = side.decisive
    if four is None:
        return side.reason or "nothing to probe"
    if four.ok:
        return f"{four.address} answers ({four.answer})"
    return f"{four.address}: {four.error}"


def refine(finding: Finding, side: Ipv4Side | None, shown: Attempt | None) -> Finding:
    """`finding` (the IPv6 verdict on one name and port) with the IPv4 side in its evidence and
    its class, status and sentence changed where the comparison changes them."""
    if side is None:
        return finding
    evidence = {**finding.evidence, "ipv4": side.evidence()}
    v6_class = evidence.get("class", "")
    differences = compare(shown, side)
    if v6_class == cls.DNS_ERROR:
        klass = v6_class
    else:
        klass = own_name_class(v6_class, shown, side, bool(differences))
    evidence["class"] = klass
    works4 = side.outcome == cls.V4_OK
    if klass == v6_class:
        message = finding.message
        if klass == cls.BROKEN:
            evidence["masked"] = works4
        if works4 and klass in (cls.BROKEN, cls.UNREACHABLE):
            message += f"; over IPv4 {_v4_said(side)}"
        return dataclasses.replace(finding, message=message, evidence=evidence)
    target = finding.target
    subject = f"{target.host if target else 'The name'} on port {target.port if target else '?'}"
    v6_said = "nothing probed"
    if shown is not None:
        v6_said = shown.answer if shown.ok else f"{shown.address}: {shown.error}"
    if klass == cls.DIFFERS:
        aspects = ", ".join(d["aspect"] for d in differences)
        message = (
            f"{subject} answers differently over IPv6 and IPv4 ({aspects or 'the proof'}): "
            f"IPv6 {v6_said}; IPv4 {_v4_said(side)}"
        )
    else:  # down: the only other class the comparison turns an own name into
        message = (
            f"{subject} fails over both families, so this is not an IPv6 finding: IPv6 "
            f"{v6_said}; IPv4 {_v4_said(side)}"
        )
    v = cls.verdict(klass)
    return dataclasses.replace(
        finding,
        status=v.status,
        message=message,
        evidence=evidence,
        severity=v.severity,
        stage=v.stage,
        blocking=v.blocking,
        remediation=REMEDIATION[klass],
    )
