"""Findings for probed names and endpoints: one class, a sentence to act on, the evidence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from auditor.model import Finding, Status, Target
from auditor.net import classify as cls
from auditor.net.addresses import is_real_ipv6
from auditor.net.dns import DnsAnswer
from auditor.net.nat64 import Nat64Info, embedded_ipv4
from auditor.net.service import SpecResult

REMEDIATION = {
    cls.NAT64: (
        "It works from IPv6-only subnets only through DNS64/NAT64. Ask the provider for IPv6 "
        "(an AAAA record), switch to an IPv6-capable endpoint or mirror, or keep NAT64 for it "
        "and accept the NAT gateway cost; IPv6-only native needs it gone."
    ),
    cls.BROKEN: (
        "The name publishes an AAAA record but the service does not answer on it. Dual-stack "
        "clients hide this by falling back to IPv4; IPv6-only clients fail. Fix the listener, "
        "security group/NACL or load balancer on IPv6, or withdraw the AAAA until it works."
    ),
    cls.UNREACHABLE: (
        "There is no IPv6 path: no AAAA record and no working DNS64/NAT64 translation. Get an "
        "IPv6 endpoint from the provider, use an IPv6-capable alternative, or give the subnet "
        "DNS64 and a 64:ff9b::/96 route to a NAT gateway."
    ),
    cls.IPV4_ONLY: (
        "It answers over IPv4 only. IPv6-only subnets will reach it only through DNS64/NAT64: "
        "ask the provider for IPv6 (an AAAA record) or use an IPv6-capable endpoint or mirror."
    ),
    cls.DIFFERS: (
        "It answers over IPv6, but not as over IPv4 (see evidence.differences). Typical causes: "
        "an allow-list, WAF rule or security group that lists IPv4 ranges only, a listener or "
        "certificate configured for one family, a different backend behind the AAAA record. "
        "Serve IPv6 exactly as IPv4."
    ),
    cls.MTU_BLACKHOLE: (
        "Small IPv6 answers arrive, full-size packets never do: a firewall, security appliance "
        "or NACL on the path drops ICMPv6 Packet Too Big (type 2), so path MTU discovery fails. "
        "Allow ICMPv6 type 2 everywhere on the path (RFC 4890), or clamp the TCP MSS."
    ),
    cls.DOWN: (
        "It fails over IPv4 as well: the service (or this name) is down, which says nothing "
        "about IPv6. Fix the service, or remove the stale dependency, then audit again."
    ),
    cls.DNS_ERROR: (
        "The name does not resolve from here. Check the name for typos (NXDOMAIN), and that "
        "the resolver answers over IPv6 and can reach the zone's name servers (SERVFAIL, "
        "timeout)."
    ),
}


def dns_failure(answer: DnsAnswer) -> str:
    if answer.rcode == "NXDOMAIN":
        return "the name does not exist (NXDOMAIN)"
    if answer.rcode:
        return f"the resolver answered {answer.rcode}"
    return answer.error or "no DNS answer"


def _addr_list(addresses: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(addresses[:limit])
    return shown + (f" and {len(addresses) - limit} more" if len(addresses) > limit else "")


def _v4_text(result: SpecResult) -> str:
    side = result.ipv4
    attempt = side.decisive if side is not None else None
    if side is None:
        return "not tested"
    if attempt is None:
        return side.reason or "nothing to try"
    where = "through NAT64 " if side.via == "nat64" else ""
    said = attempt.answer if attempt.ok else attempt.error
    return f"{where}{attempt.address}: {said}"


def _new_class_message(result: SpecResult, subject: str) -> str | None:
    """The sentence for a class that needs the IPv4 side (None for the others)."""
    klass = result.net_class
    attempt = result.decisive
    v6_said = (attempt.answer if attempt.ok else attempt.error) if attempt else "no answer"
    if klass == cls.IPV4_ONLY:
        return (
            f"{subject} answers over IPv4 only ({_v4_text(result)}); it has no AAAA, so "
            "IPv6-only subnets reach it only through DNS64/NAT64"
        )
    if klass == cls.DIFFERS:
        aspects = ", ".join(
            f"{d['aspect']} {d['ipv6']} over IPv6 vs {d['ipv4']} over IPv4"
            if d["aspect"] == "status"
            else d["aspect"]
            for d in result.differences
        )
        return (
            f"{subject} answers differently over IPv6 and IPv4 ({aspects or 'the proof'}): "
            f"IPv6 {v6_said}; IPv4 {_v4_text(result)}"
        )
    if klass == cls.MTU_BLACKHOLE:
        mtu = result.mtu or {}
        stalled = (mtu.get("large") or {}).get("stalled_in", "transfer")
        small = (mtu.get("small") or {}).get("method", "HEAD")
        full = "TLS handshake" if stalled == "tls" else "full answer"
        return (
            f"{subject} connects over IPv6 and small answers arrive ({small}), but the {full} "
            f"stalls ({stalled}): full-size IPv6 packets are lost on the path, ICMPv6 Packet "
            f"Too Big is filtered; IPv4: {_v4_text(result)}"
        )
    if klass == cls.DOWN:
        return (
            f"{subject} fails over both families, so this is not an IPv6 finding: IPv6 "
            f"{v6_said}; IPv4 {_v4_text(result)}"
        )
    return None


def spec_message(result: SpecResult, subject: str, nat64: Nat64Info) -> str:
    """One sentence for the class of one proof."""
    host = result.spec.host
    attempt = result.decisive
    a_records = list(result.lookup.a.records) if result.lookup.a else []
    klass = result.net_class
    new = _new_class_message(result, subject)
    if new is not None:
        return new
    if klass == cls.NATIVE:
        assert attempt is not None
        return f"{subject} answers over IPv6 natively: {attempt.answer} from {attempt.address}"
    if klass == cls.NAT64:
        assert attempt is not None
        v4 = embedded_ipv4(attempt.address, nat64.networks)
        origin = f" (IPv4 {v4})" if v4 else ""
        return (
            f"{subject} is reachable only through NAT64: {host} has no AAAA of its own, DNS64 "
            f"synthesized {attempt.address}{origin}; {attempt.answer} through the translator"
        )
    if klass == cls.BROKEN:
        error = attempt.error if attempt else "not probed"
        masked = (
            f"; it works over IPv4 ({_v4_text(result)}), so dual-stack clients hide this"
            if result.masked
            else ""
        )
        return (
            f"{subject} publishes AAAA {_addr_list(result.real)} but fails on it over IPv6 "
            f"({error}): IPv6-only clients break where dual-stack ones fall back to IPv4{masked}"
        )
    if klass == cls.UNREACHABLE:
        if result.literal == "ipv4":
            return (
                f"{subject} is an IPv4 literal ({host}): IPv6-only clients cannot reach it "
                "without a CLAT (464XLAT); use a name with an AAAA record"
            )
        if result.synthesized:
            error = attempt.error if attempt else "not probed"
            return (
                f"{subject} has no AAAA of its own and the NAT64 path to "
                f"{_addr_list(result.synthesized)} fails ({error})"
            )
        if result.mapped:
            return (
                f"{subject} publishes only IPv4-mapped AAAA {_addr_list(result.mapped)}: "
                "IPv4 on the wire, so no IPv6 path and no DNS64 translation"
            )
        four = f" (IPv4 only: {_addr_list(a_records)})" if a_records else ""
        return f"{subject} has no AAAA{four} and no DNS64 translation: unreachable over IPv6"
    return f"{subject} does not resolve: {host}: {dns_failure(result.lookup.aaaa)}"


def spec_evidence(result: SpecResult, nat64: Nat64Info) -> dict[str, Any]:
    """The evidence of one proof: DNS answers, the class, the address tried, the timings."""
    lookup = result.lookup
    attempt = result.decisive
    timings: dict[str, float] = {"dns": round(lookup.elapsed_ms, 2)}
    if attempt is not None:
        timings.update({k: round(v, 2) for k, v in attempt.timings_ms.items()})
    evidence: dict[str, Any] = {
        "class": result.net_class,
        "nat64_prefix": nat64.prefix,
        "kind": result.spec.kind,
        "host": result.spec.host,
        "port": result.spec.port,
        **lookup.evidence(),
        "synthesized": list(result.synthesized),
        **({"ipv4_mapped": list(result.mapped)} if result.mapped else {}),
        "address": attempt.address if attempt else None,
        "timings_ms": timings,
        "status_code": attempt.status_code if attempt else None,
        "answer": attempt.answer if attempt and attempt.ok else None,
        "error": (attempt.error if attempt and not attempt.ok else None)
        or (None if lookup.aaaa.ok else dns_failure(lookup.aaaa)),
        "attempts": [a.evidence() for a in result.attempts],
    }
    if attempt is not None and attempt.tls:
        evidence["tls"] = attempt.tls
    if attempt is not None and attempt.body:
        evidence["body"] = attempt.body
    if result.literal:
        evidence["literal"] = result.literal
    evidence["resolver_family"] = (
        ("ipv6" if is_real_ipv6(lookup.aaaa.server) else "ipv4") if lookup.aaaa.server else None
    )
    evidence["ipv4"] = result.ipv4.evidence() if result.ipv4 is not None else None
    if result.v6_class and result.v6_class != result.net_class:
        evidence["ipv6_class"] = result.v6_class
    if result.net_class == cls.BROKEN:
        evidence["masked"] = result.masked
    if result.differences:
        evidence["differences"] = result.differences
    if result.mtu is not None:
        evidence["mtu"] = result.mtu
    return evidence


def target_finding(
    results: Sequence[SpecResult],
    nat64: Nat64Info,
    *,
    subject: str,
    target: Target,
    extra: dict[str, Any] | None = None,
    nat64_stage: int = 4,
) -> Finding:
    """One finding for a target proven by one or more specs: the worst class speaks."""
    primary = min(results, key=lambda r: cls.rank(r.net_class))
    evidence = {**(extra or {}), **spec_evidence(primary, nat64)}
    if len(results) > 1:
        evidence["proofs"] = [
            {
                "kind": r.spec.kind,
                "class": r.net_class,
                "host": r.spec.host,
                "port": r.spec.port,
                "address": r.decisive.address if r.decisive else None,
                "ok": bool(r.proven),
                "answer": r.decisive.answer if r.decisive else None,
                "status_code": r.decisive.status_code if r.decisive else None,
                "error": r.decisive.error if r.decisive and not r.decisive.ok else None,
            }
            for r in results
        ]
    message = spec_message(primary, subject, nat64)
    others = [r for r in results if r is not primary and r.net_class != cls.NATIVE]
    if len(results) > 1 and primary.net_class == cls.NATIVE:
        message += f" (all {len(results)} kinds proven)"
    elif others:
        message += "; also " + ", ".join(f"{r.spec.kind}: {r.net_class}" for r in others)
    v = cls.verdict(primary.net_class, primary.lookup.aaaa.rcode, nat64_stage=nat64_stage)
    return Finding(
        v.status,
        message,
        target=target,
        evidence=evidence,
        severity=v.severity,
        stage=v.stage,
        blocking=v.blocking,
        remediation=REMEDIATION.get(primary.net_class, "") if v.status is not Status.PASS else "",
    )
