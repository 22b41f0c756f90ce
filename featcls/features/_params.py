"""Parameter checks shared by the feature families and the extraction engine."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

__all__ = ["check_int", "check_int_tuple", "check_number", "check_option"]


def _owner(obj: Any) -> str:
    return type(obj).__name__


def check_int(obj: Any, name: str, value: Any, *, low: int = 1) -> int:
    """Validate an integer parameter of ``obj`` and return it."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < low
    ):
        raise ValueError(
            f"The {name!r} parameter of {_owner(obj)} must be an int >= {low}. "
            f"Got {value!r} instead."
        )
    return int(value)


def check_number(
    obj: Any, name: str, value: Any, *, low: float = 0.0, strict: bool = True
) -> float:
    """Validate a real parameter of ``obj`` (``> low``, or ``>= low``) and return it."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    ok = ok and np.isfinite(value) and (value > low if strict else value >= low)
    if not ok:
        op = ">" if strict else ">="
        raise ValueError(
            f"The {name!r} parameter of {_owner(obj)} must be a number {op} {low}. "
            f"Got {value!r} instead."
        )
    return float(value)


def check_option(obj: Any, name: str, value: Any, options: tuple) -> Any:
    """Validate that a parameter of ``obj`` is one of ``options`` and return it."""
    if value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise ValueError(
            f"The {name!r} parameter of {_owner(obj)} must be one of {listed}. "
            f"Got {value!r} instead."
        )
    return value


def check_int_tuple(
    obj: Any, name: str, value: Any, *, low: int = 1
) -> tuple[int, ...]:
    """Validate a non-empty sequence of distinct ints ``>= low``."""
    seq = (value,) if isinstance(value, numbers.Integral) else value
    try:
        items = tuple(seq)
    except TypeError:
        items = ()
    ok = (
        len(items) > 0
        and len(set(items)) == len(items)
        and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= low
            for v in items
        )
    )
    if not ok:
        raise ValueError(
            f"The {name!r} parameter of {_owner(obj)} must be a non-empty sequence of "
            f"distinct ints >= {low}. Got {value!r} instead."
        )
    return tuple(int(v) for v in items)
