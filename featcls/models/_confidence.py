"""The confidence below which a model's call is not trusted, from out-of-fold calls.

A map of tiles shows each region's class only where the model is confident enough;
"enough" is learned from the training data: the model is cross-validated, and the
threshold on the confidence (the largest class probability) that best separates its
right out-of-fold calls from its wrong ones is kept (Youden's J). The result is
plain data, stored in the model file's metadata by ``featcls train``.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.metrics import roc_curve
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.utils._param_validation import InvalidParameterError

from featcls.data import as_sample_table
from featcls.features import FeatureExtractor
from featcls.models._tiles import predict_with_proba

__all__ = ["confidence_threshold"]


def _stateless_extractor(model: Any) -> FeatureExtractor | None:
    """The feature step of a pipeline whose features learn nothing from the data."""
    from featcls.features._extractor import _resolve_families

    steps = getattr(model, "steps", None)
    if not steps or not isinstance(steps[0][1], FeatureExtractor) or len(steps) < 2:
        return None
    extractor = steps[0][1]
    families = getattr(extractor, "families_", None)
    if families is None:
        families = _resolve_families(extractor.families)
    return None if any(f.stateful for f in families) else extractor


@contextlib.contextmanager
def _shared_cache(model: Any) -> Iterator[Any]:
    """``model`` whose feature step caches per-image work across the folds."""
    steps = getattr(model, "steps", None)
    first = steps[0][1] if steps else None
    if not isinstance(first, FeatureExtractor) or first.cache_dir is not None:
        yield model
        return
    with tempfile.TemporaryDirectory(prefix="featcls-threshold-") as tmp:
        yield clone(model).set_params(**{f"{steps[0][0]}__cache_dir": tmp})


def _folds(y: np.ndarray, groups: Any, cv: int, random_state: int | None):
    """Stratified (grouped) folds; a clear error when the data cannot fill them."""
    classes, counts = np.unique(y, return_counts=True)
    if counts.min() < cv:
        rare = str(classes[counts.argmin()])
        raise ValueError(
            f"Cannot fit the confidence threshold on {cv} folds: class {rare!r} has "
            f"only {counts.min()} samples. Use at most {counts.min()} folds."
        )
    if groups is None:
        splitter = StratifiedKFold(cv, shuffle=True, random_state=random_state)
        return list(splitter.split(np.zeros(len(y)), y))
    n_groups = len(np.unique(np.asarray(groups)))
    if n_groups < cv:
        raise ValueError(
            f"Cannot fit the confidence threshold on {cv} folds: there are only "
            f"{n_groups} groups. Use at most {n_groups} folds."
        )
    splitter = StratifiedGroupKFold(cv, shuffle=True, random_state=random_state)
    return list(splitter.split(np.zeros(len(y)), y, np.asarray(groups)))


def _out_of_fold(model, X, y, folds) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold predictions and confidences (largest class probability)."""
    pred = np.empty(len(y), dtype=object)
    confidence = np.empty(len(y))
    extractor = _stateless_extractor(model)
    if extractor is not None:  # one extraction serves every fold
        fitted = getattr(extractor, "families_", None) is not None
        features = (extractor if fitted else clone(extractor).fit(X)).transform(X)
        model, X = clone(model)[1:], features
    with _shared_cache(model) as model:
        for train, test in folds:
            part = X.iloc[test] if hasattr(X, "iloc") else X[test]
            whole = X.iloc[train] if hasattr(X, "iloc") else X[train]
            fitted = clone(model).fit(whole, y[train])
            p, proba = predict_with_proba(fitted, part)
            pred[test] = np.asarray(p).astype(str)
            confidence[test] = proba.max(axis=1)
    return pred, confidence


