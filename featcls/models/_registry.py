"""One table of every model featcls knows by name, and the builder of them.

:data:`MODEL_SPECS` maps a name to a :class:`ModelSpec`: the factory that builds the
estimator from the shared :class:`ModelOptions`, what it consumes (the feature table
or the pixels) and its optional grid search. The CLI, :func:`featcls.compare` and,
through the descriptions they record, the report read this table.

This module imports no heavy library at load time (the CLI builds its ``--help``
from the table): each factory imports its estimator when it is called.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "IMBALANCE_STRATEGIES",
    "MODEL_NAMES",
    "MODEL_SPECS",
    "BuiltModels",
    "ModelOptions",
    "ModelSpec",
    "build_model",
    "build_models",
    "describe_model",
    "threads_per_model",
]

#: Remedies for imbalanced classes. Resamplers act inside the training folds only:
#: they are steps of an imbalanced-learn pipeline (skipped at predict time), or
#: the CNN's per-epoch resampling of its training images.
IMBALANCE_STRATEGIES = ("class_weight", "smote", "oversample", "undersample", "none")


@dataclass(frozen=True)
class ModelOptions:
    """The settings every factory of :data:`MODEL_SPECS` builds from.

    Parameters
    ----------
    imbalance : {"class_weight", "smote", "oversample", "undersample", "none"}
        ``class_weight`` weights classes by inverse frequency (sample weights for
        XGBoost, the loss of a CNN); ``smote``, ``oversample`` and ``undersample``
        resample the training data (SMOTE on feature tables only); ``none`` does
        neither.
    search : bool, default=False
        Wrap models that have a grid (:attr:`ModelSpec.search_grid`) in an inner
        grid search; the others ignore it.
    random_state : int or None, default=0
        Seed of the classifier, the resampler and the inner split.
    n_jobs : int, default=1
        Threads of each classifier that has them (random forest, XGBoost); see
        :func:`threads_per_model`.
    features : FeatureExtractor, optional
        The hand-crafted branch of ``fusion``.
    cnn_params : dict, optional
        Parameters of the CNN and fusion models (``max_epochs``, ``input_size``
        ...), over those the factory sets.
    order : sequence or "sorted", optional
        The classes from lowest to highest, for the ``*-ordinal`` models (see
        :class:`~featcls.models.OrdinalClassifier`); they refuse to be built
        without it.
    """

    imbalance: str = "class_weight"
    search: bool = False
    random_state: int | None = 0
    n_jobs: int = 1
    features: Any = None
    cnn_params: Mapping[str, Any] | None = None
    order: Any = None

    def __post_init__(self):
        if self.imbalance not in IMBALANCE_STRATEGIES:
            raise ValueError(
                f"Unknown imbalance strategy {self.imbalance!r}. Choose one of "
                f"{', '.join(IMBALANCE_STRATEGIES)}."
            )

    @property
    def class_weight(self) -> str | None:
        """``"balanced"`` for the ``class_weight`` remedy, else None."""
        return "balanced" if self.imbalance == "class_weight" else None


@dataclass(frozen=True)
class ModelSpec:
    """A model featcls knows by name.

    Parameters
    ----------
    name : str
    factory : callable
        ``factory(options: ModelOptions) -> estimator``.
    consumes : {"features", "images"}
        ``"features"``: fitted on the hand-crafted feature matrix; ``"images"``:
        on the sample table (pixels; needs PyTorch).
    search_grid : dict, optional
        The small grid of the optional inner search (``search=True``), as
        ``GridSearchCV`` takes it; None: the model has no search.
    ordinal : bool, default=False
        The model learns ordered classes and needs :attr:`ModelOptions.order`.
    """

    name: str
    factory: Callable[[ModelOptions], Any]
    consumes: Literal["features", "images"]
    search_grid: Mapping[str, list] | None = None
    ordinal: bool = False

    def build(self, options: ModelOptions | None = None):
        """The estimator for ``options`` (default: :class:`ModelOptions()`).

        Raises
        ------
        ValueError
            If an image model is asked for SMOTE, or an ordinal model is built
            without the order of the classes.
        ImportError
            If an image model is asked for and PyTorch is missing (now, not in
            every fold).
        """
        options = ModelOptions() if options is None else options
        if self.ordinal and options.order is None:
            raise ValueError(
                f"The model {self.name!r} learns ordered classes and needs their "
                "order: order='sorted' when the labels sort in their order, or the "
                "classes from lowest to highest (command line: --class-order)."
            )
        if self.consumes == "images":
            if options.imbalance == "smote":
                raise ValueError(
                    f"The smote remedy cannot be used with the image model "
                    f"{self.name!r}: SMOTE interpolates between feature vectors, "
                    "which is not meaningful on pixels. Use class_weight, "
                    "oversample or undersample for image models."
                )
            import_torch()
        model = self.factory(options)
        if options.search and self.search_grid is not None:
            from featcls.models._classical import grid_search

            model = grid_search(
                model, self.search_grid, random_state=options.random_state
            )
        return model

    @property
    def description(self) -> str:
        """One line derived from the parameters of its default build."""
        return describe_model(self.factory(ModelOptions()))


def import_torch():
    """``torch``, or an ImportError that says how to install it.

    See ``_cnn_device``; it is imported here on first use, so that loading the table
    stays light.
    """
    from featcls.models._cnn_device import import_torch

    return import_torch()


# -- factories: each imports its estimator when called -------------------------------
def _svm(options: ModelOptions):
    from featcls.models._classical import feature_pipeline
    from featcls.models._svm import SVMClassifier

    clf = SVMClassifier(
        C=3.0,
        gamma="scale",
        class_weight=options.class_weight,
        random_state=options.random_state,
        family_alpha="auto",
    )
    # DataFrames through the steps: the SVM weighs the families by column name.
    return feature_pipeline(clf, scale=True, options=options).set_output(
        transform="pandas"
    )


def _xgboost(options: ModelOptions):
    from featcls.models._classical import feature_pipeline
    from featcls.models._xgb import XGBoostClassifier

    clf = XGBoostClassifier(
        class_weight=options.class_weight,
        random_state=options.random_state,
        n_jobs=options.n_jobs,
    )
    return feature_pipeline(clf, scale=False, options=options)


def _logreg(options: ModelOptions):
    from sklearn.linear_model import LogisticRegression

    from featcls.models._classical import feature_pipeline

    clf = LogisticRegression(
        C=0.1,
        class_weight=options.class_weight,
        max_iter=3000,
        random_state=options.random_state,
    )
    return feature_pipeline(clf, scale=True, options=options)


def _random_forest(options: ModelOptions):
    from sklearn.ensemble import RandomForestClassifier

    from featcls.models._classical import feature_pipeline

    clf = RandomForestClassifier(
        n_estimators=500,
        class_weight=options.class_weight,
        min_samples_leaf=1,
        n_jobs=options.n_jobs,
        random_state=options.random_state,
    )
    return feature_pipeline(clf, scale=False, options=options)


def _ordinal(options: ModelOptions, *, base: str):
    """``base`` on ordered classes: one binary copy per threshold (Frank & Hall)."""
    from featcls.models._ordinal import OrdinalClassifier

    return OrdinalClassifier(MODEL_SPECS[base].factory(options), order=options.order)


def _soft_vote(options: ModelOptions, *, members: tuple[str, ...]):
    """Mean class probability (equal weights) of the members.

    Each member is built, resampled and searched on its own.
    """
    from sklearn.ensemble import VotingClassifier

    return VotingClassifier(
        [(m, MODEL_SPECS[m].build(options)) for m in members], voting="soft"
    )


def _cnn_params(options: ModelOptions, architecture: str) -> dict:
    from featcls.models._cnn_params import RESAMPLE_STRATEGIES

    return {
        "architecture": architecture,
        "random_state": options.random_state,
        "class_weight": options.class_weight,
        "resample": options.imbalance
        if options.imbalance in RESAMPLE_STRATEGIES
        else None,
        **(options.cnn_params or {}),
    }


def _cnn(options: ModelOptions, *, architecture: str):
    from featcls.models._cnn import CNNClassifier

    return CNNClassifier(**_cnn_params(options, architecture))


def _fusion(options: ModelOptions, *, architecture: str):
    from featcls.models._fusion import FusionClassifier

    return FusionClassifier(
        cnn=_cnn(options, architecture=architecture), features=options.features
    )


def _specs(*specs: ModelSpec) -> dict[str, ModelSpec]:
    return {spec.name: spec for spec in specs}


#: Every model known by name, in the order they are listed to users.
MODEL_SPECS: Mapping[str, ModelSpec] = _specs(
    ModelSpec(
        "svm",
        _svm,
        "features",
        {"clf__C": [0.3, 1.0, 3.0, 10.0], "clf__gamma": ["scale", 0.3e-2, 1e-3]},
    ),
    ModelSpec(
        "xgboost",
        _xgboost,
        "features",
        {"clf__max_depth": [3, 6], "clf__learning_rate": [0.05, 0.1]},
    ),
    ModelSpec("logreg", _logreg, "features", {"clf__C": [0.01, 0.1, 1.0]}),
    ModelSpec(
        "random_forest",
        _random_forest,
        "features",
        {"clf__max_features": ["sqrt", 0.3], "clf__min_samples_leaf": [1, 3]},
    ),
    ModelSpec(
        "ensemble",
        functools.partial(_soft_vote, members=("svm", "xgboost", "logreg")),
        "features",
    ),
    *(
        ModelSpec(
            f"{base}-ordinal",
            functools.partial(_ordinal, base=base),
            "features",
            {f"estimator__{k}": v for k, v in grid.items()},
            ordinal=True,
        )
        for base, grid in (
            ("svm", {"clf__C": [0.3, 1.0, 3.0, 10.0]}),
            ("xgboost", {"clf__max_depth": [3, 6]}),
            ("logreg", {"clf__C": [0.01, 0.1, 1.0]}),
        )
    ),
    ModelSpec("cnn", functools.partial(_cnn, architecture="lipnet"), "images"),
    ModelSpec("cnn-lipnet", functools.partial(_cnn, architecture="lipnet"), "images"),
    ModelSpec("cnn-simple", functools.partial(_cnn, architecture="simple"), "images"),
    ModelSpec("cnn-resnet", functools.partial(_cnn, architecture="resnet"), "images"),
    ModelSpec("fusion", functools.partial(_fusion, architecture="lipnet"), "images"),
)

#: All model names, in the order they are listed to users.
MODEL_NAMES = tuple(MODEL_SPECS)


class BuiltModels(dict):
    """``{name: estimator}`` as :func:`build_models` built them.

    A plain dict of the estimators, plus the :class:`ModelOptions` they were
    built with (``options``), which :func:`featcls.compare` records.
    """

    def __init__(self, models: Mapping[str, Any], options: ModelOptions):
        super().__init__(models)
        self.options = options


def _names(names: str | Iterable[str]) -> list[str]:
    if isinstance(names, str):
        return [n.strip() for n in names.split(",") if n.strip()]
    return list(names)


def build_model(
    name: str,
    *,
    imbalance: str = "class_weight",
    search: bool = False,
    random_state: int | None = 0,
    n_jobs: int = 1,
    features=None,
    cnn_params: Mapping[str, Any] | None = None,
    order=None,
):
    """The estimator behind a model name of :data:`MODEL_NAMES`.

    Models on the feature table are imbalanced-learn pipelines:
    ``SimpleImputer(median)`` (features can be NaN where undefined) →
    ``StandardScaler`` (SVM, logistic regression) → the resampler of ``imbalance``
    (if any) → the classifier, so resampling happens on training folds only and
    never at predict time; ``ensemble`` averages the class probabilities of its
    members. CNNs and ``fusion`` take the images; ``imbalance="class_weight"``
    weights their loss, ``"oversample"`` and ``"undersample"`` resample their
    training images every epoch, ``"none"`` does neither, and ``"smote"`` is
    refused (interpolating between images is not meaningful). The ``*-ordinal``
    models wrap ``svm``, ``xgboost`` or ``logreg`` in an
    :class:`~featcls.models.OrdinalClassifier` for ordered classes (defect levels,
    grades) and need ``order``. Parameters as in :class:`ModelOptions`.

    Raises
    ------
    ValueError
        If the name or the imbalance strategy is unknown, SMOTE is asked of an
        image model, or an ordinal model has no ``order``.
    ImportError
        If an image model is asked for and PyTorch is missing.

    Examples
    --------
    >>> model = build_model("logreg", imbalance="oversample")
    >>> [step for step, _ in model.steps]
    ['impute', 'scale', 'resample', 'clf']
    """
    spec = MODEL_SPECS.get(name)
    if spec is None:
        raise ValueError(
            f"Unknown model {name!r}. Known models: {', '.join(MODEL_NAMES)}."
        )
    return spec.build(
        ModelOptions(
            imbalance=imbalance,
            search=search,
            random_state=random_state,
            n_jobs=n_jobs,
            features=features,
            cnn_params=cnn_params,
            order=order,
        )
    )


def build_models(
    names: str | Iterable[str],
    *,
    imbalance: str = "class_weight",
    search: bool = False,
    random_state: int | None = 0,
    n_jobs: int = 1,
    features=None,
    cnn_params: Mapping[str, Any] | None = None,
    order=None,
) -> BuiltModels:
    """``{name: estimator}`` for model names, all built with the same options.

    Parameters
    ----------
    names : str or iterable of str
        Names of :data:`MODEL_NAMES`, or one comma-separated string
        (``"svm,xgboost,cnn"``).
    imbalance, search, random_state, n_jobs, features, cnn_params, order
        As in :class:`ModelOptions` (see :func:`build_model`).

    Returns
    -------
    BuiltModels
        A dict in the order of ``names``; its ``options`` are recorded by
        :func:`featcls.compare`.

    Examples
    --------
    >>> models = build_models("svm,logreg", imbalance="smote", random_state=1)
    >>> list(models), models.options.imbalance
    (['svm', 'logreg'], 'smote')
    """
    settings = {
        "imbalance": imbalance,
        "search": search,
        "random_state": random_state,
        "n_jobs": n_jobs,
        "features": features,
        "cnn_params": cnn_params,
        "order": order,
    }
    options = ModelOptions(**settings)
    return BuiltModels(
        {name: build_model(name, **settings) for name in _names(names)}, options
    )


def threads_per_model(n_workers: int = 1) -> int:
    """Threads for each model when ``n_workers`` processes fit models side by side.

    The CPUs this process may use are shared out: ``cpus // workers`` each, at
    least 1, so that workers × threads never exceed the CPUs. ``n_workers`` counts
    as joblib's ``n_jobs`` does (-1: one per CPU, -2: all but one ...). With one
    worker (the fits run one after another) each model gets every CPU.

    Examples
    --------
    >>> threads_per_model(-1)
    1
    """
    from joblib import cpu_count

    cpus = cpu_count()
    workers = n_workers if n_workers > 0 else cpus + 1 + n_workers
    return max(1, cpus // max(1, workers))


#: What the network of each built-in CNN architecture is.
_ARCHITECTURES = {
    "lipnet": "Compact LipNet-style CNN",
    "simple": "Three-conv-block CNN (malaria-cell style baseline)",
    "resnet": "Small residual network",
}


def describe_model(model) -> str:
    """One line describing a model, derived from its parameters.

    Parameters
    ----------
    model : str or estimator
        A name of :data:`MODEL_NAMES` (described as built with the default
        :class:`ModelOptions`) or an estimator. Pipelines are described step by
        step (the median imputer every feature pipeline starts with is left out),
        grid searches by their grid, soft votes by their members; an estimator
        featcls does not know is described by its type.

    Examples
    --------
    >>> describe_model("xgboost")
    'XGBoost, hist (64 bins), 300 trees of depth 4, learning rate 0.05'
    >>> describe_model("ensemble")
    'Soft vote (mean probability) of svm, xgboost, logreg'
    """
    if isinstance(model, str):
        spec = MODEL_SPECS.get(model)
        if spec is None:
            raise ValueError(
                f"Unknown model {model!r}. Known models: {', '.join(MODEL_NAMES)}."
            )
        return spec.description
    return _describe(model)


def _describe(est) -> str:
    """Composites (search, pipeline, vote) by their parts; the rest by its type."""
    from sklearn.ensemble import VotingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline

    from featcls.models._ordinal import OrdinalClassifier

    if isinstance(est, GridSearchCV):
        grid = est.param_grid if isinstance(est.param_grid, Mapping) else {}
        searched = ", ".join(k.split("__")[-1] for k in grid) or "parameters"
        folds = getattr(est.cv, "n_splits", est.cv)
        return (
            f"{_describe(est.estimator)}; grid search of {searched} "
            f"(inner {folds}-fold, {est.scoring})"
        )
    if isinstance(est, Pipeline):
        steps = [s for _, s in est.steps if not isinstance(s, SimpleImputer)]
        return " → ".join(_describe(s) for s in steps)
    if isinstance(est, OrdinalClassifier):
        if est.order is None:
            order = ""
        elif isinstance(est.order, str):
            order = f" ({est.order} labels)"
        else:
            order = " (" + " < ".join(map(str, est.order)) + ")"
        return f"Ordered classes{order}, one binary model per threshold: " + (
            _describe(est.estimator)
        )
    if isinstance(est, VotingClassifier):
        how = "mean probability" if est.voting == "soft" else "majority"
        names = ", ".join(name for name, _ in est.estimators)
        return f"{est.voting.capitalize()} vote ({how}) of {names}"
    p = est.get_params(deep=False) if hasattr(est, "get_params") else {}
    try:
        return _describe_one(est, p)
    except KeyError:  # a subclass without a parameter of its base: say its type
        return type(est).__name__


def _describe_one(est, p: Mapping[str, Any]) -> str:
    from imblearn.over_sampling import SMOTE, RandomOverSampler
    from imblearn.under_sampling import RandomUnderSampler
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from featcls.models._cnn import CNNClassifier
    from featcls.models._fusion import FusionClassifier
    from featcls.models._svm import SVMClassifier
    from featcls.models._xgb import XGBoostClassifier

    if isinstance(est, StandardScaler):
        return "StandardScaler"
    if isinstance(est, SMOTE):
        return f"SMOTE ({p['k_neighbors']} neighbours at most)"
    if isinstance(est, RandomOverSampler):
        return "random oversampling"
    if isinstance(est, RandomUnderSampler):
        return "random undersampling"
    if isinstance(est, SVMClassifier):
        alpha = p["family_alpha"]
        if alpha is None:
            families = ""
        elif alpha == "auto":
            families = ", families weighted (alpha chosen inside the fit)"
        else:
            families = f", families weighted (alpha={alpha:g})"
        return (
            f"RBF SVC (C={p['C']:g}, gamma={p['gamma']!r}{families}), calibrated "
            "probabilities"
        )
    if isinstance(est, XGBoostClassifier):
        return (
            f"XGBoost, hist ({p['max_bin']} bins), {p['n_estimators']} trees of "
            f"depth {p['max_depth']}, learning rate {p['learning_rate']:g}"
        )
    if isinstance(est, LogisticRegression):
        return f"{_penalty(p)} logistic regression (C={p['C']:g})"
    if isinstance(est, RandomForestClassifier):
        return f"Random forest, {p['n_estimators']} trees"
    if isinstance(est, FusionClassifier):
        cnn = p["cnn"] if p["cnn"] is not None else CNNClassifier()
        network = _network(cnn.architecture)
        if cnn.module is not None:
            network = f"Your network {_module_name(cnn.module)}"
        return f"{network} embedding + standardised hand-crafted features, one head"
    if isinstance(est, CNNClassifier):
        return _describe_cnn(p)
    return type(est).__name__


def _describe_cnn(p: Mapping[str, Any]) -> str:
    """A CNN: its network, how it starts (scratch or a weights file), its input."""
    network = _network(p["architecture"])
    if p.get("module") is not None:
        network = f"Your network {_module_name(p['module'])}"
    weights = p.get("weights")
    start = (
        "trained from scratch"
        if weights is None
        else f"fine-tuned from {Path(weights).name}"
    )
    if weights is None and str(p.get("module")).startswith("timm:"):
        start = "fine-tuned from timm's pretrained weights"
    if p.get("pretrain") is not None:
        from featcls.models._pretrain_params import METHOD_NAMES

        method = str(p["pretrain"].get("method", "vicreg"))
        method = METHOD_NAMES.get(method, method)
        start = (
            f"pretrained without labels ({method}) on its training images, then "
            + start.replace("trained from scratch", "trained")
        )
    return (
        f"{network} {start} ({p['input_size']} px{_input_variant(p)}, up to "
        f"{p['max_epochs']} epochs)"
    )


def _input_variant(p: Mapping[str, Any]) -> str:
    """How a CNN prepares its images, as words after its input size (or nothing)."""
    words = []
    if p.get("crop"):
        words.append(f"cropped to the object + {p.get('margin', 0.1):.0%}")
    if p.get("mask_out"):
        words.append("background masked out")
    if p.get("channels") is not None:
        words.append(f"{p['channels']} channels")
    return "".join(f", {w}" for w in words)


def _module_name(module) -> str:
    from featcls.models._cnn_user import describe_module

    return describe_module(module)


def _network(architecture) -> str:
    if isinstance(architecture, str):
        return _ARCHITECTURES.get(architecture, f"CNN ({architecture})")
    return f"CNN ({type(architecture).__name__})"


def _penalty(params: Mapping[str, Any]) -> str:
    """The penalty of a LogisticRegression, in words (``l1_ratio`` or ``penalty``)."""
    penalty = params.get("penalty")
    if penalty in ("l1", "l2"):
        return penalty.upper()
    if penalty is None:
        return "Unpenalised"
    ratio = params.get("l1_ratio") or 0.0
    if ratio == 0:
        return "L2"
    return "L1" if ratio == 1 else f"Elastic-net (l1_ratio={ratio:g})"
