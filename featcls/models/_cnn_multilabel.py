"""Multi-label targets of a CNN: the label matrix, loss, validation and thresholds.

A CNN fitted on a 0/1 indicator matrix ``Y`` (one column per label) has one logit
per label, trained with a sigmoid cross-entropy whose positives are weighted per
label; its predictions are each label's probability and a per-label decision at
a threshold tuned on the fit's own validation images.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score
from sklearn.model_selection import ShuffleSplit

from featcls.models._cnn_device import import_torch

__all__ = [
    "LabelLoss",
    "check_multilabel_params",
    "label_matrix",
    "label_names",
    "multilabel_scores",
    "multilabel_split",
    "positive_weights",
    "tune_thresholds",
]

#: The threshold of a label whose validation images do not tell positives apart
#: from negatives (no validation split, or no positive or no negative there).
DEFAULT_THRESHOLD = 0.5


def label_matrix(y: Any) -> np.ndarray | None:
    """The int8 ``(n, L)`` indicator matrix of a multi-label ``y``, or None.

    ``y`` is multi-label when it is 2-D with at least two columns (a single
    column is a single-label target, as in scikit-learn).

    Raises
    ------
    ValueError
        If a 2-D ``y`` of several columns holds values other than 0 and 1.

    Examples
    --------
    >>> label_matrix([[1, 0], [0, 1], [1, 1]]).tolist()
    [[1, 0], [0, 1], [1, 1]]
    >>> label_matrix(["a", "b", "a"]) is None
    True
    """
    values = y.to_numpy() if isinstance(y, pd.DataFrame) else np.asarray(y)
    if values.ndim != 2 or values.shape[1] < 2:
        return None
    try:
        numbers = values.astype(np.float64)
    except (TypeError, ValueError):
        numbers = None
    if numbers is None or not np.isin(numbers, (0.0, 1.0)).all():
        shown = sorted({str(v) for v in np.unique(values.astype(str))})[:5]
        raise ValueError(
            "A 2-D y is a multi-label indicator matrix: one column per label, 1 "
            f"where a sample carries the label and 0 elsewhere. Got the values "
            f"{shown} in y of shape {values.shape}."
        )
    return numbers.astype(np.int8)


def label_names(y: Any, n_labels: int) -> np.ndarray:
    """The labels' names: the columns of a DataFrame ``y``, else ``0 .. L - 1``."""
    if isinstance(y, pd.DataFrame):
        return np.asarray(y.columns)
    return np.arange(n_labels)


def check_multilabel_params(est: Any) -> None:
    """Refuse the settings that do not apply to multi-label targets."""
    if est.resample == "undersample":
        raise ValueError(
            f"The 'resample' parameter of {type(est).__name__} cannot be "
            "'undersample' for a multi-label y: leaving images out leaves out all "
            "their labels. Use 'oversample' (images carrying rare labels drawn "
            "again) or class_weight='balanced' (per-label positive weights)."
        )


def positive_weights(Y: np.ndarray) -> np.ndarray:
    """Each label's weight of positives: negatives / positives in ``Y``.

    The weight of ``torch.nn.BCEWithLogitsLoss``'s ``pos_weight``, so that a
    label's positives weigh as much as its negatives in total (the multi-label
    analogue of balanced class weights). A label without positives, or without
    negatives, gets 1.

    Examples
    --------
    >>> positive_weights(np.array([[1, 0, 1], [0, 0, 1], [0, 0, 1]])).tolist()
    [2.0, 1.0, 1.0]
    """
    positives = Y.sum(axis=0).astype(np.float64)
    negatives = len(Y) - positives
    both = (positives > 0) & (negatives > 0)
    return np.where(both, negatives / np.maximum(positives, 1), 1.0).astype(np.float32)


class LabelLoss:
    """Sigmoid cross-entropy of ``(N, L)`` logits, positives weighted per label.

    ``smoothing`` moves the 0/1 targets to ``smoothing / 2`` and
    ``1 - smoothing / 2`` (label smoothing for two classes per label).
    """

    def __init__(self, pos_weight, smoothing: float = 0.0):
        self.pos_weight = pos_weight
        self.smoothing = float(smoothing)

    def __call__(self, logits, target):
        """The mean loss over images and labels."""
        torch = import_torch()
        if self.smoothing:
            target = target * (1 - self.smoothing) + self.smoothing / 2
        return torch.nn.functional.binary_cross_entropy_with_logits(
            logits, target, pos_weight=self.pos_weight
        )


