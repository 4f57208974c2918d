"""IPv6 against IPv4: do both families get the same answer? (pure functions, no I/O)

A dual-stack vantage probes each target over both families and compares what came back, the
way Internet.nl compares a site's IPv4 and IPv6 pages. Four aspects are compared, each only
when both sides have it:

- the HTTP status class (2xx, 3xx, 4xx, 5xx): 403 over IPv6 and 200 over IPv4 is an
  allow-list that forgot IPv6;
- the redirect target (absolute, host lowercased);
- the TLS certificate: its DNS names (SAN) and its issuer;
- the body: a fingerprint of the body with volatile tokens (digit runs, long hex and base64
  strings: dates, ids, nonces) blanked. Two bodies differ when their fingerprints differ *and*
  their sizes differ by more than a quarter, so a page that only embeds a timestamp or a
  request id is not "different".
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

BODY_SIZE_TOLERANCE = 0.25
_VOLATILE = re.compile(rb"[0-9]+|[0-9a-fA-F]{16,}|[A-Za-z0-9+/_-]{24,}={0,2}")


def status_class(code: int | None) -> str | None:
    """ "2xx" for 204 and so on; None without an HTTP answer."""
    if code is None:
        return None
    return f"{code // 100}xx"


def body_fingerprint(body: bytes) -> dict[str, Any]:
    """What a body is like, without keeping it: size, exact hash, hash with volatile tokens
    blanked."""
    return {
        "size": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
        "normalized": hashlib.sha256(_VOLATILE.sub(b"#", body)).hexdigest()[:32],
    }


def bodies_differ(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    if not a or not b or a.get("normalized") == b.get("normalized"):
        return False
    big, small = max(a["size"], b["size"]), min(a["size"], b["size"])
    return big > 0 and (big - small) / big > BODY_SIZE_TOLERANCE


def redirect_target(url: str | None, location: str | None) -> str | None:
    """The absolute redirect target, scheme and host lowercased, default port dropped."""
    if not location:
        return None
    parts = urlsplit(urljoin(url or "", location))
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    netloc = host if parts.port in (None, default) else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def certificate_identity(tls: dict[str, Any] | None) -> dict[str, Any] | None:
    """The certificate's DNS names and issuer, as the probe recorded them."""
    if not tls or ("san" not in tls and "issuer" not in tls):
        return None
    return {"san": sorted(tls.get("san") or []), "issuer": tls.get("issuer")}


@dataclass(frozen=True)
class Side:
    """One family's answer, as far as the comparison needs it."""

    status_code: int | None = None
    url: str | None = None
    location: str | None = None
    tls: dict[str, Any] | None = None
    body: dict[str, Any] | None = None

    @classmethod
    def of(cls, attempt: Any) -> Side:
        """From a probe attempt (anything with the Attempt fields)."""
        headers = getattr(attempt, "headers", None) or {}
        return cls(
            status_code=attempt.status_code,
            url=attempt.url,
            location=headers.get("location"),
            tls=attempt.tls,
            body=getattr(attempt, "body", None),
        )


def differences(ipv6: Side, ipv4: Side) -> list[dict[str, Any]]:
    """Each aspect in which the two answers differ: {aspect, ipv6, ipv4}."""
    out: list[dict[str, Any]] = []
    s6, s4 = status_class(ipv6.status_code), status_class(ipv4.status_code)
    if s6 and s4 and s6 != s4:
        out.append({"aspect": "status", "ipv6": ipv6.status_code, "ipv4": ipv4.status_code})
    r6 = redirect_target(ipv6.url, ipv6.location)
    r4 = redirect_target(ipv4.url, ipv4.location)
    if s6 == s4 == "3xx" and r6 != r4:
        out.append({"aspect": "redirect", "ipv6": r6, "ipv4": r4})
    c6, c4 = certificate_identity(ipv6.tls), certificate_identity(ipv4.tls)
    if c6 and c4 and c6 != c4:
        out.append({"aspect": "certificate", "ipv6": c6, "ipv4": c4})
    if s6 == s4 and bodies_differ(ipv6.body, ipv4.body):
        out.append(
            {
                "aspect": "body",
                "ipv6": {k: ipv6.body[k] for k in ("size", "normalized")} if ipv6.body else None,
                "ipv4": {k: ipv4.body[k] for k in ("size", "normalized")} if ipv4.body else None,
            }
        )
    return out
