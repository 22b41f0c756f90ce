"""Metrics and paired tests, computed from stored out-of-fold predictions only."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    roc_auc_score,
)

__all__ = [
    "SCORES",
    "SCORE_BOUNDS",
    "corrected_interval",
    "corrected_ttest",
    "fold_scores",
    "interval",
    "interval_clipped",
    "per_class_table",
    "wilcoxon_test",
]

#: Fold-level scores, in the column order of ``ComparisonResult.to_frame()``.
SCORES = ("f1_macro", "f1_weighted", "accuracy", "balanced_accuracy", "roc_auc_ovr")


def fold_scores(y_true, y_pred, proba, classes) -> dict[str, float]:
    """Scores of one fold. ``proba`` (n, n_classes) may be None (no ROC-AUC then)."""
    labels = list(classes)
    out = {
        "f1_macro": f1_score(
            y_true, y_pred, labels=labels, average="macro", zero_division=0
        ),
        "f1_weighted": f1_score(
            y_true, y_pred, labels=labels, average="weighted", zero_division=0
        ),
        "accuracy": accuracy_score(y_true, y_pred),
        "balanced_accuracy": _balanced_accuracy(y_true, y_pred),
        "roc_auc_ovr": np.nan,
    }
    if proba is not None:
        out["roc_auc_ovr"] = _roc_auc(np.asarray(y_true), np.asarray(proba), labels)
    return out


def _balanced_accuracy(y_true, y_pred) -> float:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # classes absent from y_pred are fine here
        return float(balanced_accuracy_score(y_true, y_pred))


def _roc_auc(y_true: np.ndarray, proba: np.ndarray, labels: list[str]) -> float:
    present = [i for i, c in enumerate(labels) if (y_true == c).any()]
    if len(present) < 2 or not np.isfinite(proba).all():
        return np.nan
    if len(labels) == 2:
        return float(roc_auc_score(y_true == labels[1], proba[:, 1]))
    # One-vs-rest, macro over the classes present in this fold.
    aucs = [roc_auc_score(y_true == labels[i], proba[:, i]) for i in present]
    return float(np.mean(aucs))


def per_class_table(y_true, y_pred, classes) -> pd.DataFrame:
    """Per-class precision/recall/F1 and TPR/TNR/PPV/NPV from pooled predictions."""
    labels = list(classes)
    cm = confusion_matrix(y_true, y_pred, labels=labels).astype(float)
    total = cm.sum()
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    tn = total - tp - fp - fn
    with np.errstate(divide="ignore", invalid="ignore"):
        tpr = tp / (tp + fn)
        tnr = tn / (tn + fp)
        ppv = tp / (tp + fp)
        npv = tn / (tn + fn)
        f1 = 2 * ppv * tpr / (ppv + tpr)
    f1 = np.where((ppv + tpr) == 0, 0.0, f1)
    return pd.DataFrame(
        {
            "precision": ppv,
            "recall": tpr,
            "f1": f1,
            "TPR": tpr,
            "TNR": tnr,
            "PPV": ppv,
            "NPV": npv,
            "support": cm.sum(axis=1).astype(int),
        },
        index=pd.Index(labels, name="class"),
    )


#: Range of every score in :data:`SCORES`; intervals of their means stay inside it.
SCORE_BOUNDS = (0.0, 1.0)


def interval(
    values, confidence: float = 0.95, bounds: tuple[float, float] | None = SCORE_BOUNDS
) -> tuple[float, float]:
    """Student-t interval of the mean of fold scores, clipped to ``bounds``.

    NaN for fewer than two finite values. On few folds the t interval of a score
    near 0 or 1 reaches past the score's range (macro-F1 scores of 0.9, 1.0 and
    1.0 give [0.823, 1.110]); the interval is then clipped to ``bounds``
    (``None``: not clipped), and :func:`interval_clipped` says whether it was.

    Examples
    --------
    >>> [round(x, 3) for x in interval([0.9, 1.0, 1.0])]
    [0.823, 1.0]
    >>> [round(x, 3) for x in interval([0.9, 1.0, 1.0], bounds=None)]
    [0.823, 1.11]
    >>> interval_clipped([0.9, 1.0, 1.0])
    True
    """
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
    if v.size < 2:
        return (np.nan, np.nan)
    half = (
        stats.t.ppf(0.5 + confidence / 2, v.size - 1)
        * v.std(ddof=1)
        / math.sqrt(v.size)
    )
    low, high = float(v.mean() - half), float(v.mean() + half)
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return (low, high)


def interval_clipped(
    values, confidence: float = 0.95, bounds: tuple[float, float] = SCORE_BOUNDS
) -> bool:
    """Whether :func:`interval` clipped the interval of ``values`` to ``bounds``."""
    low, high = interval(values, confidence, bounds=None)
    return bool(low < bounds[0] or high > bounds[1])


def corrected_ttest(a, b, test_fraction: float) -> tuple[float, float, float]:
    """Corrected resampled t-test of paired fold scores (Nadeau & Bengio 2003).

    The variance of the differences is inflated by ``1/k + n_test/n_train`` instead
    of ``1/k`` because the training sets of the folds overlap. Returns
    ``(mean difference a − b, t, two-sided p)``; NaN when undefined.

    References
    ----------
    C. Nadeau, Y. Bengio, "Inference for the generalization error", Machine Learning
    52 (2003) 239–281; R. R. Bouckaert, E. Frank, "Evaluating the replicability of
    significance tests for comparing learning algorithms", PAKDD 2004.
    """
    d = np.asarray(a, float) - np.asarray(b, float)
    d = d[np.isfinite(d)]
    k = d.size
    if k < 2:
        return (float(d.mean()) if k else np.nan, np.nan, np.nan)
    mean, var = d.mean(), d.var(ddof=1)
    ratio = test_fraction / (1.0 - test_fraction)
    denom = math.sqrt((1.0 / k + ratio) * var)
    if denom == 0:
        return (float(mean), np.nan, 1.0 if mean == 0 else 0.0)
    t = mean / denom
    p = 2.0 * stats.t.sf(abs(t), k - 1)
    return (float(mean), float(t), float(p))


def corrected_interval(
    a, b, test_fraction: float, confidence: float = 0.95
) -> tuple[float, float]:
    """Interval of the mean paired difference ``a − b`` with the corrected variance.

    The interval that goes with :func:`corrected_ttest`: the mean difference ±
    the Student-t quantile times ``sqrt((1/k + n_test/n_train) · var)``. Not
    clipped (a difference of scores lies in [-1, 1] anyway); NaN for fewer than
    two finite pairs.
    """
    d = np.asarray(a, float) - np.asarray(b, float)
    d = d[np.isfinite(d)]
    k = d.size
    if k < 2:
        return (np.nan, np.nan)
    ratio = test_fraction / (1.0 - test_fraction)
    half = stats.t.ppf(0.5 + confidence / 2, k - 1) * math.sqrt(
        (1.0 / k + ratio) * d.var(ddof=1)
    )
    return (float(d.mean() - half), float(d.mean() + half))


def wilcoxon_test(a, b) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired fold scores (or NaN)."""
    d = np.asarray(a, float) - np.asarray(b, float)
    d = d[np.isfinite(d)]
    if d.size < 2 or np.all(d == 0):
        return np.nan if d.size < 2 else 1.0
    return float(stats.wilcoxon(d).pvalue)
