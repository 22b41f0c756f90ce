"""Classical models on the feature table: ready pipelines with imbalance handling."""

from __future__ import annotations

import numpy as np
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import Pipeline
from imblearn.under_sampling import RandomUnderSampler
from scipy import sparse
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier, VotingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.preprocessing import StandardScaler
from sklearn.utils import _safe_indexing, check_random_state

from featcls.models._svm import SVMClassifier
from featcls.models._xgb import XGBoostClassifier

__all__ = ["IMBALANCE_STRATEGIES", "MODELS", "SEARCH_GRIDS", "SafeSMOTE", "make_model"]

#: Remedies for imbalanced classes. Resamplers act inside the training folds only,
#: because they are steps of an imbalanced-learn pipeline (skipped at predict time).
IMBALANCE_STRATEGIES = ("class_weight", "smote", "oversample", "undersample", "none")


class SafeSMOTE(SMOTE):
    """SMOTE whose neighbour count shrinks to fit each class of the fold.

    Plain SMOTE fails when a class has fewer than ``k_neighbors + 1`` training
    samples, which happens with rare classes inside cross-validation folds. Here
    each class to oversample uses ``k = min(k_neighbors, class size − 1)``
    neighbours, and a class with a single sample (no neighbour to interpolate
    with) is oversampled by repeating that sample. The number of samples made per
    class always follows ``sampling_strategy`` (``sampling_strategy_`` after
    fitting), as in :class:`imblearn.over_sampling.SMOTE`.

    Attributes
    ----------
    sampling_strategy_ : dict
        Class label → number of samples generated.
    k_neighbors_ : dict
        Class label → number of neighbours used (0: repeated).
    nn_k_ : estimator
        The validated nearest-neighbours estimator of ``k_neighbors``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(24, dtype=float).reshape(12, 2)
    >>> y = np.array([0] * 9 + [1] * 2 + [2])
    >>> smote = SafeSMOTE(random_state=0)
    >>> _, y_res = smote.fit_resample(X, y)
    >>> np.bincount(y_res).tolist(), list(smote.k_neighbors_.values())
    ([9, 9, 9], [1, 0])
    """

    def _fit_resample(self, X, y):
        self._validate_estimator()
        wanted = self.nn_k_.get_params().get("n_neighbors", 6) - 1
        rng = np.random.default_rng(
            check_random_state(self.random_state).randint(2**31)
        )
        X_parts, y_parts = [X.copy()], [y.copy()]
        self.k_neighbors_ = {}
        for label, n_new in self.sampling_strategy_.items():
            if n_new == 0:
                continue
            members = np.flatnonzero(y == label)
            k = min(wanted, len(members) - 1)
            self.k_neighbors_[label] = max(k, 0)
            if k < 1:
                picked = members[rng.integers(len(members), size=n_new)]
                X_parts.append(_safe_indexing(X, picked))
                y_parts.append(y[picked])
                continue
            X_class = _safe_indexing(X, members)
            nn = clone(self.nn_k_).set_params(n_neighbors=k + 1).fit(X_class)
            neighbours = nn.kneighbors(X_class, return_distance=False)[:, 1:]
            X_new, y_new = self._make_samples(
                X_class, y.dtype, label, X_class, neighbours, n_new, 1.0
            )
            X_parts.append(X_new)
            y_parts.append(y_new)
        stack = sparse.vstack if sparse.issparse(X) else np.vstack
        return stack(X_parts), np.hstack(y_parts)


class AdaptiveStratifiedKFold(StratifiedKFold):
    """Stratified k-fold that lowers k to the smallest class (at least 2).

    The inner split of a nested search runs on an outer training fold, where a rare
    class may have fewer members than the requested folds.
    """

    def _k(self, y) -> int:
        counts = np.unique(np.asarray(y), return_counts=True)[1]
        return max(2, min(self.n_splits, int(counts.min())))

    def split(self, X, y, groups=None):
        splitter = StratifiedKFold(
            self._k(y), shuffle=self.shuffle, random_state=self.random_state
        )
        return splitter.split(X, y, groups)

    def get_n_splits(self, X=None, y=None, groups=None):
        return self.n_splits if y is None else self._k(y)


def _svm(weights, random_state, n_jobs):
    return SVMClassifier(
        C=3.0, gamma="scale", class_weight=weights, random_state=random_state
    )


def _logreg(weights, random_state, n_jobs):
    return LogisticRegression(
        C=0.1, class_weight=weights, max_iter=3000, random_state=random_state
    )


def _forest(weights, random_state, n_jobs):
    return RandomForestClassifier(
        n_estimators=500,
        class_weight=weights,
        min_samples_leaf=1,
        n_jobs=n_jobs,
        random_state=random_state,
    )


def _xgboost(weights, random_state, n_jobs):
    return XGBoostClassifier(
        class_weight=weights, random_state=random_state, n_jobs=n_jobs
    )


