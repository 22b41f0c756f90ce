"""compare(): every model on the same outer folds, everything kept as plain data."""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import re
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
from joblib import delayed
from sklearn.base import clone
from sklearn.metrics import f1_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from tqdm.auto import tqdm

from featcls import __version__
from featcls._images import QUALITY, lossy_uri
from featcls._scheduler import run_unordered, use_scheduler
from featcls.data import (
    ChannelFiles,
    Dataset,
    as_sample_table,
    find_duplicates,
    read_image,
    to_float,
)
from featcls.evaluation._checkpoint import FitCheckpoint, describe_config
from featcls.evaluation._curves import FitMemory, check_train_sizes, nested_subsets
from featcls.evaluation._decision import (
    AGGREGATIONS,
    aggregate,
    choose_threshold,
    group_truth,
    inner_oof,
    parse_threshold,
    positive_class,
    warn_no_threshold,
)
from featcls.evaluation._env import environment
from featcls.evaluation._multilabel import (
    as_label_matrix,
    check_label_counts,
    is_label_matrix,
    label_sets,
)
from featcls.evaluation._result import ComparisonResult, FoldRecord
from featcls.evaluation._splits import (
    check_class_counts,
    check_cv,
    describe_cv,
    make_folds,
    merge_duplicates,
)
from featcls.evaluation._transduction import (
    fold_extractor,
    pretrain_in_folds,
    pretrained_on,
    pretrains_embedding,
)
from featcls.exceptions import Setting, SettingError
from featcls.features import FeatureExtractor, FeatureFamily
from featcls.models import (
    MODEL_NAMES,
    ModelOptions,
    build_models,
    describe_model,
    threads_per_model,
)
from featcls.models._multilabel import PerLabelClassifier

__all__ = ["compare", "takes_images", "thumbnail_uri"]

#: Largest side of the thumbnails kept in ``dataset["thumbnails"]``, in pixels.
THUMBNAIL_SIZE = 64
#: Quality (0-100) of their lossy WebP encoding (JPEG without WebP support).
THUMBNAIL_QUALITY = QUALITY


def takes_images(estimator) -> bool:
    """Whether ``estimator`` is fitted on the sample table (pixels) or on features.

    Estimators declare ``featcls_input = "images"`` (the CNN does); a pipeline whose
    first step is a feature extractor takes images too. Everything else gets the
    shared hand-crafted feature matrix.
    """
    if getattr(estimator, "featcls_input", None) == "images":
        return True
    if isinstance(estimator, GridSearchCV):
        return takes_images(estimator.estimator)
    if isinstance(estimator, Pipeline):
        first = estimator.steps[0][1]
        return isinstance(first, (FeatureExtractor, FeatureFamily)) or takes_images(
            first
        )
    return False


def _families_of(extractor: FeatureExtractor) -> list:
    from featcls.features._extractor import _resolve_families

    return _resolve_families(extractor.families)


@contextlib.contextmanager
def _cache_for(extractor: FeatureExtractor):
    """The extractor with a disk cache (a temporary one if it has none)."""
    if extractor.cache_dir is not None:
        yield extractor
        return
    with tempfile.TemporaryDirectory(prefix="featcls-cache-") as tmp:
        yield clone(extractor).set_params(cache_dir=tmp)


def _final_step(estimator):
    if isinstance(estimator, GridSearchCV):
        estimator = estimator.best_estimator_
    while hasattr(estimator, "steps"):
        estimator = estimator.steps[-1][1]
    return estimator


def _family_alphas(estimator) -> list[float | None]:
    """``family_alpha_`` of the SVMs a fitted model holds, in order (may be empty).

    One for a plain SVM; one per member of an ordinal (per threshold), multi-label
    (per label) or voting model, None for a member without weighted families. A
    model without any gives an empty list.
    """
    final = _final_step(estimator)
    members = getattr(final, "estimators_", None)
    if isinstance(members, list):
        alphas = [(_family_alphas(m) or [None])[0] for m in members]
        return alphas if any(a is not None for a in alphas) else []
    alpha = getattr(final, "family_alpha_", None)
    return [] if alpha is None else [float(alpha)]


def _family_permutation(estimator, X, y, names, classes, seed, n_repeats=3) -> dict:
    """Drop in macro-F1 when all columns of one feature family are shuffled together."""
    families: dict[str, list[int]] = {}
    for j, name in enumerate(names):
        families.setdefault(name.split("__")[0], []).append(j)
    rng = np.random.default_rng(seed)
    labels = None if np.ndim(y) == 2 else classes  # a label matrix: over labels
    base = f1_score(
        y, estimator.predict(X), labels=labels, average="macro", zero_division=0
    )
    values = np.asarray(X)
    out = {}
    for family, cols in families.items():
        drops = []
        for _ in range(n_repeats):
            shuffled = values.copy()
            shuffled[:, cols] = values[rng.permutation(len(values))][:, cols]
            if isinstance(X, pd.DataFrame):
                shuffled = pd.DataFrame(shuffled, columns=X.columns, copy=False)
            drops.append(
                base
                - f1_score(
                    y,
                    estimator.predict(shuffled),
                    labels=labels,
                    average="macro",
                    zero_division=0,
                )
            )
        out[family] = float(np.mean(drops))
    return out


def _run_fold(*args) -> dict:
    """:func:`_fit_fold`, with the warnings it raised under ``"warnings"``.

    A warning raised in a worker process would be printed there, past the
    caller's handling of warnings (the CLI shows each as one line): they are
    recorded as ``(category, message)`` and raised again in the parent by
    :func:`compare`.
    """
    with warnings.catch_warnings(record=True) as caught:
        out = _fit_fold(*args)
    out["warnings"] = [(w.category, str(w.message)) for w in caught]
    return out


def _warning_kind(message: str) -> str:
    """A warning's text with its numbers and quoted names blanked (its kind)."""
    return re.sub(r"'[^']*'|\d+(?:\.\d+)?", "#", message)


