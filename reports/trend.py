"""The score trend and the changes against earlier runs, from `result["history"]` (which the
scan attaches from its history database; renderers never open the database)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reports.fmt import parse_time


@dataclass(slots=True)
class TrendPoint:
    time: str
    date: str
    dual_stack: float | None
    ipv6_only: float | None
    stage: int | None
    current: bool = False


@dataclass(slots=True)
class Delta:
    """Change of both scores (and the stage) against an earlier run."""

    label: str
    short: str
    date: str
    dual_stack: float | None
    ipv6_only: float | None
    stage: int | None

    def words(self, axis: str) -> str:
        value = getattr(self, axis)
        if value is None:
            return f"no comparable score {self.label}"
        if value == 0:
            return f"unchanged {self.label}"
        return f"{'up' if value > 0 else 'down'} {abs(value):g} {self.label}"


@dataclass(slots=True)
class Trend:
    points: list[TrendPoint]
    previous: Delta | None
    quarter_ago: Delta | None
    runs: int


def _date(ts_text: str) -> str:
    ts = parse_time(ts_text)
    return ts.date().isoformat() if ts else ts_text


def build_trend(
    history: dict[str, Any],
    dual: float | None,
    v6: float | None,
    stage: int,
    finished: str,
) -> Trend:
    """The past points in time order plus this run (when there is a past), and the deltas."""
    points = sorted(
        (
            TrendPoint(
                time=p.get("time", ""),
                date=_date(p.get("time", "")),
                dual_stack=p.get("dual_stack"),
                ipv6_only=p.get("ipv6_only"),
                stage=p.get("stage"),
            )
            for p in history.get("points") or ()
        ),
        key=lambda p: p.time,
    )
    if points:
        points.append(TrendPoint(finished, _date(finished), dual, v6, stage, True))

    def diff(now: float | None, then: float | None) -> float | None:
        return None if now is None or then is None else round(now - then, 1)

    def delta(key: str, label: str, short: str) -> Delta | None:
        past = history.get(key)
        if not past:
            return None
        ts = parse_time(past.get("time", ""))
        date = ts.date().isoformat() if ts else ""
        return Delta(
            label=f"{label} ({date})",
            short=short,
            date=date,
            dual_stack=diff(dual, past.get("dual_stack")),
            ipv6_only=diff(v6, past.get("ipv6_only")),
            stage=None if past.get("stage") is None else stage - past["stage"],
        )

    return Trend(
        points=points,
        previous=delta("previous", "since the previous run", "vs previous run"),
        quarter_ago=delta("quarter_ago", "since a quarter ago", "vs a quarter ago"),
        runs=int(history.get("runs") or 0),
    )
