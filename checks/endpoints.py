"""Checks of the endpoints family: AWS API dual-stack endpoints and IMDS over IPv6."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from auditor.context import CheckContext
from auditor.model import Finding, Resource, Target, errored, failed, passed, skipped
from auditor.net import classify as cls
from auditor.net.aws import NO_DUALSTACK, DualStackEndpoint, dualstack_endpoint
from auditor.net.findings import target_finding
from auditor.net.imds import IMDS_ADDRESS, IMDS_PORT, probe_imds
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
    target = Target(
        url=f"http://[{IMDS_ADDRESS}]/latest/meta-data/", address=IMDS_ADDRESS, port=IMDS_PORT
    )
    timings: dict[str, float] = {}
    for step in (result.token, result.metadata):
        if step is not None:
            for key, value in step.timings_ms.items():
                timings[f"{step.kind.removeprefix('imds-')}_{key}"] = round(value, 2)
    evidence = {
        "address": address,
        "on_ec2": on_ec2,
        "ec2_evidence": why,
        "token": result.token.evidence(),
        "metadata": result.metadata.evidence() if result.metadata else None,
        "timings_ms": timings,
        "status_code": (result.metadata or result.token).status_code,
        "error": result.problem or None,
    }
    if result.ok:
        yield passed(
            f"IMDSv2 answers over IPv6 at [{IMDS_ADDRESS}]: token issued, instance id read",
            target=target,
            evidence={"class": cls.NATIVE, **evidence},
        )
    elif result.token.status_code is None:
        yield failed(
            f"The instance metadata service does not answer over IPv6 at [{IMDS_ADDRESS}] "
            f"({result.problem}): enable its IPv6 endpoint (HttpProtocolIpv6)",
            target=target,
            evidence={"class": cls.UNREACHABLE, **evidence},
        )
    else:
        yield failed(
            f"The instance metadata service answers at [{IMDS_ADDRESS}] but IMDSv2 fails: "
            f"{result.problem}",
            target=target,
            evidence={"class": cls.BROKEN, **evidence},
        )