def _warn_once(raw: list[dict], *, several_repeats: bool) -> None:
    """Raise the warnings of the fits again, each kind once, naming where it arose.

    A warning that every fold's fit raises (the same text up to its counts and
    names, e.g. the features a fusion model extracts again in every fold) is shown
    once, for the first fit that raised it, with the other fits counted and, when
    their texts differ, a note that they name other counts or files.
    """
    kinds: dict[tuple, list] = {}
    for r in raw:
        where = f"{r['model']}, fold {r['fold']}" + (
            f" of repeat {r['repeat']}" if several_repeats else ""
        )
        if r["fraction"] < 1:
            where += f", {r['fraction']:.0%} of its training part"
        for category, message in r["warnings"]:
            key = (category, _warning_kind(message))
            if key in kinds:
                kinds[key][2].append(where)
                kinds[key][3] |= message != kinds[key][1]
            else:
                kinds[key] = [where, message, [], False]
    for (category, _), (where, message, others, differ) in kinds.items():
        text = f"{where}: {message}"
        if others:
            shown = "; ".join(others[:3]) + ("; …" if len(others) > 3 else "")
            # Say so when the others name other counts or files than this one.
            how = ", with other counts or names" if differ else ""
            text += f" (also in {len(others)} more fit(s){how}: {shown})"
        warnings.warn(text, category, stacklevel=3)


def _fit_fold(
    name,
    estimator,
    fold,
    fraction,
    data,
    train,
    test,
    target,
    classes,
    feature_names,
    importance,
    seed,
    decision=None,
) -> dict:
    """Fit one model on a fold's training part (or a fraction) and predict its test.

    ``data`` is the whole feature matrix or sample table and ``train``/``test``
    the positions of the parts: they are taken here, in the worker, so that the
    caller holds the matrix once however many fits are queued (joblib
    memory-maps it for its processes; a Dask cluster gets it scattered once).
    ``decision`` (binary tasks with a threshold rule or groups, see
    :func:`_decide`) holds the rule, the positive class and the groups of the
    training and test parts.
    """
    if isinstance(data, pd.DataFrame):
        X_train, X_test = data.iloc[train], data.iloc[test]
    elif feature_names is not None:
        # Named columns, as a user's DataFrame: the SVM weighs families by name.
        X_train = pd.DataFrame(data[train], columns=feature_names, copy=False)
        X_test = pd.DataFrame(data[test], columns=feature_names, copy=False)
    else:
        X_train, X_test = data[train], data[test]
    y_train, y_test = target[train], target[test]
    out: dict[str, Any] = {
        "model": name,
        "repeat": fold["repeat"],
        "fold": fold["fold"],
        "test_index": fold["test"],
        "fraction": fraction,
        "train_size": len(y_train),
        "importance": None,
        "fit_memory": np.nan,
    }
    try:
        est = clone(estimator)
        start = time.perf_counter()
        fit_params = {}
        if decision is not None and "pos" not in decision:  # per-label models
            fit_params["groups"] = decision["inner_groups"]
        with FitMemory() as memory:
            est.fit(X_train, y_train, **fit_params)
        out["fit_time"] = time.perf_counter() - start
        out["fit_memory"] = memory.peak
        start = time.perf_counter()
        multilabel = np.ndim(y_train) == 2
        if multilabel:
            pred = np.asarray(est.predict(X_test)).astype(int)
            proba = np.asarray(est.predict_proba(X_test), dtype=float)
        else:
            pred = np.asarray(est.predict(X_test), dtype=object).astype(str)
            proba = None
        if not multilabel and hasattr(est, "predict_proba"):
            raw = np.asarray(est.predict_proba(X_test), dtype=float)
            proba = np.zeros((len(pred), len(classes)))
            cols = [classes.index(str(c)) for c in est.classes_]
            proba[:, cols] = raw
        out["predict_time"] = time.perf_counter() - start
        if decision is not None and "pos" in decision:
            if proba is None:
                raise TypeError(
                    f"{name} has no predict_proba: a threshold rule and group answers "
                    "need probabilities."
                )
            pred = _decide(
                out,
                estimator,
                X_train,
                y_train,
                y_test,
                pred,
                proba,
                classes,
                decision,
                seed,
            )
        out["y_pred"] = pred  # arrays: compact to send back and to keep
        out["proba"] = proba
        out["params"] = (
            {k: _plain(v) for k, v in est.best_params_.items()}
            if isinstance(est, GridSearchCV)
            else {}
        )
        if hasattr(est, "thresholds_"):  # one per label, tuned on the training part
            out["params"]["label_thresholds"] = [_plain(t) for t in est.thresholds_]
        alphas = _family_alphas(est)
        if alphas:  # the SVM's family weights, chosen inside the training part
            out["params"]["family_alpha"] = alphas[0] if len(alphas) == 1 else alphas
        if fraction == 1 and hasattr(est, "featcls_report_"):  # for the report
            out["extra"] = est.featcls_report_
        if importance and feature_names is not None:
            imp = {
                "permutation_family": _family_permutation(
                    est, X_test, y_test, feature_names, classes, seed
                )
            }
            gains = getattr(_final_step(est), "feature_importances_", None)
            if gains is not None and len(gains) == len(feature_names):
                imp["gain"] = np.asarray(gains, float).tolist()
            out["importance"] = imp
        out["error"] = None
    except Exception:  # a model crashing in one fold is recorded; the rest goes on
        out.update(
            {
                "y_pred": None,
                "proba": None,
                "params": {},
                "fit_time": np.nan,
                "predict_time": np.nan,
                "error": traceback.format_exc(),
            }
        )
    return out


