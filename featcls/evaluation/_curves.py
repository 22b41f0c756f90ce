"""Learning curves on the outer folds: nested training subsets, and what a fit costs."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["FitMemory", "check_train_sizes", "nested_subsets"]


def check_train_sizes(train_sizes) -> tuple[float, ...]:
    """The learning-curve sizes as sorted, distinct fractions ending with 1.0.

    ``train_sizes`` are fractions of each outer fold's training part, in
    ``(0, 1]`` (a list or a 1-D array); 1.0 (the whole training part, the
    comparison itself) is always included.

    Raises
    ------
    ValueError
        If a size is not a number in ``(0, 1]`` or no size is given.
    """
    values = None
    if not isinstance(train_sizes, (str, bytes, dict)):
        try:
            values = list(np.asarray(train_sizes, dtype=object).ravel())
        except (TypeError, ValueError):
            values = None
    if values is None or np.ndim(train_sizes) != 1:
        raise ValueError(
            "train_sizes must be a list of fractions of each fold's training part, "
            f"in (0, 1], such as [0.1, 0.25, 0.5, 1.0]. Got {train_sizes!r}."
        )
    sizes = set()
    for s in values:
        ok = isinstance(s, numbers.Real) and not isinstance(s, (bool, np.bool_))
        if not (ok and math.isfinite(s) and 0 < s <= 1):
            raise ValueError(
                "Every training size must be a fraction of the fold's training part "
                f"in (0, 1] (1 is the whole part). Got {s!r} in {values}."
            )
        sizes.add(float(s))
    if not sizes:
        raise ValueError("train_sizes is empty: give at least one fraction in (0, 1].")
    return tuple(sorted(sizes | {1.0}))


def _strata(train: np.ndarray, y: np.ndarray, groups: np.ndarray | None):
    """The units drawn (samples, or groups of samples) and the class of each."""
    if groups is None:
        return [np.array([i]) for i in train], y[train]
    units: dict = {}
    for i in train:
        units.setdefault(groups[i], []).append(i)
    members = [np.asarray(m) for m in units.values()]
    labels = []
    for m in members:  # a group's stratum is its most frequent class
        values, counts = np.unique(y[m], return_counts=True)
        labels.append(values[np.argmax(counts)])
    return members, np.asarray(labels, dtype=object)


def nested_subsets(
    train: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray | None,
    fractions: Sequence[float],
    seed: int | None,
) -> list[np.ndarray]:
    """Stratified (grouped) training subsets of one fold, each inside the next.

    One random order of the training part's units (samples, or whole groups when
    ``groups`` is given, each counted in the class most of its samples have) is
    drawn per class; the subset for fraction ``f`` takes, in every class, the
    first units of that order until they hold ``f`` of the class's training
    samples (at least one unit per class). With groups, a class that is no
    group's majority is brought in by the first group, in one more random order,
    that holds it. The orders are shared
    by all fractions, so a smaller subset is always contained in a larger one and
    the curves of all models are paired, subset by subset.

    Returns
    -------
    list of ndarray
        Sample positions, one array per fraction, in the order of ``train``
        (``train`` itself for 1).
    """
    train = np.asarray(train)
    if all(f >= 1 for f in fractions):  # no learning curve: nothing to draw
        return [train for _ in fractions]
    rng = np.random.default_rng(seed)
    units, labels = _strata(train, np.asarray(y, dtype=object), groups)
    unit_order = rng.permutation(len(units))  # for classes no unit is labelled by
    orders = []
    for label in sorted(set(labels), key=str):
        idx = np.flatnonzero(labels == label)
        idx = idx[rng.permutation(len(idx))]
        sizes = np.cumsum([len(units[i]) for i in idx])
        orders.append((idx, sizes))
    subsets = []
    for f in fractions:
        if f >= 1:
            subsets.append(train)
            continue
        chosen = []
        for idx, sizes in orders:
            # units until f of this class's samples are in (at least one unit)
            take = int(np.searchsorted(sizes, f * sizes[-1] - 1e-9)) + 1
            chosen += [units[i] for i in idx[: min(take, len(idx))]]
        chosen += _missing_classes(chosen, units, unit_order, y)
        subsets.append(train[np.isin(train, np.concatenate(chosen))])
    return subsets


def _missing_classes(chosen, units, unit_order, y) -> list[np.ndarray]:
    """Units that bring in the classes ``chosen`` lacks, first in ``unit_order``.

    Grouped data only: a class that is no group's majority has no order of its own.
    """
    y = np.asarray(y, dtype=object)
    have = set(y[np.concatenate(chosen)])
    wanted = set(y[np.concatenate(units)]) - have
    extra = []
    for i in unit_order:
        found = set(y[units[i]]) & wanted
        if found:
            extra.append(units[i])
            wanted -= found
        if not wanted:
            break
    return extra


_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kb(field: str) -> float:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1])
    return math.nan


class FitMemory:
    """Peak memory a fit adds to its process, in bytes (Linux; NaN elsewhere).

    On entry the kernel's high-water mark of the process's resident set is reset
    to the current resident set (``/proc/self/clear_refs``); on exit the peak
    minus the resident set at entry is what the work in between needed at most,
    counting everything it touched (NumPy, PyTorch's CPU tensors, XGBoost, libsvm)
    and not only Python's allocations. Memory the process already held from
    earlier work (and reuses) is not counted, nor is GPU memory.
    """

    def __enter__(self) -> FitMemory:
        self.peak = math.nan
        try:
            _CLEAR_REFS.write_text("5")
            self._start = _status_kb("VmRSS")
        except OSError:
            self._start = math.nan
        return self

    def __exit__(self, *exc) -> None:
        if math.isfinite(self._start):
            try:
                self.peak = max(0.0, _status_kb("VmHWM") - self._start) * 1024
            except OSError:
                self.peak = math.nan
