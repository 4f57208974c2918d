"""Checks of the traffic family: the IPv4 dependencies nobody listed, found in Route 53
Resolver query logs, VPC Flow Logs and this host's sockets, then probed like configured ones."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from auditor.aws.errors import AwsError
from auditor.aws.helpers import perms
from auditor.aws.scoped import inventory
from auditor.config import Dependency
from auditor.context import CheckContext
from auditor.model import Finding, Status, Target, errored, failed, info, passed, skipped, warned
from auditor.registry import check
from auditor.traffic import coverage as cov
from auditor.traffic.analysis import Destination, a_only_verdicts
from auditor.traffic.collect import TrafficResult, collect
from auditor.traffic.sources import Window
from checks.dependencies import probe_targets

TRAFFIC_KEY = ("traffic", "result")
PREFLIGHT_KEY = ("traffic", "preflight")
PERMISSIONS = perms("ec2:DescribeVpcs", "logs:FilterLogEvents", "s3:GetObject", "s3:ListBucket")
MAX_FINDINGS = 1000  # destinations reported one by one; the rest are counted in one finding
MAX_LOOKUPS = 200  # names asked by A-only sources whose AAAA is looked up
REFERENCES = [
    "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resolver-query-logs.html",
    "https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html",
]
PORT_KINDS = {443: "https", 80: "http"}


async def _own_cidrs(ctx: CheckContext, notes: list[str]) -> list[str]:
    """scope.cidrs plus, when AWS answers, the IPv4 CIDRs of scope.vpc_ids."""
    scope = ctx.config.traffic.scope
    cidrs = [c for c in scope.cidrs if ":" not in c]
    if not scope.vpc_ids:
        return cidrs
    wanted = set(scope.vpc_ids)
    found: set[str] = set()
    try:
        inv = inventory(ctx)
        for aws_scope in await inv.scopes():
            for vpc in await inv.list(aws_scope, "ec2", "describe_vpcs"):
                if vpc.get("VpcId") not in wanted:
                    continue
                found.add(vpc["VpcId"])
                for assoc in vpc.get("CidrBlockAssociationSet") or []:
                    state = (assoc.get("CidrBlockState") or {}).get("State", "associated")
                    if assoc.get("CidrBlock") and state == "associated":
                        cidrs.append(assoc["CidrBlock"])
    except AwsError as exc:
        notes.append(f"the CIDRs of scope.vpc_ids were not read ({exc}); own space: scope.cidrs")
        return cidrs
    missing = sorted(wanted - found)
    if missing:
        notes.append(f"scope.vpc_ids not found in the audited accounts: {', '.join(missing)}")
    return sorted(set(cidrs))


async def _clients(ctx: CheckContext) -> tuple[dict[tuple[str, str | None], Any], str | None]:
    """The AWS clients the configured sources need, made before reading starts."""
    traffic = ctx.config.traffic
    needed = {
        ("s3" if s.kind == "s3" else "logs", s.region)
        for s in (*traffic.resolver_query_logs, *traffic.flow_logs)
        if s.kind != "path"
    }
    if not needed:
        return {}, None
    clients = {}
    try:
        inv = inventory(ctx)
        for service, region in sorted(needed, key=lambda x: (x[0], x[1] or "")):
            clients[(service, region)] = await inv.reader_client(service, region)
    except AwsError as exc:
        return {}, str(exc)
    return clients, None


async def traffic_result(ctx: CheckContext) -> TrafficResult:
    """Read every source once per run; all three checks share the result."""

    async def build() -> TrafficResult:
        traffic = ctx.config.traffic
        end = ctx.now().timestamp()
        window = Window(end - traffic.since_seconds, end)
        notes: list[str] = []
        own = await _own_cidrs(ctx, notes)
        clients, aws_error = await _clients(ctx)

        def factory(service: str, region: str | None) -> Any:
            if aws_error:
                from auditor.traffic.sources import ObjectError

                raise ObjectError(cov.UNREADABLE, f"no AWS access: {aws_error}")
            return clients[(service, region)]

        result = await asyncio.to_thread(collect, traffic, window, own, factory)
        result.notes.extend(notes)
        return result

    return await ctx.cache.get(TRAFFIC_KEY, build)


def _not_configured() -> Finding:
    return skipped(
        "No traffic sources configured (traffic.resolver_query_logs, traffic.flow_logs or "
        "traffic.host_sockets)"
    )


async def _run_preflight(ctx: CheckContext) -> Finding | None:
    from auditor.registry import REGISTRY
    from auditor.runner import PREFLIGHT_ID, run_check

    check = REGISTRY.get(PREFLIGHT_ID)
    if check is None:
        return None
    return (await run_check(check, ctx.state, ctx.config.check_timeout))[0]


async def _probe_ready(ctx: CheckContext) -> str | None:
    """None when discovered destinations can be probed, else why not."""
    if not ctx.config.traffic.probe:
        return "not probed (traffic.probe is false)"
    preflight = ctx.preflight or await ctx.cache.get(PREFLIGHT_KEY, lambda: _run_preflight(ctx))
    if preflight is None:
        return "not probed: net.preflight is not loaded"
    if preflight.status is not Status.PASS:
        return f"not probed: the auditor itself has no working IPv6 ({preflight.message})"
    return None


def _main_port(dest: Destination) -> int | None:
    ports = sorted(p for p in dest.ports if p > 0)
    for port in (443, 80):
        if port in ports:
            return port
    return ports[0] if ports else None


def as_dependency(dest: Destination) -> Dependency | None:
    """The probe a destination gets: HTTPS or HTTP on 443/80, else a TCP connect on its
    lowest port; None when it was reached only over UDP or ICMP (a TCP probe proves nothing)."""
    port = _main_port(dest)
    if port is None or 6 not in dest.protocols:
        return None
    host = dest.key
    source = f"{dest.provenance.get('object')}:{dest.provenance.get('line')}"
    name = f"traffic:{host}"
    kind = PORT_KINDS.get(port)
    if kind:
        return Dependency(name, (kind,), url=f"{kind}://{host}/", source=source)
    return Dependency(name, ("tcp",), address=f"{host}:{port}", source=source)


def _figures(dest: Destination, window_text: str) -> str:
    ports = ", ".join(str(p) for p in sorted(dest.ports)[:5]) or "none"
    return (
        f"{dest.key} was reached over IPv4 {dest.flows} time{'s' if dest.flows != 1 else ''} "
        f"{window_text} "
        f"(ports {ports}; {len(dest.sources)} source{'s' if len(dest.sources) != 1 else ''})"
    )


def _evidence(dest: Destination) -> dict[str, Any]:
    return {
        "destination": dest.key,
        "observed": dest.observed(),
        "addresses": sorted(dest.addresses),
        "named": dest.named,
        "protocols": sorted(dest.protocols),
        "provenance": dest.provenance,
    }


@check(
    id="traffic.coverage",
    title="What the traffic logs cover: window, objects, records and what was skipped",
    family="traffic",
    severity="medium",
    stage=None,
    mandatory=False,
    permissions=PERMISSIONS,
    remediation="""
        Every configured source must be readable: grant the audit identity
        logs:FilterLogEvents on the log groups and s3:ListBucket and s3:GetObject on the log
        buckets (`v6audit iam-policy`), and fix the paths. Corrupt or truncated objects and
        records outside the window or scope are counted, never used.
    """,
    references=REFERENCES,
)
async def traffic_coverage(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Reads each configured source once for the window `traffic.since` ending now (query logs
    first, then flow logs, then this host's sockets) and reports what was read: the window,
    objects and records per source, and what was skipped by reason. A source that cannot be
    read at all is an `error`; objects cut short, corrupt or denied make it a warning."""
    if not ctx.config.traffic.enabled:
        yield _not_configured()
        return
    result = await traffic_result(ctx)
    evidence = result.coverage()
    failures = result.failed
    totals = evidence
    summary = (
        f"{totals['records']} records in {totals['objects']} objects from "
        f"{len(result.sources)} source{'s' if len(result.sources) != 1 else ''} "
        f"({result.window.iso()['start']} to {result.window.iso()['end']})"
    )
    if failures:
        yield errored(
            "Traffic not fully read: "
            + "; ".join(str(s.error) for s in failures)
            + f"; read {summary}",
            evidence=evidence,
        )
        return
    troubled = [p for s in result.sources for p in s.problems]
    if troubled:
        count = sum(s.problem_count for s in result.sources)
        yield warned(
            f"Read {summary}, but {count} object{'s' if count != 1 else ''} could not be read "
            f"whole: {troubled[0]}" + (f" (and {count - 1} more)" if count > 1 else ""),
            evidence=evidence,
        )
        return
    skipped_text = ", ".join(f"{n} {r}" for r, n in evidence["skipped"].items())
    if skipped_text:
        summary += f"; records not used: {skipped_text}"
    yield passed(f"Read {summary}", evidence=evidence)


