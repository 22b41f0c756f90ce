"""RBF support-vector classifier with calibrated probabilities (rare-class safe)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import SVC
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["SVMClassifier"]


class SVMClassifier(ClassifierMixin, BaseEstimator):
    """RBF SVC whose ``predict`` is the SVM's decision and ``predict_proba`` calibrated.

    Probabilities come from Platt (sigmoid) scaling of the decision values fitted by
    an internal stratified cross-validation of the training data
    (``CalibratedClassifierCV(ensemble=False)``), the method that replaces
    scikit-learn's
    deprecated ``SVC(probability=True)``. The number of calibration folds shrinks to
    the smallest class (at least 2), so rare classes inside outer CV folds work; a
    class with a single training sample gets probabilities from a softmax of the
    one-vs-rest decision values instead (ranking preserved, not calibrated).

    Parameters
    ----------
    C : float, default=3.0
    gamma : {"scale", "auto"} or float, default="scale"
    class_weight : {"balanced"} or None, default="balanced"
    calibration_cv : int, default=3
    random_state : int or None, default=0
    """

    def __init__(
        self,
        *,
        C: float = 3.0,
        gamma="scale",
        class_weight="balanced",
        calibration_cv: int = 3,
        random_state: int | None = 0,
    ):
        self.C = C
        self.gamma = gamma
        self.class_weight = class_weight
        self.calibration_cv = calibration_cv
        self.random_state = random_state

    def _svc(self) -> SVC:
        return SVC(
            C=self.C,
            gamma=self.gamma,
            class_weight=self.class_weight,
            decision_function_shape="ovr",
            random_state=self.random_state,
        )

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        self.classes_, counts = np.unique(y, return_counts=True)
        if len(self.classes_) < 2:
            raise ValueError(
                "SVMClassifier needs at least 2 classes in the training "
                f"data; got 1 class: {list(self.classes_)}."
            )
        folds = min(int(self.calibration_cv), int(counts.min()))
        if folds >= 2:
            cv = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
            self.calibrated_ = CalibratedClassifierCV(
                self._svc(), method="sigmoid", cv=cv, ensemble=False
            ).fit(X, y)
            self.svc_ = self.calibrated_.calibrated_classifiers_[0].estimator
        else:
            self.calibrated_ = None
            self.svc_ = self._svc().fit(X, y)
        return self

    def decision_function(self, X) -> np.ndarray:
        check_is_fitted(self, "svc_")
        X = validate_data(self, X, reset=False)
        return self.svc_.decision_function(X)

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "svc_")
        X = validate_data(self, X, reset=False)
        return self.svc_.predict(X)

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "svc_")
        X = validate_data(self, X, reset=False)
        if self.calibrated_ is not None:
            return self.calibrated_.predict_proba(X)
        scores = self.svc_.decision_function(X)
        if scores.ndim == 1:
            scores = np.column_stack([-scores, scores])
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        return scores / scores.sum(axis=1, keepdims=True)
