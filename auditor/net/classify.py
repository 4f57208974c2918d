"""The network classification: evidence in, exactly one class out (pure logic, no I/O).

| class           | when                                                             | status     |
|-----------------|------------------------------------------------------------------|------------|
| `native`        | a real AAAA (outside every NAT64 prefix) and the service proves  | pass       |
| `nat64`         | only synthesized AAAA (inside a NAT64 prefix), the service proves| warn (4)   |
| `broken`        | a real AAAA, but the service does not prove on it                | fail, high |
| `unreachable`   | no AAAA, or only synthesized ones that do not prove              | fail       |
| `dns-error`     | the AAAA question failed: NXDOMAIN (fail), SERVFAIL/timeout/...  | fail/error |
| `ipv4-only`     | no AAAA, the service answers over IPv4 (dual-stack vantage)      | warn (4)   |
| `differs`       | both families answer, not alike (status, redirect, cert, body)   | fail, high |
| `mtu-blackhole` | IPv6 small answers arrive, full-size packets stall               | fail, high |
| `down`          | fails over IPv4 too (or through NAT64 the same way): not IPv6's  | error      |

The first five come from the IPv6 probe alone (:func:`classify`); :func:`compare_families`
refines them with the IPv4 side: an IPv4 probe from a dual-stack vantage, or the NAT64 path to
the A record from an IPv6-only one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv6Network

from auditor.model import Severity, Status
from auditor.net.addresses import is_real_ipv6
from auditor.net.nat64 import is_synthesized

NATIVE = "native"
NAT64 = "nat64"
BROKEN = "broken"
UNREACHABLE = "unreachable"
DNS_ERROR = "dns-error"
IPV4_ONLY = "ipv4-only"
DIFFERS = "differs"
MTU_BLACKHOLE = "mtu-blackhole"
DOWN = "down"
CLASSES = (
    NATIVE,
    NAT64,
    BROKEN,
    UNREACHABLE,
    DNS_ERROR,
    IPV4_ONLY,
    DIFFERS,
    MTU_BLACKHOLE,
    DOWN,
)

# When one target needs several proofs (kinds, ports), the worst class speaks for it.
_WORST_FIRST = (
    DNS_ERROR,
    MTU_BLACKHOLE,
    DIFFERS,
    BROKEN,
    UNREACHABLE,
    DOWN,
    IPV4_ONLY,
    NAT64,
    NATIVE,
)

# The IPv4 side's outcome, for compare_families.
V4_OK = "ok"  # the service proved over IPv4
V4_ANSWERED = "answered"  # an answer (e.g. an HTTP status) that is not the kind's proof
V4_FAILED = "failed"  # no answer over IPv4
V4_NO_ADDRESS = "no-address"  # no A record (or the A question failed)


@dataclass(frozen=True)
class AddressSplit:
    real: tuple[str, ...]
    synthesized: tuple[str, ...]
    mapped: tuple[str, ...] = ()  # IPv4-mapped AAAA data (::ffff:a.b.c.d): IPv4, never decisive

    @property
    def decisive(self) -> tuple[str, ...]:
        """The addresses whose answer decides: the real ones when there are any."""
        return self.real or self.synthesized


def split_addresses(aaaa: Sequence[str], prefixes: Sequence[IPv6Network]) -> AddressSplit:
    """AAAA data in three: real IPv6, synthesized (inside a NAT64 prefix), and IPv4-mapped
    addresses, which an AF_INET6 socket reaches over IPv4 and so prove nothing about IPv6."""
    v6 = [a for a in aaaa if is_real_ipv6(a)]
    real = tuple(a for a in v6 if not is_synthesized(a, prefixes))
    synth = tuple(a for a in v6 if is_synthesized(a, prefixes))
    return AddressSplit(real, synth, tuple(a for a in aaaa if not is_real_ipv6(a)))


def classify(
    *,
    rcode: str | None,
    aaaa: Sequence[str],
    prefixes: Sequence[IPv6Network],
    proven: bool | None,
) -> str:
    """One class from the AAAA answer and whether the service proved on the decisive addresses.

    `proven` is None when nothing was probed (the AAAA answer alone decides then).
    """
    if rcode != "NOERROR":
        return DNS_ERROR
    split = split_addresses(aaaa, prefixes)
    if not split.real and not split.synthesized:
        return UNREACHABLE
    if split.real:
        return NATIVE if proven is not False else BROKEN
    return NAT64 if proven is not False else UNREACHABLE


def compare_families(
    v6_class: str,
    *,
    v6_answered: bool,
    v4: str | None,
    differ: bool = False,
    same_failure: bool = False,
    stalled: bool = False,
    nat64_path: bool = False,
) -> str:
    """The class once the IPv4 side is known.

    `v6_class` is :func:`classify`'s; `v6_answered` says the service answered over IPv6 at the
    protocol level (a proof, or e.g. an HTTP status that is not one); `v4` is one of the V4_*
    outcomes, or None when IPv4 was not tested; `differ` says the two answers differ
    (:func:`auditor.net.compare.differences`); `stalled` says IPv6 small exchanges work but a
    full-size answer stalls. `nat64_path` marks an IPv4 side reached through NAT64 from an
    IPv6-only vantage: there only a failure "the same way" (`same_failure`) means `down`.
    """
    if v6_class == DNS_ERROR:
        return DNS_ERROR
    if stalled and v6_class == BROKEN:
        # IPv4 is the control: the same stall over IPv4 is not an IPv6 finding.
        if v4 in (None, V4_OK, V4_NO_ADDRESS) or (nat64_path and not same_failure):
            return MTU_BLACKHOLE
        return DOWN
    if v4 is None or v6_class == NAT64:
        return v6_class
    answered4 = v4 in (V4_OK, V4_ANSWERED)
    if v6_class == NATIVE:
        return DIFFERS if answered4 and differ else NATIVE
    if v6_class == BROKEN:
        if v6_answered and answered4:
            return DIFFERS if differ or v4 == V4_OK else DOWN
        if v4 == V4_OK:
            return BROKEN
        if v4 == V4_NO_ADDRESS:
            return BROKEN
        if nat64_path and not same_failure:
            return BROKEN
        return DOWN
    # unreachable: no usable AAAA
    if nat64_path:
        return UNREACHABLE
    if v4 == V4_OK:
        return IPV4_ONLY
    if v4 in (V4_FAILED, V4_ANSWERED):
        return DOWN
    return UNREACHABLE


def rank(net_class: str) -> int:
    """0 for the worst class (dns-error) ... the last for native."""
    return _WORST_FIRST.index(net_class)


def worst(classes: Sequence[str]) -> str:
    return min(classes, key=rank)


@dataclass(frozen=True)
class Verdict:
    net_class: str
    status: Status
    severity: Severity | None = None  # None: the check's default
    stage: int | None = None  # None: the check's stage
    blocking: bool | None = None


def verdict(net_class: str, rcode: str | None = None, *, nat64_stage: int = 4) -> Verdict:
    """The status of a class, as the design page fixes it.

    `nat64` and `ipv4-only` warn and block `nat64_stage` (stage 4, IPv6-only native, for
    dependencies). `differs` and `mtu-blackhole` fail and block stage 2 (dual-stack services
    must serve IPv6 as they serve IPv4). `down` is an error that blocks nothing: the target
    fails over IPv4 as well, which says nothing about IPv6.
    `dns-error` is a fail when the name does not exist (NXDOMAIN: a verdict about the name)
    and an error otherwise (SERVFAIL, timeout: nothing was learnt about the target).
    """
    if net_class == NATIVE:
        return Verdict(NATIVE, Status.PASS)
    if net_class == NAT64:
        return Verdict(NAT64, Status.WARN, stage=nat64_stage, blocking=True)
    if net_class == BROKEN:
        return Verdict(BROKEN, Status.FAIL, severity=Severity.HIGH)
    if net_class == UNREACHABLE:
        return Verdict(UNREACHABLE, Status.FAIL)
    if net_class == IPV4_ONLY:
        return Verdict(IPV4_ONLY, Status.WARN, stage=nat64_stage, blocking=True)
    if net_class in (DIFFERS, MTU_BLACKHOLE):
        return Verdict(net_class, Status.FAIL, severity=Severity.HIGH, stage=2)
    if net_class == DOWN:
        return Verdict(DOWN, Status.ERROR, blocking=False)
    if net_class == DNS_ERROR:
        if rcode == "NXDOMAIN":
            return Verdict(DNS_ERROR, Status.FAIL)
        return Verdict(DNS_ERROR, Status.ERROR)
    raise ValueError(f"unknown class {net_class!r}")
