"""Public names of a package loaded on first use (PEP 562)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    package: str, exports: dict[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose names are imported lazily.

    The package's public names live in the modules ``exports`` maps them to; a loaded
    name is kept in ``namespace`` (the package's globals), so each is imported once.

    Examples
    --------
    >>> ns = {}
    >>> getattr_, dir_ = lazy_names("pkg", {"sqrt": "math"}, ns)
    >>> getattr_("sqrt")(4.0), "sqrt" in ns, "sqrt" in dir_()
    (2.0, True, True)
    """

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__
