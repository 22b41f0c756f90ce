"""Classical models on the feature table: pipelines with imbalance handling, search."""

from __future__ import annotations

import numpy as np
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import Pipeline
from imblearn.under_sampling import RandomUnderSampler
from scipy import sparse
from sklearn.base import clone
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.preprocessing import StandardScaler
from sklearn.utils import _safe_indexing, check_random_state

__all__ = ["AdaptiveStratifiedKFold", "SafeSMOTE", "feature_pipeline", "grid_search"]


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


def _sampler(imbalance: str, random_state):
    if imbalance == "smote":
        return SafeSMOTE(random_state=random_state)
    if imbalance == "oversample":
        return RandomOverSampler(random_state=random_state)
    if imbalance == "undersample":
        return RandomUnderSampler(random_state=random_state)
    return None


def feature_pipeline(classifier, *, scale: bool, options) -> Pipeline:
    """A ready pipeline for the hand-crafted feature table around ``classifier``.

    ``SimpleImputer(median)`` (features can be NaN where undefined) →
    ``StandardScaler`` (if ``scale``) → the resampler of ``options.imbalance`` (if
    any) → ``classifier`` (step ``clf``). Because it is an imbalanced-learn
    ``Pipeline``, resampling happens when the pipeline is fitted — on training
    folds only — and never at predict time.

    Parameters
    ----------
    classifier : estimator
        Already set up for ``options`` (class weights, seed, threads).
    scale : bool
    options : ModelOptions
        ``imbalance`` and ``random_state`` (the resampler's seed) are used.

    Returns
    -------
    imblearn.pipeline.Pipeline
    """
    steps = [("impute", SimpleImputer(strategy="median", keep_empty_features=True))]
    if scale:
        steps.append(("scale", StandardScaler()))
    sampler = _sampler(options.imbalance, options.random_state)
    if sampler is not None:
        steps.append(("resample", sampler))
    steps.append(("clf", classifier))
    return Pipeline(steps)


def grid_search(
    estimator, grid, *, random_state: int | None = 0, inner_cv: int = 3
) -> GridSearchCV:
    """``estimator`` in a ``GridSearchCV`` over ``grid``, scored by macro-F1.

    The inner split is stratified ``inner_cv``-fold (fewer folds where a class of
    the training data is smaller, at least 2), seeded by ``random_state``: nested
    CV when used in :func:`featcls.compare`, where the chosen parameters are kept
    per fold.
    """
    inner = AdaptiveStratifiedKFold(inner_cv, shuffle=True, random_state=random_state)
    return GridSearchCV(
        estimator,
        dict(grid),
        scoring="f1_macro",
        cv=inner,
        n_jobs=1,
        error_score="raise",
    )
