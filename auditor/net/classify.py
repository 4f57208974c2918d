"""The network classification: evidence in, exactly one class out (pure logic, no I/O).

| class         | when                                                              | status     |
|---------------|-------------------------------------------------------------------|------------|
| `native`      | a real AAAA (outside every NAT64 prefix) and the service proves   | pass       |
| `nat64`       | only synthesized AAAA (inside a NAT64 prefix), the service proves | warn (4)   |
| `broken`      | a real AAAA, but the service does not prove on it                 | fail, high |
| `unreachable` | no AAAA, or only synthesized ones that do not prove               | fail       |
| `dns-error`   | the AAAA question failed: NXDOMAIN (fail), SERVFAIL/timeout/...   | fail/error |
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
CLASSES = (NATIVE, NAT64, BROKEN, UNREACHABLE, DNS_ERROR)

# When one target needs several proofs (kinds, ports), the worst class speaks for it.
_WORST_FIRST = (DNS_ERROR, BROKEN, UNREACHABLE, NAT64, NATIVE)


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


def rank(net_class: str) -> int:
    """0 for the worst class (dns-error) ... 4 for native."""
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

    `nat64` warns and blocks `nat64_stage` (stage 4, IPv6-only native, for dependencies).
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
    if net_class == DNS_ERROR:
        if rcode == "NXDOMAIN":
            return Verdict(DNS_ERROR, Status.FAIL)
        return Verdict(DNS_ERROR, Status.ERROR)
    raise ValueError(f"unknown class {net_class!r}")
