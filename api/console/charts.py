"""Inline SVG charts for the campaign pages, computed here so templates only place them.

Pure functions: numbers in, shapes out (no scripts, no external library, readable without
JavaScript and by screen readers through each chart's title and table).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["FunnelBar", "funnel_bars", "Series", "series_lines"]

FUNNEL_STEPS = (
    ("audience", "Audience"),
    ("sent", "Sent"),
    ("delivered", "Delivered"),
    ("unique_clicks", "Clicked"),
    ("conversions", "Converted"),
    ("opt_outs", "Opted out"),
)


@dataclass(frozen=True)
class FunnelBar:
    label: str
    value: int
    width: float  # percent of the widest bar
    y: int


def funnel_bars(report: dict[str, Any], *, row: int = 28) -> list[FunnelBar]:
    values = [(label, int(report.get(key) or 0)) for key, label in FUNNEL_STEPS]
    top = max((v for _, v in values), default=0) or 1
    return [FunnelBar(label, v, round(100 * v / top, 1), i * row) for i, (label, v) in enumerate(values)]


@dataclass(frozen=True)
class Series:
    name: str
    points: str  # SVG polyline points
    total: int


def series_lines(
    series: list[dict[str, Any]], *, width: int = 600, height: int = 160
) -> tuple[list[Series], list[str]]:
    """One polyline per measure (sent, clicks) over the hours, and the hour labels."""
    hours = [str(p["hour"])[11:16] for p in series]
    lines = []
    top = max([1, *(int(p.get(k, 0)) for p in series for k in ("sent", "clicks"))])
    step = width / max(1, len(series) - 1)
    for key in ("sent", "clicks"):
        pts = [
            f"{round(i * step, 1)},{round(height - height * int(p.get(key, 0)) / top, 1)}" for i, p in enumerate(series)
        ]
        if len(pts) == 1:
            pts.append(f"{width},{pts[0].split(',')[1]}")  # one hour: a flat line across
        lines.append(Series(key, " ".join(pts), sum(int(p.get(key, 0)) for p in series)))
    return lines, hours