@check(
    id="traffic.ipv4_dependency",
    title="Each IPv4 destination the workload used, by name, with its IPv6 class",
    family="traffic",
    severity="high",
    stage=3,
    permissions=PERMISSIONS,
    fix_order=65,
    remediation="""
        Each destination here was reached over IPv4 outside the workload's own address space
        and was listed nowhere. Add it to `dependencies` (or ask its owner for IPv6).
        `native`: it already answers over IPv6; `nat64`: it works from IPv6-only subnets only
        through DNS64/NAT64; `unreachable`/`broken`: an IPv6-only cut-over breaks it. A
        destination known only by its IPv4 address is called by address: replace the literal
        with a name that has an AAAA record.
    """,
    references=REFERENCES,
)
async def traffic_ipv4_dependency(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Every IPv4 destination outside the workload's own space (scope.cidrs and the VPCs'
    CIDRs; AWS link-local addresses and the VPC resolver excluded) that the workload
    connected to in the window, named through the query-log answer given for its address
    shortly before the flow (CNAME chains lead back to the queried name), else by address.
    With `traffic.probe` each is then classified exactly like a configured dependency."""
    traffic = ctx.config.traffic
    if not traffic.enabled:
        yield _not_configured()
        return
    result = await traffic_result(ctx)
    ranked = result.table.ranked()
    window_text = f"since {result.window.iso()['start']}"
    if not ranked:
        if result.failed and len(result.failed) == len(result.sources):
            yield errored(
                "No traffic could be read, so no IPv4 dependency can be ruled out: "
                + "; ".join(str(s.error) for s in result.failed),
                evidence={"error": "unreadable"},
            )
        else:
            used = sum(s.used for s in result.sources)
            yield passed(
                f"No IPv4 destination outside the workload's own space {window_text} "
                f"({used} records in scope)",
                evidence={"coverage": cov.totals(result.sources)},
            )
        return
    shown = ranked[:MAX_FINDINGS]
    why_not = await _probe_ready(ctx)
    probes: dict[str, Dependency] = {}
    for dest in shown:
        dep = as_dependency(dest) if why_not is None else None
        if dep is not None:
            probes[dep.name] = dep
            continue
        reason = (
            why_not or "not probed: reached only over UDP or ICMP, which a TCP probe cannot prove"
        )
        finding = (errored if why_not and traffic.probe else info)(
            f"{_figures(dest, window_text)}; {reason}",
            target=Target(host=dest.key, port=_main_port(dest)),
            evidence={**_evidence(dest), "class": None, "probed": False, "reason": reason},
        )
        yield finding
    by_name = {f"traffic:{d.key}": d for d in shown}
    found = probe_targets(ctx, list(probes.values()), "discovered destinations")
    async for finding in found if probes else _nothing():
        dest = by_name[finding.evidence["dependency"]]
        finding.evidence.update(_evidence(dest))
        finding.evidence["probed"] = True
        finding.target = Target(host=dest.key, port=_main_port(dest))
        finding.message = f"{_figures(dest, window_text)}: {finding.message}"
        yield finding
    if len(ranked) > MAX_FINDINGS:
        rest = ranked[MAX_FINDINGS:]
        yield info(
            f"{len(rest)} more IPv4 destinations with fewer flows are not reported one by one",
            evidence={"destinations": len(ranked), "not_shown": [d.key for d in rest[:100]]},
        )


async def _nothing() -> AsyncIterator[Finding]:
    return
    yield


async def _aaaa_of(ctx: CheckContext, names: list[str]) -> dict[str, bool]:
    """Whether each name has an AAAA record, asked of the run's resolver."""
    from auditor.net.service import net_service

    net = net_service(ctx)
    out: dict[str, bool] = {}

    async def one(name: str) -> Any:
        return await net.lookup(name)

    async for name, lookup in ctx.map(one, names[:MAX_LOOKUPS]):
        if not isinstance(lookup, BaseException):
            out[name] = bool(lookup.aaaa.records)
    return out


