"""Checks of the dns family: NAT64/DNS64 presence, own names' AAAA records, their reachability
over IPv6, and the IPv6 reachability of their zones' name servers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from auditor.context import CheckContext
from auditor.model import (
    Finding,
    Severity,
    Target,
    errored,
    failed,
    info,
    passed,
    skipped,
    warned,
)
from auditor.net import classify as cls
from auditor.net.addresses import is_real_ipv6
from auditor.net.dns import NOERROR, DnsAnswer, HostLookup
from auditor.net.dual import DUAL_STACK, Ipv4Side, prove_ipv4
from auditor.net.findings import REMEDIATION, dns_failure
from auditor.net.nat64 import IPV4ONLY_ARPA, Nat64Info, embedded_ipv4
from auditor.net.ownnames import refine
from auditor.net.probe import Attempt
from auditor.net.service import NetService, ProbeSpec, nat64_info, net_service
from auditor.registry import check

RFC6052 = "https://www.rfc-editor.org/rfc/rfc6052"
RFC6147 = "https://www.rfc-editor.org/rfc/rfc6147"
RFC7050 = "https://www.rfc-editor.org/rfc/rfc7050"
RFC8880 = "https://www.rfc-editor.org/rfc/rfc8880"
RFC3901 = "https://www.rfc-editor.org/rfc/rfc3901"
RFC8305 = "https://www.rfc-editor.org/rfc/rfc8305"
AWS_DNS64 = "https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-nat64-dns64.html"
AWS_R53_AAAA = (
    "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-to-elb-load-balancer.html"
)

PORT_KINDS = {443: "https", 8443: "https", 80: "http", 8080: "http"}


def _dns_evidence(lookup: HostLookup, nat64: Nat64Info, split: cls.AddressSplit) -> dict:
    return {
        "nat64_prefix": nat64.prefix,
        **lookup.evidence(),
        "synthesized": list(split.synthesized),
        **({"ipv4_mapped": list(split.mapped)} if split.mapped else {}),
        "timings_ms": {"dns": round(lookup.elapsed_ms, 2)},
        "ipv4": None,  # name checks ask DNS; the IPv4 side is not probed here
    }


def _dns_error_finding(name: str, answer: DnsAnswer, evidence: dict, target: Target) -> Finding:
    v = cls.verdict(cls.DNS_ERROR, answer.rcode)
    return Finding(
        v.status,
        f"{name} does not resolve: {dns_failure(answer)}",
        target=target,
        evidence={"class": cls.DNS_ERROR, **evidence, "error": dns_failure(answer)},
        remediation=REMEDIATION[cls.DNS_ERROR],
    )


# --------------------------------------------------------------------------- dns.nat64


@check(
    id="dns.nat64",
    title="DNS64/NAT64 is present and its prefix is known",
    family="dns",
    severity="medium",
    stage=3,
    network=True,
    fix_order=20,
    remediation="""
        IPv6-only subnets reach IPv4-only services through DNS64 (the resolver synthesizes AAAA
        records under a NAT64 prefix) and NAT64 (a translator for that prefix). In a VPC: turn
        on DNS64 on the IPv6-only subnets and route 64:ff9b::/96 to a NAT gateway. Elsewhere:
        a DNS64 resolver and a NAT64 translator, with the prefix set as nat64_prefix when
        ipv4only.arpa discovery (RFC 7050) is blocked.
    """,
    references=[RFC7050, RFC8880, RFC6052, RFC6147, AWS_DNS64],
)
async def dns_nat64(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Discovers the NAT64 prefix by asking for the AAAA records of `ipv4only.arpa` (RFC 7050),
    or takes `nat64_prefix` from the config. Absent DNS64 is information on a dual-stack host
    and a failure on an IPv6-only one (no IPv4 default route), which needs it."""
    net = net_service(ctx)
    nat = await nat64_info(ctx)
    ipv4 = net.has_ipv4_route()
    evidence: dict[str, Any] = {**nat.evidence(), "ipv4_default_route": ipv4}
    target = Target(host=IPV4ONLY_ARPA)
    answer = nat.answer
    prefix = nat.prefix
    if nat.source == "rfc7050":
        kind = "the well-known prefix" if evidence["well_known"] else "a network-specific prefix"
        yield passed(
            f"DNS64 synthesizes AAAA records under {prefix} ({kind}, found through "
            "ipv4only.arpa): IPv4-only services are reachable through NAT64",
            target=target,
            evidence=evidence,
        )
    elif nat.source == "config" and nat.discovered and prefix not in nat.discovered:
        yield warned(
            f"nat64_prefix is {prefix} but the resolver synthesizes under "
            f"{', '.join(nat.discovered)}: synthesized answers will be misread; "
            "fix nat64_prefix or the DNS64 configuration",
            target=target,
            evidence=evidence,
        )
    elif nat.source == "config" and nat.discovered:
        yield passed(
            f"DNS64 synthesizes under the configured NAT64 prefix {prefix}",
            target=target,
            evidence=evidence,
        )
    elif answer is not None and nat.dns_failed:
        yield errored(
            f"Could not ask for ipv4only.arpa AAAA: {dns_failure(answer)}; "
            "DNS64 presence is unknown",
            target=target,
            evidence=evidence,
        )
    elif not ipv4:
        configured = f" (nat64_prefix {prefix} is configured)" if prefix else ""
        yield failed(
            "No DNS64 on this resolver and this host has no IPv4 route: IPv4-only "
            f"dependencies get no address here{configured}; turn on DNS64 and NAT64",
            target=target,
            evidence=evidence,
        )
    else:
        yield info(
            "No DNS64 on this resolver (ipv4only.arpa has no AAAA): fine while this host has "
            "IPv4, but IPv6-only subnets will need DNS64 and NAT64 for IPv4-only dependencies",
            target=target,
            evidence=evidence,
        )


