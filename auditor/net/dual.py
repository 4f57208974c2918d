"""The IPv4 side of a proof, and the full-size-packet test of the IPv6 side.

From a dual-stack vantage every target is probed over IPv4 too, on its A records, separately
(an ``AF_INET`` socket, the same timeout, never as a fallback) and the two outcomes are
compared. From an IPv6-only vantage the IPv4 service behind a failing AAAA is reached through
the NAT64 prefix instead: when that path fails the same way, the target is down, not broken.

The MTU test: when IPv6 connects but the answer stalls, a small exchange is made on the same
address: ``HEAD`` (headers only, well under one full-size packet) after a stall in the HTTP
answer; after a stall in the TLS handshake (the server's certificate chain is what needs
full-size packets), a TCP connect and a few plain bytes, to which a TLS server reacts with
small packets (an alert, an HTTP 400 or a close). If the small exchange works while the full
one stalls, full-size packets are lost on the path: ICMPv6 Packet Too Big is filtered (RFC 8201
path MTU discovery cannot work). The IPv4 side is the control.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from auditor.net import classify as cls
from auditor.net.compare import Side, differences
from auditor.net.nat64 import embed
from auditor.net.probe import Attempt, describe_error
from auditor.net.proofs import HTTP_KINDS, TLS_KINDS

if TYPE_CHECKING:
    from auditor.net.dns import HostLookup
    from auditor.net.nat64 import Nat64Info
    from auditor.net.service import NetService, ProbeSpec

DUAL_STACK = "dual-stack"
IPV6_ONLY = "ipv6-only"
VANTAGES = (IPV6_ONLY, DUAL_STACK)
MAX_ADDRESSES = 2
# A stall after the connection opened: where a lost full-size packet shows.
STALL_PHASES = frozenset({"tls", "first_byte", "body"})
# A failure that shows the far end answered (so a translator in between works).
ANSWERED_KINDS = frozenset({"refused", "http", "tls", "no-answer", "reset", "protocol"})


@dataclass
class Ipv4Side:
    """What the IPv4 service did: over IPv4 itself, or through NAT64 from an IPv6-only host."""

    via: str  # "ipv4" or "nat64"
    outcome: str  # cls.V4_OK, V4_ANSWERED, V4_FAILED, V4_NO_ADDRESS
    attempts: list[Attempt] = field(default_factory=list)
    addresses: tuple[str, ...] = ()
    reason: str | None = None  # why there was nothing to probe

    @property
    def decisive(self) -> Attempt | None:
        return next((a for a in self.attempts if a.ok), None) or (
            self.attempts[-1] if self.attempts else None
        )

    def evidence(self) -> dict[str, Any]:
        attempt = self.decisive
        return {
            "via": self.via,
            "outcome": self.outcome,
            "ok": self.outcome == cls.V4_OK,
            "addresses": list(self.addresses),
            "address": attempt.address if attempt else None,
            "status_code": attempt.status_code if attempt else None,
            "answer": attempt.answer if attempt and attempt.ok else None,
            "error": (attempt.error if attempt and not attempt.ok else None) or self.reason,
            "error_kind": attempt.error_kind if attempt and not attempt.ok else None,
            "timings_ms": {k: round(v, 2) for k, v in attempt.timings_ms.items()}
            if attempt
            else {},
            "tls": attempt.tls if attempt else None,
            "attempts": [a.evidence() for a in self.attempts],
        }


def answered(attempt: Attempt | None) -> bool:
    """The service answered at the protocol level (a proof, or an HTTP status that is not)."""
    return attempt is not None and (attempt.ok or attempt.status_code is not None)


def outcome_of(attempts: Sequence[Attempt]) -> str:
    if any(a.ok for a in attempts):
        return cls.V4_OK
    if any(a.status_code is not None for a in attempts):
        return cls.V4_ANSWERED
    return cls.V4_FAILED


async def _try(
    net: NetService, spec: ProbeSpec, addresses: Sequence[str], family: int
) -> list[Attempt]:
    attempts: list[Attempt] = []
    for address in addresses[:MAX_ADDRESSES]:
        attempt = await net.prober.attempt(
            spec.kind, address, url=spec.url, host=spec.host, port=spec.port, family=family
        )
        attempts.append(attempt)
        if attempt.ok:
            break
    return attempts


def _a_records(lookup: HostLookup) -> tuple[str, ...]:
    return tuple(lookup.a.records) if lookup.a is not None and lookup.a.ok else ()


async def prove_ipv4(net: NetService, spec: ProbeSpec, lookup: HostLookup) -> Ipv4Side:
    """The same proof over IPv4, on the A records (AF_INET sockets only)."""
    addresses = _a_records(lookup)
    if not addresses:
        reason = "no A record" if lookup.a is None or lookup.a.ok else f"A: {lookup.a.failure}"
        return Ipv4Side("ipv4", cls.V4_NO_ADDRESS, reason=reason)
    attempts = await _try(net, spec, addresses, socket.AF_INET)
    return Ipv4Side("ipv4", outcome_of(attempts), attempts, addresses)


async def prove_nat64_path(
    net: NetService, spec: ProbeSpec, lookup: HostLookup, nat64: Nat64Info
) -> Ipv4Side | None:
    """From an IPv6-only vantage: the IPv4 service behind the name, through the NAT64 prefix
    (its A records embedded as RFC 6052 addresses). None when there is no prefix or no A."""
    prefix = nat64.prefix
    addresses = _a_records(lookup)
    if prefix is None or not addresses:
        return None
    try:
        synthesized = [str(embed(prefix, a)) for a in addresses]
    except ValueError:
        return None
    attempts = await _try(net, spec, synthesized, socket.AF_INET6)
    return Ipv4Side("nat64", outcome_of(attempts), attempts, tuple(synthesized))


def stalled(attempt: Attempt | None) -> bool:
    """IPv6 connected, then the answer stopped coming: the shape of a lost full-size packet."""
    return (
        attempt is not None
        and not attempt.ok
        and attempt.error_kind == "timeout"
        and attempt.phase in STALL_PHASES
    )


# What the small exchange sends to a port that speaks TLS: not a TLS record, so the server
# answers at once with something small (an alert, nginx's "plain HTTP request sent to HTTPS
# port" page, or a close), never with its certificate chain.
PLAIN_NUDGE = b"HEAD / HTTP/1.0\r\n\r\n"


async def small_tcp_exchange(net: NetService, address: str, port: int, family: int) -> Attempt:
    """Connect and send :data:`PLAIN_NUDGE`; ok when the far end reacts within the timeout in
    any way small packets carry: an answer, a close or a reset."""
    attempt = Attempt("tcp", address, port, family=family)
    start = time.perf_counter()
    try:
        sock = await net.connector.open_socket(address, port, net.prober.timeout, family)
    except Exception as exc:  # noqa: BLE001 - every failure is a probe result
        attempt.error_kind, attempt.error = describe_error(exc, "connect")
        attempt.phase = "connect"
        return attempt
    attempt.timings_ms["connect"] = (time.perf_counter() - start) * 1000
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    try:
        async with asyncio.timeout(net.prober.timeout):
            await loop.sock_sendall(sock, PLAIN_NUDGE)
            data = await loop.sock_recv(sock, 4096)
    except ConnectionResetError:
        attempt.ok, attempt.answer = True, "reset the connection"
    except Exception as exc:  # noqa: BLE001 - every failure is a probe result
        attempt.error_kind, attempt.error = describe_error(exc, "first_byte")
        attempt.phase = "first_byte"
    else:
        attempt.ok = True
        attempt.answer = f"answered {len(data)} bytes" if data else "closed the connection"
    finally:
        sock.close()
    attempt.timings_ms["first_byte"] = (time.perf_counter() - start) * 1000
    return attempt


async def _small_exchange(net: NetService, attempt: Attempt) -> tuple[str, Attempt]:
    """(what was sent, how it went): HEAD after an HTTP stall, plain bytes after a TLS one."""
    if attempt.phase == "tls":
        small = await small_tcp_exchange(net, attempt.address, attempt.port, attempt.family)
        return "TCP connect + plain request on the TLS port", small
    assert attempt.url is not None
    small = await net.prober.exchange(
        "HEAD", attempt.url, attempt.address, read_body=False, family=attempt.family
    )
    return "HEAD", small


def mtu_testable(kind: str, attempt: Attempt | None) -> bool:
    """A stall the MTU test can look into: an HTTP kind (stalled in the TLS handshake or in the
    answer), or a TLS kind stalled in its handshake."""
    if not stalled(attempt):
        return False
    assert attempt is not None
    if kind in HTTP_KINDS:
        return attempt.url is not None
    return kind in TLS_KINDS and attempt.phase == "tls"


async def mtu_probe(net: NetService, spec: ProbeSpec, attempt: Attempt) -> dict[str, Any] | None:
    """After a stall: does a small exchange on the same address work? Evidence names the
    sizes that worked and the one that failed; None when not applicable."""
    if not mtu_testable(spec.kind, attempt):
        return None
    method, small = await _small_exchange(net, attempt)
    length = small.headers.get("content-length") if small.ok else None
    if method == "HEAD":
        answer = "headers only (well under one full-size packet)"
    else:
        answer = f"{small.answer} (small packets only)"
    return {
        "small": {
            "method": method,
            "ok": small.ok,
            "status_code": small.status_code,
            "answer": answer if small.ok else None,
            "error": small.error,
        },
        "large": {
            "method": "TLS handshake" if attempt.phase == "tls" else "GET",
            "ok": False,
            "stalled_in": attempt.phase,
            "content_length": int(length) if length and length.isdigit() else None,
            "error": attempt.error,
        },
        "blackhole": small.ok,
    }


def compare(v6: Attempt | None, v4: Ipv4Side | None) -> list[dict[str, Any]]:
    """How the IPv6 and IPv4 answers differ (empty when one side did not answer)."""
    if v4 is None or not answered(v6) or not answered(v4.decisive):
        return []
    assert v6 is not None and v4.decisive is not None
    return differences(Side.of(v6), Side.of(v4.decisive))


def same_failure(v6: Attempt | None, v4: Ipv4Side | None) -> bool:
    four = v4.decisive if v4 is not None else None
    return (
        v6 is not None
        and four is not None
        and not v6.ok
        and not four.ok
        and (v6.error_kind, v6.status_code) == (four.error_kind, four.status_code)
    )