@check(
    id="traffic.a_only_clients",
    title="Sources that ask only A, never AAAA: an IPv4-only resolver or runtime setting",
    family="traffic",
    severity="medium",
    stage=3,
    permissions=PERMISSIONS,
    fix_order=66,
    remediation="""
        The source asked the resolver only for A records, never AAAA, for names that have
        AAAA: its resolver library or runtime is set to IPv4 only (Java's
        `java.net.preferIPv4Stack=true`, `AI_ADDRCONFIG` on a host without an IPv6 address,
        `single-request`/`inet4` options, an IPv4-only service mesh or proxy setting). On an
        IPv6-only subnet it will fail to resolve what it needs: remove the setting and give
        the host IPv6.
    """,
    references=REFERENCES,
)
async def traffic_a_only_clients(ctx: CheckContext) -> AsyncIterator[Finding]:
    """From the Resolver query logs: every source (instance, else address) that asked A
    questions and never an AAAA one in the window. It fails when some of its names have AAAA
    (seen answered in the logs, or looked up now when `traffic.probe` can); else it is
    reported as information."""
    traffic = ctx.config.traffic
    if not traffic.resolver_query_logs:
        yield skipped("No Resolver query logs configured (traffic.resolver_query_logs)")
        return
    result = await traffic_result(ctx)
    queries = [s for s in result.sources if s.kind == "resolver_query_logs"]
    if all(s.error for s in queries):
        yield errored(
            "The Resolver query logs could not be read: "
            + "; ".join(str(s.error) for s in queries),
            evidence={"error": "unreadable"},
        )
        return
    stats = result.stats
    only_a = stats.a_only_sources()
    lookups: dict[str, bool] = {}
    if only_a and await _probe_ready(ctx) is None:
        unknown = sorted({n for names in only_a.values() for n in names} - stats.names_aaaa)
        lookups = await _aaaa_of(ctx, unknown)
    verdicts = a_only_verdicts(stats, lookups)
    if not verdicts:
        asked = len(stats.asked_a) + len(stats.asked_aaaa)
        yield passed(
            f"Every source that asked for A records asked for AAAA too ({asked} sources)",
            evidence={"sources": asked, "a_only_names": stats.a_only_names()[:100]},
        )
        return
    for verdict in verdicts:
        source, names, with_aaaa = verdict["source"], verdict["names"], verdict["names_with_aaaa"]
        evidence = {
            "source": source,
            "names": names[:100],
            "names_asked": len(names),
            "names_with_aaaa": with_aaaa[:100],
            "looked_up": sorted(n for n in lookups if n in names)[:100],
        }
        target = Target(host=source)
        if with_aaaa:
            yield failed(
                f"{source} asked only A, never AAAA, for {len(names)} names, "
                f"{len(with_aaaa)} of which have AAAA (e.g. {with_aaaa[0]}): its resolver or "
                "runtime is set to IPv4 only",
                target=target,
                evidence=evidence,
            )
        else:
            yield info(
                f"{source} asked only A, never AAAA, for {len(names)} names; none of them is "
                "known to have AAAA, so this may be the names, not the source",
                target=target,
                evidence=evidence,
            )
