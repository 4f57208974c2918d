"""Checks of the compute family: Lambda in dual-stack VPCs, IMDS over IPv6, IPv6 prefixes for
container hosts, and the public IPv4 addresses the account pays for."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from auditor.aws.helpers import (
    PUBLIC_IPV4_HOURLY_USD,
    by_key,
    capped,
    ipv6_cidrs,
    monthly_usd,
    perms,
    resource,
    tag,
)
from auditor.aws.inventory import Inventory, Scope
from auditor.context import CheckContext
from auditor.model import Finding, failed, passed
from auditor.registry import check

FAMILY = "compute"

REF_LAMBDA = (
    "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-ipv6"
)
REF_IMDS = (
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-IMDS-existing-instances.html"
)
REF_PREFIX = "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-prefix-eni.html"
REF_PREFIX_BLOG = "https://dev.to/aws-builders/first-class-container-networking-with-ec2-ip-prefix-assignments-m7m"
REF_PRICING = "https://aws.amazon.com/vpc/pricing/"

PUBLIC_KINDS = ("eip-associated", "eip-idle", "eni-public-ip", "nat-gateway", "load-balancer")


@check(
    id="aws.lambda.dualstack",
    title="VPC Lambda functions allow IPv6 and use subnets with IPv6",
    family=FAMILY,
    severity="medium",
    stage=2,
    permissions=perms("lambda:ListFunctions", "ec2:DescribeSubnets"),
    fix_order=60,
    remediation="""
        `aws lambda update-function-configuration --function-name FN --vpc-config
        Ipv6AllowedForDualStack=true,SubnetIds=...,SecurityGroupIds=...`, with only subnets
        that have an IPv6 CIDR. Without it the function's outbound IPv6 is dropped.
    """,
    references=[REF_LAMBDA],
    scope="region",
)
async def lambda_dualstack(
    ctx: CheckContext, inv: Inventory, scope: Scope
) -> AsyncIterator[Finding]:
    """Functions attached to a VPC set `Ipv6AllowedForDualStack` and list only subnets that
    have an IPv6 CIDR."""
    functions = [
        f
        for f in await inv.list(scope, "lambda", "list_functions")
        if (f.get("VpcConfig") or {}).get("SubnetIds")
    ]
    if not functions:
        return
    subnets = by_key(await inv.list(scope, "ec2", "describe_subnets"), "SubnetId")
    for fn in functions:
        vpc = fn["VpcConfig"]
        ids = list(vpc.get("SubnetIds") or [])
        allowed = bool(vpc.get("Ipv6AllowedForDualStack"))
        without = [s for s in ids if not ipv6_cidrs(subnets.get(s, {}))]
        unknown = [s for s in ids if s not in subnets]
        evidence: dict[str, Any] = {
            "vpc_id": vpc.get("VpcId"),
            "Ipv6AllowedForDualStack": allowed,
            "subnets": ids,
            "subnets_without_ipv6": without,
        }
        if unknown:
            evidence["subnets_not_found"] = unknown
        res = resource(scope, fn["FunctionArn"], "lambda-function", fn.get("FunctionName", ""))
        name = fn.get("FunctionName")
        if allowed and not without:
            yield passed(
                f"Function {name} is dual-stack in {len(ids)} IPv6 subnet(s)",
                resource=res,
                evidence=evidence,
            )
            continue
        problems = []
        if not allowed:
            problems.append("Ipv6AllowedForDualStack is off")
        if without:
            problems.append(f"subnet(s) {', '.join(without)} have no IPv6 CIDR")
        evidence["expected"] = "Ipv6AllowedForDualStack = true, only subnets with IPv6"
        yield failed(
            f"Function {name}: {' and '.join(problems)}: its outbound IPv6 is dropped; "
            + (
                "enable Ipv6AllowedForDualStack"
                if not without
                else "give those subnets IPv6 (or use others), then enable Ipv6AllowedForDualStack"
                if not allowed
                else "give those subnets IPv6 or use subnets that have it"
            ),
            resource=res,
            evidence=evidence,
        )


def _imds_ipv6(options: dict | None) -> tuple[bool, bool]:
    """(IMDS endpoint on, IMDS answers over IPv6). Absent options are AWS's defaults."""
    options = options or {}
    endpoint_on = options.get("HttpEndpoint", "enabled") != "disabled"
    return endpoint_on, options.get("HttpProtocolIpv6", "disabled") == "enabled"