def _decide(
    out, estimator, X_train, y_train, y_test, pred, proba, classes, decision, seed
) -> np.ndarray:
    """Thresholds chosen inside the fit's training data; the group answers.

    Fills ``out["threshold"]`` (the image-level threshold on the positive class's
    probability, None without a rule) and ``out["group"]`` (each test group's
    truth and score, and the group threshold), and returns the image-level
    predictions. The thresholds come from out-of-fold probabilities of an inner
    cross-validation on the training data only (:func:`inner_oof`), grouped like
    the outer folds. Without a rule the model's own predictions are kept.
    """
    pos, rule = decision["pos"], decision["rule"]
    neg = next(c for c in classes if c != pos)
    p_test = proba[:, classes.index(pos)]
    if not np.isfinite(p_test).all():
        raise ValueError(
            "the model gave non-finite probabilities on the test part, so no "
            "threshold or group answer can be made; check it (or its features) "
            "for NaN."
        )
    image_t = 0.5
    oof = None
    if rule is not None:
        oof = inner_oof(
            estimator,
            X_train,
            y_train,
            decision["inner_groups"],
            pos=pos,
            random_state=seed,
        )
        image_t = (
            choose_threshold(y_train == pos, oof, rule)
            if np.isfinite(oof).all()
            else np.nan
        )
        if not np.isfinite(image_t):
            warn_no_threshold(rule, "image")
            image_t = 0.5
        pred = np.where(p_test >= image_t, pos, neg)
        out["threshold"] = float(image_t)
    groups_train = decision["groups_train"]
    if groups_train is None:
        return pred
    how, labels = decision["aggregate"], decision["labels"]
    group_t = 0.5
    if rule is not None:
        group_t = np.nan
        if np.isfinite(oof).all():
            train_truth = group_truth(
                y_train == pos,
                groups_train,
                None if labels is None else labels["train"],
                pos,
            )
            train_score = aggregate(oof, groups_train, how, image_t)
            group_t = choose_threshold(train_truth, train_score, rule)
        if not np.isfinite(group_t):
            warn_no_threshold(rule, "group")
            group_t = 0.5
    truth = group_truth(
        y_test == pos,
        decision["groups_test"],
        None if labels is None else labels["test"],
        pos,
    )
    score = aggregate(p_test, decision["groups_test"], how, image_t)
    out["group"] = {
        "ids": truth.index.tolist(),
        "truth": truth.to_numpy(bool).tolist(),
        "score": score.to_numpy(float).tolist(),
        "threshold": float(group_t),
    }
    return pred


def _check_multilabel_settings(train_sizes, aggregate_by, pos_label) -> None:
    """Refuse what a multi-label comparison does not do (yet), in one line."""
    for name, value in (
        ("train_sizes", train_sizes),
        ("aggregate_by", aggregate_by),
        ("pos_label", pos_label),
    ):
        if value is not None:
            raise ValueError(
                f"{name} is for single-label targets; this y is a multi-label "
                "matrix. Leave it out."
            )


def _per_label(name: str, estimator, rule, seed):
    """A feature model as one binary model per label; image models must say so."""
    if takes_images(estimator):
        if getattr(estimator, "featcls_multilabel", False):
            return estimator
        raise ValueError(
            f"{name} does not take multi-label targets; compare feature models on "
            "them, or give a model that declares featcls_multilabel = True."
        )
    return PerLabelClassifier(
        estimator,
        threshold="f1" if rule is None else str(rule),
        random_state=seed,
    )


def _identity(extractor) -> dict:
    """The extractor's description for a checkpoint, less what leaves rows as they are.

    Where the cache lives, how many processes extract and whether a bar shows
    do not change a feature, so changing them keeps the fits.
    """
    described = describe_config(extractor)
    for name in ("cache_dir", "n_jobs", "progress"):
        described["params"].pop(name, None)
    return described


def _checkpoint_common(table: pd.DataFrame, target, settings: dict) -> dict:
    """What every fit of a comparison depends on, for its checkpoint key."""
    from featcls.features._cache import content_key

    masks = table["mask"] if "mask" in table.columns else [None] * len(table)
    return {
        "featcls": __version__,
        "images": [
            content_key(image, mask)
            for image, mask in zip(table["image"], masks, strict=True)
        ],
        "columns": describe_config(
            {c: table[c].tolist() for c in table.columns if c not in ("image", "mask")}
        ),
        "target": describe_config(np.asarray(target).tolist()),
        "settings": describe_config(settings),
    }


def _sample_values(table: pd.DataFrame, values, name: str) -> np.ndarray | None:
    """A column of the sample table, or one value per sample, as strings."""
    if values is None:
        return None
    if isinstance(values, str):
        if values not in table.columns:
            raise ValueError(
                f"{name}={values!r} is not a column of X; its columns are "
                f"{list(table.columns)}."
            )
        values = table[values]
    series = pd.Series(list(values) if not hasattr(values, "__len__") else values)
    if len(series) != len(table):
        raise ValueError(f"{name} has {len(series)} values for {len(table)} samples.")
    empty = series.isna().to_numpy() | (series.astype(str).str.strip() == "")
    if empty.any():
        raise ValueError(
            f"{name} is empty for {int(empty.sum())} sample(s) (the first at "
            f"position {int(np.flatnonzero(empty)[0])}): every sample needs one."
        )
    return series.astype(str).to_numpy(dtype=object)


def _check_nested(answers: np.ndarray, groups: np.ndarray) -> None:
    """Refuse ``aggregate_by`` groups that span several ``groups``."""
    spans = pd.Series(groups.astype(str)).groupby(answers).nunique()
    if (spans > 1).any():
        bad = ", ".join(f"'{g}'" for g in spans.index[spans > 1][:3])
        raise ValueError(
            f"The aggregate_by group(s) {bad} span several groups: each must lie "
            "within one group (e.g. a patient within one hospital), or the folds "
            "would split it. Leave groups out to group the folds by aggregate_by."
        )


def _values_name(values) -> str | None:
    if values is None:
        return None
    return values if isinstance(values, str) else "given values"


def _plain(value):
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def _plain_dict(value: Mapping) -> dict:
    """Settings as JSON-able plain data (tuples as lists)."""
    return {
        str(k): _plain_dict(v)
        if isinstance(v, Mapping)
        else [_plain(x) for x in v]
        if isinstance(v, (list, tuple))
        else _plain(v)
        for k, v in value.items()
    }


