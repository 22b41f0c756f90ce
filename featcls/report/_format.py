"""Formatting of numbers and checking of embedded images, for the report templates."""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = [
    "FILTERS",
    "fmt_basename",
    "fmt_cell",
    "fmt_count",
    "fmt_p",
    "fmt_percent",
    "fmt_score",
    "fmt_seconds",
    "fmt_signed",
    "fmt_value",
    "image_uri",
    "is_number",
]

#: Shown wherever a number is missing (NaN, None, a failed model).
MISSING = "—"

_DATA_URI = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+")


def is_number(value: Any) -> bool:
    """Whether ``value`` is a finite real number (bools excluded)."""
    if isinstance(value, bool) or value is None:
        return False
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def fmt_score(value: Any, digits: int = 3) -> str:
    """A score in [0, 1] (or any float) with ``digits`` decimals, ``—`` if missing."""
    return f"{float(value):.{digits}f}" if is_number(value) else MISSING


def fmt_signed(value: Any, digits: int = 3) -> str:
    """A difference with its sign: ``+0.012``, ``−0.250``."""
    if not is_number(value):
        return MISSING
    text = f"{float(value):+.{digits}f}"
    return text.replace("-", "\u2212")


def fmt_p(value: Any) -> str:
    """A p-value in compact form: ``<0.001``, ``0.004``, ``0.04``, ``0.63``."""
    if not is_number(value):
        return MISSING
    p = float(value)
    if p < 0.001:
        return "<0.001"
    if p < 0.01:
        return f"{p:.3f}"
    return f"{p:.2f}"


def fmt_seconds(value: Any) -> str:
    """A duration: ``850 ms``, ``2.41 s``, ``3.5 min``, ``1.2 h``."""
    if not is_number(value):
        return MISSING
    t = float(value)
    if t < 1:
        return f"{t * 1000:.0f} ms" if t >= 0.001 else f"{t * 1000:.2f} ms"
    if t < 60:
        return f"{t:.2f} s"
    if t < 3600:
        return f"{t / 60:.1f} min"
    return f"{t / 3600:.1f} h"


def fmt_percent(value: Any, digits: int = 1) -> str:
    """A fraction as a percentage: ``0.123`` → ``12.3 %``."""
    return f"{float(value) * 100:.{digits}f} %" if is_number(value) else MISSING


def fmt_count(value: Any) -> str:
    """An integer with thousands separators."""
    return f"{int(value):,}" if is_number(value) else MISSING


def fmt_value(value: Any) -> str:
    """Any setting or metadata value as short text (dicts and lists as JSON)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else MISSING
    if isinstance(value, (dict, list, tuple)):
        try:
            return json.dumps(value, default=str, ensure_ascii=False)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def fmt_cell(value: Any) -> str:
    """A cell of a supplementary table: floats to 3 decimals, ``—`` if missing.

    Integers are shown whole, very small or very large floats in scientific
    notation (``1.23e-05``), booleans as yes/no and anything else as its text.
    """
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return MISSING
        if value != 0 and not 1e-3 <= abs(value) < 1e6:
            return f"{value:.3g}"
        return f"{value:.3f}"
    return str(value)


def fmt_basename(value: Any) -> str:
    """The last part of a path (``data/a/x.png`` → ``x.png``), for short captions."""
    text = str(value)
    return re.split(r"[/\\]", text.rstrip("/\\"))[-1] or text


def image_uri(value: Any) -> str | None:
    """``value`` if it is an inline base64 image (``data:image/png;base64,…``).

    Anything else (a URL, a file path, ``javascript:``) gives None, so the report
    never references an outside resource.
    """
    if isinstance(value, str) and _DATA_URI.fullmatch(value):
        return value
    return None


#: Jinja filters, by the name the templates use.
FILTERS = {
    "score": fmt_score,
    "signed": fmt_signed,
    "pvalue": fmt_p,
    "seconds": fmt_seconds,
    "percent": fmt_percent,
    "count": fmt_count,
    "value": fmt_value,
    "basename": fmt_basename,
    "cell": fmt_cell,
}
