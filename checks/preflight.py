"""Preflight: prove the auditor itself has IPv6 before any network verdict."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import dns.asyncquery
import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

from auditor.context import CheckContext
from auditor.model import Finding, Target, errored, passed
from auditor.net.routes import RESOLV_CONF, ipv6_route, is_ipv6, system_nameservers
from auditor.registry import check

PROBE_NAME = "ipv4only.arpa."


async def _ask(address: str, timeout: float) -> dict:
    query = dns.message.make_query(PROBE_NAME, dns.rdatatype.AAAA)
    start = time.perf_counter()
    try:
        answer = await dns.asyncquery.udp(query, address, timeout=timeout)
    except (dns.exception.Timeout, TimeoutError):
        return {"address": address, "answered": False, "error": f"no answer within {timeout:g} s"}
    except OSError as exc:
        return {"address": address, "answered": False, "error": exc.strerror or str(exc)}
    rcode = dns.rcode.to_text(answer.rcode())
    return {
        "address": address,
        "answered": answer.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN),
        "rcode": rcode,
        "rtt_ms": round((time.perf_counter() - start) * 1000, 2),
    }


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
    references=["https://www.rfc-editor.org/rfc/rfc7050"],
)
async def preflight(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Checks the kernel's IPv6 route (a UDP connect sends nothing) and asks each IPv6 resolver
    for `ipv4only.arpa` AAAA. Network checks run only when this passes."""
    route = await asyncio.to_thread(ipv6_route)
    configured = list(ctx.config.nameservers)
    system = [] if configured else system_nameservers()
    candidates = configured or system
    v6 = [a for a in candidates if is_ipv6(a)]
    resolvers = []
    if route.ok and v6:
        resolvers = await asyncio.gather(*(_ask(a, ctx.config.timeout) for a in v6))
    evidence = {
        "route": {
            "destination": route.destination,
            "ok": route.ok,
            "source": route.source,
            "error": route.error,
        },
        "nameservers_from": "config" if configured else str(RESOLV_CONF),
        "nameservers": candidates,
        "resolvers": resolvers,
    }
    target = Target(address=route.source or "")
    if not route.ok:
        yield errored(
            f"The auditor has no IPv6 route ({route.error}); network checks were not run",
            target=target,
            evidence=evidence,
        )
    elif not v6:
        shown = ", ".join(candidates) or "none"
        yield errored(
            f"No IPv6 resolver to ask (nameservers: {shown}); set resolver.nameservers "
            "to an IPv6 resolver such as fd00:ec2::253",
            target=target,
            evidence=evidence,
        )
    elif not any(r["answered"] for r in resolvers):
        detail = "; ".join(f"{r['address']}: {r.get('error') or r.get('rcode')}" for r in resolvers)
        yield errored(f"No resolver answers over IPv6 ({detail})", target=target, evidence=evidence)
    else:
        good = [r["address"] for r in resolvers if r["answered"]]
        yield passed(
            f"IPv6 route from {route.source}; resolver {good[0]} answers over IPv6",
            target=target,
            evidence=evidence,
        )