def thumbnail_uri(u8: np.ndarray, quality: int = THUMBNAIL_QUALITY) -> str:
    """A uint8 grey ``(H, W)`` or BGR ``(H, W, 3)`` image as a small data URI.

    Scaled down (area averaging) to :data:`THUMBNAIL_SIZE` pixels on its longer
    side, a smaller image kept at its size (the report enlarges thumbnails without
    smoothing), and encoded as lossy WebP at ``quality`` (``data:image/webp;base64,
    …``, about 0.5 kB for a 64-pixel grey ELPV cell, a fifth of a PNG), or as JPEG
    where OpenCV cannot write WebP.

    Raises
    ------
    ValueError
        If OpenCV can encode the image in neither format.
    """
    h, w = u8.shape[:2]
    scale = THUMBNAIL_SIZE / max(h, w)
    if scale < 1:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        u8 = cv2.resize(u8, size, interpolation=cv2.INTER_AREA)
    return lossy_uri(u8, quality)


def _thumbnail(source) -> str | None:
    """A thumbnail of one sample; named channels as a false-colour composite."""
    from featcls._images import false_colour
    from featcls.data import ChannelFiles

    try:
        image = source if isinstance(source, np.ndarray) else read_image(source)
        image = to_float(image)
        if isinstance(source, ChannelFiles):  # stains, in their colours
            return thumbnail_uri(false_colour(image, source.names))
        if image.ndim == 3:
            image = image[..., :3] if image.shape[2] >= 3 else image[..., 0]
        lo, hi = float(np.nanmin(image)), float(np.nanmax(image))
        u8 = ((image - lo) / (hi - lo if hi > lo else 1.0) * 255).astype(np.uint8)
        if u8.ndim == 3:
            u8 = cv2.cvtColor(u8, cv2.COLOR_RGB2BGR)
        return thumbnail_uri(u8)
    except Exception:  # a thumbnail is decoration: never fail a comparison for it
        return None


def _aggregate_importances(records: list[dict], feature_names) -> dict:
    out: dict[str, dict] = {}
    for model in {r["model"] for r in records}:
        imps = [
            r["importance"]
            for r in records
            if r["model"] == model and r.get("importance")
        ]
        if not imps:
            continue
        entry = {}
        fam = pd.DataFrame([i["permutation_family"] for i in imps]).mean()
        entry["permutation_family"] = fam.to_dict()
        gains = [i["gain"] for i in imps if "gain" in i]
        if gains:
            entry["gain"] = dict(
                zip(feature_names, np.mean(gains, axis=0).tolist(), strict=True)
            )
        out[model] = entry
    return out


