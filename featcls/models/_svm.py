"""RBF support-vector classifier with calibrated probabilities (rare-class safe).

The RBF kernel is computed here with BLAS and handed to libsvm precomputed. libsvm
evaluates ``exp(-gamma * ||x - y||²)`` one kernel row at a time with a scalar loop
over the features, which dominates the fit on wide feature tables (thousands of
standardised columns); the same Gram matrix is one matrix product
(``||x||² + ||y||² - 2 x·yᵀ``). The squared distances are computed once per fit and
shared by the calibration folds and the final model, each of which only rescales
them by its own ``gamma``.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import f1_score
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import SVC
from sklearn.utils import gen_batches
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from featcls._validation import RANDOM_STATE, NumberInterval

__all__ = ["FAMILY_ALPHAS", "SVMClassifier"]

#: The ``alpha`` values ``family_alpha="auto"`` chooses from: every column alike,
#: between, every family alike.
FAMILY_ALPHAS = (0.0, 0.5, 1.0)
#: ``family_alpha="auto"`` chooses only when every class has this many training
#: rows (10 per inner fold); with fewer, the inner scores are too noisy to choose a
#: kernel by, and every column counts alike (``alpha = 0``).
MIN_CLASS_FOR_ALPHA = 30

#: Upper bound (bytes) of one block of test-side kernel values at predict time.
_BLOCK_BYTES = 64 * 2**20
#: Test rows per distance computation. BLAS may sum a matrix product in another
#: order for another number of rows, so distances are always computed on chunks
#: of this many rows starting at row 0, whatever the block size: predicting in
#: blocks gives the same bits as predicting at once.
_CHUNK_ROWS = 128


def _rbf_from_sq_dist(sq_dist: np.ndarray, gamma: float) -> np.ndarray:
    """``exp(-gamma * d²)`` in place on a (fresh) block of squared distances."""
    sq_dist *= -gamma
    return np.exp(sq_dist, out=sq_dist)


class _DecisionValues(ClassifierMixin, BaseEstimator):
    """Identity "classifier": its decision values are the columns it is given.

    Frozen, it lets ``CalibratedClassifierCV`` fit Platt sigmoids on out-of-fold
    decision values computed elsewhere (here from a precomputed kernel) and later
    map decision values to probabilities, all through scikit-learn's public API, so
    the per-class sigmoids and the multiclass normalisation are scikit-learn's own.
    Binary problems use one column (the decision value of ``classes_[1]``).
    """

    def fit(self, X, y):
        self.classes_ = unique_labels(y)
        return self

    def decision_function(self, X):
        X = np.asarray(X, dtype=np.float64)
        return X[:, 0] if len(self.classes_) == 2 else X

    def predict(self, X):
        # Unused; cross_val_predict only accepts estimators that can predict.
        scores = self.decision_function(X)
        best = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[best]


def _platt_calibrator(scores: np.ndarray, y: np.ndarray) -> CalibratedClassifierCV:
    """Sigmoid calibration of ``CalibratedClassifierCV(ensemble=False)`` on scores.

    ``scores`` are the cross-validated decision values of the training rows, exactly
    what ``CalibratedClassifierCV`` collects with ``cross_val_predict`` before
    fitting one sigmoid per class (one in the binary case).
    """
    scores = scores.reshape(len(y), -1)
    frozen = FrozenEstimator(_DecisionValues().fit(scores, y))
    calibrator = CalibratedClassifierCV(frozen, method="sigmoid", cv=2, ensemble=False)
    # The frozen scorer ignores the split: every row's prediction is its own score.
    # One BLAS thread: the 2-parameter L-BFGS fits otherwise wait on BLAS threads
    # still spinning after the kernel products (up to ~0.4 s on 2 busy cores).
    with threadpool_limits(limits=1, user_api="blas"):
        return calibrator.fit(scores, y)


class SVMClassifier(ClassifierMixin, BaseEstimator):
    """RBF SVC whose ``predict`` is the SVM's decision and ``predict_proba`` calibrated.

    Probabilities come from Platt (sigmoid) scaling of the decision values fitted by
    an internal stratified cross-validation of the training data — what
    ``CalibratedClassifierCV(SVC(), method="sigmoid", ensemble=False)`` does, the
    method that replaces scikit-learn's deprecated ``SVC(probability=True)``. The
    number of calibration folds shrinks to the smallest class (at least 2), so rare
    classes inside outer CV folds work; a class with a single training sample gets
    probabilities from a softmax of the one-vs-rest decision values instead
    (ranking preserved, not calibrated).

    The result equals that of ``SVC(kernel="rbf")`` wrapped in
    ``CalibratedClassifierCV`` with the same settings (up to floating-point
    rounding of the kernel), but the RBF kernel is computed with BLAS and passed to
    libsvm precomputed: the squared distances between training rows are computed
    once per ``fit`` and indexed by the calibration folds, and prediction computes
    kernel values against the support vectors only. This is much faster on wide
    matrices; memory grows with the square of the number of training rows (about
    ``16 n²`` bytes at fit time).

    Parameters
    ----------
    C : float, default=3.0
        Regularisation parameter of the SVM.
    gamma : {"scale", "auto"} or float, default="scale"
        RBF kernel coefficient, resolved as in :class:`sklearn.svm.SVC` on the
        training rows of each fit (each calibration fold and the final model):
        ``"scale"`` is ``1 / (n_features * X.var())``, ``"auto"`` is
        ``1 / n_features``.
    class_weight : {"balanced"} or None, default="balanced"
        Class weights of the SVM, as in :class:`sklearn.svm.SVC`.
    calibration_cv : int, default=3
        Folds of the internal stratified cross-validation of the calibration
        (at least 2).
    random_state : int or None, default=0
        Seed of the shuffled calibration folds (and of the inner folds of
        ``family_alpha="auto"``).
    family_alpha : None, float or "auto", default=None
        How much each feature family counts in the kernel's squared distance. The
        families are read from the column names of a DataFrame ``X`` (the part
        before ``"__"``, as :class:`~featcls.features.FeatureExtractor` names
        them): family ``f`` with ``n_f`` of the ``n`` columns (``k`` families,
        columns constant on the training rows not counted) has its columns
        weighted by ``(n / (k · n_f)) ** family_alpha`` — ``0`` counts every
        column alike, ``1`` every family alike, so that a wide family (a learned
        codebook's thousands of columns) does not drown the others. ``"auto"``
        chooses ``alpha`` among :data:`FAMILY_ALPHAS` by an inner stratified
        3-fold cross-validation (macro-F1 of the SVM's decisions) of the training
        rows when every class has at least :data:`MIN_CLASS_FOR_ALPHA` of them
        (else ``alpha = 0``). None, an ``X`` without names or a single family:
        every column alike.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen in ``fit``.
    gamma_ : float
        Resolved kernel coefficient of the final SVM (all training rows).
    support_vectors_ : ndarray of shape (n_support_vectors, n_features)
        Training rows that are support vectors of the final SVM.
    svc_ : sklearn.svm.SVC
        The final SVM, fitted on the precomputed kernel of all training rows.
    calibrated_ : sklearn.calibration.CalibratedClassifierCV or None
        Sigmoid calibrators fitted on the out-of-fold decision values; ``None`` when
        a class has a single training sample (softmax fallback).
    family_alpha_ : float or None
        The ``alpha`` the families were weighted with (None: every column alike).
    column_weights_ : ndarray of shape (n_features,) or None
        The factor each column is multiplied by before the distances (the square
        root of its family's weight), or None.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 5))
    >>> y = np.array([0] * 20 + [1] * 20)
    >>> X[y == 1] += 2.0
    >>> model = SVMClassifier().fit(X, y)
    >>> model.predict_proba(X[:3]).shape
    (3, 2)
    >>> bool((model.predict(X) == y).mean() > 0.9)
    True
    """

    _parameter_constraints: dict = {
        "C": [NumberInterval(Real, 0, None, closed="neither")],
        "gamma": [
            StrOptions({"scale", "auto"}),
            NumberInterval(Real, 0, None, closed="left"),
        ],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "calibration_cv": [NumberInterval(Integral, 2, None, closed="left")],
        "random_state": [RANDOM_STATE, np.random.RandomState, None],
        "family_alpha": [
            StrOptions({"auto"}),
            NumberInterval(Real, 0, None, closed="left"),
            None,
        ],
    }

    def __init__(
        self,
        *,
        C: float = 3.0,
        gamma="scale",
        class_weight="balanced",
        calibration_cv: int = 3,
        random_state: int | None = 0,
        family_alpha=None,
    ):
        self.C = C
        self.gamma = gamma
        self.class_weight = class_weight
        self.calibration_cv = calibration_cv
        self.random_state = random_state
        self.family_alpha = family_alpha

    def _svc(self) -> SVC:
        return SVC(
            C=self.C,
            kernel="precomputed",
            class_weight=self.class_weight,
            decision_function_shape="ovr",
            random_state=self.random_state,
        )

    def _resolve_gamma(self, X: np.ndarray) -> float:
        """``gamma`` as :class:`sklearn.svm.SVC` resolves it on training rows X."""
        if self.gamma == "scale":
            X_var = X.var()
            return 1.0 / (X.shape[1] * X_var) if X_var != 0 else 1.0
        if self.gamma == "auto":
            return 1.0 / X.shape[1]
        return float(self.gamma)

    def _check_gamma(self) -> None:
        ok = (
            self.gamma in ("scale", "auto")
            if isinstance(self.gamma, str)
            else isinstance(self.gamma, Real)
            and not isinstance(self.gamma, bool)
            and self.gamma >= 0
        )
        if not ok:
            raise ValueError(
                "The 'gamma' parameter of SVMClassifier must be 'scale', 'auto' or "
                f"a float >= 0. Got {self.gamma!r} instead."
            )

    def fit(self, X, y):
        """Fit the calibration folds, the sigmoid calibrators and the final SVM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (no missing values).
        y : array-like of shape (n_samples,)
            Class labels; at least 2 classes.

        Returns
        -------
        self : SVMClassifier
            The fitted classifier.

        Raises
        ------
        ValueError
            If ``y`` has a single class or a parameter is invalid (named in the
            message).
        """
        self._validate_params()
        X, y = validate_data(self, X, y, dtype=np.float64, order="C")
        check_classification_targets(y)
        self.classes_, counts = np.unique(y, return_counts=True)
        if len(self.classes_) < 2:
            raise ValueError(
                "SVMClassifier needs at least 2 classes in the training "
                f"data; got 1 class: {list(self.classes_)}."
            )
        self.family_alpha_, self.column_weights_ = self._family_weights(X, y, counts)
        if self.column_weights_ is not None:
            X = X * self.column_weights_
        sq_dist = euclidean_distances(X, squared=True)
        folds = min(int(self.calibration_cv), int(counts.min()))
        if folds >= 2:
            cv = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
            scores = self._out_of_fold_scores(X, y, sq_dist, cv)
            self.calibrated_ = _platt_calibrator(scores, y)
        else:
            self.calibrated_ = None
        self.gamma_ = self._resolve_gamma(X)
        # The full distance matrix is not needed any more: reuse it for the kernel.
        kernel = _rbf_from_sq_dist(sq_dist, self.gamma_)
        self.svc_ = self._svc().fit(kernel, y)
        self.support_vectors_ = X[self.svc_.support_]
        return self

    def _family_weights(self, X, y, counts):
        """``(alpha, column factors)`` of ``family_alpha`` on the training rows X."""
        names = getattr(self, "feature_names_in_", None)
        if self.family_alpha is None or names is None:
            return None, None
        # "family__feature"; a name without "__" (x0, x1 ...) belongs to no family.
        family = np.array([str(n).partition("__")[0] * ("__" in str(n)) for n in names])
        live = X.std(axis=0) > 0
        sizes = {f: int(live[family == f].sum()) for f in dict.fromkeys(family)}
        if sum(1 for m in sizes.values() if m) < 2:
            return None, None  # one family: nothing to weigh

        def factors(alpha: float) -> np.ndarray:
            n, k = sum(sizes.values()), len(sizes)
            weight = {f: (n / (k * m)) ** alpha if m else 0.0 for f, m in sizes.items()}
            return np.sqrt(np.array([weight[f] for f in family]))

        if self.family_alpha != "auto":
            alpha = float(self.family_alpha)
            return alpha, factors(alpha)
        if counts.min() < MIN_CLASS_FOR_ALPHA:  # too few to choose: columns alike
            return 0.0, factors(0.0)
        cv = StratifiedKFold(3, shuffle=True, random_state=self.random_state)
        splits = list(cv.split(X, y))
        best = None
        for alpha in FAMILY_ALPHAS:
            weighted = X * factors(alpha)
            kernel = _rbf_from_sq_dist(
                euclidean_distances(weighted, squared=True),
                self._resolve_gamma(weighted),
            )
            scores = []
            for fit, held in splits:
                svc = self._svc().fit(kernel[np.ix_(fit, fit)], y[fit])
                pred = svc.predict(kernel[np.ix_(held, fit)])
                scores.append(f1_score(y[held], pred, average="macro"))
            score = float(np.mean(scores))
            if best is None or score > best[0] + 1e-12:  # ties: the lower alpha
                best = (score, alpha)
        return best[1], factors(best[1])

    def _out_of_fold_scores(self, X, y, sq_dist, cv) -> np.ndarray:
        """Decision values of each training row by the SVM fitted without its fold.

        The same folds, per-fold ``gamma`` and fold models as ``cross_val_predict``
        inside ``CalibratedClassifierCV``, with kernels indexed from ``sq_dist``.
        """
        scores = None
        for train, test in cv.split(X, y):
            gamma = self._resolve_gamma(X[train] if self.gamma == "scale" else X)
            kernel = _rbf_from_sq_dist(sq_dist[np.ix_(train, train)], gamma)
            svc = self._svc().fit(kernel, y[train])
            kernel = _rbf_from_sq_dist(sq_dist[np.ix_(test, train)], gamma)
            fold_scores = svc.decision_function(kernel)
            if scores is None:
                scores = np.empty((len(y), *fold_scores.shape[1:]))
            scores[test] = fold_scores
        return scores

    def _svc_call(self, X, method: str) -> np.ndarray:
        """``svc_.<method>`` on the kernel between X and the training rows.

        libsvm reads a precomputed kernel only at the support vectors' columns, so
        only those are computed (in blocks of rows to bound memory); the others
        stay zero.
        """
        n_train = self.svc_.shape_fit_[0]
        support = self.svc_.support_
        rows = max(1, _BLOCK_BYTES // (8 * max(n_train, 1)))
        rows = max(1, rows // _CHUNK_ROWS) * _CHUNK_ROWS  # blocks of whole chunks
        out = []
        for block in gen_batches(len(X), rows):
            kernel = np.zeros((block.stop - block.start, n_train))
            for chunk in gen_batches(block.stop - block.start, _CHUNK_ROWS):
                if not len(support):
                    break
                sq_dist = euclidean_distances(
                    X[block][chunk], self.support_vectors_, squared=True
                )
                kernel[chunk, support] = _rbf_from_sq_dist(sq_dist, self.gamma_)
            out.append(getattr(self.svc_, method)(kernel))
        return np.concatenate(out)

    def _validate(self, X) -> np.ndarray:
        check_is_fitted(self, "svc_")
        X = validate_data(self, X, reset=False, dtype=np.float64, order="C")
        weights = getattr(self, "column_weights_", None)  # older model files: none
        return X if weights is None else X * weights

    def decision_function(self, X) -> np.ndarray:
        """One-vs-rest decision values of the SVM (1-D for two classes)."""
        return self._svc_call(self._validate(X), "decision_function")

    def predict(self, X) -> np.ndarray:
        """Class labels decided by the SVM (not the argmax of the probabilities)."""
        return self._svc_call(self._validate(X), "predict")

    def predict_proba(self, X) -> np.ndarray:
        """Calibrated class probabilities, shape (n_samples, n_classes)."""
        scores = self.decision_function(X)
        if self.calibrated_ is not None:
            return self.calibrated_.predict_proba(scores.reshape(len(scores), -1))
        if scores.ndim == 1:
            scores = np.column_stack([-scores, scores])
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        return scores / scores.sum(axis=1, keepdims=True)
