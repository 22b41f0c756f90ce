"""Registry of the built-in data sets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from featcls.data._dataset import Dataset
from featcls.data._elpv import load_elpv
from featcls.data._synthetic import make_synthetic

__all__ = ["BUILTIN_DATASETS", "load_builtin"]

#: Built-in data sets: name -> function returning a :class:`Dataset`.
BUILTIN_DATASETS: dict[str, Callable[..., Dataset]] = {
    "synthetic": make_synthetic,
    "elpv": load_elpv,
}


def load_builtin(name: str, **kwargs: Any) -> Dataset:
    """Load a built-in data set by name.

    Parameters
    ----------
    name : {"synthetic", "elpv"}
        ``"synthetic"``: :func:`make_synthetic` (no download). ``"elpv"``:
        :func:`load_elpv` (needs the ``elpv-dataset`` package).
    **kwargs
        Passed to the data set's function.

    Returns
    -------
    dataset : Dataset

    Raises
    ------
    ValueError
        If ``name`` is not a built-in data set.

    Examples
    --------
    >>> load_builtin("synthetic", n_samples=30, image_size=32).name
    'synthetic'
    """
    try:
        loader = BUILTIN_DATASETS[name]
    except (KeyError, TypeError) as exc:
        raise ValueError(
            f"Unknown built-in data set {name!r}; available: "
            f"{', '.join(map(repr, BUILTIN_DATASETS))}."
        ) from exc
    return loader(**kwargs)
