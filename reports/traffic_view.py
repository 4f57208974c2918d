"""The traffic part of a report: the top IPv4 destinations by flows with their class, and the
one-paragraph summary, read from the `traffic.*` findings of a result (renderers only read)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reports.view import FindingView, View

TOP = 20
NO_IPV6 = ("nat64", "unreachable", "ipv4-only")  # no AAAA of its own
_UNITS = {"d": "day", "h": "hour", "m": "minute", "s": "second"}


@dataclass
class TrafficRow:
    destination: str
    net_class: str | None
    status: str
    flows: int
    bytes: int
    ports: str
    sources: int
    last_seen: str
    addresses: str


@dataclass
class TrafficView:
    sentence: str
    top: list[TrafficRow]
    more: int


def _period(view: View, coverage: FindingView | None) -> str:
    window = (coverage.evidence.get("window") if coverage else None) or {}
    try:
        start = datetime.fromisoformat(str(window["start"]).replace("Z", "+00:00"))
        end = datetime.fromisoformat(str(window["end"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return "in the window read"
    seconds = (end - start).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            word = _UNITS[unit] + ("s" if count != 1 else "")
            return f"in the last {count} {word}" if count != 1 else f"in the last {_UNITS[unit]}"
    return "in the window read"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def traffic_view(view: View) -> TrafficView | None:
    """None when the result holds no traffic findings with observed figures."""
    deps = [
        f
        for f in view.findings
        if f.check_id == "traffic.ipv4_dependency" and isinstance(f.evidence.get("observed"), dict)
    ]
    coverage = next((f for f in view.findings if f.check_id == "traffic.coverage"), None)
    if not deps:
        return None
    deps.sort(key=lambda f: (-int(f.evidence["observed"].get("flows") or 0), f.subject))
    probed = [f for f in deps if f.net_class]
    no_ipv6 = [f for f in probed if f.net_class in NO_IPV6]
    broken = [f for f in probed if f.net_class == "broken"]
    sentence = f"{_plural(len(deps), 'IPv4 destination')} used {_period(view, coverage)}"
    if probed:
        sentence += f"; {len(no_ipv6)} {'has' if len(no_ipv6) == 1 else 'have'} no IPv6"
        if broken:
            sentence += f", {len(broken)} publish IPv6 that does not answer"
        if len(probed) < len(deps):
            sentence += f" ({len(deps) - len(probed)} not probed)"
    else:
        sentence += "; none was probed over IPv6"
    sentence += "."
    rows = []
    for f in deps[:TOP]:
        obs: dict[str, Any] = f.evidence["observed"]
        rows.append(
            TrafficRow(
                destination=_destination(f),
                net_class=f.net_class,
                status=f.status,
                flows=int(obs.get("flows") or 0),
                bytes=int(obs.get("bytes") or 0),
                ports=", ".join(str(p) for p in (obs.get("ports") or [])[:6]),
                sources=len(obs.get("sources") or []),
                last_seen=str(obs.get("last_seen") or ""),
                addresses=", ".join((f.evidence.get("addresses") or [])[:3]),
            )
        )
    return TrafficView(sentence, rows, max(0, len(deps) - TOP))


def _destination(finding: FindingView) -> str:
    return str(finding.evidence.get("destination") or finding.subject)