#: Model name → (classifier factory, needs feature scaling, description).
MODELS = {
    "svm": (
        _svm,
        True,
        "StandardScaler → RBF SVC (C=3, gamma='scale'), calibrated probabilities",
    ),
    "xgboost": (
        _xgboost,
        False,
        "XGBoost, hist (64 bins), 300 trees of depth 4, learning rate 0.05",
    ),
    "logreg": (_logreg, True, "StandardScaler → L2 logistic regression (C=0.1)"),
    "random_forest": (_forest, False, "Random forest, 500 trees"),
}

#: Small default grids of the optional inner hyper-parameter search.
SEARCH_GRIDS = {
    "svm": {"clf__C": [0.3, 1.0, 3.0, 10.0], "clf__gamma": ["scale", 0.3e-2, 1e-3]},
    "xgboost": {"clf__max_depth": [3, 6], "clf__learning_rate": [0.05, 0.1]},
    "logreg": {"clf__C": [0.01, 0.1, 1.0]},
    "random_forest": {
        "clf__max_features": ["sqrt", 0.3],
        "clf__min_samples_leaf": [1, 3],
    },
}


#: Members of the soft-voting ``ensemble`` model.
ENSEMBLE_MEMBERS = ("svm", "xgboost", "logreg")


def _sampler(imbalance: str, random_state):
    if imbalance == "smote":
        return SafeSMOTE(random_state=random_state)
    if imbalance == "oversample":
        return RandomOverSampler(random_state=random_state)
    if imbalance == "undersample":
        return RandomUnderSampler(random_state=random_state)
    return None


def make_model(
    name: str,
    *,
    imbalance: str = "class_weight",
    search: bool = False,
    inner_cv: int = 3,
    random_state: int | None = 0,
    n_jobs: int = 1,
):
    """A ready pipeline for the hand-crafted feature table.

    ``SimpleImputer(median)`` (features can be NaN where undefined) → ``StandardScaler``
    (for SVM and logistic regression) → the resampler of ``imbalance`` (if any) → the
    classifier. Because it is an imbalanced-learn ``Pipeline``, resampling happens when
    the pipeline is fitted — on training folds only — and never at predict time.

    Parameters
    ----------
    name : {"svm", "xgboost", "logreg", "random_forest", "ensemble"}
        ``"ensemble"`` averages the class probabilities of the svm, xgboost and
        logreg pipelines (soft voting, equal weights); each member resamples and
        searches on its own.
    imbalance : {"class_weight", "smote", "oversample", "undersample", "none"}
        ``class_weight`` (the default) weights classes by inverse frequency (sample
        weights for XGBoost); the others resample the training data.
    search : bool, default=False
        Wrap the pipeline in a ``GridSearchCV`` over :data:`SEARCH_GRIDS` with an inner
        stratified ``inner_cv``-fold split scored by macro-F1 (nested CV when used in
        :func:`featcls.compare`); the chosen parameters are kept per fold.
    inner_cv : int, default=3
    random_state : int or None, default=0
        Seed of the classifier, the resampler and the inner split.
    n_jobs : int, default=1
        Threads of the classifier (random forest, XGBoost).

    Returns
    -------
    estimator : imblearn.pipeline.Pipeline or GridSearchCV
    """
    if name == "ensemble":
        members = [
            (
                m,
                make_model(
                    m,
                    imbalance=imbalance,
                    search=search,
                    inner_cv=inner_cv,
                    random_state=random_state,
                    n_jobs=n_jobs,
                ),
            )
            for m in ENSEMBLE_MEMBERS
        ]
        return VotingClassifier(members, voting="soft")
    if name not in MODELS:
        known = ", ".join([*MODELS, "ensemble"])
        raise ValueError(f"Unknown model {name!r}. Known models: {known}.")
    if imbalance not in IMBALANCE_STRATEGIES:
        raise ValueError(
            f"Unknown imbalance strategy {imbalance!r}. Choose one of "
            f"{', '.join(IMBALANCE_STRATEGIES)}."
        )
    factory, scale, _ = MODELS[name]
    weights = "balanced" if imbalance == "class_weight" else None
    steps = [("impute", SimpleImputer(strategy="median", keep_empty_features=True))]
    if scale:
        steps.append(("scale", StandardScaler()))
    sampler = _sampler(imbalance, random_state)
    if sampler is not None:
        steps.append(("resample", sampler))
    steps.append(("clf", factory(weights, random_state, n_jobs)))
    pipe = Pipeline(steps)
    if not search:
        return pipe
    inner = AdaptiveStratifiedKFold(inner_cv, shuffle=True, random_state=random_state)
    return GridSearchCV(
        pipe,
        SEARCH_GRIDS[name],
        scoring="f1_macro",
        cv=inner,
        n_jobs=1,
        error_score="raise",
    )


def describe_model(name: str) -> str:
    """One line describing a registered model."""
    if name == "ensemble":
        return "Soft vote (mean probability) of " + ", ".join(ENSEMBLE_MEMBERS)
    return MODELS[name][2]
