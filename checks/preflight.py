"""Preflight: prove the auditor itself has IPv6 before any network verdict."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from auditor.context import CheckContext
from auditor.model import Finding, Target, errored, passed
from auditor.net.dns import NOERROR, NXDOMAIN
from auditor.net.nat64 import IPV4ONLY_ARPA
from auditor.net.service import net_service
from auditor.registry import check


@check(
    id="net.preflight",
    title="The auditor has an IPv6 route and a resolver answering over IPv6",
    family="preflight",
    severity="critical",
    stage=None,
    mandatory=False,
    remediation="""
        Run the auditor where it has IPv6: a subnet with an IPv6 CIDR and a ::/0 route, and a
        resolver reachable over IPv6 (in a VPC the Route 53 Resolver at fd00:ec2::253, set as
        resolver.nameservers). Until then network verdicts cannot be trusted and are not given.
    """,
    references=[
        "https://www.rfc-editor.org/rfc/rfc7050",
        "https://docs.aws.amazon.com/vpc/latest/userguide/AmazonDNS-concepts.html",
    ],
)
async def preflight(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Checks the kernel's IPv6 route (a UDP connect sends nothing) and asks each IPv6 resolver
    for `ipv4only.arpa` AAAA. IPv4 resolvers in resolv.conf are ignored (and named in the
    evidence). Network checks run only when this passes."""
    net = net_service(ctx)
    route = await net.route()
    servers = net.nameservers
    resolvers = []
    if route.ok and servers:
        answers = await asyncio.gather(
            *(net.resolver.ask(s, IPV4ONLY_ARPA, "AAAA") for s in servers)
        )
        resolvers = [
            {
                "address": a.server,
                "answered": a.rcode in (NOERROR, NXDOMAIN),
                "rcode": a.rcode,
                "rtt_ms": round(a.rtt_ms, 2),
                "error": a.error,
            }
            for a in answers
        ]
    evidence = {
        "route": {
            "destination": route.destination,
            "ok": route.ok,
            "source": route.source,
            "error": route.error,
        },
        "nameservers_from": net.nameservers_from,
        "nameservers": servers,
        "ignored_ipv4_nameservers": net.ignored_nameservers,
        "resolvers": resolvers,
    }
    target = Target(address=route.source or "")
    if not route.ok:
        yield errored(
            f"The auditor has no IPv6 route ({route.error}); network checks were not run",
            target=target,
            evidence=evidence,
        )
    elif not servers:
        ignored = ", ".join(net.ignored_nameservers)
        yield errored(
            "No IPv6 resolver to ask"
            + (f" (only IPv4 ones in {net.nameservers_from}: {ignored})" if ignored else "")
            + "; set resolver.nameservers to an IPv6 resolver such as fd00:ec2::253",
            target=target,
            evidence=evidence,
        )
    elif not any(r["answered"] for r in resolvers):
        detail = "; ".join(f"{r['address']}: {r['error'] or r['rcode']}" for r in resolvers)
        yield errored(f"No resolver answers over IPv6 ({detail})", target=target, evidence=evidence)
    else:
        good = [r["address"] for r in resolvers if r["answered"]]
        yield passed(
            f"IPv6 route from {route.source}; resolver {good[0]} answers over IPv6",
            target=target,
            evidence=evidence,
        )
