"""How the benchmarks' tables print a number (shared by report.py and the scripts it runs)."""

from __future__ import annotations

from typing import Any


def figure(value: Any, digits: int = 2) -> str:
    """A number for a table: thousands separated, floats to ``digits``; "–" for none."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
