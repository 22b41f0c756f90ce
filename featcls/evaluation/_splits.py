"""Outer cross-validation folds shared by every model of a comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

__all__ = ["check_class_counts", "make_folds"]


def check_class_counts(y: np.ndarray, n_splits: int, *, drop_rare: bool) -> np.ndarray:
    """Boolean keep-mask of samples; error or drop for classes rarer than the folds.

    Stratified k-fold needs every class in every fold: a class with fewer members than
    ``n_splits`` either stops the comparison with an error that says what to do, or,
    with ``drop_rare``, is left out (and the caller records which).
    """
    counts = pd.Series(y).value_counts()
    rare = counts[counts < n_splits]
    if rare.empty:
        return np.ones(len(y), bool)
    listed = ", ".join(f"'{c}' ({n})" for c, n in rare.items())
    if not drop_rare:
        smallest = int(rare.min())
        hint = (
            f"use {smallest} folds or fewer (--folds {smallest})"
            if smallest >= 2
            else "add images of that class"
        )
        raise ValueError(
            f"Class(es) {listed} have fewer members than the {n_splits} folds, so "
            f"stratified cross-validation cannot put one in every fold; {hint}, or "
            "leave those classes out with drop_rare_classes=True (--drop-rare)."
        )
    keep = ~np.isin(y, rare.index.to_numpy())
    if len(np.unique(y[keep])) < 2:
        raise ValueError(
            f"After dropping the rare class(es) {listed} fewer than two "
            "classes are left."
        )
    return keep


def make_folds(
    y: np.ndarray,
    groups: np.ndarray | None,
    *,
    cv: int,
    repeats: int,
    random_state: int | None,
) -> list[dict]:
    """``repeats × cv`` outer folds: stratified, or stratified-grouped with ``groups``.

    Each repeat reshuffles with its own seed (``random_state + repeat``). Returns
    ``[{"repeat", "fold", "train", "test"}]`` with integer index lists. With groups,
    every fold is checked: no group is on both sides of a split.
    """
    if not isinstance(cv, (int, np.integer)) or isinstance(cv, bool) or cv < 2:
        raise ValueError(f"cv must be an int >= 2 (number of folds). Got {cv!r}.")
    if not isinstance(repeats, (int, np.integer)) or repeats < 1:
        raise ValueError(f"repeats must be an int >= 1. Got {repeats!r}.")
    folds = []
    index = np.arange(len(y))
    for repeat in range(int(repeats)):
        seed = None if random_state is None else int(random_state) + repeat
        if groups is None:
            splitter = StratifiedKFold(int(cv), shuffle=True, random_state=seed)
            splits = splitter.split(index, y)
        else:
            n_groups = len(np.unique(groups))
            if n_groups < cv:
                raise ValueError(
                    f"Grouped cross-validation needs at least {cv} groups "
                    f"for {cv} folds; the data has {n_groups}. Use fewer "
                    "folds."
                )
            splitter = StratifiedGroupKFold(int(cv), shuffle=True, random_state=seed)
            splits = splitter.split(index, y, groups)
        for k, (train, test) in enumerate(splits):
            if groups is not None:
                shared = set(groups[train]) & set(groups[test])
                if shared:  # pragma: no cover - guaranteed by StratifiedGroupKFold
                    raise RuntimeError(
                        f"Groups {sorted(shared)[:5]} are on both sides of a split."
                    )
            folds.append(
                {
                    "repeat": repeat,
                    "fold": k,
                    "train": train.tolist(),
                    "test": test.tolist(),
                }
            )
    return folds
