"""Multi-label targets: the label matrix, its checks and its scores.

A multi-label sample carries a *set* of labels (a protein in the nucleus and in
the cytosol). Targets are a boolean indicator matrix ``Y`` of shape
``(n_samples, n_labels)`` with the label names beside it; a sample may carry no
label at all.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, precision_recall_fscore_support, roc_auc_score

from featcls.exceptions import Setting, SettingError

__all__ = [
    "MULTILABEL_SCORES",
    "as_label_matrix",
    "check_label_counts",
    "is_label_matrix",
    "label_sets",
    "multilabel_fold_scores",
    "per_label_table",
]

#: Fold-level scores of a multi-label comparison. ``f1_macro`` (macro-F1 over
#: labels) is the headline, as for single-label results; ``accuracy`` is the
#: subset accuracy (every label of a sample right) and ``roc_auc_ovr`` the mean
#: over labels of each label's ROC-AUC.
MULTILABEL_SCORES = (
    "f1_macro",
    "f1_weighted",
    "accuracy",
    "balanced_accuracy",
    "roc_auc_ovr",
    "f1_micro",
    "f1_samples",
)


def is_label_matrix(y) -> bool:
    """Whether ``y`` is a 2-D indicator matrix (multi-label), not a label vector."""
    if isinstance(y, pd.DataFrame):
        return True
    return np.ndim(y) == 2 and np.shape(y)[1] >= 1


def as_label_matrix(y, labels=None) -> tuple[np.ndarray, list[str]]:
    """A boolean indicator matrix and its label names, checked.

    Parameters
    ----------
    y : DataFrame or 2-D array-like of 0/1 or bool
        One row per sample, one column per label (a DataFrame's columns name
        them).
    labels : list of str, optional
        Names of the columns of an array (default: its column numbers).

    Returns
    -------
    Y : ndarray of bool, shape (n_samples, n_labels)
    names : list of str

    Raises
    ------
    ValueError
        If a value is not 0/1 (or bool), the names do not match the columns or
        repeat, or a label is never or always present.

    Examples
    --------
    >>> Y, names = as_label_matrix([[1, 0], [0, 1], [1, 1]], labels=["a", "b"])
    >>> Y.sum(axis=0).tolist(), names
    ([2, 2], ['a', 'b'])
    """
    if isinstance(y, pd.DataFrame):
        names = [str(c) for c in y.columns] if labels is None else list(labels)
        values = y.to_numpy()
    else:
        values = np.asarray(y)
        names = (
            [str(j) for j in range(values.shape[1])]
            if labels is None
            else [str(c) for c in labels]
        )
    if values.ndim != 2:
        raise ValueError(f"A label matrix is 2-D; got shape {values.shape}.")
    if len(names) != values.shape[1] or len(set(names)) != len(names):
        raise ValueError(
            f"The label matrix has {values.shape[1]} columns; give as many distinct "
            f"label names (got {names})."
        )
    try:
        numeric = values.astype(float)
    except (TypeError, ValueError):
        numeric = np.full(values.shape, np.nan)
    if not np.isin(numeric, (0.0, 1.0)).all():
        raise ValueError(
            "A multi-label target is an indicator matrix of 0/1 (or True/False), one "
            "column per label; it holds other values. For a column of label sets "
            'such as "16 0", read it with label_sep=" " (CLI --label-sep " ").'
        )
    Y = numeric.astype(bool)
    constant = [n for n, col in zip(names, Y.T, strict=True) if col.all()]
    if constant:
        raise ValueError(
            f"Label(s) {constant} are on every sample: nothing to learn. Leave them "
            "out of the targets."
        )
    return Y, names


def label_sets(Y: np.ndarray, names: list[str], sep: str = " ") -> list[str]:
    """Each sample's labels as one string (for display), ``""`` for none."""
    names_arr = np.asarray(names, dtype=object)
    return [sep.join(names_arr[row]) for row in np.asarray(Y, bool)]