@check(
    id="aws.ec2.imds_ipv6",
    title="Instances and launch templates serve IMDS over IPv6",
    family=FAMILY,
    severity="medium",
    stage=2,
    permissions=perms("ec2:DescribeInstances", "ec2:DescribeLaunchTemplateVersions"),
    fix_order=60,
    remediation="""
        `aws ec2 modify-instance-metadata-options --instance-id I --http-protocol-ipv6 enabled`
        for running instances, and `MetadataOptions.HttpProtocolIpv6=enabled` in a new
        default version of each launch template. On an IPv6-only subnet the instance metadata
        (credentials included) is reachable only at [fd00:ec2::254].
    """,
    references=[REF_IMDS],
    scope="region",
)
async def ec2_imds_ipv6(ctx: CheckContext, inv: Inventory, scope: Scope) -> AsyncIterator[Finding]:
    """Running instances, and the default and latest version of every launch template, have
    `HttpProtocolIpv6: enabled` (where IMDS is on at all)."""
    reservations = await inv.list(scope, "ec2", "describe_instances")
    for reservation in reservations:
        for inst in reservation.get("Instances") or []:
            if (inst.get("State") or {}).get("Name") in ("terminated", "shutting-down"):
                continue
            options = inst.get("MetadataOptions") or {}
            on, v6 = _imds_ipv6(options)
            if not on:
                continue
            iid = inst["InstanceId"]
            res = resource(scope, iid, "ec2-instance", tag(inst))
            evidence = {
                "HttpProtocolIpv6": options.get("HttpProtocolIpv6", "disabled"),
                "HttpTokens": options.get("HttpTokens"),
                "instance_type": inst.get("InstanceType"),
                "subnet_id": inst.get("SubnetId"),
            }
            if v6:
                yield passed(
                    f"Instance {iid} serves IMDS over IPv6", resource=res, evidence=evidence
                )
            else:
                yield failed(
                    f"Instance {iid} ({inst.get('InstanceType')}) serves IMDS over IPv4 only: "
                    "on an IPv6-only subnet it cannot read its credentials; set "
                    "HttpProtocolIpv6 enabled",
                    resource=res,
                    evidence=evidence,
                )
    versions = await inv.list(
        scope, "ec2", "describe_launch_template_versions", Versions=["$Default", "$Latest"]
    )
    templates: dict[str, list[dict]] = {}
    for version in versions:
        templates.setdefault(version["LaunchTemplateId"], []).append(version)
    for lt_id, items in templates.items():
        latest = max(v.get("VersionNumber", 0) for v in items)
        seen: dict[int, dict] = {}
        for v in items:
            seen.setdefault(v.get("VersionNumber", 0), v)
        checked = []
        for number, v in sorted(seen.items()):
            on, v6 = _imds_ipv6((v.get("LaunchTemplateData") or {}).get("MetadataOptions"))
            if not on:
                continue
            checked.append(
                {
                    "version": number,
                    "default": bool(v.get("DefaultVersion")),
                    "latest": number == latest,
                    "HttpProtocolIpv6": "enabled" if v6 else "disabled",
                }
            )
        if not checked:
            continue
        name = items[0].get("LaunchTemplateName", "")
        res = resource(scope, lt_id, "launch-template", name)
        bad = [c for c in checked if c["HttpProtocolIpv6"] != "enabled"]
        evidence = {"versions": checked}
        if bad:
            which = ", ".join(
                f"v{c['version']} ({'default' if c['default'] else 'latest'})" for c in bad
            )
            yield failed(
                f"Launch template {lt_id} ({name}) {which} launches instances without IMDS "
                "over IPv6: add MetadataOptions.HttpProtocolIpv6=enabled in a new default "
                "version",
                resource=res,
                evidence=evidence,
            )
        else:
            yield passed(
                f"Launch template {lt_id} ({name}) enables IMDS over IPv6",
                resource=res,
                evidence=evidence,
            )


