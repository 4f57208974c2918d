"""Checks of the edge family: dual-stack load balancers and target groups, CloudFront IPv6,
and AAAA records next to every A record."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from auditor.aws.errors import AwsError
from auditor.aws.helpers import (
    by_key,
    ipv6_cidrs,
    perms,
    resource,
)
from auditor.aws.inventory import GLOBAL, Inventory, Scope
from auditor.aws.scoped import scope_error
from auditor.context import CheckContext
from auditor.model import Finding, Severity, failed, passed
from auditor.registry import check

FAMILY = "edge"
DUALSTACK_TYPES = ("dualstack", "dualstack-without-public-ipv4")

REF_ELB = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-ip-address-type.html"
REF_TG = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-ip-address-type.html"
REF_CF = "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/distribution-web-values-specify.html#DownloadDistValueEnableIPv6"
REF_R53 = (
    "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-to-elb-load-balancer.html"
)


@check(
    id="aws.elb.dualstack",
    title="Load balancers are dual-stack",
    family=FAMILY,
    severity="high",
    stage=2,
    permissions=perms("elasticloadbalancing:DescribeLoadBalancers", "ec2:DescribeSubnets"),
    fix_order=60,
    remediation="""
        `aws elbv2 set-ip-address-type --load-balancer-arn ARN --ip-address-type dualstack`
        (or dualstack-without-public-ipv4 for an ALB that needs no public IPv4); every subnet
        of the load balancer needs an IPv6 CIDR first. Classic Load Balancers cannot serve
        IPv6 in a VPC: migrate them to an ALB or NLB.
    """,
    references=[REF_ELB],
    scope="region",
)
async def elb_dualstack(ctx: CheckContext, inv: Inventory, scope: Scope) -> AsyncIterator[Finding]:
    """Application and Network Load Balancers have `IpAddressType` `dualstack` or
    `dualstack-without-public-ipv4`; Classic Load Balancers fail (no IPv6 in a VPC)."""
    lbs = [
        lb
        for lb in await inv.list(scope, "elbv2", "describe_load_balancers")
        if lb.get("Type") in ("application", "network")
    ]
    classic = await inv.list(scope, "elb", "describe_load_balancers")
    if not lbs and not classic:
        return
    subnets = by_key(await inv.list(scope, "ec2", "describe_subnets"), "SubnetId")
    for lb in lbs:
        ip_type = lb.get("IpAddressType", "ipv4")
        ids = [z["SubnetId"] for z in lb.get("AvailabilityZones") or [] if z.get("SubnetId")]
        without = [s for s in ids if not ipv6_cidrs(subnets.get(s, {}))]
        name = lb.get("LoadBalancerName", "")
        res = resource(scope, lb["LoadBalancerArn"], "load-balancer", name)
        evidence: dict[str, Any] = {
            "type": lb.get("Type"),
            "scheme": lb.get("Scheme"),
            "IpAddressType": ip_type,
            "dns_name": lb.get("DNSName"),
            "subnets": ids,
            "subnets_without_ipv6": without,
        }
        if ip_type in DUALSTACK_TYPES:
            yield passed(f"Load balancer {name} is {ip_type}", resource=res, evidence=evidence)
            continue
        evidence["expected"] = "IpAddressType dualstack"
        first = f"give subnet(s) {', '.join(without)} IPv6 CIDRs, then " if without else ""
        yield failed(
            f"Load balancer {name} ({lb.get('Type')}, {lb.get('Scheme')}) is {ip_type}: "
            f"IPv6 clients cannot reach it; {first}set its IP address type to dualstack",
            resource=res,
            evidence=evidence,
        )
    for lb in classic:
        name = lb.get("LoadBalancerName", "")
        res = resource(scope, name, "classic-load-balancer", name)
        yield failed(
            f"Classic Load Balancer {name} serves IPv4 only in a VPC: migrate it to a "
            "dual-stack ALB or NLB",
            resource=res,
            evidence={
                "scheme": lb.get("Scheme"),
                "dns_name": lb.get("DNSName"),
                "subnets": lb.get("Subnets") or [],
                "expected": "an ALB/NLB with IpAddressType dualstack",
            },
        )


@check(
    id="aws.elb.target_ipv6",
    title="Target groups can reach IPv6 targets",
    family=FAMILY,
    severity="medium",
    stage=3,
    permissions=perms("elasticloadbalancing:DescribeTargetGroups", "ec2:DescribeSubnets"),
    fix_order=70,
    remediation="""
        Create a target group with `--ip-address-type ipv6` (a dual-stack load balancer is
        required), register the targets by their IPv6 addresses (or instances with a primary
        IPv6 address) and move the listener rules to it. An ipv4 target group cannot reach
        targets on IPv6-only subnets.
    """,
    references=[REF_TG],
    scope="region",
)
async def elb_target_ipv6(
    ctx: CheckContext, inv: Inventory, scope: Scope
) -> AsyncIterator[Finding]:
    """Instance and IP target groups have `IpAddressType: ipv6`; an ipv4 target group in a VPC
    that already has IPv6-only subnets is a high-severity failure (its targets there cannot be
    registered)."""
    groups = [
        tg
        for tg in await inv.list(scope, "elbv2", "describe_target_groups")
        if tg.get("TargetType", "instance") in ("instance", "ip")
    ]
    if not groups:
        return
    subnets = await inv.list(scope, "ec2", "describe_subnets")
    v6_only: dict[str, list[str]] = {}
    for s in subnets:
        if s.get("Ipv6Native"):
            v6_only.setdefault(s.get("VpcId", ""), []).append(s["SubnetId"])
    for tg in groups:
        ip_type = tg.get("IpAddressType", "ipv4")
        name = tg.get("TargetGroupName", "")
        res = resource(scope, tg["TargetGroupArn"], "target-group", name)
        vpc_v6_only = v6_only.get(tg.get("VpcId", ""), [])
        evidence: dict[str, Any] = {
            "target_type": tg.get("TargetType"),
            "IpAddressType": ip_type,
            "vpc_id": tg.get("VpcId"),
            "load_balancers": tg.get("LoadBalancerArns") or [],
            "ipv6_only_subnets_in_vpc": vpc_v6_only,
        }
        if ip_type == "ipv6":
            yield passed(
                f"Target group {name} reaches IPv6 targets", resource=res, evidence=evidence
            )
            continue
        evidence["expected"] = "a target group with IpAddressType ipv6"
        if vpc_v6_only:
            yield failed(
                f"Target group {name} ({tg.get('TargetType')}, {ip_type}) cannot reach targets "
                f"on the IPv6-only subnets of {tg.get('VpcId')} ({', '.join(vpc_v6_only)}): "
                "create an ipv6 target group for them",
                resource=res,
                evidence=evidence,
                severity=Severity.HIGH,
            )
        else:
            yield failed(
                f"Target group {name} ({tg.get('TargetType')}, {ip_type}) cannot reach "
                "IPv6-only targets: create an ipv6 target group before moving its targets "
                "to IPv6-only subnets",
                resource=res,
                evidence=evidence,
            )


@check(
    id="aws.cloudfront.ipv6",
    title="CloudFront distributions have IPv6 enabled",
    family=FAMILY,
    severity="medium",
    stage=2,
    permissions=perms("cloudfront:ListDistributions"),
    fix_order=70,
    remediation="""
        Set `IsIPV6Enabled: true` in the distribution config (`aws cloudfront
        update-distribution`), then publish AAAA alias records for its alternate domain names.
    """,
    references=[REF_CF],
    scope="account",
)
async def cloudfront_ipv6(
    ctx: CheckContext, inv: Inventory, scope: Scope
) -> AsyncIterator[Finding]:
    """Every distribution has `IsIPV6Enabled`."""
    for dist in await inv.list(scope, "cloudfront", "list_distributions"):
        aliases = (dist.get("Aliases") or {}).get("Items") or []
        res = resource(scope, dist.get("ARN") or dist["Id"], "cloudfront-distribution", dist["Id"])
        evidence = {
            "domain_name": dist.get("DomainName"),
            "aliases": aliases,
            "IsIPV6Enabled": bool(dist.get("IsIPV6Enabled")),
        }
        names = ", ".join(aliases) or dist.get("DomainName", "")
        if dist.get("IsIPV6Enabled"):
            yield passed(
                f"Distribution {dist['Id']} ({names}) serves IPv6",
                resource=res,
                evidence=evidence,
            )
        else:
            yield failed(
                f"Distribution {dist['Id']} ({names}) has IPv6 disabled: set IsIPV6Enabled "
                "and add AAAA alias records",
                resource=res,
                evidence=evidence,
            )


def _decode_name(name: str) -> str:
    """Route 53 escapes `*` as \\052 (and other octets as \\ooo)."""
    out = []
    i = 0
    while i < len(name):
        if name[i] == "\\" and i + 3 < len(name) + 0 and name[i + 1 : i + 4].isdigit():
            out.append(chr(int(name[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(name[i])
            i += 1
    return "".join(out)


def _alias_note(dns_name: str) -> str:
    dns = dns_name.lower().rstrip(".")
    if "s3-website" in dns:
        return "S3 website endpoints serve IPv4 only: put CloudFront (with IPv6) in front"
    if dns.endswith("cloudfront.net"):
        return "the distribution must have IPv6 enabled (aws.cloudfront.ipv6)"
    if dns.endswith("elb.amazonaws.com"):
        return "the load balancer must be dualstack (aws.elb.dualstack)"
    return ""


async def _zone_findings(
    ctx: CheckContext, inv: Inventory, scope: Scope, zone: dict
) -> list[Finding]:
    """The findings of one hosted zone: an A record without AAAA fails."""
    zid = zone["Id"].rsplit("/", 1)[-1]
    private = bool((zone.get("Config") or {}).get("PrivateZone"))
    try:
        records = await inv.list(scope, "route53", "list_resource_record_sets", HostedZoneId=zid)
    except AwsError as exc:
        on = resource(scope, zid, "route53-zone", zone.get("Name", ""), region=GLOBAL)
        return [scope_error(ctx, exc, scope, on=on)]
    aaaa_names = {_decode_name(r["Name"]) for r in records if r.get("Type") == "AAAA"}
    aaaa_sets = {
        (_decode_name(r["Name"]), r.get("SetIdentifier"))
        for r in records
        if r.get("Type") == "AAAA"
    }
    out: list[Finding] = []
    for record in records:
        if record.get("Type") != "A":
            continue
        name = _decode_name(record["Name"])
        set_id = record.get("SetIdentifier")
        rid = f"{zid}/{name}" + (f"#{set_id}" if set_id else "")
        res = resource(scope, rid, "route53-record", name, region=GLOBAL)
        alias = record.get("AliasTarget")
        values = [v.get("Value") for v in record.get("ResourceRecords") or []]
        evidence: dict[str, Any] = {
            "zone": zone.get("Name"),
            "zone_id": zid,
            "private_zone": private,
            "record": {"name": name, "type": "A"},
        }
        if set_id:
            evidence["record"]["set_identifier"] = set_id
        if alias:
            evidence["record"]["alias_target"] = alias.get("DNSName")
        else:
            evidence["record"]["values"] = values
        has = (name, set_id) in aaaa_sets if set_id else name in aaaa_names
        if has:
            out.append(passed(f"{name} has an AAAA record", resource=res, evidence=evidence))
            continue
        if alias:
            target = alias.get("DNSName", "")
            expected = f"AAAA {name} alias to {target}"
            note = _alias_note(target)
            if note:
                evidence["note"] = note
        else:
            expected = f"AAAA {name} with the IPv6 addresses of {', '.join(values)}"
        evidence["expected"] = expected + (f" (set identifier {set_id})" if set_id else "")
        members = sorted(str(s) for n, s in aaaa_sets if n == name and s) if set_id else []
        if members:
            policy = _routing_policy(record)
            evidence["members_with_aaaa"] = members
            message = (
                f"{policy} record set {name}: member {set_id} has an A record"
                f"{' (alias)' if alias else ''} but no AAAA in zone {zone.get('Name')}: IPv6-only "
                f"clients get only {', '.join(members)}, so {set_id}'s share never reaches them; "
                f"add {expected} with set identifier {set_id}"
            )
        else:
            message = (
                f"{name} has an A record{' (alias)' if alias else ''} but no AAAA in zone "
                f"{zone.get('Name')}: IPv6-only clients cannot resolve it; add {expected}"
            )
        out.append(failed(message, resource=res, evidence=evidence))
    return out


_POLICIES = (
    ("Weight", "weighted"),
    ("Region", "latency"),
    ("Failover", "failover"),
    ("GeoLocation", "geolocation"),
    ("GeoProximityLocation", "geoproximity"),
    ("MultiValueAnswer", "multivalue answer"),
    ("CidrRoutingConfig", "IP-based"),
)


def _routing_policy(record: dict) -> str:
    return next((name for key, name in _POLICIES if key in record), "routed")


@check(
    id="aws.route53.aaaa",
    title="Every A record has a matching AAAA record",
    family=FAMILY,
    severity="high",
    stage=2,
    permissions=perms("route53:ListHostedZones", "route53:ListResourceRecordSets"),
    fix_order=80,
    remediation="""
        Publish an AAAA record next to each A record: for an alias A, an alias AAAA to the
        same target (the target must serve IPv6: a dual-stack load balancer, a CloudFront
        distribution with IPv6); for a plain A, the IPv6 addresses of the same hosts. Use the
        same routing policy and set identifier.
    """,
    references=[REF_R53],
    scope="account",
)
async def route53_aaaa(ctx: CheckContext, inv: Inventory, scope: Scope) -> AsyncIterator[Finding]:
    """In every hosted zone, each A record (alias or not; per set identifier for routing
    policies) has an AAAA record of the same name."""
    zones = await inv.list(scope, "route53", "list_hosted_zones")
    results = await asyncio.gather(*(_zone_findings(ctx, inv, scope, z) for z in zones))
    for findings in results:
        for finding in findings:
            yield finding
