"""Measures and report lines the benchmarks share: percentiles, the results table, the
date and Python a figure was measured on, and the sections they write into BENCHMARKS.md."""

from __future__ import annotations

import os
import platform
import statistics
import textwrap
from collections.abc import Sequence
from datetime import date
from pathlib import Path


def percentile(values: list[float], pct: int) -> float:
    """Linear interpolation between closest ranks (pct 1-99), as numpy's default."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def table(head: Sequence[str], rows: Sequence[Sequence[str]], *, markdown: bool) -> list[str]:
    """The lines of a results table: measures in the first column, figures right-aligned
    after it in Markdown; padded columns for a terminal."""
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
        return lines + ["| " + " | ".join(r) + " |" for r in rows]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [head, *rows]]


def measured_on() -> str:
    """`measured <today> on <Python implementation> <version>`, the end of every table's note."""
    return f"measured {date.today().isoformat()} on {platform.python_implementation()} {platform.python_version()}"


def reproduce(command: str, spent: str) -> list[str]:
    """The end of a section a benchmark writes: how to run it again, and where and when it
    ran (`spent`: e.g. "80 s for both runs")."""
    return [
        "Reproduce from the repository root:",
        "",
        "```",
        command,
        "```",
        "",
        f"Machine: {os.cpu_count()} cores ({platform.machine()}, shared with other work), Python "
        f"{platform.python_version()}; measured {date.today().isoformat()}, {spent}.",
        "",
    ]


def wrap(line: str, width: int = 100) -> str:
    """Prose lines wrapped like the rest of BENCHMARKS.md; tables and code left alone."""
    if len(line) <= width or line.startswith(("|", "```", "#")):
        return line
    return textwrap.fill(
        line,
        width,
        subsequent_indent="  " if line.startswith("- ") else "",
        break_long_words=False,
        break_on_hyphens=False,
    )


def write_section(path: Path, text: str, title: str) -> None:
    """Replace the `title` section of `path` (up to the next `## ` heading), or add it at the end."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == title), None)
    if start is None:
        body = "".join(lines).rstrip("\n") + "\n\n" + text
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        rest = "".join(lines[end:])
        body = "".join(lines[:start]) + text + ("\n" + rest if rest else "")
    path.write_text(body.rstrip("\n") + "\n", encoding="utf-8")