# --------------------------------------------------------------------------- dns.aaaa


@check(
    id="dns.aaaa",
    title="Each own name has a real AAAA record",
    family="dns",
    severity="medium",
    stage=2,
    network=True,
    fix_order=40,
    remediation="""
        Publish an AAAA record next to each A record (for an alias to a load balancer or
        CloudFront: an alias AAAA record to the same target, after enabling IPv6 on it). A
        record synthesized by DNS64 is not one: clients elsewhere never see it.
    """,
    references=[AWS_R53_AAAA, RFC6147],
)
async def dns_aaaa(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Asks for the AAAA (and, as evidence, the A) records of each name in `dns.names`,
    following CNAME chains. An AAAA inside the NAT64 prefix was synthesized by DNS64: it is not
    the name's own and does not count."""
    names = ctx.config.dns_names
    if not names:
        yield skipped("No own names to check: list them under dns.names")
        return
    net = net_service(ctx)
    nat = await nat64_info(ctx)
    await net.resolve_all(ctx, list(names))
    async for name, lookup in ctx.map(net.lookup, names):
        target = Target(host=name)
        if isinstance(lookup, BaseException):
            yield errored(f"{name}: DNS lookup failed: {lookup}", target=target)
            continue
        split = cls.split_addresses(lookup.aaaa.records, nat.networks)
        evidence = _dns_evidence(lookup, nat, split)
        via = f" (via {' -> '.join(lookup.aaaa.cname_chain)})" if lookup.aaaa.cname_chain else ""
        if lookup.aaaa.rcode != NOERROR:
            yield _dns_error_finding(name, lookup.aaaa, evidence, target)
        elif split.real:
            yield passed(
                f"{name} has AAAA {', '.join(split.real)}{via}",
                target=target,
                evidence={"class": cls.NATIVE, **evidence},
            )
        elif split.synthesized:
            v4 = embedded_ipv4(split.synthesized[0], nat.networks)
            yield failed(
                f"{name} has no AAAA of its own{via}: the only one, {split.synthesized[0]}, is "
                f"synthesized by DNS64 from {v4 or 'its A record'}; publish an AAAA record",
                target=target,
                evidence={"class": cls.NAT64, **evidence},
            )
        else:
            a = list(lookup.a.records) if lookup.a else []
            four = f" (A: {', '.join(a)})" if a else ""
            if split.mapped:
                four += f" (only IPv4-mapped AAAA {', '.join(split.mapped)}: IPv4 on the wire)"
            yield failed(
                f"{name} has no AAAA record{via}{four}; publish one",
                target=target,
                evidence={"class": cls.UNREACHABLE, **evidence},
            )


# --------------------------------------------------------------------------- dns.reachable


@check(
    id="dns.reachable",
    title="Each AAAA address of an own name answers on its port",
    family="dns",
    severity="high",
    stage=2,
    network=True,
    fix_order=50,
    remediation="""
        Every address in an AAAA record must serve what the A records serve. Where one does
        not: open the port for IPv6 in the security group and NACL, add an IPv6 listener (or
        make the load balancer dualstack), fix the certificate, or withdraw the AAAA record.
        Dual-stack clients hide the breakage by falling back to IPv4 (Happy Eyeballs);
        IPv6-only clients cannot.
    """,
    references=[RFC8305, AWS_R53_AAAA],
)
async def dns_reachable(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Probes every AAAA address of each own name on each port of `dns.ports` (443: TLS with
    the name as SNI and an HTTP request, any status; 80: HTTP; others: TCP connect). A name is
    `native` only when all its real addresses answer; one that does not makes it `broken`."""
    names = ctx.config.dns_names
    if not names:
        yield skipped("No own names to probe: list them under dns.names")
        return
    net = net_service(ctx)
    nat = await nat64_info(ctx)
    lookups: dict[str, HostLookup | BaseException] = {}
    await net.resolve_all(ctx, list(names))
    async for name, lookup in ctx.map(net.lookup, names):
        lookups[name] = lookup
    items: list[tuple[str, int, str]] = []
    for name in names:
        lookup = lookups[name]
        if isinstance(lookup, HostLookup) and lookup.aaaa.ok:
            split = cls.split_addresses(lookup.aaaa.records, nat.networks)
            items += [(name, port, a) for port in ctx.config.dns_ports for a in split.decisive]

    def spec(name: str, port: int) -> ProbeSpec:
        kind = PORT_KINDS.get(port, "tcp")
        scheme = "https" if kind == "https" else "http"
        return ProbeSpec(kind, name, port, f"{scheme}://{name}:{port}/" if kind != "tcp" else None)

    async def probe(item: tuple[str, int, str]) -> Attempt:
        name, port, address = item
        s = spec(name, port)
        return await net.prober.attempt(s.kind, address, url=s.url, host=name, port=port)

    attempts: dict[tuple[str, int], list[Attempt]] = defaultdict(list)
    async for (name, port, address), attempt in ctx.map(probe, items):
        if isinstance(attempt, BaseException):
            attempt = Attempt(
                PORT_KINDS.get(port, "tcp"), address, port, error=str(attempt), error_kind="error"
            )
        attempts[(name, port)].append(attempt)
    # From a dual-stack vantage: the same proof on the A records, over IPv4.
    sides: dict[tuple[str, int], Ipv4Side] = {}
    if net.vantage == DUAL_STACK:
        pairs = [
            (n, p)
            for n in names
            if isinstance(lookups[n], HostLookup) and lookups[n].aaaa.rcode == NOERROR
            for p in ctx.config.dns_ports
        ]

        async def four(pair: tuple[str, int]) -> Ipv4Side:
            lookup = lookups[pair[0]]
            assert isinstance(lookup, HostLookup)
            return await prove_ipv4(net, spec(*pair), lookup)

        async for pair, side in ctx.map(four, pairs):
            if not isinstance(side, BaseException):
                sides[pair] = side
    for name in names:
        lookup = lookups[name]
        for port in ctx.config.dns_ports:
            target = Target(host=name, port=port)
            if isinstance(lookup, BaseException):
                yield errored(f"{name}: DNS lookup failed: {lookup}", target=target)
                continue
            tried = attempts[(name, port)]
            finding = _reachable_finding(name, port, lookup, tried, nat, target)
            shown = next((a for a in tried if not a.ok), tried[0] if tried else None)
            yield refine(finding, sides.get((name, port)), shown)


def _reachable_finding(
    name: str,
    port: int,
    lookup: HostLookup,
    tried: list[Attempt],
    nat: Nat64Info,
    target: Target,
) -> Finding:
    split = cls.split_addresses(lookup.aaaa.records, nat.networks)
    evidence = _dns_evidence(lookup, nat, split)
    evidence["port"] = port
    if lookup.aaaa.rcode != NOERROR:
        return _dns_error_finding(name, lookup.aaaa, evidence, target)
    order = {a: i for i, a in enumerate(split.decisive)}
    tried = sorted(tried, key=lambda a: order.get(a.address, 0))
    bad = [a for a in tried if not a.ok]
    good = [a for a in tried if a.ok]
    shown = bad[0] if bad else (good[0] if good else None)
    if shown is not None:
        evidence["address"] = shown.address
        evidence["timings_ms"].update({k: round(v, 2) for k, v in shown.timings_ms.items()})
        evidence["status_code"] = shown.status_code
        evidence["answer"] = shown.answer if shown.ok else None
        evidence["error"] = shown.error
    evidence["attempts"] = [a.evidence() for a in tried]
    if not split.decisive:
        a = list(lookup.a.records) if lookup.a else []
        return failed(
            f"{name} has no AAAA{' (A: ' + ', '.join(a) + ')' if a else ''} and no DNS64 "
            f"translation: nothing to reach on port {port} over IPv6",
            target=target,
            evidence={"class": cls.UNREACHABLE, **evidence},
            remediation=REMEDIATION[cls.UNREACHABLE],
        )
    if split.real:
        if not bad:
            return passed(
                f"{name} answers on port {port} over IPv6 at every AAAA address "
                f"({', '.join(a.address for a in good)}): {good[0].answer}",
                target=target,
                evidence={"class": cls.NATIVE, **evidence},
            )
        failing = "; ".join(f"{a.address}: {a.error}" for a in bad)
        return failed(
            f"{name} publishes AAAA records that do not answer on port {port} ({failing}): "
            "IPv6-only clients fail where dual-stack ones fall back to IPv4",
            target=target,
            evidence={"class": cls.BROKEN, **evidence},
            severity=Severity.HIGH,
            remediation=REMEDIATION[cls.BROKEN],
        )
    if good:
        v = cls.verdict(cls.NAT64)
        return Finding(
            v.status,
            f"{name} answers on port {port} only through NAT64 ({good[0].address}): it has no "
            "AAAA of its own",
            target=target,
            evidence={"class": cls.NAT64, **evidence},
            stage=v.stage,
            blocking=v.blocking,
            remediation=REMEDIATION[cls.NAT64],
        )
    return failed(
        f"{name} has no AAAA of its own and the NAT64 path fails on port {port} "
        f"({bad[0].error if bad else 'not probed'})",
        target=target,
        evidence={"class": cls.UNREACHABLE, **evidence},
        remediation=REMEDIATION[cls.UNREACHABLE],
    )


# --------------------------------------------------------------------------- dns.nameservers


async def zone_of(net: NetService, name: str) -> tuple[str | None, DnsAnswer | None]:
    """The zone holding `name`: the closest enclosing name with an SOA record (the SOA in a
    negative answer's authority section names it directly)."""
    labels = name.rstrip(".").split(".")
    last: DnsAnswer | None = None
    for i in range(len(labels) - 1):
        candidate = ".".join(labels[i:])
        answer = await net.resolver.query(candidate, "SOA")
        last = answer
        if answer.rcode not in (NOERROR, "NXDOMAIN"):
            return None, answer
        if answer.cname_chain:
            continue  # an alias: its target's zone is not this name's zone
        if answer.ok and answer.records:
            return candidate, answer
        if answer.zone:
            return answer.zone, answer
    return None, last


@check(
    id="dns.nameservers",
    title="The authoritative name servers of the own zones answer over IPv6",
    family="dns",
    severity="medium",
    stage=2,
    network=True,
    fix_order=30,
    remediation="""
        Give every name server of the zone an AAAA record and make it answer over IPv6
        (Route 53 name servers do both). A name server with only an A record cannot be asked
        by an IPv6-only resolver; one that publishes an AAAA but does not answer on it
        slows down or breaks resolution for everyone on IPv6.
    """,
    references=[
        RFC3901,
        "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/SOA-NSrecords.html",
    ],
)
async def dns_nameservers(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Finds the zone of each name in `dns.names`, its NS records, and asks each name server
    over IPv6 for the zone's SOA with recursion off: `native` when it answers authoritatively
    at every real AAAA address, `broken` when an address does not, `unreachable` when it has
    no AAAA of its own (one synthesized by DNS64 does not help a resolver)."""
    names = ctx.config.dns_names
    if not names:
        yield skipped("No own names, so no zones to check: list them under dns.names")
        return
    net = net_service(ctx)
    nat = await nat64_info(ctx)
    zones: dict[str, str] = {}
    async for name, found in ctx.map(lambda n: zone_of(net, n), names):
        if isinstance(found, BaseException):
            yield errored(f"{name}: could not find its zone: {found}", target=Target(host=name))
            continue
        zone, answer = found
        if zone is None:
            why = dns_failure(answer) if answer is not None else "no SOA found"
            yield errored(
                f"{name}: could not find its zone ({why})",
                target=Target(host=name),
                evidence={"soa": answer.evidence() if answer else None},
            )
            continue
        zones.setdefault(zone, name)
    pairs: list[tuple[str, str]] = []
    for zone in zones:
        answer = await ctx.bounded(net.resolver.query(zone, "NS"))
        if not answer.ok or not answer.records:
            yield errored(
                f"Zone {zone}: no NS records ({dns_failure(answer) if not answer.ok else 'none'})",
                target=Target(host=zone, port=53, path=zone),
                evidence={"ns": answer.evidence()},
            )
            continue
        pairs += [(zone, ns) for ns in sorted(answer.records)]

    async def judge(pair: tuple[str, str]) -> Finding:
        return await _nameserver_finding(net, nat, *pair)

    async for pair, finding in ctx.map(judge, pairs):
        if isinstance(finding, BaseException):
            zone, ns = pair
            yield errored(f"{ns} ({zone}): {finding}", target=Target(host=ns, port=53, path=zone))
        else:
            yield finding


async def _nameserver_finding(net: NetService, nat: Nat64Info, zone: str, ns: str) -> Finding:
    target = Target(host=ns, port=53, path=zone)
    lookup = await net.lookup(ns)
    split = cls.split_addresses(lookup.aaaa.records, nat.networks)
    evidence: dict[str, Any] = {"zone": zone, "nameserver": ns, **_dns_evidence(lookup, nat, split)}
    if lookup.aaaa.rcode != NOERROR:
        return _dns_error_finding(f"Name server {ns} of {zone}", lookup.aaaa, evidence, target)
    if not split.real:
        a = list(lookup.a.records) if lookup.a else []
        what = f"only A {', '.join(a)}" if a else "no address records"
        synth = " (the AAAA seen here is synthesized by DNS64)" if split.synthesized else ""
        if split.mapped:
            synth += f" (its AAAA {', '.join(split.mapped)} is IPv4-mapped: IPv4 on the wire)"
        return failed(
            f"Name server {ns} of {zone} has no AAAA record ({what}){synth}: IPv6-only "
            "resolvers cannot ask it",
            target=target,
            evidence={"class": cls.UNREACHABLE, **evidence},
        )
    answers = [
        await net.resolver.ask(address, zone, "SOA", recursion=False) for address in split.real
    ]
    evidence["answers"] = [a.evidence() | {"authoritative": a.authoritative} for a in answers]
    bad = [a for a in answers if not (a.ok and a.authoritative and a.records)]
    if bad:
        why = "; ".join(
            f"{a.server}: " + (dns_failure(a) if not a.ok else "answer not authoritative")
            for a in bad
        )
        evidence["error"] = why
        return failed(
            f"Name server {ns} of {zone} publishes AAAA but does not answer for the zone over "
            f"IPv6 ({why})",
            target=target,
            evidence={"class": cls.BROKEN, **evidence},
            severity=Severity.HIGH,
        )
    evidence["timings_ms"]["query"] = round(max(a.rtt_ms for a in answers), 2)
    evidence["address"] = split.real[0]
    return passed(
        f"Name server {ns} of {zone} answers authoritatively over IPv6 at {', '.join(split.real)}",
        target=target,
        evidence={"class": cls.NATIVE, **evidence},
    )


# --------------------------------------------------------------------------- dns.resolver_ipv6

VPC_RESOLVER = "fd00:ec2::253"


@check(
    id="dns.resolver_ipv6",
    title="A resolver answers over IPv6 (as an IPv6-only subnet will need)",
    family="dns",
    severity="medium",
    stage=3,
    network=True,
    fix_order=15,
    remediation="""
        An IPv6-only subnet can only ask a resolver over IPv6. In a VPC, the Route 53 Resolver
        answers at fd00:ec2::253 on Nitro instances in subnets with an IPv6 CIDR; elsewhere,
        give the resolver an IPv6 address and list it (resolver.nameservers, or resolv.conf).
    """,
    references=[
        "https://docs.aws.amazon.com/vpc/latest/userguide/AmazonDNS-concepts.html",
        RFC3901,
    ],
)
async def dns_resolver_ipv6(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Asks each IPv6 resolver for `ipv4only.arpa` AAAA: the configured ones (resolver.nameservers,
    else the IPv6 entries of resolv.conf), else fd00:ec2::253 when on EC2 (decided as
    `imds: auto` decides). On a dual-stack vantage whose system resolver is IPv4 this is the
    only proof that an IPv6-only subnet will be able to resolve names."""
    net = net_service(ctx)
    candidates = [s for s in net.nameservers if is_real_ipv6(s)]
    candidates += [s for s in net.ignored_nameservers if is_real_ipv6(s) and s not in candidates]
    source = net.nameservers_from
    on_ec2, why = net.ec2()
    if not candidates and on_ec2:
        candidates, source = [VPC_RESOLVER], f"the VPC resolver (on EC2: {why})"
    target = Target(host=IPV4ONLY_ARPA, port=53)
    evidence: dict[str, Any] = {
        "vantage": net.vantage,
        "candidates": candidates,
        "from": source,
        "on_ec2": on_ec2,
        "ipv4": None,
    }
    if not candidates:
        yield warned(
            f"No IPv6 resolver is configured here ({source} lists none) and this is not EC2 "
            f"({why}): an IPv6-only subnet needs one; list it in resolver.nameservers",
            target=target,
            evidence=evidence,
        )
        return
    answers = [await ctx.bounded(net.resolver.ask(s, IPV4ONLY_ARPA, "AAAA")) for s in candidates]
    evidence["resolvers"] = [
        {**a.evidence(), "answered": a.rcode in (NOERROR, "NXDOMAIN")} for a in answers
    ]
    good = [a for a in answers if a.rcode in (NOERROR, "NXDOMAIN")]
    if good:
        yield passed(
            f"Resolver {good[0].server} answers over IPv6 ({round(good[0].rtt_ms, 1)} ms)",
            target=target,
            evidence={**evidence, "address": good[0].server},
        )
    else:
        detail = "; ".join(f"{a.server}: {dns_failure(a)}" for a in answers)
        yield failed(
            f"No IPv6 resolver answers ({detail}): an IPv6-only subnet could not resolve names",
            target=target,
            evidence=evidence,
        )