def compare(
    models: Mapping[str, Any] | Iterable[str] | str,
    X,
    y,
    *,
    groups=None,
    cv: int | object = 5,
    repeats: int = 1,
    random_state: int | None = 0,
    n_jobs: int = 1,
    features: FeatureExtractor | None = None,
    drop_rare_classes: bool = False,
    importance: bool = True,
    train_sizes: Sequence[float] | None = None,
    threshold: str | None = None,
    pos_label: str | None = None,
    aggregate_by=None,
    aggregate_with: str = "mean",
    group_labels=None,
    labels: Sequence[str] | None = None,
    dataset: Dataset | None = None,
    progress: bool | None = None,
    command: str = "",
    scheduler: str | None = None,
    checkpoint: str | os.PathLike | None = None,
    pretrain: str | Mapping | None = None,
) -> ComparisonResult:
    """Fit every model on identical outer folds and keep everything they produced.

    Hand-crafted features are extracted once per image (each row depends on its own
    image only, and the extractor's cache makes a re-run free) and every classical
    model gets the same matrix; models that take images (the CNN) get the sample table.
    Scaling, resampling and hyper-parameter search live inside each model's pipeline,
    so they are fitted on the training part of every fold only.

    The models are built before: :func:`featcls.models.build_models` turns names
    and their options (imbalance remedy, inner search, CNN parameters ...) into
    estimators.

    Parameters
    ----------
    models : dict, list of str or str
        ``{name: estimator}``, such as :func:`featcls.models.build_models` returns
        (its options, e.g. the imbalance remedy, are recorded in ``settings``).
        For convenience, model names (``["svm", "cnn"]`` or ``"svm,cnn"``, see
        :data:`featcls.models.MODEL_NAMES`) are built first with the default
        options, ``random_state``, ``features`` (for ``fusion``) and
        ``threads_per_model(n_jobs)`` threads each.
    X : sample table, array of images or list of paths
    y : array-like of labels, or a label matrix
        One class per sample; or, for multi-label targets, an indicator matrix
        (a DataFrame whose columns name the labels, or a 2-D array of 0/1 with
        ``labels``) of shape ``(n_samples, n_labels)``. Multi-label comparisons use
        iteratively stratified folds (the ``iterative-stratification`` package;
        grouped by the union of each group's labels), fit feature models once per
        label (:class:`~featcls.models.PerLabelClassifier`, each label's threshold
        tuned inside the training folds by ``threshold``, default ``"f1"``) and
        score macro-F1 over labels as ``f1_macro``, with micro- and samples-F1
        (:data:`~featcls.evaluation._multilabel.MULTILABEL_SCORES`).
    groups : array-like, optional
        Groups (sample, patient, module ...): stratified-grouped folds, and no group
        is ever on both sides of a split (given splits that put a group on both
        sides are refused).
    cv : int, splitter or iterable of (train, test) pairs, default=5
        The outer splits, as in scikit-learn's ``cross_validate``:

        - an int: the number of stratified (with ``groups``: stratified-grouped)
          folds, reshuffled for each of the ``repeats``;
        - a splitter, an object with a ``split(X, y, groups)`` method such as
          ``StratifiedShuffleSplit(n_splits=1, test_size=0.25, random_state=0)``;
          it is called with sample positions as ``X``, the labels and ``groups``,
          and its own seed applies;
        - an iterable of ``(train_index, test_index)`` pairs of integer positions
          into ``X`` and ``y``.

        Given splits are checked: positions in range, neither part empty, train
        and test disjoint, no test position twice. They are numbered as folds 0,
        1, ... of repeat 0, and a split whose test part overlaps an earlier test
        part of the current repeat starts the next repeat: a
        ``RepeatedStratifiedKFold`` gives one repeat per round, like an int ``cv``
        with ``repeats``, and shuffle splits with overlapping test parts one repeat
        each. Pooled views (confusion matrix, per-class metrics) sum over
        repeats; curves and confident errors use repeat 0. A single split is
        allowed: fold-level statistics (interval, paired tests) are then NaN.
    repeats : int, default=1
        Repetitions of the k-fold split, each with a new shuffle. Must be 1 unless
        ``cv`` is an int.
    random_state : int or None, default=0
        Seed of the folds, the models and the permutation importances.
    n_jobs : int, default=1
        Processes for feature extraction and for the (model, fold) fits. It does
        not change the threads of given estimators: build them with
        ``n_jobs=threads_per_model(n_jobs)`` to share the CPUs out.
    features : FeatureExtractor, optional
        The extractor for the feature models (default: ``FeatureExtractor()``,
        with the ``mask_policy`` of ``dataset`` when given).
        Its features are extracted once for all the feature models (once per
        training part with a learned codebook) into one float32 matrix, which
        every fit takes its rows from: float32 halves the memory, and the
        forests and XGBoost compute in it anyway.
    drop_rare_classes : bool, default=False
        Leave out classes with fewer members than ``cv`` instead of raising. Only
        with an int ``cv``: the class-count check is about k-fold stratification, so
        it is skipped for a splitter or given splits, and dropping samples would
        shift given positions (an error).
    importance : bool, default=True
        Compute permutation importances by feature family (and keep tree gains).
    train_sizes : list of float, optional
        Learning curves: fractions of each outer fold's training part, in
        ``(0, 1]`` (1, the whole part, is always included), such as
        ``[0.1, 0.25, 0.5, 1]``. In every outer fold each model is also fitted on
        nested, stratified (with ``groups``: grouped) subsets of that fold's
        training part (:func:`~featcls.evaluation._curves.nested_subsets`; the
        25 % subset contains the 10 % one) and scored on the same, untouched test
        part. A learned codebook is fitted on the subset's images only. The
        subset fits are in ``result.curve_records`` (importances and report
        material are computed for the whole training parts only); every other
        view is of the whole training parts, as without curves.
    threshold : {"youden", "f1", "sensitivity:T"} or None, default=None
        Two classes only: how each fit's decision threshold on the positive
        class's probability is chosen, inside its own training data, from the
        out-of-fold probabilities of an inner 3-fold cross-validation (grouped
        like the outer folds; one more fit per inner fold): Youden's J, the
        positive class's F1, or the highest threshold reaching sensitivity T
        (see :mod:`featcls.evaluation._decision`). The same rule chooses the
        group threshold with ``aggregate_by``. None: each model's own
        prediction (the class with the higher probability, a threshold of 0.5).
    pos_label : str, optional
        The positive class for ``threshold`` and ``aggregate_by``. Default: the
        obvious one of pairs such as 0/1, negative/positive, false/true, else the
        less frequent class; ``settings["pos_label"]`` records it.
    aggregate_by : str or array-like, optional
        Answers per group (patient, slide ...) as well as per image: a column of
        ``X`` or one value per sample. The folds are grouped by it (with
        ``groups`` too, each of its groups must lie in one of ``groups``), and in
        every fold the test images' probabilities of the positive class are
        aggregated per group (``aggregate_with``); a group is called positive
        when its score reaches the group threshold (0.5, or chosen by
        ``threshold``). :meth:`ComparisonResult.to_frame` with ``level="group"``
        scores the answers. Two classes only.
    aggregate_with : {"mean", "max", "fraction"}, default="mean"
        A group's score: the mean or the maximum of its images' probabilities,
        or the fraction of its images called positive.
    group_labels : str or array-like, optional
        The truth per group, with ``aggregate_by``: a column of ``X`` or one
        value per sample, the same for every image of a group (a group is
        positive when it is ``pos_label``). Default: a group is positive when any
        of its images is.
    labels : list of str, optional
        Names of the columns of a multi-label indicator array ``y``.
    dataset : Dataset, optional
        Where ``X`` came from: its name, skipped-file ledger and provenance go into
        the result.
    progress : bool or None
        Progress bars (None: on a terminal).
    command : str
        The command line that reproduces this comparison, for the report.
    scheduler : str, optional
        Run the feature extraction and the fits on a Dask cluster: the address
        of a running scheduler (``"tcp://host:8786"``) or ``"local:N"`` for a
        ``LocalCluster`` of N worker processes (see
        :func:`featcls.use_scheduler`; ``n_jobs`` then does not apply, every
        worker takes tasks). One task per model, repeat, fold and training size;
        the results are those of a local run.
    checkpoint : path, optional
        A folder where every finished fit is written as it finishes
        (:class:`~featcls.evaluation._checkpoint.FitCheckpoint`). Run again with
        the same folder after a crash or a kill, and the fits found there are
        read instead of refitted: the result is the uninterrupted run's, fit times
        included (they are those measured when each fit ran). A fit is reused
        only if everything it depends on is unchanged — the featcls version, the
        images' content, labels, groups, folds, settings, the model's and the
        feature extractor's parameters; anything else is fitted anew. Delete the
        folder to start afresh. Feature extraction resumes through the
        extractor's ``cache_dir``.
    pretrain : {"fold"}, dict or None, default=None
        ``"fold"``: the network of every CNN and fusion model is pretrained
        without labels (VICReg, :func:`featcls.models.pretrain`'s defaults)
        inside each fit, on that fit's training images only, then trained on
        the labels: its ``pretrain`` parameter is set
        (``CNNClassifier(pretrain=...)``), so no test image of a fold is ever
        seen by the pretraining of that fold. A dict: the same, with these
        pretraining settings (``{"epochs": 10}``). A model that already has
        ``pretrain`` settings keeps them. The network of the ``embedding``
        features of ``features`` (its ``module`` or ``architecture``, without
        ``weights``) is pretrained likewise on each fit's training images, and
        the feature matrix of that fit extracted with it (the backbones are kept
        in ``cache_dir``, under ``backbones/``, and reused by a re-run).
        Refused when a model holds ``embedding`` features of its own (a fusion
        model's feature branch) or no model trains or uses a network. Whatever
        this setting,
        every model whose network starts from a backbone file of
        :func:`~featcls.models.pretrain` (``weights``, ``embedding`` features)
        is checked against the evaluated images: ``settings["pretrained_on"]``
        says, per model, how many of them the backbone saw (see
        :func:`~featcls.evaluation.pretraining_notes`), and for models
        pretrained inside their fits, how many test images the pretraining of
        their own fold saw (none).

    Returns
    -------
    ComparisonResult
        ``settings["cv"]`` records the splits: the number of folds for an int
        ``cv``, the splitter's repr, or ``"3 given splits"``;
        ``settings["imbalance"]`` and ``settings["search"]`` the options the
        models were built with (None for estimators not built by
        :func:`~featcls.models.build_models`). ``model_info`` holds each model's
        description (:func:`~featcls.models.describe_model`), input and
        parameters.

    Raises
    ------
    ValueError
        If a model name is unknown or there is no model; if ``X``, ``y`` and
        ``groups`` differ in length; if ``cv`` or ``repeats`` is not valid or a
        given split is not (see ``cv``); if a class has fewer members than an int
        ``cv`` (without ``drop_rare_classes``); if ``drop_rare_classes`` is
        combined with a non-int ``cv``; if fewer than two classes are left to
        compare on (checked before anything is fitted).

    Warns
    -----
    Every warning a model raised while fitting or predicting a fold, again in the
    caller's process (so also those of worker processes), prefixed with the model
    and the fold: ``"svm, fold 2: ..."``.

    Examples
    --------
    One held-out quarter instead of k-fold:

    >>> from sklearn.model_selection import StratifiedShuffleSplit
    >>> from featcls import FeatureExtractor, load_builtin
    >>> data = load_builtin(
    ...     "synthetic", n_samples=24, image_size=32, weights=(0.4, 0.3, 0.3))
    >>> result = compare(
    ...     ["logreg"], data.X, data.y, importance=False,
    ...     cv=StratifiedShuffleSplit(n_splits=1, test_size=0.25, random_state=0),
    ...     features=FeatureExtractor(families=["shape"]))
    >>> len(result.folds), len(result.folds[0]["test"])
    (1, 6)
    >>> result.settings["cv"].startswith("StratifiedShuffleSplit(n_splits=1")
    True
    """
    if scheduler is not None:
        arguments = dict(locals(), scheduler=None)
        with use_scheduler(scheduler):
            result = compare(**arguments)
        result.settings["scheduler"] = scheduler
        return result
    start_total = time.perf_counter()
    fractions = (1.0,) if train_sizes is None else check_train_sizes(train_sizes)
    if not isinstance(models, Mapping):
        models = build_models(
            models,
            random_state=random_state,
            n_jobs=threads_per_model(n_jobs),
            features=features,
        )
    if not models:
        raise ValueError(
            f"No models to compare. Known models: {', '.join(MODEL_NAMES)}."
        )
    options = getattr(models, "options", None)
    if not isinstance(options, ModelOptions):
        options = None  # estimators built by the caller: their options are theirs
    resolved = dict(models)
    if pretrain is not None:
        resolved = pretrain_in_folds(resolved, pretrain, features, takes_images)
    table = as_sample_table(X)
    Y = label_names = None
    if is_label_matrix(y):
        if np.shape(y)[1] < 2:
            raise ValueError(
                f"y has shape {np.shape(y)}: one column. Give class labels as a 1-D "
                "vector (y.ravel() for one label per sample), or a multi-label "
                "indicator matrix with a column per label (two or more)."
            )
        Y, label_names = as_label_matrix(y, labels)
        _check_multilabel_settings(train_sizes, aggregate_by, pos_label)
        y = np.asarray(label_sets(Y, label_names), dtype=object)
    else:
        if labels is not None:
            raise ValueError("labels names the columns of a multi-label matrix y.")
        y = np.asarray(y, dtype=object).astype(str)
    if len(y) != len(table):
        raise ValueError(f"X has {len(table)} samples but y has {len(y)} labels.")
    groups_arr = None if groups is None else np.asarray(groups, dtype=object)
    if groups_arr is not None and len(groups_arr) != len(y):
        raise ValueError(f"groups has {len(groups_arr)} entries for {len(y)} samples.")
    rule = parse_threshold(threshold)
    answers = _sample_values(table, aggregate_by, "aggregate_by")
    truths = _sample_values(table, group_labels, "group_labels")
    if truths is not None and answers is None:
        raise ValueError("group_labels needs aggregate_by (the groups they label).")
    if answers is not None:
        if aggregate_with not in AGGREGATIONS:
            raise ValueError(
                f"Unknown aggregate_with {aggregate_with!r}; use one of "
                f"{', '.join(AGGREGATIONS)}."
            )
        if groups_arr is None:
            groups_arr = answers  # no group straddles a split
        else:
            _check_nested(answers, groups_arr)
    input_index = (
        list(X.index) if isinstance(X, pd.DataFrame) else list(range(len(table)))
    )
    dropped_labels: list[str] = []
    kfold = check_cv(cv, repeats) == "kfold"
    if drop_rare_classes and not kfold:
        raise SettingError(
            Setting("drop_rare_classes", True),
            " needs an int cv (k-fold): with a splitter or given splits the folds "
            "are yours, and dropping samples would shift given positions. Leave the "
            "rare classes out of X and y before splitting, or set ",
            Setting("drop_rare_classes", False),
            ".",
        )
    keep = np.ones(len(y), bool)
    if Y is not None:
        kept = check_label_counts(
            Y,
            label_names,
            cv if kfold else None,
            drop_rare=drop_rare_classes,
            groups=groups_arr,
        )
        names = np.asarray(label_names, dtype=object)
        dropped_labels = names[~kept].tolist()
        Y, label_names = Y[:, kept], names[kept].tolist()
        y = np.asarray(label_sets(Y, label_names), dtype=object)
    elif kfold:
        keep = check_class_counts(y, cv, drop_rare=drop_rare_classes)
    dropped = sorted(str(c) for c in set(y[~keep])) + dropped_labels
    if not keep.all():
        table, y = table[keep].reset_index(drop=True), y[keep]
        groups_arr = None if groups_arr is None else groups_arr[keep]
        answers = None if answers is None else answers[keep]
        truths = None if truths is None else truths[keep]
        input_index = [v for v, k in zip(input_index, keep, strict=True) if k]
    classes = sorted(set(y)) if Y is None else list(label_names)
    if Y is None and len(classes) < 2:
        held = ", ".join(f"'{c}'" for c in classes) or "no class"
        raise ValueError(
            f"A comparison needs at least two classes; the labels hold only {held} "
            f"({len(y)} samples), so no model can be trained. Check the labels."
        )
    # Identical images (a file listed twice, a copy) stay in one fold, and in one
    # fold of the inner cross-validations that choose thresholds.
    duplicates = find_duplicates(table, n_jobs=n_jobs)
    folds = make_folds(
        y if Y is None else Y,
        groups_arr,
        cv=cv,
        repeats=repeats,
        random_state=random_state,
        duplicates=duplicates,
    )
    inner_groups = merge_duplicates(groups_arr, duplicates, len(y))
    pos = None
    described = dict(resolved)
    if Y is not None:
        resolved = {
            name: _per_label(name, est, rule, random_state)
            for name, est in resolved.items()
        }
    elif rule is not None or answers is not None:
        pos = positive_class(classes, y, pos_label)
        if truths is not None:
            unknown = sorted(set(np.asarray(truths, dtype=str)) - set(classes))
            if unknown:
                shown = ", ".join(f"'{v}'" for v in unknown[:5])
                raise ValueError(
                    f"group_labels holds {shown}, which is not a class of y "
                    f"({', '.join(classes)}): a group label must use the classes' "
                    "names, or every group would be called negative."
                )
            group_truth(y == pos, answers, truths, pos)  # refuse varying labels now
    elif pos_label is not None:
        raise ValueError("pos_label applies with threshold or aggregate_by only.")

    # Training positions per (fold number, fraction): nested subsets of the fold's.
    subsets = {
        (i, f): part
        for i, fold in enumerate(folds)
        for f, part in zip(
            fractions,
            nested_subsets(
                fold["train"],
                y,
                groups_arr,
                fractions,
                None if random_state is None else [random_state, i],
            ),
            strict=True,
        )
    }
    timing: dict[str, float] = {}
    feature_names = None
    matrices: dict[tuple, np.ndarray] = {}  # (fold, fraction) → its feature matrix
    embedding_pretraining: dict[tuple, dict] = {}  # (fold, fraction) → what it saw
    feature_models = [n for n, est in resolved.items() if not takes_images(est)]
    extractor = None
    embed_fold = False
    if feature_models:
        extractor = (
            features
            if features is not None
            else FeatureExtractor(
                mask="auto" if dataset is None else dataset.mask_policy,
                n_jobs=n_jobs,
                progress=progress,
            )
        )
        stateful = any(f.stateful for f in _families_of(extractor))
        embed_fold = pretrains_embedding(pretrain, resolved, extractor, takes_images)
        pretrain_used = pretrain if isinstance(pretrain, Mapping) else {}
        start = time.perf_counter()
        if not (stateful or embed_fold):
            # Each row depends on its own image only: extract once, share everywhere.
            # Float32 (as the codebook's matrices below): every model takes it,
            # XGBoost and the forests work in it, and it halves the one copy held.
            fitted = clone(extractor).fit(table)
            shared = fitted._extract(table, dtype=np.float32)[0]
            matrices = dict.fromkeys(subsets, shared)
        else:
            # A learned codebook is fitted on each fold's training images only; the
            # per-image descriptors are cached, so only the cheap encoding is redone.
            # With pretrain, so is the embedding's network (pretrained backbones are
            # kept in the cache folder: a re-run reuses them).
            with (
                _cache_for(extractor) as cached,
                warnings.catch_warnings(record=True) as caught,
            ):
                warnings.simplefilter("always")
                for key, train in subsets.items():
                    fold = cached
                    if embed_fold:
                        fold, saw = fold_extractor(
                            cached,
                            table.iloc[train],
                            pretrain,
                            random_state=random_state,
                            progress=progress,
                            folder=Path(cached.cache_dir) / "backbones",
                        )
                        embedding_pretraining[key] = saw
                    fitted = clone(fold).fit(table.iloc[train])
                    matrices[key] = fitted._extract(table, dtype=np.float32)[0]
            # Every fold's extraction reads the same images and warns the same:
            # each warning once.
            seen = set()
            for w in caught:
                if (w.category, str(w.message)) not in seen:
                    seen.add((w.category, str(w.message)))
                    warnings.warn(w.message, stacklevel=2)
        feature_names = list(fitted.get_feature_names_out())
        timing["features"] = time.perf_counter() - start

    target = y if Y is None else Y.astype(np.int8)

    def task(name, est, i, fold, fraction):
        train, test = subsets[i, fraction], np.asarray(fold["test"])
        if takes_images(est):
            names, data = None, table
        else:
            names, data = feature_names, matrices[i, fraction]
        whole = fraction == 1
        decision = None
        inner = None if inner_groups is None else inner_groups[train]
        if Y is not None and isinstance(est, PerLabelClassifier):
            decision = {"inner_groups": inner}
        elif pos is not None:
            decision = {
                "pos": pos,
                "rule": rule,
                "inner_groups": inner,
                "aggregate": aggregate_with,
                "groups_train": None if answers is None else answers[train],
                "groups_test": None if answers is None else answers[test],
                "labels": None
                if truths is None
                else {"train": truths[train], "test": truths[test]},
            }
        return delayed(_run_fold)(
            name,
            est,
            fold,
            fraction,
            data,
            train,
            test,
            target,
            classes,
            names,
            importance and whole,
            random_state,
            decision,
        )

    saved = None
    if checkpoint is not None:
        saved = FitCheckpoint(
            checkpoint,
            _checkpoint_common(
                table,
                target,
                {
                    "classes": classes,
                    "groups": inner_groups,
                    "answers": answers,
                    "truths": truths,
                    "rule": None if rule is None else str(rule),
                    "pos": pos,
                    "aggregate_with": aggregate_with if answers is not None else None,
                    "importance": importance,
                    "random_state": random_state,
                },
            ),
        )
    raw: list[dict] = []
    tasks, keys = [], {}
    for name, est in resolved.items():
        for i, fold in enumerate(folds):
            for fraction in fractions:
                if saved is not None:
                    key = saved.key(
                        name,
                        est
                        if takes_images(est)
                        else [est, _identity(extractor)]
                        + ([_plain_dict(pretrain_used)] if embed_fold else []),
                        subsets[i, fraction],
                        fold["test"],
                        fraction,
                    )
                    found = saved.load(key)
                    if found is not None:
                        raw.append(found)
                        continue
                    keys[name, fold["repeat"], fold["fold"], fraction] = key
                tasks.append(task(name, est, i, fold, fraction))
    show = progress if progress is not None else sys.stderr.isatty()
    start = time.perf_counter()
    with tqdm(
        total=len(tasks) + len(raw),
        initial=len(raw),
        desc="models × folds",
        unit="fit",
        disable=not show,
        file=sys.stderr,
    ) as bar:
        for out in run_unordered(tasks, n_jobs):
            raw.append(out)
            if saved is not None:
                key = (out["model"], out["repeat"], out["fold"], out["fraction"])
                saved.save(keys[key], out)
            bar.update(1)
    timing["cross_validation"] = time.perf_counter() - start
    order = {name: i for i, name in enumerate(resolved)}
    raw.sort(key=lambda r: (order[r["model"]], r["repeat"], r["fold"], -r["fraction"]))
    _warn_once(raw, several_repeats=len({f["repeat"] for f in folds}) > 1)

    fold_records = [
        FoldRecord(
            model=r["model"],
            repeat=r["repeat"],
            fold=r["fold"],
            test_index=r["test_index"],
            y_pred=r["y_pred"],
            proba=r["proba"],
            fit_time=r["fit_time"],
            predict_time=r["predict_time"],
            params=r["params"],
            error=r["error"],
            train_size=r["train_size"],
            fraction=r["fraction"],
            fit_memory=r["fit_memory"],
            threshold=r.get("threshold"),
            group=r.get("group"),
        )
        for r in raw
    ]
    records = [r for r in fold_records if r.fraction == 1]
    extras = {}
    for r in raw:
        if r.get("extra"):
            extras.setdefault(r["model"], []).append(
                {"repeat": r["repeat"], "fold": r["fold"], **r["extra"]}
            )
    for (i, _), saw in embedding_pretraining.items():
        for name in feature_models:  # logged as a CNN's fit logs its pretraining
            extras.setdefault(name, []).append(
                {
                    "repeat": folds[i]["repeat"],
                    "fold": folds[i]["fold"],
                    "pretrain": saw,
                }
            )
    images = table["image"].tolist()
    sample_ids = [
        str(p)
        if isinstance(p, (str, ChannelFiles))
        else f"{getattr(dataset, 'name', 'sample')}:{i}"
        for i, p in enumerate(images)
    ]
    info = {
        name: {
            "description": describe_model(est)
            + ("" if Y is None else ", one per label"),
            "input": "images" if takes_images(est) else "features",
            "params": {k: _plain(v) for k, v in est.get_params(deep=False).items()},
        }
        for name, est in described.items()
    }
    result = ComparisonResult(
        classes=classes,
        y=y.tolist(),
        sample_ids=sample_ids,
        sample_index=[_plain(v) for v in input_index],
        label_matrix=None if Y is None else Y.astype(int).tolist(),
        folds=[
            {"repeat": f["repeat"], "fold": f["fold"], "test": f["test"]} for f in folds
        ],
        models=list(resolved),
        records=records,
        curve_records=[r for r in fold_records if r.fraction < 1],
        groups=None if groups_arr is None else [_plain(g) for g in groups_arr],
        model_info=info,
        feature_names=feature_names or [],
        importances=_aggregate_importances(raw, feature_names)
        if importance and feature_names
        else {},
        settings={
            "cv": describe_cv(cv, len(folds)),
            "repeats": repeats,
            "random_state": random_state,
            "imbalance": None if options is None else options.imbalance,
            "search": None if options is None else options.search,
            "n_jobs": n_jobs,
            "grouped": groups_arr is not None,
            "dropped_classes": dropped,
            "train_sizes": None if train_sizes is None else list(fractions),
            "multilabel": Y is not None,
            "threshold": None if rule is None else str(rule),
            "pos_label": pos,
            "aggregate_by": _values_name(aggregate_by),
            "aggregate_with": None if answers is None else aggregate_with,
            "group_labels": _values_name(group_labels),
            "features": None
            if extractor is None
            else {k: _plain(v) for k, v in extractor.get_params().items()},
        },
        environment=environment(),
        command=command,
        extras=extras,
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    )
    if pretrain is not None:
        result.settings["pretrain"] = (
            pretrain if isinstance(pretrain, str) else _plain_dict(pretrain)
        )
    found = pretrained_on(described, extractor, table, extras, folds, takes_images)
    if found:
        result.settings["pretrained_on"] = found
    result.dataset = _dataset_info(result, table, dataset, random_state)
    timing["total"] = time.perf_counter() - start_total
    result.timing = timing
    return result


def _dataset_info(result: ComparisonResult, table: pd.DataFrame, dataset, seed) -> dict:
    """Class counts, skipped files and thumbnails of examples and of errors."""
    y = np.asarray(result.y, dtype=object)
    rng = np.random.default_rng(seed)
    chosen: set[int] = set()
    examples = {}
    for c in result.classes:
        idx = np.flatnonzero(result.members(c))
        pick = sorted(rng.choice(idx, size=min(6, len(idx)), replace=False).tolist())
        examples[c] = pick
        chosen.update(pick)
    for model in result.models:
        chosen.update(e["index"] for e in result.confident_errors(model))
    images = table["image"].tolist()
    thumbs = {str(i): t for i in sorted(chosen) if (t := _thumbnail(images[i]))}
    info = {
        "name": getattr(dataset, "name", "dataset"),
        "n_samples": len(y),
        "class_counts": {c: int(result.members(c).sum()) for c in result.classes},
        "examples": examples,
        "thumbnails": thumbs,
        "skipped": []
        if dataset is None
        else dataset.skipped.astype(str).to_dict(orient="records"),
        "meta": {}
        if dataset is None
        else {k: _plain(v) for k, v in dataset.meta.items()},
    }
    return info
