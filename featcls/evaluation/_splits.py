"""Outer cross-validation folds shared by every model of a comparison."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.model_selection import (
    PredefinedSplit,
    StratifiedGroupKFold,
    StratifiedKFold,
    StratifiedShuffleSplit,
)

from featcls.exceptions import DataWarning, Setting, SettingError

__all__ = [
    "HoldOut",
    "check_class_counts",
    "check_cv",
    "describe_cv",
    "make_folds",
    "merge_duplicates",
    "multilabel_splits",
    "predefined_splits",
]


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
            (f"use {smallest} folds or fewer (", Setting("cv", smallest), ")")
            if smallest >= 2
            else ("add images of that class",)
        )
        raise SettingError(
            f"Class(es) {listed} have fewer members than the {n_splits} folds, so "
            "stratified cross-validation cannot put one in every fold; ",
            *hint,
            ", or leave those classes out with ",
            Setting("drop_rare_classes", True),
            ".",
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


def merge_duplicates(
    groups: np.ndarray | None, duplicates: Sequence[np.ndarray], n_samples: int
) -> np.ndarray | None:
    """Groups in which every set of identical images lies inside one group.

    Each duplicate set joins the groups of its members (connected components: a
    group that shares an image with another becomes one with it). Without
    ``groups`` every sample starts as its own group, named by its position. A
    merged group is named by its smallest member group, so groups that no
    duplicate touches keep their names. Returns ``groups`` unchanged (None
    included) when there are no duplicates.

    Examples
    --------
    >>> import numpy as np
    >>> merge_duplicates(None, [np.array([1, 3])], 4).tolist()
    [0, 1, 2, 1]
    >>> merge_duplicates(np.array(["p", "q", "r"]), [np.array([0, 2])], 3).tolist()
    ['p', 'q', 'p']
    """
    sets = [np.asarray(d, dtype=np.intp).reshape(-1) for d in duplicates]
    sets = [d for d in sets if d.size > 1]
    if not sets:
        return groups
    if groups is None:
        names, codes = np.arange(n_samples), np.arange(n_samples)
    else:
        names, codes = np.unique(np.asarray(groups), return_inverse=True)
        codes = codes.reshape(-1)
    # Link the group of each set's first member to the groups of the others.
    heads = np.concatenate([np.repeat(codes[d[0]], d.size - 1) for d in sets])
    tails = np.concatenate([codes[d[1:]] for d in sets])
    graph = coo_matrix(
        (np.ones(heads.size, np.int8), (heads, tails)), shape=(len(names),) * 2
    )
    _, component = connected_components(graph, directed=False)
    first = np.full(component.max() + 1, len(names), dtype=np.intp)
    np.minimum.at(first, component, np.arange(len(names)))
    return names[first[component[codes]]]


def _warn_duplicates(duplicates: Sequence[np.ndarray]) -> None:
    n_images = sum(d.size for d in duplicates)
    example = ", ".join(str(int(i)) for i in sorted(duplicates[0])[:5])
    warnings.warn(
        f"{len(duplicates)} set{'s' if len(duplicates) != 1 else ''} of identical "
        f"images ({n_images} images in all; e.g. samples {example} are one image) "
        "are each kept in one fold, as one group, so that no image is tested "
        "against a copy of itself. Remove the copies from the data set to silence "
        "this warning.",
        DataWarning,
        stacklevel=3,
    )


def _split_duplicates(
    train: np.ndarray, test: np.ndarray, k: int, n_samples: int, duplicates
) -> None:
    """Refuse split ``k`` if a set of identical images has members on both sides."""
    side = np.zeros(n_samples, np.int8)
    side[train], side[test] = 1, 2
    torn = [d for d in duplicates if (side[d] == 1).any() and (side[d] == 2).any()]
    if torn:
        example = ", ".join(str(int(i)) for i in sorted(torn[0])[:5])
        raise ValueError(
            f"Split {k}: {len(torn)} set{'s' if len(torn) != 1 else ''} of "
            f"identical images {'are' if len(torn) != 1 else 'is'} on both sides "
            f"of the split (e.g. samples {example}), so the model would be tested "
            "on copies of its training images. Use a group-aware splitter "
            "(GroupKFold, StratifiedGroupKFold, GroupShuffleSplit; each set of "
            "identical images is passed to it as one group) or remove the copies."
        )


def _check_split(
    split, k: int, n_samples: int, groups, duplicates: Sequence[np.ndarray] = ()
) -> dict:
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
    if duplicates:
        _split_duplicates(train, test, k, n_samples, duplicates)
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


def _given_folds(
    y: np.ndarray,
    groups: np.ndarray | None,
    cv,
    duplicates: Sequence[np.ndarray] = (),
) -> list[dict]:
    """Folds from a splitter object or from ``(train, test)`` pairs, all checked.

    A splitter gets the groups with every duplicate set merged into one group;
    every split is checked against the user's groups and the duplicate sets.
    """
    index = np.arange(len(y))
    if callable(getattr(cv, "split", None)):
        merged = merge_duplicates(groups, duplicates, len(y))
        try:
            splits = list(cv.split(index, y, merged))
        except Exception as exc:
            raise ValueError(
                f"The cv splitter {' '.join(repr(cv).split())} could not split the "
                f"{len(y)} samples: {exc}"
            ) from exc
    else:
        splits = list(cv)
    if not splits:
        raise ValueError("cv gave no splits; give at least one (train, test) pair.")
    folds = [
        _check_split(s, k, len(y), groups, duplicates) for k, s in enumerate(splits)
    ]
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
    duplicates: Sequence[np.ndarray] | None = None,
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

    ``duplicates`` lists sets of sample positions whose images are identical (see
    :func:`featcls.data.find_duplicates`). Each set is kept on one side of every
    split: the sets are merged into the groups (:func:`merge_duplicates`), so an
    int ``cv`` becomes stratified-grouped k-fold and a splitter gets the merged
    groups; given splits (or a splitter that ignores groups) that put a set on
    both sides are refused. A :class:`~featcls.exceptions.DataWarning` says how
    many sets there are. Without duplicates the folds are exactly those without
    the argument.

    Returns ``[{"repeat", "fold", "train", "test"}]`` with integer index lists. With
    groups, every fold is checked: no group is on both sides of a split.

    Raises
    ------
    ValueError
        If ``cv`` or ``repeats`` is not valid (``repeats`` must be 1 unless ``cv`` is
        an int), or a given split is not (it separates a group or a duplicate set).

    Warns
    -----
    DataWarning
        If ``duplicates`` holds a set of two or more samples.
    """
    kind = check_cv(cv, repeats)
    duplicates = [np.asarray(d, dtype=np.intp).reshape(-1) for d in (duplicates or ())]
    duplicates = [d for d in duplicates if d.size > 1]
    if duplicates:
        _warn_duplicates(duplicates)
    if kind != "kfold":
        return _given_folds(y, groups, cv, duplicates)
    groups = merge_duplicates(groups, duplicates, len(y))
    folds = []
    index = np.arange(len(y))
    for repeat in range(int(repeats)):
        seed = None if random_state is None else int(random_state) + repeat
        if np.ndim(y) == 2:
            splits = multilabel_splits(y, groups, int(cv), seed)
        elif groups is None:
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


