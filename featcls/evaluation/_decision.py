"""Binary decisions: thresholds chosen by a named rule, answers per group.

A binary model's image-level decision is, by default, the class with the higher
probability (a threshold of 0.5). With a *rule* the threshold is chosen, inside
each fit's own training data, from out-of-fold probabilities of an inner
cross-validation (:func:`inner_oof`):

- ``"youden"``: the threshold maximising Youden's J (sensitivity + specificity
  - 1);
- ``"f1"``: the threshold maximising the positive class's F1;
- ``"sensitivity:0.95"``: the highest threshold whose sensitivity is at least
  0.95 (so the best specificity at that sensitivity).

Samples can also be answered per group (patient, slide, module ...): the image
probabilities of the positive class are aggregated per group
(:data:`AGGREGATIONS`), the group is positive when its score reaches the group
threshold, and its truth is a given group label or, by default, whether any of
its images is positive.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from featcls._policies import AGGREGATIONS
from featcls.exceptions import DecisionWarning
from featcls.models._thresholds import (
    INNER_FOLDS,
    THRESHOLD_RULES,
    ThresholdRule,
    choose_threshold,
    inner_oof,
    parse_threshold,
)

__all__ = [
    "AGGREGATIONS",
    "INNER_FOLDS",
    "THRESHOLD_RULES",
    "ThresholdRule",
    "aggregate",
    "binary_scores",
    "choose_threshold",
    "group_truth",
    "inner_oof",
    "parse_threshold",
    "positive_class",
    "warn_no_threshold",
]

#: Label pairs whose positive class goes without saying (lower case).
_OBVIOUS = (
    ("0", "1"),
    ("-1", "1"),
    ("false", "true"),
    ("no", "yes"),
    ("negative", "positive"),
    ("neg", "pos"),
)


def positive_class(classes: list[str], y, pos_label=None) -> str:
    """The positive class of a binary task.

    ``pos_label`` when given; else the obvious one of pairs such as 0/1,
    false/true, negative/positive; else the less frequent class (the first in
    sorted order on a tie).

    Raises
    ------
    ValueError
        If there are not exactly two classes, or ``pos_label`` is not one of them.
    """
    if len(classes) != 2:
        raise ValueError(
            "Thresholds and group answers are for two classes (positive and "
            f"negative); these labels hold {len(classes)}: {classes}."
        )
    if pos_label is not None:
        if str(pos_label) not in classes:
            raise ValueError(
                f"pos_label {pos_label!r} is not one of the classes {classes}."
            )
        return str(pos_label)
    lower = tuple(c.lower() for c in classes)
    for pair in _OBVIOUS:
        if lower == pair or lower == pair[::-1]:
            return classes[lower.index(pair[1])]
    counts = pd.Series(np.asarray(y, dtype=str)).value_counts()
    return min(classes, key=lambda c: (counts.get(c, 0), c))


def aggregate(score, groups, how: str, threshold: float = 0.5) -> pd.Series:
    """Group scores from image scores: ``"mean"``, ``"max"`` or ``"fraction"``.

    ``"fraction"`` is the share of a group's images whose score reaches
    ``threshold`` (the image-level decision). Indexed by group, sorted.

    Examples
    --------
    >>> aggregate([0.2, 0.9, 0.4], ["a", "a", "b"], "max").to_dict()
    {'a': 0.9, 'b': 0.4}
    """
    if how not in AGGREGATIONS:
        raise ValueError(
            f"Unknown aggregation {how!r}; use one of {', '.join(AGGREGATIONS)}."
        )
    score = pd.Series(np.asarray(score, dtype=float))
    if how == "fraction":
        score = (score >= threshold).astype(float)
        how = "mean"
    return score.groupby(np.asarray(groups, dtype=str)).agg(how).sort_index()


def group_truth(positive, groups, labels=None, pos: str | None = None) -> pd.Series:
    """Whether each group is positive, indexed by group (sorted).

    Parameters
    ----------
    positive : array-like of bool
        Whether each image is positive.
    groups : array-like
        The group of each image.
    labels : array-like of str, optional
        A group-level label per image (the same for every image of a group);
        a group is positive when its label is ``pos``. By default a group is
        positive when any of its images is.
    pos : str, optional
        The positive label, with ``labels``.

    Raises
    ------
    ValueError
        If ``labels`` differ within a group.
    """
    groups = np.asarray(groups, dtype=str)
    if labels is None:
        truth = pd.Series(np.asarray(positive, bool)).groupby(groups).any()
        return truth.sort_index()
    labels = pd.Series(np.asarray(labels, dtype=str))
    varying = labels.groupby(groups).nunique()
    if (varying > 1).any():
        bad = ", ".join(f"'{g}'" for g in varying.index[varying > 1][:5])
        raise ValueError(
            f"The group labels differ within group(s) {bad}: a group label must be "
            "the same for every image of the group."
        )
    return (labels.groupby(groups).first() == pos).sort_index()


def binary_scores(y_true, y_pred) -> dict[str, float]:
    """Sensitivity, specificity, PPV, NPV and F1 of a binary decision.

    NaN where a score is undefined (no positives for sensitivity, nothing called
    positive for PPV, ...).

    Examples
    --------
    >>> s = binary_scores([1, 1, 0, 0], [1, 0, 0, 0])
    >>> s["sensitivity"], s["specificity"], s["ppv"]
    (0.5, 1.0, 1.0)
    """
    t = np.asarray(y_true, bool)
    p = np.asarray(y_pred, bool)
    tp, fp = int((t & p).sum()), int((~t & p).sum())
    fn, tn = int((t & ~p).sum()), int((~t & ~p).sum())

    def ratio(a: int, b: int) -> float:
        return a / b if b else float("nan")

    return {
        "sensitivity": ratio(tp, tp + fn),
        "specificity": ratio(tn, tn + fp),
        "ppv": ratio(tp, tp + fp),
        "npv": ratio(tn, tn + fn),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
    }


def warn_no_threshold(rule: ThresholdRule, level: str) -> None:
    """The warning for a fit whose training data cannot give a threshold."""
    warnings.warn(
        f"the {level}-level threshold rule '{rule}' needs both classes (and at "
        "least two groups or images of each) in the training data; 0.5 is used "
        "for this fit.",
        DecisionWarning,
        stacklevel=3,
    )
