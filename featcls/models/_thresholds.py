"""Decision thresholds chosen by a named rule from out-of-fold probabilities.

The rules (:func:`parse_threshold`):

- ``"youden"``: the threshold maximising Youden's J (sensitivity + specificity
  - 1);
- ``"f1"``: the threshold maximising the positive class's F1;
- ``"sensitivity:0.95"``: the highest threshold whose sensitivity is at least
  0.95 (so the best specificity at that sensitivity).

The scores a threshold is chosen on are out-of-fold probabilities of an inner
cross-validation of a fit's own training data (:func:`inner_oof`), so a
threshold never sees the data it is judged on. A comparison's binary decisions
(:mod:`featcls.evaluation`) and the per-label models of a multi-label one
(:class:`~featcls.models.PerLabelClassifier`) share this code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import precision_recall_curve, roc_curve
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

__all__ = [
    "INNER_FOLDS",
    "THRESHOLD_RULES",
    "ThresholdRule",
    "choose_threshold",
    "inner_oof",
    "parse_threshold",
]

#: The rules a threshold can be chosen by (``"sensitivity"`` takes a target).
THRESHOLD_RULES = ("youden", "f1", "sensitivity:<target>")
#: Folds of the inner cross-validation that gives a fit's threshold.
INNER_FOLDS = 3


@dataclass(frozen=True)
class ThresholdRule:
    """A parsed threshold rule: ``name`` and, for ``sensitivity``, its ``target``."""

    name: str
    target: float | None = None

    def __str__(self) -> str:
        return self.name if self.target is None else f"{self.name}:{self.target}"


def parse_threshold(rule) -> ThresholdRule | None:
    """The rule ``"youden"``, ``"f1"`` or ``"sensitivity:0.95"``, checked.

    Parameters
    ----------
    rule : str, ThresholdRule or None

    Returns
    -------
    ThresholdRule or None
        None for None (the class with the higher probability).

    Raises
    ------
    ValueError
        For anything else, with the rules there are.

    Examples
    --------
    >>> parse_threshold("sensitivity:0.95")
    ThresholdRule(name='sensitivity', target=0.95)
    """
    if rule is None or isinstance(rule, ThresholdRule):
        return rule
    text = str(rule).strip().lower() if isinstance(rule, str) else None
    if text in ("youden", "f1"):
        return ThresholdRule(text)
    match = re.fullmatch(r"sensitivity:([0-9.eE+-]+)", text or "")
    if match:
        try:
            target = float(match.group(1))
        except ValueError:
            target = np.nan
        if 0 < target <= 1:
            return ThresholdRule("sensitivity", target)
    raise ValueError(
        f"Unknown threshold rule {rule!r}: use 'youden', 'f1' or "
        "'sensitivity:T' with a target sensitivity T in (0, 1], e.g. "
        "'sensitivity:0.95'."
    )


def choose_threshold(y_true, score, rule: ThresholdRule) -> float:
    """The threshold on ``score`` that ``rule`` picks (positive: score ≥ threshold).

    Parameters
    ----------
    y_true : array-like of bool
        Positive (True) or negative.
    score : array-like of float
        Scores in [0, 1] (probabilities, or aggregated per group).
    rule : ThresholdRule

    Returns
    -------
    threshold : float
        NaN when ``y_true`` holds one class only (no rule can be applied).

    Examples
    --------
    >>> choose_threshold([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], ThresholdRule("youden"))
    0.8
    >>> choose_threshold(
    ...     [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], ThresholdRule("sensitivity", 1.0))
    0.35
    """
    y_true = np.asarray(y_true, dtype=bool)
    score = np.asarray(score, dtype=float)
    if y_true.all() or not y_true.any():
        return float("nan")
    if rule.name == "f1":
        precision, recall, thresholds = precision_recall_curve(y_true, score)
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = 2 * precision * recall / (precision + recall)
        f1 = np.nan_to_num(f1[:-1], nan=0.0)  # the last point has no threshold
        return float(thresholds[int(np.argmax(f1))])
    fpr, tpr, thresholds = roc_curve(y_true, score, drop_intermediate=False)
    thresholds, fpr, tpr = thresholds[1:], fpr[1:], tpr[1:]  # drop the +inf point
    if rule.name == "youden":
        return float(thresholds[int(np.argmax(tpr - fpr))])
    reached = np.flatnonzero(tpr >= rule.target - 1e-12)
    return float(thresholds[reached[0]])  # decreasing: the first is the highest


def inner_oof(estimator, X, y, groups, *, pos: str, random_state) -> np.ndarray:
    """Out-of-fold probability of ``pos`` for every training sample.

    A stratified (with ``groups``: stratified-grouped) inner cross-validation of
    :data:`INNER_FOLDS` folds, or fewer when a class (or the groups) are too few
    for them, on the fit's training data only.

    Returns
    -------
    score : ndarray of float
        NaN everywhere when the training data cannot be split (a class, or the
        groups of a class, fewer than two).
    """
    y = np.asarray(y, dtype=str)
    counts = pd.Series(y).value_counts()
    if groups is not None:
        groups = np.asarray(groups, dtype=str)
        counts = pd.Series(groups).groupby(y).nunique()
    k = int(min(INNER_FOLDS, counts.min())) if len(counts) == 2 else 0
    if k < 2:
        return np.full(len(y), np.nan)
    if groups is None:
        cv = StratifiedKFold(k, shuffle=True, random_state=random_state)
    else:
        cv = StratifiedGroupKFold(k, shuffle=True, random_state=random_state)
    # By hand rather than cross_val_predict, which fits on label-encoded targets:
    # the model sees the labels it is compared on, and its own class order is used.
    score = np.full(len(y), np.nan)
    for train, test in cv.split(np.zeros(len(y)), y, groups):
        model = clone(estimator).fit(_rows(X, train), y[train])
        proba = np.asarray(model.predict_proba(_rows(X, test)), float)
        score[test] = proba[:, [str(c) for c in model.classes_].index(pos)]
        if not np.isfinite(score[test]).all():
            raise ValueError(
                f"{type(model).__name__} gave non-finite probabilities in the inner "
                "cross-validation, so no threshold can be chosen; check the model "
                "(or its features) for NaN."
            )
    return score


def _rows(X, index: np.ndarray):
    return X.iloc[index] if hasattr(X, "iloc") else X[index]