@check(
    id="aws.ec2.eni_prefix",
    title="Container hosts with an IPv4 /28 prefix also have an IPv6 /80 prefix",
    family=FAMILY,
    severity="medium",
    stage=3,
    permissions=perms("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"),
    fix_order=70,
    remediation="""
        `aws ec2 assign-ipv6-addresses --network-interface-id ENI --ipv6-prefix-count 1` (a
        /80 from the subnet's /64; the subnet needs IPv6 first), then give containers
        addresses from it (e.g. a docker ipvlan network with `--ipv6 --ip-range` on the /80).
    """,
    references=[REF_PREFIX, REF_PREFIX_BLOG],
    scope="region",
)
async def ec2_eni_prefix(ctx: CheckContext, inv: Inventory, scope: Scope) -> AsyncIterator[Finding]:
    """Network interfaces with IPv4 prefix delegation (/28) also have an IPv6 prefix (/80), so
    their containers can get IPv6 addresses."""
    enis = [
        e
        for e in await inv.list(scope, "ec2", "describe_network_interfaces")
        if e.get("Ipv4Prefixes")
    ]
    if not enis:
        return
    subnets = by_key(await inv.list(scope, "ec2", "describe_subnets"), "SubnetId")
    for eni in enis:
        v4 = [p.get("Ipv4Prefix") for p in eni.get("Ipv4Prefixes") or []]
        v6 = [p.get("Ipv6Prefix") for p in eni.get("Ipv6Prefixes") or []]
        subnet = subnets.get(eni.get("SubnetId", ""), {})
        subnet_v6 = ipv6_cidrs(subnet)
        eid = eni["NetworkInterfaceId"]
        instance = (eni.get("Attachment") or {}).get("InstanceId")
        evidence: dict[str, Any] = {
            "instance_id": instance,
            "subnet_id": eni.get("SubnetId"),
            "subnet_ipv6": subnet_v6,
            "ipv4_prefixes": v4,
            "ipv6_prefixes": v6,
        }
        res = resource(scope, eid, "network-interface", tag(eni))
        host = f"ENI {eid}" + (f" of {instance}" if instance else "")
        if v6:
            yield passed(
                f"{host} has IPv6 prefix {', '.join(map(str, v6))} next to IPv4 "
                f"{', '.join(map(str, v4))}",
                resource=res,
                evidence=evidence,
            )
        elif subnet_v6:
            evidence["expected"] = f"an IPv6 /80 prefix from {subnet_v6[0]}"
            yield failed(
                f"{host} delegates IPv4 {', '.join(map(str, v4))} to containers but no IPv6 "
                f"prefix: assign a /80 from {subnet_v6[0]} (--ipv6-prefix-count 1)",
                resource=res,
                evidence=evidence,
            )
        else:
            evidence["expected"] = "an IPv6 /64 on the subnet, then an IPv6 /80 prefix"
            yield failed(
                f"{host} delegates IPv4 {', '.join(map(str, v4))} to containers but no IPv6 "
                f"prefix, and its subnet {eni.get('SubnetId')} has no IPv6 to take one from",
                resource=res,
                evidence=evidence,
            )


def _lb_key_from_arn(arn: str) -> str:
    """arn:…:loadbalancer/app/NAME/ID → app/NAME/ID (what ELB ENI descriptions name)."""
    return arn.split(":loadbalancer/", 1)[-1]


def count_public_ipv4(
    addresses: list[dict],
    enis: list[dict],
    nats: list[dict],
    lbs: list[dict],
    classic: list[dict],
) -> tuple[Counter, list[dict], list[dict]]:
    """Every public IPv4 of one region, each counted once: (by kind, addresses, estimates)."""
    counts: Counter = Counter()
    found: list[dict] = []
    estimates: list[dict] = []
    seen: set[str] = set()
    nat_enis: dict[str, str] = {}
    live_nats = [n for n in nats if n.get("State", "available") in ("pending", "available")]
    for nat in live_nats:
        for addr in nat.get("NatGatewayAddresses") or []:
            if addr.get("NetworkInterfaceId"):
                nat_enis[addr["NetworkInterfaceId"]] = nat["NatGatewayId"]
    for eni in enis:
        if eni.get("InterfaceType") == "nat_gateway":
            nat_enis.setdefault(eni["NetworkInterfaceId"], eni.get("Description", "nat gateway"))
    lb_enis: dict[str, str] = {}
    for eni in enis:
        desc = str(eni.get("Description") or "")
        if desc.startswith("ELB "):
            lb_enis[eni["NetworkInterfaceId"]] = desc[4:]

    def add(ip: str, kind: str, on: str) -> None:
        if ip in seen:
            return
        seen.add(ip)
        counts[kind] += 1
        found.append({"ip": ip, "kind": kind, "resource": on})

    for addr in addresses:
        ip = addr.get("PublicIp")
        if not ip:
            continue
        eni_id = addr.get("NetworkInterfaceId") or ""
        if not (addr.get("AssociationId") or addr.get("InstanceId") or eni_id):
            add(ip, "eip-idle", addr.get("AllocationId", ip))
        elif eni_id in nat_enis:
            add(ip, "nat-gateway", nat_enis[eni_id])
        elif eni_id in lb_enis:
            add(ip, "load-balancer", lb_enis[eni_id])
        else:
            add(ip, "eip-associated", addr.get("InstanceId") or eni_id or addr.get("AllocationId"))
    for eni in enis:
        eid = eni["NetworkInterfaceId"]
        ips = [(eni.get("Association") or {}).get("PublicIp")]
        ips += [
            (p.get("Association") or {}).get("PublicIp")
            for p in eni.get("PrivateIpAddresses") or []
        ]
        for ip in filter(None, ips):
            if eid in nat_enis:
                add(ip, "nat-gateway", nat_enis[eid])
            elif eid in lb_enis:
                add(ip, "load-balancer", lb_enis[eid])
            else:
                owner = (eni.get("Attachment") or {}).get("InstanceId") or eid
                add(ip, "eni-public-ip", owner)
    for nat in live_nats:
        for addr in nat.get("NatGatewayAddresses") or []:
            if addr.get("PublicIp"):
                add(addr["PublicIp"], "nat-gateway", nat["NatGatewayId"])
    visible = set(lb_enis.values())
    for lb in lbs:
        key = _lb_key_from_arn(lb.get("LoadBalancerArn", ""))
        if (
            lb.get("Scheme") != "internet-facing"
            or lb.get("Type") not in ("application", "network")
            or lb.get("IpAddressType") == "dualstack-without-public-ipv4"
            or key in visible
        ):
            continue
        nodes = len(lb.get("AvailabilityZones") or [])
        if nodes:
            counts["load-balancer"] += nodes
            estimates.append(
                {"resource": lb.get("LoadBalancerArn"), "count": nodes, "basis": "one per zone"}
            )
    for lb in classic:
        name = lb.get("LoadBalancerName", "")
        if lb.get("Scheme", "internet-facing") != "internet-facing" or name in visible:
            continue
        nodes = len(lb.get("Subnets") or lb.get("AvailabilityZones") or [])
        if nodes:
            counts["load-balancer"] += nodes
            estimates.append({"resource": name, "count": nodes, "basis": "one per zone"})
    return counts, found, estimates


