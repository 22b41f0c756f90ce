"""Outer cross-validation folds shared by every model of a comparison."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

__all__ = ["check_class_counts", "check_cv", "describe_cv", "make_folds"]


def check_cv(cv, repeats) -> str:
    """What kind of outer ``cv`` this is: ``"kfold"``, ``"splitter"`` or ``"given"``.

    An int >= 2 asks for stratified k-fold (``repeats`` times); an object with a
    ``split`` method is a scikit-learn splitter; any other iterable (not a string)
    is taken as ``(train_index, test_index)`` pairs. ``repeats`` must be 1 unless
    ``cv`` is an int.
    """
    if not isinstance(repeats, (int, np.integer)) or isinstance(repeats, bool):
        raise ValueError(f"repeats must be an int >= 1. Got {repeats!r}.")
    if repeats < 1:
        raise ValueError(f"repeats must be an int >= 1. Got {repeats!r}.")
    if isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(f"cv must be an int >= 2 (number of folds). Got {cv!r}.")
        return "kfold"
    if callable(getattr(cv, "split", None)) and not isinstance(cv, str):
        kind = "splitter"
    elif isinstance(cv, Iterable) and not isinstance(cv, (str, bytes, dict)):
        kind = "given"
    else:
        raise ValueError(
            "cv must be an int >= 2 (number of folds), a splitter with a "
            "split(X, y, groups) method (e.g. sklearn's StratifiedShuffleSplit) or "
            f"an iterable of (train_index, test_index) pairs. Got {cv!r}."
        )
    if repeats != 1:
        raise ValueError(
            f"repeats={repeats!r} only applies to an int cv (repeated k-fold). With a "
            "splitter or given splits, repeats must be 1: put every split you want "
            "in cv instead."
        )
    return kind


def describe_cv(cv, n_splits: int):
    """How ``cv`` is recorded in ``ComparisonResult.settings["cv"]``.

    The number of folds for an int cv (as before), the splitter's repr for a
    splitter object, and ``"1 given split"`` / ``"3 given splits"`` for index pairs.
    """
    if isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
        return int(cv)
    if callable(getattr(cv, "split", None)):
        return " ".join(repr(cv).split())
    return f"{n_splits} given split{'s' if n_splits != 1 else ''}"


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


def _positions(part, k: int, side: str, n_samples: int) -> np.ndarray:
    """One side of split ``k`` as checked integer positions into the samples."""
    try:
        index = np.asarray(part)
    except Exception as exc:  # ragged or otherwise not array-like
        raise ValueError(
            f"Split {k}: the {side} indices are not a list of integer positions "
            f"({exc})."
        ) from exc
    if index.ndim != 1:
        raise ValueError(
            f"Split {k}: the {side} indices must be a flat list of integer positions. "
            f"Got an array of shape {index.shape}."
        )
    if index.size == 0:
        raise ValueError(
            f"Split {k}: the {side} part is empty; every split needs at least one "
            f"{side} sample."
        )
    if index.dtype.kind not in "iu":
        raise ValueError(
            f"Split {k}: the {side} indices must be integer positions into X and y "
            f"(not boolean masks or labels). Got dtype {index.dtype}."
        )
    bad = index[(index < 0) | (index >= n_samples)]
    if bad.size:
        raise ValueError(
            f"Split {k}: {side} index {int(bad[0])} is out of range for "
            f"{n_samples} samples (valid positions are 0 to {n_samples - 1})."
        )
    return index.astype(np.intp)


def _check_split(split, k: int, n_samples: int, groups) -> dict:
    """Split ``k`` (a ``(train, test)`` pair) as a fold dict, or a clear error."""
    try:
        train, test = split
    except (TypeError, ValueError):
        raise ValueError(
            f"Split {k} is not a (train_index, test_index) pair. Got {split!r:.80}."
        ) from None
    train = _positions(train, k, "train", n_samples)
    test = _positions(test, k, "test", n_samples)
    values, counts = np.unique(test, return_counts=True)
    if (counts > 1).any():
        raise ValueError(
            f"Split {k}: test index {int(values[counts > 1][0])} is listed more than "
            "once; each test sample must be predicted once per split."
        )
    both = np.intersect1d(train, test)
    if both.size:
        listed = ", ".join(str(int(i)) for i in both[:5])
        raise ValueError(
            f"Split {k}: {both.size} sample(s) are in both the train and the test "
            f"part (positions {listed}{' ...' if both.size > 5 else ''}); train and "
            "test must not overlap."
        )
    if groups is not None:
        shared = set(groups[train]) & set(groups[test])
        if shared:
            listed = ", ".join(repr(g) for g in sorted(shared, key=str)[:5])
            raise ValueError(
                f"Split {k}: group(s) {listed} are on both sides of the split. With "
                "groups, use a group-aware splitter (GroupKFold, StratifiedGroupKFold,"
                " GroupShuffleSplit) or splits that keep every group on one side."
            )
    return {"repeat": 0, "fold": k, "train": train.tolist(), "test": test.tolist()}


def _given_folds(y: np.ndarray, groups: np.ndarray | None, cv) -> list[dict]:
    """Folds from a splitter object or from ``(train, test)`` pairs, all checked."""
    index = np.arange(len(y))
    if callable(getattr(cv, "split", None)):
        try:
            splits = list(cv.split(index, y, groups))
        except Exception as exc:
            raise ValueError(
                f"The cv splitter {' '.join(repr(cv).split())} could not split the "
                f"{len(y)} samples: {exc}"
            ) from exc
    else:
        splits = list(cv)
    if not splits:
        raise ValueError("cv gave no splits; give at least one (train, test) pair.")
    folds = [_check_split(s, k, len(y), groups) for k, s in enumerate(splits)]
    return _number_repeats(folds, len(y))


def _number_repeats(folds: list[dict], n_samples: int) -> list[dict]:
    """Group consecutive splits into repeats whose test parts do not overlap.

    A split whose test part shares a sample with an earlier test part of the current
    repeat starts a new repeat (numbered from 0, its folds from 0). So the splits of
    ``RepeatedStratifiedKFold(n_splits=5, n_repeats=2)`` become 2 repeats of 5 folds,
    as with ``cv=5, repeats=2``, and no repeat predicts a sample twice: pooled
    (out-of-fold) views never count a sample more than once per repeat.
    """
    seen = np.zeros(n_samples, bool)
    repeat, fold = 0, 0
    for f in folds:
        test = np.asarray(f["test"], dtype=np.intp)
        if seen[test].any():
            repeat, fold = repeat + 1, 0
            seen[:] = False
        seen[test] = True
        f["repeat"], f["fold"] = repeat, fold
        fold += 1
    return folds


def make_folds(
    y: np.ndarray,
    groups: np.ndarray | None,
    *,
    cv,
    repeats: int,
    random_state: int | None,
) -> list[dict]:
    """The outer folds: ``repeats × cv`` k-fold splits, or the splits ``cv`` gives.

    With an int ``cv``: stratified (or, with ``groups``, stratified-grouped) k-fold,
    each repeat reshuffled with its own seed (``random_state + repeat``). With a
    splitter object, its ``split(X, y, groups)`` (its own seed applies); with an
    iterable of ``(train_index, test_index)`` pairs, those splits. Given splits are
    checked (integer positions in range, neither part empty, train and test
    disjoint, no test index twice) and numbered as folds 0, 1, ... of repeat 0; a
    split whose test part overlaps an earlier one of the current repeat starts the
    next repeat (so a repeated k-fold splitter gives one repeat per round).

    Returns ``[{"repeat", "fold", "train", "test"}]`` with integer index lists. With
    groups, every fold is checked: no group is on both sides of a split.

    Raises
    ------
    ValueError
        If ``cv`` or ``repeats`` is not valid (``repeats`` must be 1 unless ``cv`` is
        an int), or a given split is not.
    """
    if check_cv(cv, repeats) != "kfold":
        return _given_folds(y, groups, cv)
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