def confidence_threshold(
    model: Any,
    X: Any,
    y: Any,
    *,
    groups: Any = None,
    cv: int = 5,
    random_state: int | None = 0,
) -> dict[str, Any]:
    """The confidence below which ``model``'s calls are not to be trusted.

    ``model`` is cross-validated on ``(X, y)`` (stratified folds, grouped when
    ``groups`` is given; a clone is fitted on each training part). Each
    out-of-fold call is *right* or *wrong*; its confidence is the largest class
    probability. The threshold is the confidence that maximises Youden's J =
    (share of right calls at or above it) − (share of wrong calls at or above
    it), i.e. the point of the ROC curve of "right vs wrong, scored by
    confidence" farthest above the diagonal. Binary and multiclass models get
    the same rule: it asks whether a call can be trusted, whichever class it
    names (not the ROC of the positive class).

    A feature pipeline whose feature families learn nothing from the data
    (every family but ``vlad``) extracts the features once for all folds; any
    other pipeline shares a temporary feature cache across the folds; a CNN is
    trained once per fold (so ``cv`` times).

    Parameters
    ----------
    model : estimator
        A model that takes images (a feature pipeline, a CNN, a fusion model),
        fitted or not; it is not changed.
    X : sample table, list of paths or arrays, or ndarray
        The training images.
    y : array-like of shape (n_samples,)
        Their classes.
    groups : array-like of shape (n_samples,), optional
        Groups that must not straddle a fold (patients, plates …).
    cv : int, default=5
        Number of folds, at least 2 and at most the size of the smallest class
        (and the number of groups).
    random_state : int or None, default=0
        Seed of the fold assignment.

    Returns
    -------
    confidence : dict
        Plain data: ``threshold`` (calls whose confidence is below it are
        uncertain), ``method`` (``"youden"``), ``youden_j``, ``right_kept`` and
        ``wrong_kept`` (the shares of right and wrong out-of-fold calls at or
        above the threshold), ``folds``, ``n_samples``, ``n_right`` and
        ``n_wrong``. When every out-of-fold call is right, the threshold is the
        lowest confidence seen; when every call is wrong, it is 1.

    Raises
    ------
    ValueError
        If ``cv`` is not an int >= 2, or a class (or the set of groups) is too
        small for ``cv`` folds.

    Examples
    --------
    >>> import numpy as np
    >>> from featcls.models import CNNClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 100, size=(12, 16, 16), dtype=np.uint8)
    >>> X[6:] += 120
    >>> y = np.array(["dark"] * 6 + ["bright"] * 6)
    >>> cnn = CNNClassifier(input_size=16, max_epochs=1, early_stopping=False)
    >>> found = confidence_threshold(cnn, X, y, cv=2)
    >>> 0 <= found["threshold"] <= 1, found["folds"], found["n_samples"]
    (True, 2, 12)
    """
    if isinstance(cv, bool) or not isinstance(cv, Integral) or cv < 2:
        raise InvalidParameterError(
            "The 'cv' parameter of confidence_threshold must be an int >= 2. "
            f"Got {cv!r} instead."
        )
    X = as_sample_table(X)
    y = np.asarray(y).astype(str)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} images but y has {len(y)} labels.")
    folds = _folds(y, groups, int(cv), random_state)
    pred, confidence = _out_of_fold(model, X, y, folds)
    right = pred == y
    n_right = int(right.sum())
    found: dict[str, Any] = {"method": "youden"}
    if n_right in (0, len(y)):
        threshold = float(confidence.min()) if n_right else 1.0
        found.update(threshold=threshold, youden_j=0.0)
        found.update(right_kept=float(n_right > 0), wrong_kept=0.0)
    else:
        wrong_kept, right_kept, thresholds = roc_curve(
            right, confidence, drop_intermediate=False
        )
        j = right_kept - wrong_kept
        best = 1 + int(np.argmax(j[1:]))  # the first threshold is +inf
        found.update(
            threshold=float(thresholds[best]),
            youden_j=float(j[best]),
            right_kept=float(right_kept[best]),
            wrong_kept=float(wrong_kept[best]),
        )
    found.update(
        folds=int(cv), n_samples=len(y), n_right=n_right, n_wrong=len(y) - n_right
    )
    return found
