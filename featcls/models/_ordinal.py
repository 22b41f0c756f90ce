"""Ordered classes as cumulative binary problems (Frank & Hall 2001)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils.validation import check_is_fitted

__all__ = ["OrdinalClassifier"]


class OrdinalClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """A classifier for ordered classes: one binary copy of ``estimator`` per threshold.

    With classes ``c_0 < c_1 < … < c_{K-1}``, copy ``k`` learns ``P(y > c_k)`` from
    the same training data (so class weights and resampling inside ``estimator``
    apply to each binary problem). The class probabilities are the differences of
    consecutive cumulative ones, ``P(y = c_k) = P(y > c_{k-1}) − P(y > c_k)``,
    clipped at 0 and renormalised (the copies are fitted independently, so their
    cumulative probabilities need not decrease); the prediction is their arg-max.
    Unlike one-against-one or one-against-rest schemes, every copy learns from all
    the training samples, so a rare middle level borrows from its neighbours.

    Parameters
    ----------
    estimator : classifier
        A binary classifier with ``predict_proba`` (a featcls model pipeline).
    order : sequence or "sorted"
        The classes from lowest to highest, or ``"sorted"`` when the labels sort in
        their order (``"p0.00" < "p0.33" < …``, as ELPV's defect levels; not
        ``"high" < "low" < "mid"``). Required: :meth:`fit` refuses to guess it.
        Training labels outside it are refused, and so is ``"sorted"`` for text
        labels that are numbers sorting otherwise as text (``"1" < "10" < "2"``).

    Attributes
    ----------
    classes_ : ndarray
        The classes in ``order``.
    estimators_ : list of estimators
        ``K − 1`` fitted copies, copy ``k`` for ``P(y > classes_[k])``.

    References
    ----------
    E. Frank, M. Hall, "A simple approach to ordinal classification", ECML 2001.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.arange(30, dtype=float)[:, None]
    >>> y = np.repeat(["low", "mid", "high"], 10)
    >>> model = OrdinalClassifier(LogisticRegression(), order=["low", "mid", "high"])
    >>> model.fit(X, y).predict([[2.0], [15.0], [28.0]]).tolist()
    ['low', 'mid', 'high']
    """

    def __init__(self, estimator, *, order=None):
        self.estimator = estimator
        self.order = order

    def fit(self, X, y, **fit_params):
        """Fit one copy of ``estimator`` per threshold between consecutive classes.

        ``fit_params`` (``sample_weight``, ...) go to every copy.
        """
        y = np.asarray(y)
        present = np.unique(y)
        if self.order is None:
            raise ValueError(
                "OrdinalClassifier needs the order of the classes: give "
                "order=[lowest, ..., highest], or order='sorted' when the labels sort "
                f"in their order (here: {present.tolist()})."
            )
        if isinstance(self.order, str):
            if self.order != "sorted":
                raise ValueError(
                    "OrdinalClassifier's order is a list of the classes or 'sorted'; "
                    f"got {self.order!r}."
                )
            classes = present
            _refuse_numbers_sorted_as_text(classes)
        else:
            classes = np.asarray(list(self.order))  # its own width: no name cut
            unknown = sorted(set(present.tolist()) - set(classes.tolist()))
            if unknown or len(set(classes.tolist())) != len(classes):
                raise ValueError(
                    "OrdinalClassifier's order must list every training class once, "
                    f"from lowest to highest; {unknown or 'a class twice'} "
                    f"{'is not in it' if unknown else 'is'} (order={list(self.order)})."
                )
        if len(classes) < 2:
            raise ValueError(
                f"OrdinalClassifier needs at least 2 classes; got {classes.tolist()}."
            )
        sorter = np.argsort(classes)
        rank = sorter[np.searchsorted(classes, y, sorter=sorter)]  # position in order
        self.classes_ = classes
        self.estimators_ = []
        for k in range(len(classes) - 1):
            above = (rank > k).astype(int)
            if above.min() == above.max():
                raise ValueError(
                    f"OrdinalClassifier: no training sample lies on one side of the "
                    f"threshold after {classes[k].item()!r}; give each class training "
                    "samples."
                )
            self.estimators_.append(clone(self.estimator).fit(X, above, **fit_params))
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, in ``classes_`` order (each row sums to 1)."""
        check_is_fitted(self, "estimators_")
        above = np.column_stack(
            [_positive_proba(model, X) for model in self.estimators_]
        )
        n = len(above)
        cumulative = np.hstack([np.ones((n, 1)), above, np.zeros((n, 1))])
        proba = np.clip(cumulative[:, :-1] - cumulative[:, 1:], 0.0, None)
        total = proba.sum(axis=1, keepdims=True)
        uniform = np.full_like(proba, 1.0 / proba.shape[1])
        return np.where(total > 0, proba / np.where(total > 0, total, 1.0), uniform)

    def predict(self, X) -> np.ndarray:
        """The most probable class of each sample."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def numbers_sorted_as_text(classes) -> list | None:
    """The numeric order of text labels that are numbers sorting otherwise as text.

    ``["1", "10", "2"]`` gives ``["1", "2", "10"]``; labels that are not all
    numbers, or sort alike either way, give None.
    """
    classes = np.unique(np.asarray(classes))
    if classes.dtype.kind not in "USO":
        return None
    try:
        values = np.array([float(c) for c in classes.tolist()])
    except (TypeError, ValueError):
        return None  # not all numbers: the text order is the one asked for
    if not (np.diff(values) < 0).any():
        return None
    return classes[np.argsort(values, kind="stable")].tolist()


def _refuse_numbers_sorted_as_text(classes: np.ndarray) -> None:
    numeric = numbers_sorted_as_text(classes)
    if numeric is not None:
        raise ValueError(
            "OrdinalClassifier's order='sorted' would sort these labels as text "
            f"({' < '.join(map(str, classes.tolist()))}), not as the numbers they "
            f"are; give the order: order={numeric}."
        )


def _positive_proba(model, X) -> np.ndarray:
    """``P(class 1)`` from a fitted binary classifier."""
    proba = model.predict_proba(X)
    return proba[:, list(model.classes_).index(1)]