def multilabel_split(Y: np.ndarray, fraction: float, seed: int):
    """Training and validation indices of a label matrix, ``(train, val, problem)``.

    Iterative stratification (the ``iterative-stratification`` package, which
    multi-label comparisons use for their folds), so that every label's
    positives are spread in proportion; a plain random split where that package
    is not installed. With fewer than two images on either side: all indices,
    None and a sentence that says why.
    """
    n = len(Y)
    n_val = max(2, math.ceil(fraction * n))
    if n - n_val < 2:
        return (
            np.arange(n),
            None,
            f"{n} images are too few for a validation split",
        )
    try:
        from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit
    except ImportError:  # pragma: no cover - the package comes with the comparisons
        splitter = ShuffleSplit(n_splits=1, test_size=n_val, random_state=seed)
    else:
        splitter = MultilabelStratifiedShuffleSplit(
            n_splits=1, test_size=n_val, random_state=seed
        )
    train, val = next(splitter.split(np.zeros((n, 1)), np.asarray(Y, dtype=int)))
    return np.sort(train), np.sort(val), None


def multilabel_scores(logits, target) -> dict:
    """``val_loss`` and ``val_f1`` of CPU ``(N, L)`` logits for early stopping.

    ``val_loss`` is the unweighted sigmoid cross-entropy; ``val_f1`` the macro-F1,
    each label decided at probability 0.5, over the labels with a positive
    validation image (0 when none has one).
    """
    torch = import_torch()
    target = target.float()
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
    truth = target.numpy().astype(int)
    present = np.flatnonzero(truth.sum(axis=0) > 0)
    f1 = 0.0
    if len(present):
        f1 = f1_score(
            truth[:, present],
            (logits.numpy()[:, present] > 0).astype(int),
            average="macro",
            zero_division=0,
        )
    return {"val_loss": float(loss), "val_f1": float(f1)}


def _best_threshold(p: np.ndarray, t: np.ndarray) -> float:
    """The threshold on ``p`` that maximises the F1 of the 0/1 truth ``t``.

    Cuts lie half-way between consecutive distinct probabilities; of equally good
    cuts the highest is kept.
    """
    if t.all() or not t.any():
        return DEFAULT_THRESHOLD
    order = np.argsort(-p, kind="stable")
    ps, ts = p[order], t[order].astype(np.float64)
    predicted = np.arange(1, len(ps) + 1)
    f1 = 2 * np.cumsum(ts) / (predicted + ts.sum())
    f1[np.r_[ps[:-1] <= ps[1:], False]] = -1.0  # no cut between equal values
    best = int(np.argmax(f1))
    below = ps[best + 1] if best + 1 < len(ps) else 0.0
    return float(np.clip((ps[best] + below) / 2, 1e-6, 1 - 1e-6))


def tune_thresholds(proba: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Each label's F1-maximising threshold on validation probabilities.

    Parameters
    ----------
    proba : ndarray of shape (n, L)
        Each validation image's probability of each label.
    Y : ndarray of shape (n, L)
        The 0/1 truth.

    Returns
    -------
    ndarray of float, shape (L,)
        In ``(0, 1)``; :data:`DEFAULT_THRESHOLD` for a label whose validation
        images are all positive or all negative.

    Examples
    --------
    >>> proba = np.array([[0.9, 0.2], [0.6, 0.3], [0.4, 0.1], [0.1, 0.8]])
    >>> truth = np.array([[1, 0], [1, 0], [0, 0], [0, 0]])
    >>> tune_thresholds(proba, truth).tolist()
    [0.5, 0.5]
    >>> tune_thresholds(proba, np.array([[1, 0], [1, 1], [0, 0], [0, 1]])).round(2)
    array([0.5 , 0.25])
    """
    Y = np.asarray(Y, dtype=bool)
    return np.asarray(
        [_best_threshold(proba[:, k], Y[:, k]) for k in range(Y.shape[1])],
        dtype=np.float64,
    )