def predefined_splits(
    table: pd.DataFrame, column: str, *, name: str = "column"
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(train, test)`` positions per fold number of ``table[column]``, ascending.

    scikit-learn's ``PredefinedSplit``: fold -1 is never tested (always in
    training). The result can be passed as ``cv`` to :func:`compare`.

    Parameters
    ----------
    table : DataFrame
        The sample table, with one row per sample and the fold column.
    column : str
        The column of fold numbers: integers >= -1.
    name : str, default="column"
        How messages name the setting that gave ``column`` (the command line
        passes ``"--fold-col"``).

    Returns
    -------
    list of (ndarray, ndarray)
        The training and test positions of each fold number >= 0.

    Raises
    ------
    ValueError
        If the column is missing, a value is not an integer >= -1, or fewer than
        two fold numbers >= 0 are given.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"image": list("abcd"), "fold": [0, 1, 0, -1]})
    >>> [test.tolist() for _, test in predefined_splits(table, "fold")]
    [[0, 2], [1]]
    """
    if column not in table.columns:
        others = [c for c in table.columns if c not in ("image", "mask", "relpath")]
        raise ValueError(
            f"{name}: no column {column!r} in the dataset; its columns are "
            f"{others}. Predefined folds need a manifest with that column."
        )
    values = pd.to_numeric(table[column], errors="coerce")
    bad = values.isna() | (values % 1 != 0) | (values < -1)
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(
            f"{name} {column!r}: fold numbers must be integers >= -1 (-1: always "
            f"in training); got '{table[column].iloc[first]}' for "
            f"'{table['image'].iloc[first]}'."
        )
    splits = list(PredefinedSplit(values.to_numpy(dtype=int)).split())
    if len(splits) < 2:
        raise ValueError(
            f"{name} {column!r} names {len(splits)} test fold(s); give at "
            "least 2 fold numbers (>= 0)."
        )
    return splits


def multilabel_splits(Y: np.ndarray, groups, n_splits: int, seed):
    """Iterative stratification of a label matrix, grouped when groups are given.

    scikit-multilearn's algorithm (Sechidis et al. 2011) as the
    ``iterative-stratification`` package implements it: every label's positives are
    spread over the folds as evenly as the data allows. With groups, each group is
    one unit whose labels are the union of its samples' labels, so a group stays in
    one fold; the units are stratified, not their samples, so a label whose
    positives sit in a few large groups is spread only as evenly as those groups.
    """
    from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

    splitter = MultilabelStratifiedKFold(n_splits, shuffle=True, random_state=seed)
    Y = np.asarray(Y, dtype=int)
    if Y.shape[1] == 1:  # one label: plain stratification on it
        kind = StratifiedKFold if groups is None else StratifiedGroupKFold
        one = kind(n_splits, shuffle=True, random_state=seed)
        yield from one.split(np.zeros(len(Y)), Y[:, 0], groups)
        return
    if groups is None:
        yield from splitter.split(np.zeros(len(Y)), Y)
        return
    codes, units = pd.factorize(pd.Series(np.asarray(groups).astype(str)))
    if len(units) < n_splits:
        raise ValueError(
            f"Grouped cross-validation needs at least {n_splits} groups for "
            f"{n_splits} folds; the data has {len(units)}. Use fewer folds."
        )
    unit_labels = np.zeros((len(units), Y.shape[1]), dtype=int)
    np.maximum.at(unit_labels, codes, Y)
    for _, test_units in splitter.split(np.zeros(len(units)), unit_labels):
        test = np.flatnonzero(np.isin(codes, test_units))
        yield np.setdiff1d(np.arange(len(Y)), test), test


class HoldOut:
    """One stratified (with groups: stratified-grouped) train/test split.

    A splitter for :func:`compare`'s ``cv``. Without groups it is scikit-learn's
    ``StratifiedShuffleSplit(n_splits=1, test_size=test_size)``, so the test part
    is ``test_size`` of the samples (rounded up) with every class in proportion.
    With groups, whole groups go to the test part: the first fold of a shuffled
    ``StratifiedGroupKFold`` with ``round(1 / test_size)`` folds, so the test part
    is about ``1 / round(1 / test_size)`` of the samples (0.2 gives a fifth, 0.3
    a third), as stratified as the groups allow. A multi-label indicator matrix
    ``y`` is split by iterative stratification likewise (the
    ``iterative-stratification`` package's ``MultilabelStratifiedShuffleSplit``, or
    the first fold of :func:`multilabel_splits` with groups).

    Parameters
    ----------
    test_size : float, default=0.2
        Share of the samples in the test part, in (0, 0.5].
    random_state : int or None, default=0
        Seed of the shuffle.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array(["a"] * 8 + ["b"] * 12)
    >>> [(len(tr), len(te)) for tr, te in HoldOut(0.25).split(y, y)]
    [(15, 5)]
    """

    def __init__(self, test_size: float = 0.2, random_state: int | None = 0):
        if isinstance(test_size, bool) or not 0 < test_size <= 0.5:
            raise ValueError(
                f"A hold-out test_size is a share of the samples in (0, 0.5]; got "
                f"{test_size!r}."
            )
        self.test_size = float(test_size)
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """One split."""
        return 1

    def split(self, X, y, groups=None):
        """Yield the one ``(train, test)`` pair of positions."""
        y = np.asarray(y)
        if y.ndim == 2:  # a label matrix: iterative stratification
            yield self._split_labels(y, groups)
            return
        if groups is None:
            splitter = StratifiedShuffleSplit(
                n_splits=1, test_size=self.test_size, random_state=self.random_state
            )
        else:
            splitter = StratifiedGroupKFold(
                n_splits=max(2, round(1 / self.test_size)),
                shuffle=True,
                random_state=self.random_state,
            )
        train, test = next(iter(splitter.split(np.zeros(len(y)), y, groups)))
        yield train, test

    def _split_labels(self, Y: np.ndarray, groups):
        if groups is None and Y.shape[1] > 1:
            from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

            splitter = MultilabelStratifiedShuffleSplit(
                n_splits=1, test_size=self.test_size, random_state=self.random_state
            )
            return next(iter(splitter.split(np.zeros(len(Y)), Y.astype(int))))
        k = max(2, round(1 / self.test_size))
        return next(iter(multilabel_splits(Y, groups, k, self.random_state)))

    def __repr__(self) -> str:
        return (
            f"HoldOut(test_size={self.test_size:g}, random_state={self.random_state!r})"
        )