def check_label_counts(
    Y: np.ndarray,
    names: list[str],
    n_splits: int | None,
    *,
    drop_rare: bool,
    groups=None,
) -> np.ndarray:
    """Keep-mask of labels; error or drop for labels too rare (or too common) to split.

    Iterative stratification spreads every label's positives over the folds; a
    label with fewer positives than ``n_splits`` leaves some test folds without it,
    where its F1 is undefined, and a label that every sample has (or all but a
    few) leaves folds without negatives. With ``groups`` the count is of groups,
    the units the folds are made of. Such a label stops the comparison with an
    error that says what to do or, with ``drop_rare``, is left out.

    ``n_splits`` None (a splitter or given splits: the folds are the caller's)
    refuses only labels no sample has, or every sample has.
    """
    Y = np.asarray(Y, bool)
    if groups is None:
        positives, negatives = Y.sum(axis=0), (~Y).sum(axis=0)
        unit = "samples"
    else:
        frame = pd.DataFrame(Y).groupby(np.asarray(groups).astype(str))
        positives = frame.any().to_numpy().sum(axis=0)
        negatives = (~frame.all().to_numpy()).sum(axis=0)
        unit = "groups"
    if n_splits is None:
        empty = (positives == 0) | (negatives == 0)
        if empty.any():
            listed = ", ".join(f"'{n}'" for n, e in zip(names, empty, strict=True) if e)
            raise ValueError(
                f"Label(s) {listed} are in no sample, or in every sample, so no "
                "model can learn or be scored on them; leave them out of y."
            )
        return np.ones(len(names), bool)
    counts = np.minimum(positives, negatives)
    rare = [
        (n, int(p), int(q))
        for n, p, q in zip(names, positives, negatives, strict=True)
        if min(p, q) < n_splits
    ]
    if not rare:
        return np.ones(len(names), bool)
    listed = ", ".join(
        f"'{n}' ({p} positive, {q} negative {unit})" if q < n_splits else f"'{n}' ({p})"
        for n, p, q in rare
    )
    if not drop_rare:
        raise SettingError(
            f"Label(s) {listed} have fewer positive (or negative) {unit} than the "
            f"{n_splits} folds, so some test folds would hold none; use fewer folds, "
            "or leave those labels out with ",
            Setting("drop_rare_classes", True),
            ".",
        )
    keep = counts >= n_splits
    if not keep.any():
        raise ValueError(f"After dropping the rare label(s) {listed} none is left.")
    return keep


def _label_auc(t: np.ndarray, p: np.ndarray) -> float:
    if t.all() or not t.any() or not np.isfinite(p).all():
        return np.nan
    return float(roc_auc_score(t, p))


def multilabel_fold_scores(Y_true, Y_pred, proba) -> dict[str, float]:
    """Scores of one fold of a multi-label comparison (:data:`MULTILABEL_SCORES`).

    ``balanced_accuracy`` is the mean over labels of each label's balanced
    accuracy; labels without positives in the fold count 0 in the F1 averages
    (scikit-learn's ``zero_division=0``) and are left out of the ROC-AUC mean.
    """
    t = np.asarray(Y_true, bool)
    p = np.asarray(Y_pred, bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # labels absent from a fold are fine here

        def f1(average: str) -> float:
            return float(f1_score(t, p, average=average, zero_division=0))

        tpr = (t & p).sum(0) / np.maximum(t.sum(0), 1)
        tnr = (~t & ~p).sum(0) / np.maximum((~t).sum(0), 1)
        out = {
            "f1_macro": f1("macro"),
            "f1_weighted": f1("weighted"),
            "accuracy": float((t == p).all(axis=1).mean()),
            "balanced_accuracy": float(np.mean((tpr + tnr) / 2)),
            "roc_auc_ovr": np.nan,
            "f1_micro": f1("micro"),
            "f1_samples": f1("samples"),
        }
    if proba is not None:
        scores = np.asarray(proba, float)
        aucs = [_label_auc(t[:, j], scores[:, j]) for j in range(t.shape[1])]
        finite = [a for a in aucs if np.isfinite(a)]
        out["roc_auc_ovr"] = float(np.mean(finite)) if finite else np.nan
    return out


def per_label_table(Y_true, Y_pred, proba, names: list[str]) -> pd.DataFrame:
    """Per label: precision, recall, F1, ROC-AUC and support (positives).

    Also the label cardinality of the truth and of the predictions (mean number of
    labels per sample) in ``DataFrame.attrs``.
    """
    t = np.asarray(Y_true, bool)
    p = np.asarray(Y_pred, bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        precision, recall, f1, support = precision_recall_fscore_support(
            t, p, average=None, zero_division=0
        )
    auc = (
        [np.nan] * len(names)
        if proba is None
        else [
            _label_auc(t[:, j], np.asarray(proba, float)[:, j])
            for j in range(len(names))
        ]
    )
    table = pd.DataFrame(
        {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "roc_auc": auc,
            "support": np.asarray(support, int),
        },
        index=pd.Index(names, name="label"),
    )
    table.attrs["cardinality"] = float(t.sum(axis=1).mean()) if len(t) else np.nan
    table.attrs["predicted_cardinality"] = (
        float(p.sum(axis=1).mean()) if len(p) else np.nan
    )
    return table
