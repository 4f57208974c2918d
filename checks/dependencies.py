"""Checks of the dependencies family: what the workload reaches out to, proven over IPv6."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from auditor.config import Dependency
from auditor.context import CheckContext
from auditor.model import Finding, Target, errored, skipped
from auditor.net.findings import target_finding
from auditor.net.service import SpecResult, nat64_info, net_service, specs_for, target_of
from auditor.registry import check

REFERENCES = [
    "https://www.rfc-editor.org/rfc/rfc6052",
    "https://www.rfc-editor.org/rfc/rfc7050",
    "https://www.rfc-editor.org/rfc/rfc8880",
    "https://www.rfc-editor.org/rfc/rfc6146",
    "https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-nat64-dns64.html",
]


def _subject(dep: Dependency) -> str:
    where = dep.url or dep.address  # the URL is redacted where the dependency is made
    return f"{dep.name} ({where})"


async def probe_targets(
    ctx: CheckContext, targets: Sequence[Dependency], what: str
) -> AsyncIterator[Finding]:
    """Resolve every host first (one DNS phase for all), then prove each target."""
    if not targets:
        yield skipped(f"No {what} configured")
        return
    net = net_service(ctx)
    nat = await nat64_info(ctx)
    specs = {dep.name: specs_for(dep) for dep in targets}
    await net.resolve_all(ctx, sorted({s.host for group in specs.values() for s in group}))

    async def prove(dep: Dependency) -> list[SpecResult]:
        return [await net.prove(spec, nat) for spec in specs[dep.name]]

    async for dep, results in ctx.map(prove, targets):
        first = specs[dep.name][0]
        target = Target(**target_of(first, dep.url if first.url else None))
        if isinstance(results, BaseException):
            yield errored(
                f"{_subject(dep)}: the probe failed: {type(results).__name__}: {results}",
                target=target,
                evidence={"dependency": dep.name, "error": str(results)},
            )
            continue
        yield target_finding(
            results,
            nat,
            subject=_subject(dep),
            target=target,
            extra={
                "dependency": dep.name,
                "kinds": list(dep.kinds),
                "category": dep.category,
                "declared_at": dep.source,
            },
        )


@check(
    id="dep.reachable",
    title="Each dependency answers over IPv6, natively or through NAT64",
    family="dependencies",
    severity="high",
    stage=3,
    network=True,
    fix_order=60,
    remediation="""
        Each dependency must answer over IPv6 at the protocol level. `nat64`: it works from
        IPv6-only subnets only through DNS64/NAT64: ask for IPv6 or use an IPv6-capable mirror
        to reach IPv6-only native. `broken`: its AAAA does not answer: fix or withdraw it.
        `unreachable`: no AAAA and no translation: add DNS64 and a NAT64 route, or replace it.
    """,
    references=REFERENCES,
)
async def dep_reachable(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Resolves each dependency's host (AAAA decides; A is evidence), then proves the kind on
    an IPv6 address: the package index's own document, a registry's `/v2/` answering 200 or
    401, git's smart-HTTP advertisement, any HTTP answer for `https`/`http`, a TCP connect or
    a verified TLS handshake for address kinds. An accepted connection closed without an
    answer proves nothing. Reachable only through NAT64 is a warning that blocks stage 4."""
    async for finding in probe_targets(ctx, ctx.config.dependencies, "dependencies"):
        yield finding


@check(
    id="log.reachable",
    title="Each log shipper intake answers over IPv6, natively or through NAT64",
    family="dependencies",
    severity="medium",
    stage=3,
    network=True,
    fix_order=60,
    remediation="""
        Logs must leave an IPv6-only host: each intake has to accept the connection over IPv6
        (TLS verified, an HTTP answer for HTTP intakes). Use the provider's IPv6 or dual-stack
        intake endpoint, or keep DNS64/NAT64 for it until one exists.
    """,
    references=REFERENCES,
)
async def log_reachable(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Same classification as `dep.reachable`, for `log_shippers`: `https-intake` needs a
    verified TLS handshake and an HTTP answer, `syslog-tls` a verified handshake, `syslog-tcp`
    an accepted connection."""
    async for finding in probe_targets(ctx, ctx.config.log_shippers, "log shippers"):
        yield finding
