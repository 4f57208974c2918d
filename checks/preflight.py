"""Preflight: prove the auditor itself has IPv6 before any network verdict, and find where it
stands (the vantage): `ipv6-only` or `dual-stack`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from auditor.context import CheckContext
from auditor.model import Finding, Target, errored, passed
from auditor.net.addresses import is_real_ipv6
from auditor.net.dns import NOERROR, NXDOMAIN
from auditor.net.dual import DUAL_STACK
from auditor.net.nat64 import IPV4ONLY_ARPA
from auditor.net.service import net_service
from auditor.registry import check


@check(
    id="net.preflight",
    title="The auditor has an IPv6 route and a resolver answering; its vantage",
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
    """Checks the kernel's IPv6 route (a UDP connect sends nothing) and its IPv4 default route:
    both make a `dual-stack` vantage, the IPv6 one alone `ipv6-only`. Then asks each resolver
    for `ipv4only.arpa` AAAA. On an IPv6-only vantage only IPv6 resolvers count (IPv4 ones in
    resolv.conf are named in the evidence); a dual-stack vantage uses the system resolver as
    it is, whichever family reaches it (the evidence records which). Network checks run only
    when this passes."""
    net = net_service(ctx)
    route, ipv4_route = await net.find_vantage()
    vantage = net.vantage
    servers = net.nameservers
    resolvers = []
    if route.ok and servers:
        answers = await asyncio.gather(
            *(net.resolver.ask(s, IPV4ONLY_ARPA, "AAAA") for s in servers)
        )
        resolvers = [
            {
                "address": a.server,
                "family": "ipv6" if is_real_ipv6(a.server or "") else "ipv4",
                "answered": a.rcode in (NOERROR, NXDOMAIN),
                "rcode": a.rcode,
                "rtt_ms": round(a.rtt_ms, 2),
                "error": a.error,
            }
            for a in answers
        ]
    evidence = {
        "vantage": vantage,
        "ipv4_default_route": ipv4_route,
        "route": {
            "destination": route.destination,
            "ok": route.ok,
            "source": route.source,
            "error": route.error,
        },
        "nameservers_from": net.nameservers_from,
        "nameservers": servers,
        "ignored_ipv4_nameservers": net.ignored_nameservers,
        "resolver_family": None,
        "resolvers": resolvers,
    }
    target = Target(address=route.source or "")
    if not route.ok:
        yield errored(
            f"The auditor has no IPv6 route ({route.error}); network checks were not run",
            target=target,
            evidence=evidence,
        )
    elif not servers and vantage == DUAL_STACK:
        yield errored(
            f"No resolver to ask (none in {net.nameservers_from}); set resolver.nameservers",
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
        over = "" if vantage == DUAL_STACK else " over IPv6"
        yield errored(f"No resolver answers{over} ({detail})", target=target, evidence=evidence)
    else:
        good = next(r for r in resolvers if r["answered"])
        evidence["resolver_family"] = good["family"]
        over = "IPv6" if good["family"] == "ipv6" else "IPv4"
        if vantage == DUAL_STACK:
            message = (
                f"Dual-stack vantage: IPv6 route from {route.source} and an IPv4 route; resolver "
                f"{good['address']} answers over {over}; every target is probed over IPv6 and "
                "IPv4, separately, and compared"
            )
        else:
            message = (
                f"IPv6-only vantage: IPv6 route from {route.source}, no IPv4 route; resolver "
                f"{good['address']} answers over IPv6"
            )
        yield passed(message, target=target, evidence=evidence)
