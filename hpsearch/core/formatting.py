"""How hpsearch writes a number or a duration for people: table cells, status lines, hovers.

Every layer formats through these, so a value reads the same in the terminal, the report and the dashboard.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["format_duration", "format_value", "round_significant"]


def format_value(value: Any) -> str:
    """A table cell or status value: ``-`` for None, 4 significant digits for floats (a whole number below a billion,
    such as a parameter count, in full)."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e9 else f"{value:.4g}"
    return str(value)


def round_significant(value: Any, digits: int = 4) -> Any:
    """A finite float rounded to ``digits`` significant digits (what a cell or a hover shows); anything else as it is."""
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.{digits}g}")
    return value


def format_duration(seconds: float | None) -> str:
    """``1h02m``, ``3m05s`` or ``42s``; ``?`` when unknown."""
    if seconds is None:
        return "?"
    seconds = max(0, round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")