@check(
    id="aws.eip.public_ipv4",
    title="Public IPv4 addresses counted and priced",
    family=FAMILY,
    severity="low",
    stage=4,
    permissions=perms(
        "ec2:DescribeAddresses",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeNatGateways",
        "elasticloadbalancing:DescribeLoadBalancers",
    ),
    fix_order=90,
    remediation="""
        Release idle Elastic IPs first (`aws ec2 release-address --allocation-id ALLOC`): they
        cost money and serve nothing. Then remove public IPv4 where IPv6 does the job: turn
        off auto-assigned public IPs, move load balancers to dualstack-without-public-ipv4,
        replace NAT gateways for IPv6 traffic with an egress-only internet gateway. Every
        public IPv4 costs $0.005 an hour (about $3.65 a month).
    """,
    references=[REF_PRICING],
    scope="region",
)
async def eip_public_ipv4(
    ctx: CheckContext, inv: Inventory, scope: Scope
) -> AsyncIterator[Finding]:
    """Counts every public IPv4 address of each account and region, once, by kind: Elastic IPs
    associated and idle, public IPs on network interfaces, NAT gateways and load balancers
    (one per zone where their interfaces are not visible), priced at $0.005 per hour each."""
    addresses = await inv.list(scope, "ec2", "describe_addresses")
    enis = await inv.list(scope, "ec2", "describe_network_interfaces")
    nats = await inv.list(scope, "ec2", "describe_nat_gateways")
    lbs = await inv.list(scope, "elbv2", "describe_load_balancers")
    classic = await inv.list(scope, "elb", "describe_load_balancers")
    counts, found, estimates = count_public_ipv4(addresses, enis, nats, lbs, classic)
    by_kind = {k: counts[k] for k in PUBLIC_KINDS if counts.get(k)}
    total = sum(by_kind.values())
    idle = [f for f in found if f["kind"] == "eip-idle"]
    evidence: dict[str, Any] = {
        "public_ipv4": by_kind,
        "count": total,
        "hourly_usd_each": PUBLIC_IPV4_HOURLY_USD,
        "monthly_usd": monthly_usd(total),
        "idle_eips": [{"allocation_id": f["resource"], "ip": f["ip"]} for f in idle],
        "addresses": capped(found, 200),
        "estimated": estimates,
    }
    res = scope.resource()
    if not total:
        yield passed(f"No public IPv4 addresses in {scope.where}", resource=res, evidence=evidence)
        return
    breakdown = ", ".join(f"{n} {k}" for k, n in by_kind.items())
    message = (
        f"{total} public IPv4 address(es) in {scope.where} cost "
        f"${monthly_usd(total):.2f} a month ({breakdown})"
    )
    if idle:
        message += (
            f"; {len(idle)} idle Elastic IP(s) are pure waste "
            f"(${monthly_usd(len(idle)):.2f} a month): release them"
        )
    yield failed(message, resource=res, evidence=evidence)
