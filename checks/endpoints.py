"""Checks of the endpoints family: AWS API dual-stack endpoints and IMDS over IPv6."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

from auditor.context import CheckContext
from auditor.model import Finding, Resource, Target, errored, failed, passed, skipped
from auditor.net import classify as cls
from auditor.net.aws import NO_DUALSTACK, DualStackEndpoint, dualstack_endpoint
from auditor.net.dual import DUAL_STACK, Ipv4Side
from auditor.net.findings import target_finding
from auditor.net.imds import IMDS_ADDRESS, IMDS_ADDRESS_V4, IMDS_PORT, ImdsResult, probe_imds
from auditor.net.service import ProbeSpec, SpecResult, nat64_info, net_service
from auditor.registry import check

AWS_DUALSTACK = "https://docs.aws.amazon.com/sdkref/latest/guide/feature-endpoints.html"
AWS_IPV6_SERVICES = "https://docs.aws.amazon.com/vpc/latest/userguide/aws-ipv6-support.html"
AWS_IMDS = "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html"
AWS_IMDS_OPTIONS = (
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-IMDS-existing-instances.html"
)


@check(
    id="aws.endpoint",
    title="Each AWS API the workload calls has a dual-stack endpoint answering over IPv6",
    family="endpoints",
    severity="medium",
    stage=2,
    network=True,
    fix_order=70,
    remediation="""
        Point the SDKs at the dual-stack endpoints (AWS_USE_DUALSTACK_ENDPOINT=true or
        use_dualstack_endpoint = true in the AWS config file). For a service without one, keep
        NAT64 for it, or use an interface VPC endpoint with IpAddressType dualstack.
    """,
    references=[AWS_DUALSTACK, AWS_IPV6_SERVICES],
)
async def aws_endpoint(ctx: CheckContext) -> AsyncIterator[Finding]:
    """For each service in `aws.services` and each region in `aws.regions`, evaluates
    botocore's endpoint rules with UseDualStack (the endpoint an SDK configured for dual-stack
    calls), then probes it like an `https` dependency: AAAA, TLS verified for the name, any
    HTTP answer."""
    services = ctx.config.aws.services
    regions = ctx.config.aws.regions
    if not services or not regions:
        yield skipped("No AWS services or regions configured (aws.services, aws.regions)")
        return
    net = net_service(ctx)
    nat = await nat64_info(ctx)
    pairs = [(s, r) for s in services for r in regions]

    async def derive(pair: tuple[str, str]) -> DualStackEndpoint:
        return await asyncio.to_thread(dualstack_endpoint, *pair)

    endpoints: list[DualStackEndpoint] = []
    async for (service, region), ep in ctx.map(derive, pairs):
        resource = Resource(id=service, kind="aws-service", name=service, region=region)
        if isinstance(ep, BaseException):
            yield errored(
                f"{service} in {region}: botocore could not derive its endpoint: {ep}",
                resource=resource,
            )
        elif ep.error_kind == NO_DUALSTACK:
            yield failed(
                f"{service} has no dual-stack endpoint in {region} ({ep.error}): IPv6-only "
                "clients reach it only through NAT64",
                resource=resource,
                evidence={
                    "service": service,
                    "region": region,
                    "dualstack": False,
                    "error": ep.error,
                },
            )
        elif ep.error:
            yield errored(
                f"{service} in {region}: {ep.error}",
                resource=resource,
                evidence={
                    "service": service,
                    "region": region,
                    "error": ep.error,
                    "error_kind": ep.error_kind,
                },
            )
        else:
            endpoints.append(ep)

    async def prove(ep: DualStackEndpoint) -> SpecResult:
        assert ep.host is not None and ep.url is not None
        return await net.prove(ProbeSpec("https", ep.host, ep.port, ep.url), nat)

    async for ep, result in ctx.map(prove, endpoints):
        resource = Resource(id=ep.service, kind="aws-service", name=ep.service, region=ep.region)
        target = Target(host=ep.host or "", port=ep.port, url=ep.url or "")
        if isinstance(result, BaseException):
            yield errored(f"{ep.url}: the probe failed: {result}", resource=resource, target=target)
            continue
        finding = target_finding(
            [result],
            nat,
            subject=f"The {ep.service} dual-stack endpoint in {ep.region} ({ep.url})",
            target=target,
            extra={
                "service": ep.service,
                "region": ep.region,
                "endpoint": ep.url,
                "dualstack": True,
            },
        )
        finding.resource = resource
        yield finding


@check(
    id="imds.ipv6",
    title="The instance metadata service answers over IPv6 (IMDSv2 at [fd00:ec2::254])",
    family="endpoints",
    severity="low",
    stage=2,
    network=True,
    fix_order=80,
    remediation="""
        Turn on the IPv6 endpoint of the instance metadata service (HttpProtocolIpv6=enabled,
        e.g. `aws ec2 modify-instance-metadata-options --http-protocol-ipv6 enabled`, or in the
        launch template), on a Nitro instance in a subnet with IPv6, and require IMDSv2. In
        containers, set the PUT response hop limit to 2.
    """,
    references=[AWS_IMDS, AWS_IMDS_OPTIONS],
)
async def imds_ipv6(ctx: CheckContext) -> AsyncIterator[Finding]:
    """IMDSv2 over IPv6: a PUT for a session token, then a GET of the instance id with it.
    With `imds: auto` it runs only on EC2 (DMI vendor or hypervisor UUID says so)."""
    mode = ctx.config.imds
    if mode is False:
        yield skipped("IMDS probe turned off (imds: false)")
        return
    net = net_service(ctx)
    on_ec2, why = net.ec2()
    if mode == "auto" and not on_ec2:
        yield skipped(f"Not on EC2 ({why}); set imds: true to probe anyway")
        return
    address = net.imds_address or IMDS_ADDRESS
    result = await ctx.bounded(probe_imds(net.prober, address))
    side = None
    if net.vantage == DUAL_STACK:
        address4 = net.imds_address_v4 or IMDS_ADDRESS_V4
        side = imds_ipv4_side(
            await ctx.bounded(probe_imds(net.prober, address4, socket.AF_INET)), address4
        )
    target = Target(
        url=f"http://[{IMDS_ADDRESS}]/latest/meta-data/", address=IMDS_ADDRESS, port=IMDS_PORT
    )
    timings: dict[str, float] = {}
    for step in (result.token, result.metadata):
        if step is not None:
            for key, value in step.timings_ms.items():
                timings[f"{step.kind.removeprefix('imds-')}_{key}"] = round(value, 2)
    klass = imds_class(result, side)
    evidence = {
        "class": klass,
        "address": address,
        "on_ec2": on_ec2,
        "ec2_evidence": why,
        "token": result.token.evidence(),
        "metadata": result.metadata.evidence() if result.metadata else None,
        "timings_ms": timings,
        "status_code": (result.metadata or result.token).status_code,
        "error": result.problem or None,
        "ipv4": side.evidence() if side is not None else None,
    }
    v4_works = side is not None and side.outcome == cls.V4_OK
    if v4_works:
        evidence["masked"] = klass == cls.BROKEN
    if klass == cls.NATIVE:
        yield passed(
            f"IMDSv2 answers over IPv6 at [{IMDS_ADDRESS}]: token issued, instance id read",
            target=target,
            evidence=evidence,
        )
    elif klass == cls.DOWN:
        assert side is not None
        v = cls.verdict(cls.DOWN)
        yield Finding(
            v.status,
            f"The instance metadata service fails over IPv4 ({IMDS_ADDRESS_V4}: "
            f"{side.reason}) as over IPv6 ([{IMDS_ADDRESS}]: {result.problem}), so this is not "
            "an IPv6 finding: IMDS may be turned off here (HttpEndpoint disabled)",
            target=target,
            evidence=evidence,
            blocking=v.blocking,
        )
    elif klass == cls.UNREACHABLE:
        also = (
            f", while IMDS answers over IPv4 at {IMDS_ADDRESS_V4}: its IPv6 endpoint is off"
            if v4_works
            else ""
        )
        yield failed(
            f"The instance metadata service does not answer over IPv6 at [{IMDS_ADDRESS}] "
            f"({result.problem}){also}: enable its IPv6 endpoint (HttpProtocolIpv6)",
            target=target,
            evidence=evidence,
        )
    else:
        over4 = f" while IMDSv2 works over IPv4 at {IMDS_ADDRESS_V4}" if v4_works else ""
        yield failed(
            f"The instance metadata service answers at [{IMDS_ADDRESS}] but IMDSv2 fails: "
            f"{result.problem}{over4}",
            target=target,
            evidence=evidence,
            stage=cls.verdict(klass).stage,
        )


def imds_ipv4_side(four: ImdsResult, address: str) -> Ipv4Side:
    """The IPv4 IMDS probe as the IPv4 side of the comparison."""
    if four.ok:
        outcome = cls.V4_OK
    elif four.answered:
        outcome = cls.V4_ANSWERED
    else:
        outcome = cls.V4_FAILED
    return Ipv4Side("ipv4", outcome, four.attempts, (address,), reason=four.problem or None)


def imds_class(result: ImdsResult, side: Ipv4Side | None) -> str:
    """The class by the comparison every network check uses. IMDS has no NAT64 path, so
    "works over IPv4 only" is its IPv6 endpoint being off (`unreachable`), never half a pass."""
    v6 = cls.NATIVE if result.ok else cls.BROKEN if result.answered else cls.UNREACHABLE
    klass = cls.compare_families(
        v6, v6_answered=result.answered, v4=side.outcome if side is not None else None
    )
    return cls.UNREACHABLE if klass == cls.IPV4_ONLY else klass
