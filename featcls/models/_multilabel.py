"""One binary model per label, each with its threshold chosen on its training data."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.dummy import DummyClassifier
from sklearn.utils.validation import check_is_fitted

from featcls.exceptions import DecisionWarning
from featcls.models._thresholds import choose_threshold, inner_oof, parse_threshold

__all__ = ["PerLabelClassifier"]


class PerLabelClassifier(ClassifierMixin, BaseEstimator):
    """A multi-label classifier made of one binary copy of ``estimator`` per label.

    Each label's copy is fitted on that label's column of the indicator matrix
    (so class weights and resampling inside ``estimator`` work per label). Its
    decision threshold is chosen by the same rule and code as a binary
    comparison's (:func:`featcls.evaluation.choose_threshold`): from out-of-fold
    probabilities of an inner stratified cross-validation of the training data
    the classifier is given, grouped by ``groups`` when :meth:`fit` gets them —
    inside the training folds of a comparison, never on its test folds.

    Parameters
    ----------
    estimator : classifier
        A binary classifier with ``predict_proba`` (a featcls model pipeline).
    threshold : {"f1", "youden", "sensitivity:T"} or None, default="f1"
        The rule that picks each label's threshold (None: 0.5).
    random_state : int or None, default=0
        Seed of the inner folds.

    Attributes
    ----------
    estimators_ : list of estimators
        One per label. A label with fewer than two positives (or negatives) in the
        training data gets a constant model predicting its training rate, with a
        :class:`~featcls.exceptions.DecisionWarning`.
    thresholds_ : ndarray of float
        Each label's threshold on its probability (NaN for constant models).
    classes_ : ndarray of int
        The label columns, ``0 .. n_labels - 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3))
    >>> Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0.5]).astype(int)
    >>> model = PerLabelClassifier(LogisticRegression()).fit(X, Y)
    >>> model.predict_proba(X).shape, model.predict(X).shape
    ((60, 2), (60, 2))
    """

    def __init__(self, estimator, threshold="f1", random_state=0):
        self.estimator = estimator
        self.threshold = threshold
        self.random_state = random_state

    def _fit_label(self, X, y, groups, j: int, rule):
        counts = np.bincount(y, minlength=2)
        if counts.min() < 2:
            warnings.warn(
                f"label column {j} has {counts[1]} positive and {counts[0]} negative "
                "training samples: too few to fit and tune; it is predicted at its "
                "training rate.",
                DecisionWarning,
                stacklevel=3,
            )
            return DummyClassifier(strategy="prior").fit(X, y), np.nan
        model = clone(self.estimator).fit(X, y)
        if rule is None:
            return model, 0.5
        score = inner_oof(
            self.estimator, X, y, groups, pos="1", random_state=self.random_state
        )
        threshold = (
            choose_threshold(y == 1, score, rule)
            if np.isfinite(score).all()
            else np.nan
        )
        if not np.isfinite(threshold):
            warnings.warn(
                f"label column {j}: its training data cannot be split for a "
                f"{rule} threshold (too few positives or negatives, or groups); "
                "0.5 is used.",
                DecisionWarning,
                stacklevel=3,
            )
            threshold = 0.5
        return model, float(threshold)

    def fit(self, X, Y, groups=None):
        """Fit one binary model per column of the indicator matrix ``Y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        Y : array-like of shape (n_samples, n_labels) of 0/1
        groups : array-like of shape (n_samples,), optional
            Groups the inner cross-validation keeps together (patients,
            duplicate images), as the outer folds do.
        """
        rule = parse_threshold(self.threshold)
        Y = np.asarray(Y)
        if Y.ndim != 2:
            raise ValueError(
                f"PerLabelClassifier needs a 2-D label matrix; got shape {Y.shape}."
            )
        if not np.isin(Y, (0, 1)).all():
            raise ValueError(
                "PerLabelClassifier needs a 0/1 indicator matrix Y; it holds other "
                "values."
            )
        if not hasattr(self.estimator, "predict_proba"):
            raise TypeError(
                f"{type(self.estimator).__name__} has no predict_proba: a per-label "
                "threshold needs probabilities."
            )
        fitted = [
            self._fit_label(X, Y[:, j].astype(int), groups, j, rule)
            for j in range(Y.shape[1])
        ]
        self.estimators_ = [m for m, _ in fitted]
        self.thresholds_ = np.asarray([t for _, t in fitted], float)
        self.classes_ = np.arange(Y.shape[1])
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Each label's probability, shape ``(n_samples, n_labels)``."""
        check_is_fitted(self)
        columns = []
        for model in self.estimators_:
            proba = np.asarray(model.predict_proba(X), float)
            classes = list(getattr(model, "classes_", [0, 1]))
            columns.append(
                proba[:, classes.index(1)] if 1 in classes else 0 * proba[:, 0]
            )
        return np.column_stack(columns)

    def predict(self, X) -> np.ndarray:
        """Each label's decision at its threshold, shape ``(n, n_labels)``."""
        check_is_fitted(self)
        proba = self.predict_proba(X)
        if not np.isfinite(proba).all():
            raise ValueError(
                "PerLabelClassifier: the model gave non-finite probabilities; check "
                "it (or its features) for NaN."
            )
        rates = np.asarray([isinstance(m, DummyClassifier) for m in self.estimators_])
        # A constant model predicts its training majority; the others decide at
        # their threshold (positive: probability >= threshold).
        thresholds = np.where(rates, 0.5, self.thresholds_)
        decided = proba >= thresholds
        decided[:, rates] = proba[:, rates] > 0.5
        return decided.astype(int)
