"""XGBoost behind the scikit-learn classifier API, with class weights and any labels."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from featcls._validation import RANDOM_STATE, NumberInterval

__all__ = ["XGBoostClassifier"]


class XGBoostClassifier(ClassifierMixin, BaseEstimator):
    """Gradient-boosted trees (XGBoost, ``tree_method="hist"``) for any class labels.

    Wraps ``xgboost.XGBClassifier``: labels may be strings (they are encoded and
    decoded), and ``class_weight="balanced"`` weights every sample by the inverse
    frequency of its class — XGBoost's equivalent of an SVM's class weights.

    Parameters
    ----------
    n_estimators : int, default=300
    max_depth : int, default=4
        0 for no limit.
    learning_rate : float, default=0.05
    subsample : float, default=0.8
    colsample_bytree : float, default=0.5
    max_bin : int, default=64
        Histogram bins per feature. Fewer bins than XGBoost's 256 make each tree
        cheaper to grow on thousands of columns (a VLAD encoding); a few thousand
        samples fill 64 bins well.
    class_weight : {"balanced"}, dict or None, default="balanced"
        ``"balanced"``: inverse class frequencies; a dict maps labels to weights.
    n_jobs : int, default=1
        Threads used by XGBoost.
    random_state : int or None, default=0

    Attributes
    ----------
    classes_ : ndarray
    booster_ : xgboost.XGBClassifier
    feature_importances_ : ndarray
        Total gain of the splits on each feature, normalised to sum to 1.
    """

    _parameter_constraints: dict = {
        "n_estimators": [NumberInterval(Integral, 1, None, closed="left")],
        # 0: no depth limit (XGBoost's meaning, with the hist method).
        "max_depth": [NumberInterval(Integral, 0, None, closed="left")],
        "learning_rate": [NumberInterval(Real, 0, None, closed="neither")],
        "subsample": [NumberInterval(Real, 0, 1, closed="right")],
        "colsample_bytree": [NumberInterval(Real, 0, 1, closed="right")],
        "max_bin": [NumberInterval(Integral, 2, None, closed="left")],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "n_jobs": [NumberInterval(Integral, None, None, closed="neither"), None],
        "random_state": [RANDOM_STATE, np.random.RandomState, None],
    }

    def __init__(
        self,
        *,
        n_estimators: int = 300,
        max_depth: int = 4,
        learning_rate: float = 0.05,
        subsample: float = 0.8,
        colsample_bytree: float = 0.5,
        max_bin: int = 64,
        class_weight: str | None = "balanced",
        n_jobs: int = 1,
        random_state: int | None = 0,
    ):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.max_bin = max_bin
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None):
        from xgboost import XGBClassifier

        self._validate_params()
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan")
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                "XGBoostClassifier needs at least 2 classes in the "
                f"training data; got 1 class: {list(self.classes_)}."
            )
        weights = None
        if sample_weight is not None:
            weights = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
            if not np.any(weights > 0):
                raise ValueError(
                    "Sample weights must contain at least one non-zero number."
                )
        if self.class_weight is not None:
            per_class = compute_sample_weight(self.class_weight, y)
            weights = per_class if weights is None else weights * per_class
        multi = len(self.classes_) > 2
        self.booster_ = XGBClassifier(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            learning_rate=self.learning_rate,
            subsample=self.subsample,
            colsample_bytree=self.colsample_bytree,
            max_bin=self.max_bin,
            tree_method="hist",
            objective="multi:softprob" if multi else "binary:logistic",
            n_jobs=self.n_jobs,
            random_state=self.random_state,
            importance_type="total_gain",
        )
        self.booster_.fit(X, encoded, sample_weight=weights)
        gain = np.asarray(self.booster_.feature_importances_, dtype=float)
        total = gain.sum()
        self.feature_importances_ = gain / total if total > 0 else gain
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "booster_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return self.booster_.predict_proba(X)

    def predict(self, X) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
