"""Checks of the filtering family: IPv4/IPv6 parity of security groups, network ACLs, WAF IP
sets and S3 bucket policies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from auditor.aws.errors import AwsError
from auditor.aws.helpers import (
    perms,
    resource,
    tag,
)
from auditor.aws.inventory import GLOBAL, Inventory, Scope
from auditor.aws.parity import ANY_V6, acl_parity, sg_parity
from auditor.aws.scoped import scope_error
from auditor.aws.sourceip import source_ip_parity
from auditor.aws.waf import group_arns, ip_set_arns, ip_set_name, ip_set_ref, waf_parity
from auditor.context import CheckContext
from auditor.model import Finding, Resource, failed, passed, warned
from auditor.registry import check

FAMILY = "filtering"
EVIDENCE_LIMIT = 50

REF_SG = "https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html"
REF_NACL = "https://docs.aws.amazon.com/vpc/latest/userguide/nacl-rules.html"
REF_WAF = "https://docs.aws.amazon.com/waf/latest/developerguide/waf-ip-set-managing.html"
REF_S3 = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/ipv6-access.html"


def _more(items: list, shown: int = 1) -> str:
    extra = len(items) - shown
    return f" (and {extra} more)" if extra > 0 else ""


def _parity_verdict(
    subject: str,
    res: Resource,
    evidence: dict[str, Any],
    *,
    gaps: list,
    describe_gap: Callable[[str, Any], str],
    needs_mapping: list,
    ok_text: str,
) -> Finding:
    """Shared by SG and NACL parity: a gap fails, an IPv4 range needing a human mapping warns
    (the first one is named, the rest counted), else the resource passes."""
    if gaps:
        return failed(describe_gap(subject, gaps[0]) + _more(gaps), resource=res, evidence=evidence)
    if needs_mapping:
        gap = needs_mapping[0]
        return warned(
            f"{subject}: {gap.direction} {gap.rule} has no IPv6 counterpart; add "
            f"{gap.expected}{_more(needs_mapping)}",
            resource=res,
            evidence=evidence,
        )
    return passed(f"{subject} {ok_text}", resource=res, evidence=evidence)


def _sg_gap(subject: str, gap: Any) -> str:
    return f"{subject}: {gap.direction} {gap.rule} has no {ANY_V6} counterpart; add {gap.expected}"


def _nacl_gap(subject: str, gap: Any) -> str:
    return f"{subject} ({gap.direction}): {gap.problem}; add {gap.expected}"


# --- security groups ---------------------------------------------------------------------------


@check(
    id="aws.sg.parity",
    title="Security group rules for IPv4 have IPv6 counterparts",
    family=FAMILY,
    severity="high",
    stage=1,
    permissions=perms("ec2:DescribeSecurityGroups", "ec2:DescribeManagedPrefixLists"),
    fix_order=40,
    remediation="""
        For every rule open to 0.0.0.0/0 add the same protocol and ports for ::/0 (ICMP rules
        map to their ICMPv6 types: echo request 8 → 128, fragmentation needed 3/4 → packet too
        big 2). For rules naming other IPv4 ranges or IPv4 prefix lists, add the IPv6 prefix of
        the same hosts (or an IPv6 prefix list): that mapping needs a person who knows the
        network. Rules referencing security groups already cover both families.
    """,
    references=[REF_SG],
    scope="region",
)
async def sg_parity_check(
    ctx: CheckContext, inv: Inventory, scope: Scope
) -> AsyncIterator[Finding]:
    """Compares each security group's IPv4 rules with its IPv6 rules, per direction, by
    protocol and port range (all-traffic only by all-traffic; ICMP by ICMPv6 meaning; prefix
    lists by address family). `0.0.0.0/0` needs exactly `::/0`; other IPv4 ranges are a warning
    asking for a human mapping; referenced groups need no counterpart."""
    groups = await inv.list(scope, "ec2", "describe_security_groups")
    used_lists = {
        pl.get("PrefixListId")
        for g in groups
        for key in ("IpPermissions", "IpPermissionsEgress")
        for perm in g.get(key) or []
        for pl in perm.get("PrefixListIds") or []
    }
    families: dict[str, str] = {}
    if used_lists:
        lists = await inv.list(scope, "ec2", "describe_managed_prefix_lists")
        families = {p["PrefixListId"]: p.get("AddressFamily", "") for p in lists}
    for group in groups:
        result = sg_parity(group, families)
        gid = group["GroupId"]
        name = group.get("GroupName", "")
        res = resource(scope, gid, "security-group", name or tag(group))
        evidence: dict[str, Any] = {
            "vpc_id": group.get("VpcId"),
            "group_name": name,
            "rules_ipv4": result.rules_v4,
            "rules_ipv6": result.rules_v6,
            "missing": [g.to_dict() for g in result.missing[:EVIDENCE_LIMIT]],
            "needs_mapping": [g.to_dict() for g in result.needs_mapping[:EVIDENCE_LIMIT]],
        }
        if result.assumed_mapped:
            evidence["mapped_to_specific_ipv6"] = result.assumed_mapped[:EVIDENCE_LIMIT]
        if result.no_equivalent:
            evidence["no_icmpv6_equivalent"] = result.no_equivalent[:EVIDENCE_LIMIT]
        yield _parity_verdict(
            f"Security group {gid} ({name})",
            res,
            evidence,
            gaps=result.missing,
            describe_gap=_sg_gap,
            needs_mapping=result.needs_mapping,
            ok_text="has an IPv6 counterpart for every IPv4 rule",
        )


# --- network ACLs ------------------------------------------------------------------------------


@check(
    id="aws.nacl.parity",
    title="Network ACL entries for IPv4 have IPv6 counterparts in the same order",
    family=FAMILY,
    severity="high",
    stage=1,
    permissions=perms("ec2:DescribeNetworkAcls"),
    fix_order=40,
    remediation="""
        For every IPv4 entry on 0.0.0.0/0 add an IPv6 entry on ::/0 with the same action,
        protocol and ports (ICMP types mapped to ICMPv6), numbered so that the IPv6 entries are
        evaluated in the same order as their IPv4 twins (e.g. IPv4 #100 → IPv6 #101). Without
        one, IPv6 falls to the implicit deny, or slips past an IPv4-only deny.
    """,
    references=[REF_NACL],
    scope="region",
)
async def nacl_parity_check(
    ctx: CheckContext, inv: Inventory, scope: Scope
) -> AsyncIterator[Finding]:
    """Evaluates each network ACL for both families the way the VPC does (lowest rule number
    first, then the implicit deny) for traffic from/to any address and reports every protocol
    and port range where IPv6 is decided differently from IPv4: a missing counterpart, one in
    the wrong order, or an IPv6 entry allowing what IPv4 denies. Entries for specific IPv4
    ranges are a warning asking for a human mapping."""
    for acl in await inv.list(scope, "ec2", "describe_network_acls"):
        result = acl_parity(acl.get("Entries") or [])
        aid = acl["NetworkAclId"]
        res = resource(scope, aid, "network-acl", tag(acl))
        subnets = [a.get("SubnetId") for a in acl.get("Associations") or [] if a.get("SubnetId")]
        evidence: dict[str, Any] = {
            "vpc_id": acl.get("VpcId"),
            "default": bool(acl.get("IsDefault")),
            "subnets": subnets[:EVIDENCE_LIMIT],
            "gaps": [g.to_dict() for g in result.gaps[:EVIDENCE_LIMIT]],
            "needs_mapping": [g.to_dict() for g in result.needs_mapping[:EVIDENCE_LIMIT]],
            "entries": {k: v[:EVIDENCE_LIMIT] for k, v in result.entries.items()},
        }
        if result.assumed_mapped:
            evidence["mapped_to_specific_ipv6"] = result.assumed_mapped[:EVIDENCE_LIMIT]
        yield _parity_verdict(
            f"Network ACL {aid}",
            res,
            evidence,
            gaps=result.gaps,
            describe_gap=_nacl_gap,
            needs_mapping=result.needs_mapping,
            ok_text="decides IPv6 like IPv4 for every protocol and port",
        )


# --- WAF ---------------------------------------------------------------------------------------


async def _web_acl_findings(
    ctx: CheckContext, inv: Inventory, scope: Scope, waf_scope: str
) -> AsyncIterator[Finding]:
    """Read each web ACL, the rule groups and IP sets it references, and word the parity."""
    region = GLOBAL if waf_scope == "CLOUDFRONT" else scope.region
    versions: dict[str, str] = {}

    async def version(arn: str) -> str:
        if arn not in versions:
            ref = ip_set_ref(arn)
            if ref is None:
                versions[arn] = "unknown"
            else:
                answer = await inv.get(scope, "wafv2", "get_ip_set", **ref)
                versions[arn] = str((answer or {}).get("IPSet", {}).get("IPAddressVersion", ""))
        return versions[arn]

    for summary in await inv.list(scope, "wafv2", "list_web_acls", Scope=waf_scope):
        answer = await inv.get(
            scope, "wafv2", "get_web_acl", Name=summary["Name"], Scope=waf_scope, Id=summary["Id"]
        )
        acl = (answer or {}).get("WebACL", {})
        arn = acl.get("ARN") or summary.get("ARN", summary["Id"])
        res = resource(scope, arn, "wafv2-web-acl", summary["Name"], region=region)
        try:
            groups: dict[str, dict] = {}
            for group_arn in dict.fromkeys(group_arns(acl)):
                group = await inv.get(scope, "wafv2", "get_rule_group", ARN=group_arn)
                groups[group_arn] = (group or {}).get("RuleGroup", {})
            rules = list(acl.get("Rules") or []) + [
                r for g in groups.values() for r in g.get("Rules") or []
            ]
            for set_arn in ip_set_arns(rules):
                await version(set_arn)
        except AwsError as exc:
            yield scope_error(ctx, exc, scope, on=res)
            continue
        result = waf_parity(acl, groups, versions)
        if not result.rules:
            continue
        gaps = result.gaps
        evidence = {
            "scope": waf_scope,
            "rules": [r.to_dict() for r in result.rules[:EVIDENCE_LIMIT]],
            "gaps": [r.to_dict() for r in gaps],
        }
        if gaps:
            gap = gaps[0]
            sets = ", ".join(ip_set_name(a) for a in gap.ipv4_sets)
            yield failed(
                f"Web ACL {summary['Name']}: rule {gap.rule} ({gap.action}) matches IPv4 IP "
                f"set {sets} but no IPv6 set, so IPv6 clients escape it; add an IPV6 IP set to "
                f"the rule{_more(gaps)}",
                resource=res,
                evidence=evidence,
            )
        else:
            yield passed(
                f"Web ACL {summary['Name']}: every rule matching an IPv4 IP set matches an IPv6 "
                "set too (in the rule or in a twin rule)",
                resource=res,
                evidence=evidence,
            )


@check(
    id="aws.waf.ipset_parity",
    title="WAF rules matching IPv4 IP sets also match IPv6 IP sets",
    family=FAMILY,
    severity="high",
    stage=1,
    permissions=perms(
        "wafv2:ListWebACLs", "wafv2:GetWebACL", "wafv2:GetIPSet", "wafv2:GetRuleGroup"
    ),
    fix_order=45,
    remediation="""
        Create an IPv6 IP set (`aws wafv2 create-ip-set --ip-address-version IPV6`) with the
        IPv6 prefixes of the same clients and reference it in the same rule (an OrStatement of
        the IPv4 and IPv6 sets). A block list without IPv6 lets the same attacker in over IPv6;
        an allow list without it locks IPv6 users out.
    """,
    references=[REF_WAF],
    scope="region+account",
)
async def waf_ipset_parity(
    ctx: CheckContext, inv: Inventory, scope: Scope
) -> AsyncIterator[Finding]:
    """Each web ACL rule (regional ACLs in every region, CloudFront ACLs once per account, and
    the rules of the customer rule groups they reference) that matches an IPv4 IP set also
    matches an IPv6 IP set."""
    waf_scope = "CLOUDFRONT" if scope.is_global else "REGIONAL"
    async for finding in _web_acl_findings(ctx, inv, scope, waf_scope):
        yield finding


# --- S3 bucket policies ------------------------------------------------------------------------


def _bucket_region(location: dict | None) -> str:
    constraint = (location or {}).get("LocationConstraint") or "us-east-1"
    return "eu-west-1" if constraint == "EU" else constraint


@check(
    id="aws.s3.policy_sourceip",
    title="Bucket policies with aws:SourceIp list IPv6 ranges too",
    family=FAMILY,
    severity="medium",
    stage=1,
    permissions=perms("s3:ListAllMyBuckets", "s3:GetBucketLocation", "s3:GetBucketPolicy"),
    fix_order=45,
    remediation="""
        Add the IPv6 prefixes of the same networks next to every IPv4 range in `aws:SourceIp`
        (::/0 next to 0.0.0.0/0). Clients that reach S3 over its dual-stack endpoints come
        from IPv6 addresses: an IPv4-only condition either locks them out or lets them past a
        deny.
    """,
    references=[REF_S3],
    scope="account",
)
async def s3_policy_sourceip(
    ctx: CheckContext, inv: Inventory, scope: Scope
) -> AsyncIterator[Finding]:
    """Bucket policy statements (buckets in the scanned regions) whose `aws:SourceIp`
    condition lists IPv4 ranges also list IPv6 ranges."""
    for bucket in await inv.list(scope, "s3", "list_buckets"):
        name = bucket["Name"]
        arn = f"arn:aws:s3:::{name}"
        try:
            region = bucket.get("BucketRegion") or _bucket_region(
                await inv.get(scope, "s3", "get_bucket_location", Bucket=name)
            )
            res = resource(scope, arn, "s3-bucket", name, region=region)
            if region not in inv.regions:
                continue
            answer = await inv.get(
                scope,
                "s3",
                "get_bucket_policy",
                Bucket=name,
                missing_ok=("NoSuchBucketPolicy",),
            )
        except AwsError as exc:
            yield scope_error(ctx, exc, scope, on=resource(scope, arn, "s3-bucket", name))
            continue
        if not answer or not answer.get("Policy"):
            continue
        try:
            policy = json.loads(answer["Policy"])
        except (TypeError, ValueError) as exc:
            yield failed(
                f"Bucket {name}: its policy is not valid JSON ({exc}); cannot check aws:SourceIp",
                resource=res,
                evidence={"error": "invalid policy JSON"},
            )
            continue
        result = source_ip_parity(policy if isinstance(policy, dict) else {})
        if not result.conditions:
            continue
        gaps = result.gaps
        evidence: dict[str, Any] = {
            "conditions": result.conditions,
            "gaps": [g.to_dict() for g in gaps],
        }
        if result.twins:
            evidence["ipv6_twins"] = result.twins
        if gaps:
            gap = gaps[0]
            split = f" and statement {gap.split_with}" if gap.split_with else ""
            mapped = (
                f" (IPv4-mapped {', '.join(gap.ipv4_mapped)} is IPv4, not IPv6)"
                if gap.ipv4_mapped
                else ""
            )
            yield failed(
                f"Bucket {name}: statement {gap.statement}{split} ({gap.effect}, "
                f"{gap.operator}) limits aws:SourceIp to IPv4 {', '.join(gap.ipv4)}{mapped}: "
                f"{gap.consequence}; {gap.expected}{_more(gaps)}",
                resource=res,
                evidence=evidence,
            )
        else:
            yield passed(
                f"Bucket {name}: every aws:SourceIp condition lists IPv6 ranges too",
                resource=res,
                evidence=evidence,
            )
