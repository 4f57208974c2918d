"""The run-wide network toolkit every network check uses (`ctx.service("net", ...)`).

It holds the resolver, the prober (one httpx client), the connector and, once discovered,
the NAT64 prefix. Host lookups are made once per run and shared by every check.

The offline demo builds one with a :class:`~auditor.demo.zone.ZoneResolver`, a
:class:`~auditor.net.connect.MappedConnector` and stand-in route checks, and presets it in
the run state under :data:`NET_SERVICE`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from auditor.config import Config, Dependency, parse_address, redact_url
from auditor.net import classify as cls
from auditor.net.addresses import is_real_ipv6, may_be_address, wire_ipv4
from auditor.net.connect import Connector
from auditor.net.dns import (
    NOERROR,
    DnsAnswer,
    DnsPythonResolver,
    HostLookup,
    Resolver,
    lookup_host,
    lookup_hosts,
)
from auditor.net.dual import (
    DUAL_STACK,
    IPV6_ONLY,
    Ipv4Side,
    compare,
    mtu_probe,
    prove_ipv4,
    prove_nat64_path,
    same_failure,
)
from auditor.net.imds import on_ec2
from auditor.net.nat64 import Nat64Info, discover, embedded_ipv4
from auditor.net.probe import Attempt, Prober, make_ssl_context
from auditor.net.proofs import ALL_KINDS, HTTP_KINDS
from auditor.net.routes import (
    RESOLV_CONF,
    RouteResult,
    ipv4_default_route,
    ipv6_route,
    is_ipv6,
    system_nameservers,
)

if TYPE_CHECKING:
    from auditor.context import CheckContext, RunState

NET_SERVICE = "net"
NAT64_KEY = ("net", "nat64")
MAX_ADDRESSES = 2  # addresses tried per proof, like a client moving on after a failure
LOOKUP_BATCH = 16  # hosts per batch in a DNS phase
# The Route 53 Resolver takes at most 1024 packets per second from one network interface and
# drops the rest; questions to it are paced below that.
RESOLVER_QPS_LIMITS = {"fd00:ec2::253": 1000.0}


@dataclass(frozen=True)
class ProbeSpec:
    """One proof to make: a kind against a host and port (and URL for HTTP kinds).

    `url` is the real URL, credentials included: it is requested, never shown."""

    kind: str
    host: str
    port: int
    url: str | None = None


def specs_for(dep: Dependency) -> list[ProbeSpec]:
    specs = []
    for kind in dep.kinds:
        if kind not in ALL_KINDS:
            raise ValueError(f"unknown dependency kind {kind!r}")
        if kind in HTTP_KINDS:
            assert dep.real_url is not None
            parts = urlsplit(dep.real_url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            specs.append(ProbeSpec(kind, (parts.hostname or "").lower(), port, dep.real_url))
        else:
            assert dep.address is not None
            parsed = parse_address(dep.address)
            assert parsed is not None
            specs.append(ProbeSpec(kind, parsed[0].lower(), parsed[1]))
    return specs


@dataclass
class SpecResult:
    spec: ProbeSpec
    lookup: HostLookup
    net_class: str
    attempts: list[Attempt] = field(default_factory=list)
    real: tuple[str, ...] = ()
    synthesized: tuple[str, ...] = ()
    mapped: tuple[str, ...] = ()  # IPv4-mapped AAAA data: IPv4 on the wire
    literal: str | None = None  # "ipv6" or "ipv4" when the host is an address
    v6_class: str = ""  # the class from the IPv6 probe alone
    ipv4: Ipv4Side | None = None  # the IPv4 side (dual-stack), or the NAT64 path to the A
    differences: list[dict[str, Any]] = field(default_factory=list)
    mtu: dict[str, Any] | None = None

    @property
    def masked(self) -> bool:
        """A broken IPv6 that dual-stack clients never notice: IPv4 works."""
        return self.net_class == cls.BROKEN and self.ipv4 is not None and self.ipv4.outcome == "ok"

    @property
    def proven(self) -> Attempt | None:
        return next((a for a in self.attempts if a.ok), None)

    @property
    def decisive(self) -> Attempt | None:
        """The attempt that speaks for this spec: the proof, else the last failure."""
        return self.proven or (self.attempts[-1] if self.attempts else None)


def literal_lookup(host: str) -> HostLookup | None:
    """A lookup result for a host that is an address already (no DNS asked)."""
    if not may_be_address(host):
        return None
    try:
        addr = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if is_real_ipv6(str(addr)):
        aaaa = DnsAnswer(str(addr), "AAAA", NOERROR, records=(str(addr),), transport="literal")
        return HostLookup(str(addr), aaaa, None, 0.0)
    # IPv4, or IPv4-mapped (::ffff:a.b.c.d): IPv4 on the wire either way.
    v4 = str(wire_ipv4(str(addr)))
    aaaa = DnsAnswer(str(addr), "AAAA", NOERROR, transport="literal")
    a = DnsAnswer(str(addr), "A", NOERROR, records=(v4,), transport="literal")
    return HostLookup(str(addr), aaaa, a, 0.0)


def select_nameservers(
    config: Config, resolv_conf: Path = RESOLV_CONF, vantage: str | None = None
) -> tuple[list[str], list[str], str]:
    """(nameservers to use, ones ignored, where they came from). IPv6 ones only, except on a
    dual-stack vantage, which uses the system resolver as it is (IPv4 ones too, in order;
    an IPv4-mapped entry is never used)."""
    if config.nameservers:
        return list(config.nameservers), [], "config"
    found = system_nameservers(resolv_conf)
    if vantage == DUAL_STACK:
        usable = [a for a in found if is_ipv6(a) or (wire_ipv4(a) is not None and ":" not in a)]
    else:
        usable = [a for a in found if is_ipv6(a)]
    return usable, [a for a in found if a not in usable], str(resolv_conf)


class NetService:
    """Resolver, prober and NAT64 knowledge for one run."""

    def __init__(
        self,
        config: Config,
        *,
        resolver: Resolver | None = None,
        connector: Connector | None = None,
        ssl_context: ssl.SSLContext | None = None,
        route: Callable[[], RouteResult] | None = None,
        ipv4_route: Callable[[], bool] | None = None,
        ec2: Callable[[], tuple[bool, str]] | None = None,
        imds_address: str | None = None,
        imds_address_v4: str | None = None,
        resolv_conf: Path = RESOLV_CONF,
    ) -> None:
        self.config = config
        self.connector = connector or Connector()
        if resolver is not None:
            self.nameservers: list[str] = list(resolver.nameservers)
            self.ignored_nameservers: list[str] = []
            self.nameservers_from = type(resolver).__name__
        else:
            self.nameservers, self.ignored_nameservers, self.nameservers_from = select_nameservers(
                config, resolv_conf
            )
        self._resolver = resolver
        self._resolv_conf = resolv_conf
        self.vantage: str | None = None  # found by net.preflight
        self._ssl_context = ssl_context
        self._prober: Prober | None = None
        self._route = route or ipv6_route
        self._ipv4_route = ipv4_route or ipv4_default_route
        self._ec2 = ec2 or on_ec2
        self.imds_address = imds_address
        self.imds_address_v4 = imds_address_v4  # the IPv4 IMDS, compared from a dual-stack host
        self._lookups: dict[str, asyncio.Future[HostLookup]] = {}
        self.nat64_info: Nat64Info | None = None
        self.dns_phases: list[dict[str, Any]] = []

    @classmethod
    def from_state(cls, state: RunState) -> NetService:
        return cls(state.config)

    @property
    def resolver(self) -> Resolver:
        if self._resolver is None:
            self._resolver = DnsPythonResolver(
                self.nameservers,
                timeout=self.config.timeout,
                connector=self.connector,
                max_qps={s: q for s, q in RESOLVER_QPS_LIMITS.items() if s in self.nameservers},
            )
        return self._resolver

    @property
    def prober(self) -> Prober:
        if self._prober is None:
            ca_bundle = self.config.ca_bundle
            self._prober = Prober(
                timeout=self.config.timeout,
                connector=self.connector,
                ssl_context=self._ssl_context or make_ssl_context(ca_bundle),
            )
        return self._prober

    async def route(self) -> RouteResult:
        return await asyncio.to_thread(self._route)

    def has_ipv4_route(self) -> bool:
        return self._ipv4_route()

    async def find_vantage(self) -> tuple[RouteResult, bool]:
        """The vantage: `ipv6-only` (IPv6 route, no IPv4 one) or `dual-stack` (both); None
        without an IPv6 route. A dual-stack vantage uses the system resolver as it is and
        probes every target over IPv4 too."""
        route = await self.route()
        ipv4 = self.has_ipv4_route()
        self.vantage = None if not route.ok else (DUAL_STACK if ipv4 else IPV6_ONLY)
        if self.vantage == DUAL_STACK and self._resolver is None:
            self.nameservers, self.ignored_nameservers, self.nameservers_from = select_nameservers(
                self.config, self._resolv_conf, self.vantage
            )
        if self.vantage == DUAL_STACK:
            self.prober.read_bodies = True  # the comparison fingerprints both bodies
        return route, ipv4

    def ec2(self) -> tuple[bool, str]:
        return self._ec2()

    async def discover_nat64(self) -> Nat64Info:
        info = await discover(self.resolver, self.config.nat64_prefix)
        self.nat64_info = info
        return info

    async def lookup(self, host: str) -> HostLookup:
        """AAAA (+A as evidence) for a host, asked once per run."""
        literal = literal_lookup(host)
        if literal is not None:
            return literal
        key = host.rstrip(".").lower()
        future = self._lookups.get(key)
        if future is not None:
            return await asyncio.shield(future)
        # The first asker resolves; later askers wait for its answer.
        future = self._lookups[key] = asyncio.get_running_loop().create_future()
        try:
            result = await lookup_host(self.resolver, key)
        except BaseException as exc:
            del self._lookups[key]
            if isinstance(exc, Exception):
                future.set_exception(exc)
                future.exception()  # retrieved: the asker gets it raised right here
            else:
                future.cancel()
            raise
        future.set_result(result)
        return result

    async def _lookup_batch(self, hosts: list[str]) -> None:
        loop = asyncio.get_running_loop()
        futures = {h: loop.create_future() for h in hosts if h not in self._lookups}
        self._lookups.update(futures)
        try:
            results = await lookup_hosts(self.resolver, list(futures))
        except BaseException:
            for host, future in futures.items():
                del self._lookups[host]
                future.set_exception(ConnectionAbortedError(f"the lookup of {host} was abandoned"))
                future.exception()  # whoever waits gets it; nobody waiting is fine too
            raise
        for result, future in zip(results, futures.values(), strict=True):
            future.set_result(result)

    async def prove(self, spec: ProbeSpec, nat64: Nat64Info) -> SpecResult:
        """Classify one spec: DNS, then the proof on the decisive addresses."""
        lookup = await self.lookup(spec.host)
        literal = literal_lookup(spec.host)
        kind_of_literal = None
        if literal is not None:
            kind_of_literal = "ipv6" if literal.aaaa.records else "ipv4"
        split = cls.split_addresses(lookup.aaaa.records, nat64.networks)
        result = SpecResult(
            spec,
            lookup,
            "",
            real=split.real,
            synthesized=split.synthesized,
            mapped=split.mapped,
            literal=kind_of_literal,
        )
        proven: bool | None = None
        if lookup.aaaa.rcode == NOERROR and split.decisive:
            for address in split.decisive[:MAX_ADDRESSES]:
                attempt = await self.prober.attempt(
                    spec.kind, address, url=spec.url, host=spec.host, port=spec.port
                )
                result.attempts.append(attempt)
                if attempt.ok:
                    break
            proven = any(a.ok for a in result.attempts)
        result.v6_class = cls.classify(
            rcode=lookup.aaaa.rcode,
            aaaa=lookup.aaaa.records,
            prefixes=nat64.networks,
            proven=proven,
        )
        result.net_class = await self._compare_families(result, nat64)
        return result

    async def _compare_families(self, result: SpecResult, nat64: Nat64Info) -> str:
        """Refine the IPv6 class with the IPv4 side and the full-size-packet test."""
        spec, v6 = result.spec, result.decisive
        if result.v6_class == cls.DNS_ERROR:
            return cls.DNS_ERROR
        if self.vantage == DUAL_STACK:
            result.ipv4 = await prove_ipv4(self, spec, result.lookup)
        elif self.vantage == IPV6_ONLY and result.v6_class == cls.BROKEN and result.real:
            result.ipv4 = await prove_nat64_path(self, spec, result.lookup, nat64)
        if result.v6_class == cls.BROKEN and v6 is not None:
            result.mtu = await mtu_probe(self, spec, v6)
        result.differences = compare(v6, result.ipv4)
        return cls.compare_families(
            result.v6_class,
            v6_answered=v6 is not None and (v6.ok or v6.status_code is not None),
            v4=result.ipv4.outcome if result.ipv4 is not None else None,
            differ=bool(result.differences),
            same_failure=same_failure(v6, result.ipv4),
            stalled=bool(result.mtu and result.mtu["blackhole"]),
            nat64_path=result.ipv4 is not None and result.ipv4.via == "nat64",
        )

    def dns_stats(self) -> dict[str, Any]:
        return self.resolver.stats.as_dict()

    async def resolve_all(self, ctx: CheckContext, hosts: list[str]) -> dict[str, Any]:
        """Look up many hosts in one DNS phase before probing them: batches of hosts go out
        together (bounded by the run's limits and the resolver's window), and their answers
        are kept for every check. The phase's figures are kept in `dns_phases`."""
        stats = self.resolver.stats
        queries, start = stats.queries, time.perf_counter()
        todo = sorted(
            {h.rstrip(".").lower() for h in hosts if literal_lookup(h) is None} - set(self._lookups)
        )
        batches = [todo[i : i + LOOKUP_BATCH] for i in range(0, len(todo), LOOKUP_BATCH)]
        async for _batch, _done in ctx.map(self._lookup_batch, batches):
            pass  # failures show in each target's finding (its lookup is asked again)
        seconds = time.perf_counter() - start
        phase = {
            "check": ctx.check_id,
            "names": len(hosts),
            "queries": stats.queries - queries,
            "seconds": round(seconds, 4),
            "qps": round((stats.queries - queries) / seconds, 1) if seconds > 0 else None,
        }
        self.dns_phases.append(phase)
        return phase

    async def aclose(self) -> None:
        for future in self._lookups.values():
            future.cancel()
        if self._prober is not None:
            await self._prober.aclose()
        if self._resolver is not None:
            await self._resolver.aclose()


def net_service(ctx: CheckContext) -> NetService:
    return ctx.service(NET_SERVICE, NetService.from_state)


async def nat64_info(ctx: CheckContext) -> Nat64Info:
    """The run's NAT64 knowledge, discovered once (RFC 7050) and shared by every check."""
    service = net_service(ctx)
    return await ctx.cache.get(NAT64_KEY, service.discover_nat64)


def target_of(spec: ProbeSpec, url: str | None = None) -> dict[str, Any]:
    """Stable target fields for a spec (never the resolved address, which may change)."""
    literal = literal_lookup(spec.host)
    if url is not None:
        return {"host": spec.host, "port": spec.port, "url": redact_url(url)}
    if literal is not None:
        return {"address": spec.host.strip("[]"), "port": spec.port}
    return {"host": spec.host, "port": spec.port}


def embedded(address: str, nat64: Nat64Info) -> str | None:
    return embedded_ipv4(address, nat64.networks)
