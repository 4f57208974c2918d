"""Inline SVG charts shared by the HTML and PDF reports (no script, no external asset)."""

from __future__ import annotations

import math

from markupsafe import Markup, escape

from reports.fmt import fmt_score, parse_time
from reports.trend import TrendPoint

AXES = (
    ("ipv6_only", "IPv6-only readiness", "#1f5fbf", ""),
    ("dual_stack", "Dual-stack health", "#2e8b57", "6 4"),
)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def trend_svg(points: list[TrendPoint], width: int = 640, height: int = 230) -> Markup:
    """Both scores over time; x is proportional to time, the current run is ringed."""
    left, right, top, bottom = 40, 40, 14, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    times = [parse_time(p.time) for p in points]
    if not points or any(t is None for t in times):
        return Markup("")
    t0 = min(times).timestamp()  # type: ignore[union-attr]
    span = max(times).timestamp() - t0 or 1.0  # type: ignore[union-attr]

    def x(i: int) -> float:
        if len(points) == 1:
            return left + plot_w / 2
        return left + plot_w * (times[i].timestamp() - t0) / span  # type: ignore[union-attr]

    def y(v: float) -> float:
        return top + plot_h * (1 - v / 100)

    out = [
        f'<svg class="trend" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        'aria-label="Scores over past runs">'
    ]
    for v in (0, 25, 50, 75, 100):
        out.append(
            f'<line x1="{left}" y1="{_num(y(v))}" x2="{width - right}" y2="{_num(y(v))}" '
            'stroke="#d9dee5" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{_num(y(v) + 4)}" font-size="11" text-anchor="end" '
            f'fill="#5b6572">{v}</text>'
        )
    # At most six date labels, always the first and the last.
    step = max(1, math.ceil(len(points) / 6))
    labelled = sorted({*range(0, len(points), step), len(points) - 1})
    for i in labelled:
        out.append(
            f'<text x="{_num(x(i))}" y="{height - bottom + 18}" font-size="11" '
            f'text-anchor="middle" fill="#5b6572">{escape(points[i].date)}</text>'
        )
    for axis, _label, colour, dash in AXES:
        coords = [
            (x(i), y(getattr(p, axis)))
            for i, p in enumerate(points)
            if getattr(p, axis) is not None
        ]
        if len(coords) > 1:
            path = " ".join(f"{_num(a)},{_num(b)}" for a, b in coords)
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"'
                f"{dash_attr}/>"
            )
        for i, p in enumerate(points):
            value = getattr(p, axis)
            if value is None:
                continue
            r = 5 if p.current else 3
            out.append(
                f'<circle cx="{_num(x(i))}" cy="{_num(y(value))}" r="{r}" fill="{colour}"'
                + (' stroke="#fff" stroke-width="2"' if p.current else "")
                + f"><title>{escape(p.date)}: {fmt_score(value)}</title></circle>"
            )
    legend_y = height - 12
    lx = left
    for _axis, label, colour, dash in AXES:
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<line x1="{lx}" y1="{legend_y - 4}" x2="{lx + 26}" y2="{legend_y - 4}" '
            f'stroke="{colour}" stroke-width="2.5"{dash_attr}/>'
            f'<text x="{lx + 32}" y="{legend_y}" font-size="12" fill="#1d2733">{label}</text>'
        )
        lx += 200
    out.append("</svg>")
    return Markup("".join(out))


def gauge_svg(value: float | None, label: str, colour: str, size: int = 132) -> Markup:
    """A ring filled to `value` percent with the number in the middle."""
    stroke = max(8, round(size * 0.09))
    r = size / 2 - stroke / 2 - 2
    c = size / 2
    circumference = 2 * math.pi * r
    filled = 0.0 if value is None else circumference * max(0.0, min(100.0, value)) / 100
    return Markup(
        f'<svg class="gauge" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'width="{size}" height="{size}" role="img" aria-label="{escape(label)}: '
        f'{fmt_score(value)} of 100">'
        f'<circle cx="{_num(c)}" cy="{_num(c)}" r="{_num(r)}" fill="none" stroke="#e3e8ef" '
        f'stroke-width="{stroke}"/>'
        f'<circle cx="{_num(c)}" cy="{_num(c)}" r="{_num(r)}" fill="none" stroke="{colour}" '
        f'stroke-width="{stroke}" stroke-dasharray="{_num(filled)} {_num(circumference)}" '
        f'transform="rotate(-90 {_num(c)} {_num(c)})"/>'
        f'<text x="{_num(c)}" y="{_num(c + size * 0.06)}" font-size="{_num(size * 0.19)}" '
        f'font-weight="700" text-anchor="middle" fill="#1d2733">{fmt_score(value)}</text>'
        f'<text x="{_num(c)}" y="{_num(c + size * 0.2)}" font-size="{_num(size * 0.085)}" '
        'text-anchor="middle" fill="#5b6572">of 100</text>'
        "</svg>"
    )
