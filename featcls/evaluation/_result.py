"""ComparisonResult: everything a comparison produced, as plain, versioned data."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from featcls._files import atomic_path
from featcls.evaluation._decision import binary_scores
from featcls.evaluation._metrics import (
    SCORES,
    corrected_interval,
    corrected_ttest,
    fold_scores,
    interval,
    interval_clipped,
    per_class_table,
    wilcoxon_test,
)
from featcls.evaluation._multilabel import (
    MULTILABEL_SCORES,
    label_sets,
    multilabel_fold_scores,
    per_label_table,
)

__all__ = ["N_CONFIDENT_ERRORS", "SCHEMA_VERSION", "ComparisonResult", "FoldRecord"]

#: How many confidently misclassified samples per model keep a thumbnail.
N_CONFIDENT_ERRORS = 8

#: Version of the JSON layout written by :meth:`ComparisonResult.to_json`.
#: 2: learning curves (``curve_records``) and each fit's training size, fraction
#: and peak memory; version-1 files load with these unknown.
#: 3: each fit's decision threshold and group answers, and the input's index of
#: every sample; older files load without them (positions as the index).
SCHEMA_VERSION = 3
#: Versions :meth:`ComparisonResult.from_dict` reads.
READABLE_VERSIONS = (1, 2, 3)


@dataclass(eq=False)
class FoldRecord:
    """What one model did on one outer fold.

    The out-of-fold predictions are held as arrays, whatever they were given as
    (lists, as a results file has them): ``test_index`` of int64, ``y_pred`` of
    the class names (one object per class, shared by every row) or, multi-label,
    a 0/1 int8 matrix, and ``proba`` of float64, samples × classes. A hundred
    thousand predictions of two classes take about 3 MB, not 22 MB of lists.
    Records are equal when their fields are, arrays compared element by element.
    """

    model: str
    repeat: int
    fold: int
    test_index: np.ndarray
    y_pred: np.ndarray | None = None
    proba: np.ndarray | None = None
    fit_time: float = math.nan
    predict_time: float = math.nan
    params: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    #: Training images of the fit (None in results written before it was kept).
    train_size: int | None = None
    #: Fraction of the fold's training part it was fitted on (1: all of it).
    fraction: float = 1.0
    #: Peak memory the fit added to its process, in bytes (NaN: not measured).
    fit_memory: float = math.nan
    #: Threshold on the positive class's probability chosen by the comparison's
    #: rule inside the training data (None: the model's own prediction).
    threshold: float | None = None
    #: Answers per group of the test part: ``{"ids", "truth", "score",
    #: "threshold"}`` (None without ``aggregate_by``).
    group: dict | None = None

    def __post_init__(self) -> None:
        self.test_index = np.asarray(self.test_index, dtype=np.int64).reshape(-1)
        if self.y_pred is not None:
            self.y_pred = _compact_predictions(self.y_pred)
        if self.proba is not None:
            self.proba = np.asarray(
                [[_nan(p) for p in row] for row in self.proba]
                if isinstance(self.proba, list)
                else self.proba,
                dtype=np.float64,
            )

    def __eq__(self, other) -> bool:
        if not isinstance(other, FoldRecord):
            return NotImplemented
        for name in self.__dataclass_fields__:
            a, b = getattr(self, name), getattr(other, name)
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if (
                    a is None
                    or b is None
                    or not np.array_equal(a, b, equal_nan=_float(a))
                ):
                    return False
            elif not (a == b or (_is_nan(a) and _is_nan(b))):
                return False
        return True


def _float(a) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def _is_nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _compact_predictions(values) -> np.ndarray:
    """Predictions as an object array with one string per class, or as int8.

    A multi-label 0/1 matrix becomes int8; class names share one object each.
    """
    array = np.asarray(values)
    if array.ndim == 2:
        return array.astype(np.int8)
    if array.size == 0:
        return np.asarray(array, dtype=object)
    names, codes = np.unique(array.astype(str), return_inverse=True)
    return np.asarray([str(n) for n in names], dtype=object)[codes.reshape(-1)]


def _clean(value, arrays: bool = True):
    """JSON-safe copy: NaN/inf → None, numpy scalars → Python.

    With ``arrays=False`` numpy arrays are left as they are, for
    :func:`_array_json` to turn into lists one at a time while the file is
    written.
    """
    if isinstance(value, dict):
        return {str(k): _clean(v, arrays) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v, arrays) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist()) if arrays else value
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _array_json(value):
    """An array as the list JSON writes (``default`` of the encoder)."""
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _nan(value):
    return math.nan if value is None else value


def _record(data: dict) -> FoldRecord:
    """A :class:`FoldRecord` from its JSON form (null → NaN)."""
    r = dict(data)
    for name in ("fit_time", "predict_time", "fit_memory"):
        r[name] = _nan(r.get(name))
    return FoldRecord(**r)


def _fmt(value, digits: int = 3) -> str:
    """A number for :meth:`ComparisonResult.summary`; ``-`` when undefined."""
    value = float(value)
    return f"{value:.{digits}f}" if math.isfinite(value) else "-"


def _cell(value):
    """One table cell as JSON-safe plain data (missing → None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):  # array-like cells: keep their text
        pass
    return str(value)


@dataclass
class ComparisonResult:
    """Results of :func:`featcls.compare`: out-of-fold predictions of every model.

    Plain data: metrics, intervals and paired tests are computed from the stored
    predictions, so a report can be re-rendered or extended later without refitting.

    Attributes
    ----------
    classes : list of str
        Class names, sorted; columns of the stored probabilities.
    y : list of str
        True label of every sample, in sample order.
    sample_ids : list of str
        Path (or ``dataset:index``) of every sample.
    label_matrix : list of list of int, or None
        For a multi-label comparison, the 0/1 indicator matrix of the targets
        (samples × ``classes``, which are then the label names); ``y`` holds each
        sample's labels joined by spaces. None for single-label results.
    sample_index : list or None
        The index label (or position) in the compared ``X`` of every sample, which
        :meth:`oof` indexes its frame by; None in results written before it was
        kept (positions).
    folds : list of dict
        ``{"repeat", "fold", "test"}`` for every outer fold; a model's record on a fold
        holds predictions for exactly those test indices.
    models : list of str
        Model names, in the order given.
    records : list of FoldRecord
        One per (model, repeat, fold), fitted on the fold's whole training part.
    curve_records : list of FoldRecord
        The learning curves' fits on subsets of the training parts (``fraction``
        below 1), one per (model, repeat, fold, fraction); empty without
        ``train_sizes``.
    groups : list or None
        Group of every sample, when the folds were grouped.
    model_info : dict
        Per model: its description and parameters.
    feature_names : list of str
        Columns of the hand-crafted feature matrix (empty if no feature model ran).
    importances : dict
        Per model, ``{"permutation_family": {family: mean drop in macro-F1 when the
        family's columns are shuffled together}, "gain": {feature: normalised total
        gain}}`` (gain for tree models only), averaged over folds.
    dataset : dict
        Name, class counts, skipped-file ledger, thumbnails, provenance.
    settings : dict
        The comparison's settings (cv, repeats, seed, imbalance, features ...).
    environment : dict
        Versions, CPU/GPU, platform.
    timing : dict
        Wall times in seconds (``features``, ``total`` ...).
    command : str
        The command line that reproduces the comparison.
    extras : dict
        Model-specific material for the report (learning curves, saliency maps ...).
    tables : list of dict
        Supplementary tables (ablations, per-class breakdowns ...) added with
        :meth:`add_table`, each ``{"title", "note", "columns", "rows"}`` as plain
        data; shown under "Additional analyses" in the report. Empty by default
        (and when reading results written before tables existed).
    """

    classes: list[str]
    y: list[str]
    sample_ids: list[str]
    folds: list[dict]
    models: list[str]
    records: list[FoldRecord]
    curve_records: list[FoldRecord] = field(default_factory=list)
    groups: list | None = None
    model_info: dict = field(default_factory=dict)
    feature_names: list[str] = field(default_factory=list)
    importances: dict = field(default_factory=dict)
    dataset: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    environment: dict = field(default_factory=dict)
    timing: dict = field(default_factory=dict)
    command: str = ""
    extras: dict = field(default_factory=dict)
    tables: list = field(default_factory=list)
    sample_index: list | None = None
    label_matrix: list | None = None
    created: str = ""
    schema_version: int = SCHEMA_VERSION

    # -- persistence ------------------------------------------------------------
    def to_dict(self) -> dict:
        return _clean(self._fields())

    def _fields(self) -> dict:
        """The fields, records as dicts of theirs (a shallow :func:`asdict`)."""
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        for name in ("records", "curve_records"):
            out[name] = [
                {k: getattr(r, k) for k in r.__dataclass_fields__} for r in out[name]
            ]
        return out

    def to_json(self, path: str | Path) -> Path:
        """Write the result as JSON (NaN stored as null) and return the path.

        The predictions are written a record at a time, never all as Python
        lists at once. The file is written under a temporary name and renamed
        when complete, so an interrupted write leaves any earlier file as it was.
        """
        encoder = json.JSONEncoder(indent=1, default=_array_json)
        with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            for chunk in encoder.iterencode(_clean(self._fields(), arrays=False)):
                fh.write(chunk)
        return Path(path)

    @classmethod
    def from_dict(cls, data: dict) -> ComparisonResult:
        version = data.get("schema_version")
        if version not in READABLE_VERSIONS:
            readable = ", ".join(map(str, READABLE_VERSIONS))
            raise ValueError(
                f"This results file has schema version {version!r}; this featcls reads "
                f"versions {readable}. Re-run the comparison with this version."
            )
        data = dict(data)
        lists = {
            name: [_record(r) for r in data.pop(name, [])]
            for name in ("records", "curve_records")
        }
        known = set(cls.__dataclass_fields__)
        fields = {k: v for k, v in data.items() if k in known}
        fields["schema_version"] = SCHEMA_VERSION  # read into the current layout
        return cls(**lists, **fields)

    @classmethod
    def from_json(cls, path: str | Path) -> ComparisonResult:
        """Read a result written by :meth:`to_json`."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise FileNotFoundError(f"No results file at '{path}'.") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"'{path}' is not a featcls results file: {exc}") from exc
        if not isinstance(data, dict) or "records" not in data:
            raise ValueError(f"'{path}' is not a featcls results file (no 'records').")
        return cls.from_dict(data)

    # -- supplementary tables ---------------------------------------------------
    def add_table(self, title: str, frame: pd.DataFrame, note: str = "") -> None:
        """Attach a supplementary table, kept in the JSON and shown in the report.

        For analyses beyond the comparison itself (drop one feature family, CNN
        input size, imbalance strategy, F1 per cell type ...). The frame is stored
        as plain data: numpy scalars become Python numbers, NaN and infinities
        become null (``NaN`` again in :meth:`table`), anything else that is not a
        number, string or bool becomes its text.

        Parameters
        ----------
        title : str
            Heading of the table, unique within the result (:meth:`table` looks
            tables up by it).
        frame : DataFrame
            The table. A named index (after ``set_index`` or ``groupby``) becomes
            the first column(s); an unnamed index is left out. Column labels are
            stored as text (levels of a MultiIndex joined with " / ").
        note : str, default=""
            A sentence shown with the table: what was varied, on which folds.

        Raises
        ------
        TypeError
            If ``frame`` is not a DataFrame.
        ValueError
            If ``title`` is empty or already used by another table.

        Examples
        --------
        >>> import pandas as pd
        >>> result = ComparisonResult(classes=[], y=[], sample_ids=[], folds=[],
        ...                           models=[], records=[])
        >>> result.add_table("Drop one family",
        ...                  pd.DataFrame({"dropped": ["shape"], "f1_macro": [0.8]}),
        ...                  note="logreg, same 5 folds")
        >>> result.table("Drop one family")
          dropped  f1_macro
        0   shape       0.8
        """
        if not isinstance(title, str) or not title.strip():
            raise ValueError(f"A table needs a non-empty title. Got {title!r}.")
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(
                f"add_table expects a pandas DataFrame. Got {type(frame).__name__}"
                " (use series.to_frame() for a Series)."
            )
        if any(t.get("title") == title for t in self.tables):
            raise ValueError(
                f"This result already has a table titled {title!r}; titles must be "
                "unique. Choose another title."
            )
        if any(name is not None for name in frame.index.names):
            frame = frame.reset_index()
        columns = [
            " / ".join(map(str, c)) if isinstance(c, tuple) else str(c)
            for c in frame.columns
        ]
        rows = [[_cell(v) for v in row] for row in frame.itertuples(index=False)]
        self.tables.append(
            _clean(
                {"title": title, "note": str(note), "columns": columns, "rows": rows}
            )
        )

    def table(self, title: str) -> pd.DataFrame:
        """The supplementary table added as ``title`` (see :meth:`add_table`).

        Missing values come back as NaN; a named index as ordinary column(s).

        Raises
        ------
        ValueError
            If there is no table with that title.
        """
        for t in self.tables:
            if t.get("title") == title:
                rows = [[_nan(v) for v in row] for row in t.get("rows", [])]
                return pd.DataFrame(rows, columns=list(t.get("columns", [])))
        titles = [t.get("title") for t in self.tables]
        raise ValueError(f"No table titled {title!r}; this result has {titles}.")

    # -- views ------------------------------------------------------------------
    @property
    def multilabel(self) -> bool:
        """Whether the targets are label sets (a multi-label comparison)."""
        return self.label_matrix is not None

    @property
    def score_names(self) -> tuple[str, ...]:
        """The fold-level scores of :meth:`to_frame` for this kind of target."""
        return MULTILABEL_SCORES if self.multilabel else SCORES

    def members(self, name: str) -> np.ndarray:
        """Boolean mask of the samples of class ``name`` (or with label ``name``)."""
        if self.multilabel:
            return np.asarray(self.label_matrix, bool)[:, self.classes.index(name)]
        return np.asarray(self.y, dtype=object) == name

    def _records(self, model: str) -> list[FoldRecord]:
        if model not in self.models:
            raise ValueError(f"Unknown model {model!r}; this result has {self.models}.")
        return [r for r in self.records if r.model == model]

    def to_frame(self, curves: bool = True, level: str = "image") -> pd.DataFrame:
        """One row per (model, repeat, fold, training size): scores, timings, errors.

        ``train_size`` is the number of training images of the fit (NaN in results
        written before it was kept), ``fraction`` the share of the fold's training
        part it was fitted on (1: all of it), ``fit_memory`` the peak memory the
        fit added to its process, in bytes.

        Parameters
        ----------
        curves : bool, default=True
            Include the learning curves' fits on subsets (``fraction`` below 1);
            False keeps the fits on whole training parts, one row per (model,
            repeat, fold), which every other view uses.
        level : {"image", "group"}, default="image"
            ``"group"`` (a comparison with ``aggregate_by``): the answers per
            group instead, scored by ``sensitivity``, ``specificity``, ``ppv``,
            ``npv`` and ``f1`` of the positive class, with the number of test
            groups (``n_groups``, ``n_positive``) and the group ``threshold``.
        """
        if level not in ("image", "group"):
            raise ValueError(f"level must be 'image' or 'group'; got {level!r}.")
        if level == "group":
            frame = self._group_folds()
            if not curves:
                frame = frame[frame["fraction"] == 1].reset_index(drop=True)
            return frame
        key = (
            id(self.records),
            len(self.records),
            id(self.curve_records),
            len(self.curve_records),
            tuple(self.classes),
        )
        cached = self.__dict__.get("_frame_cache")
        if cached is None or cached[0] != key:
            cached = (key, self._score_folds())
            self.__dict__["_frame_cache"] = cached
        frame = cached[1]
        if not curves:
            frame = frame[frame["fraction"] == 1].reset_index(drop=True)
        return frame.copy()

    def _score_folds(self) -> pd.DataFrame:
        y = np.asarray(self.y, dtype=object)
        rows = []
        order = {m: i for i, m in enumerate(self.models)}
        every = sorted(
            self.records + self.curve_records,
            key=lambda r: (
                order.get(r.model, len(order)),
                r.repeat,
                r.fold,
                -r.fraction,
            ),
        )
        for r in every:
            row = {
                "model": r.model,
                "repeat": r.repeat,
                "fold": r.fold,
                "n_test": len(r.test_index),
            }
            if r.error is None and r.y_pred is not None:
                proba = None if r.proba is None else np.asarray(r.proba, float)
                if self.multilabel:
                    truth = np.asarray(self.label_matrix, bool)[r.test_index]
                    row.update(multilabel_fold_scores(truth, r.y_pred, proba))
                else:
                    row.update(
                        fold_scores(
                            y[r.test_index],
                            np.asarray(r.y_pred, object),
                            proba,
                            self.classes,
                        )
                    )
            else:
                row.update(dict.fromkeys(self.score_names, np.nan))
            row.update(
                {
                    "train_size": np.nan if r.train_size is None else r.train_size,
                    "fraction": r.fraction,
                    "fit_time": r.fit_time,
                    "predict_time": r.predict_time,
                    "fit_memory": r.fit_memory,
                    "error": r.error,
                }
            )
            rows.append(row)
        columns = [
            "model",
            "repeat",
            "fold",
            "train_size",
            "fraction",
            *self.score_names,
            "fit_time",
            "predict_time",
            "fit_memory",
            "n_test",
            "error",
        ]
        return pd.DataFrame(rows, columns=columns)

    def leaderboard(self, metric: str = "f1_macro") -> pd.DataFrame:
        """Per model: mean, std and 95 % interval of ``metric`` over folds, best first.

        The interval (``ci_low``, ``ci_high``) is a Student-t interval of the mean
        of the fold scores, clipped to the scores' range [0, 1]; ``ci_clipped``
        says where the t interval reached past it (few folds, scores near 0 or 1).
        Also the mean of the other scores, the mean fit time and the number of
        folds that failed.
        """
        frame = self.to_frame(curves=False)
        rows = []
        for model in self.models:
            part = frame[frame["model"] == model]
            values = part[metric].to_numpy(float)
            low, high = interval(values)
            row = {
                "model": model,
                metric: np.nanmean(values) if np.isfinite(values).any() else np.nan,
                "std": np.nanstd(values, ddof=1)
                if np.isfinite(values).sum() > 1
                else np.nan,
                "ci_low": low,
                "ci_high": high,
                "ci_clipped": interval_clipped(values),
            }
            for s in self.score_names:
                if s != metric:
                    v = part[s].to_numpy(float)
                    row[s] = np.nanmean(v) if np.isfinite(v).any() else np.nan
            row["fit_time"] = part["fit_time"].mean()
            row["failed_folds"] = int(part["error"].notna().sum())
            rows.append(row)
        board = pd.DataFrame(rows).set_index("model")
        return board.sort_values(metric, ascending=False, na_position="last")

    def verdict(self, metric: str = "f1_macro") -> str:
        """One paragraph answering whether a CNN is better here, and by how much.

        From the stored results only: the best feature model and the best
        CNN-based model, their difference with its interval and the corrected
        paired test (called significant only at p < 0.05), the training-time
        ratio and what the learning curves show within the sizes measured. The
        report opens with it and ``featcls compare`` prints it last.
        """
        from featcls.evaluation._verdict import verdict

        return verdict(self, metric)

    # -- learning curves and cost --------------------------------------------------
    def model_input(self, model: str) -> str:
        """``"images"`` for a model fitted on pixels (CNN-based), or ``"features"``."""
        return self.model_info.get(model, {}).get("input", "features")

    def test_fraction(self, fraction: float = 1.0) -> float:
        """Share of the test part in training + test part, for the corrected t-test.

        ``n_test / (n_test + n_train)`` averaged over the folds, with the training
        size of the fits at ``fraction`` of the training parts (the corrected
        resampled t-test inflates the variance by ``n_test / n_train``). Where
        training sizes were not kept (results written before), ``n_test`` over
        the number of samples for the whole parts, NaN for a subset.
        """
        n_test = float(np.mean([len(f["test"]) for f in self.folds]))
        sizes = [
            r.train_size
            for r in self.records + self.curve_records
            if r.fraction == fraction and r.train_size
        ]
        if sizes:
            return n_test / (n_test + float(np.mean(sizes)))
        return n_test / len(self.y) if fraction == 1 else math.nan

    def learning_curve(self, metric: str = "f1_macro") -> pd.DataFrame:
        """Per model and training fraction: ``metric`` over the folds.

        Columns: ``model``, ``fraction``, ``train_size`` (mean number of training
        images), ``metric``, its ``ci_low`` / ``ci_high`` (Student-t interval of
        the fold mean, clipped to [0, 1]) and ``n_folds`` (folds scored). With no
        learning curves, one row per model at fraction 1.
        """
        frame = self.to_frame()
        rows = []
        for (model, fraction), part in frame.groupby(["model", "fraction"], sort=False):
            values = part[metric].to_numpy(float)
            low, high = interval(values)
            finite = np.isfinite(values)
            rows.append(
                {
                    "model": model,
                    "fraction": fraction,
                    "train_size": part["train_size"].mean(),
                    metric: values[finite].mean() if finite.any() else np.nan,
                    "ci_low": low,
                    "ci_high": high,
                    "n_folds": int(finite.sum()),
                }
            )
        columns = ["model", "fraction", "train_size", metric, "ci_low", "ci_high"]
        out = pd.DataFrame(rows, columns=[*columns, "n_folds"])
        return out.sort_values(["model", "fraction"], kind="stable").reset_index(
            drop=True
        )

    def curve_gaps(self, metric: str = "f1_macro") -> pd.DataFrame:
        """The best CNN-based model against the best feature model, size by size.

        At every training fraction the best model of each kind (highest mean
        ``metric`` at that size) is taken, and their paired fold scores give the
        difference (image model − feature model), its interval and the corrected
        resampled t-test (:func:`~featcls.evaluation._metrics.corrected_ttest`,
        with the test/train ratio of that size). Empty unless both kinds of model
        were compared.
        """
        columns = [
            "fraction",
            "train_size",
            "image_model",
            "feature_model",
            "image_score",
            "feature_score",
            "mean_diff",
            "ci_low",
            "ci_high",
            "p_corrected_t",
            "n_folds",
        ]
        curve = self.learning_curve(metric)
        kinds = curve["model"].map(self.model_input)
        frame = self.to_frame().set_index(["model", "fraction", "repeat", "fold"])
        frame = frame.sort_index()
        rows = []
        for fraction in sorted(curve["fraction"].unique()):
            here = curve[curve["fraction"] == fraction]
            best = {}
            for kind in ("images", "features"):
                part = here[(kinds[here.index] == kind) & here[metric].notna()]
                if len(part):
                    best[kind] = part.loc[part[metric].idxmax()]
            if len(best) < 2:
                continue
            a, b = best["images"]["model"], best["features"]["model"]
            pa, pb = frame.loc[(a, fraction)], frame.loc[(b, fraction)]
            both = pa.index.intersection(pb.index)
            va = pa.loc[both, metric].to_numpy(float)
            vb = pb.loc[both, metric].to_numpy(float)
            train = pa.loc[both, "train_size"].mean()
            test_fraction = self.test_fraction(fraction)
            mean, _, p = corrected_ttest(va, vb, test_fraction)
            low, high = corrected_interval(va, vb, test_fraction)
            rows.append(
                {
                    "fraction": fraction,
                    "train_size": train,
                    "image_model": a,
                    "feature_model": b,
                    "image_score": best["images"][metric],
                    "feature_score": best["features"][metric],
                    "mean_diff": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "p_corrected_t": p,
                    "n_folds": int(np.isfinite(va - vb).sum()),
                }
            )
        return pd.DataFrame(rows, columns=columns)

    def costs(self, metric: str = "f1_macro") -> pd.DataFrame:
        """What each model costs next to what it scores (whole training parts).

        Columns: ``model``, ``input``, ``metric`` (mean over folds),
        ``fit_time`` (mean seconds per fold), ``predict_time_per_image``
        (seconds), ``fit_memory_mb`` (mean peak memory a fit added to its
        process, in MiB; NaN where not measured) and ``pareto``: no other model
        scores at least as well and trains faster (and one of the two strictly).
        """
        frame = self.to_frame(curves=False)
        rows = []
        for model in self.models:
            part = frame[frame["model"] == model]
            values = part[metric].to_numpy(float)
            memory = part["fit_memory"].to_numpy(float)
            per_image = (part["predict_time"] / part["n_test"]).to_numpy(float)
            rows.append(
                {
                    "model": model,
                    "input": self.model_input(model),
                    metric: np.nanmean(values) if np.isfinite(values).any() else np.nan,
                    "fit_time": part["fit_time"].mean(),
                    "predict_time_per_image": np.nanmean(per_image)
                    if np.isfinite(per_image).any()
                    else np.nan,
                    "fit_memory_mb": np.nanmean(memory) / 2**20
                    if np.isfinite(memory).any()
                    else np.nan,
                }
            )
        out = pd.DataFrame(
            rows,
            columns=[
                "model",
                "input",
                metric,
                "fit_time",
                "predict_time_per_image",
                "fit_memory_mb",
            ],
        )
        score, cost = out[metric].to_numpy(float), out["fit_time"].to_numpy(float)
        ok = np.isfinite(score) & np.isfinite(cost)
        out["pareto"] = [
            bool(
                ok[i]
                and not any(
                    ok[j]
                    and score[j] >= score[i]
                    and cost[j] <= cost[i]
                    and (score[j] > score[i] or cost[j] < cost[i])
                    for j in range(len(out))
                )
            )
            for i in range(len(out))
        ]
        return out

    def oof(self, model: str, repeat: int = 0) -> pd.DataFrame:
        """Out-of-fold predictions of one repeat, one row per sample predicted.

        Indexed like the compared ``X`` (its index labels, or positions for
        arrays and lists; :attr:`sample_index`), in sample order, so the frame
        joins back to the input: ``X.join(result.oof("svm"))``. Samples of a
        failed fold are left out.

        Parameters
        ----------
        model : str
        repeat : int, default=0

        Returns
        -------
        DataFrame
            Columns ``position`` (in :attr:`y`), ``sample_id``, ``group`` (with
            grouped folds), ``fold``, ``y_true``, ``y_pred`` and ``p_<class>``
            per class (when the model stored probabilities). Multi-label: the
            label sets as space-separated strings and ``p_<label>`` each label's
            probability.
        """
        positions, folds, pred, proba = [], [], [], []
        have_proba = True
        for r in self._records(model):
            if r.repeat != repeat or r.error is not None or r.y_pred is None:
                continue
            positions.append(np.asarray(r.test_index, dtype=np.intp))
            folds.append(np.full(len(r.test_index), r.fold))
            pred.append(
                np.asarray(label_sets(r.y_pred, self.classes), dtype=object)
                if self.multilabel
                else np.asarray(r.y_pred, dtype=object)
            )
            if r.proba is None:
                have_proba = False
            else:
                proba.append(np.asarray(r.proba, float).reshape(-1, len(self.classes)))
        if positions:
            at = np.concatenate(positions)
            order = np.argsort(at, kind="stable")
            at = at[order]
        else:
            at = order = np.zeros(0, np.intp)
        labels = (
            at
            if self.sample_index is None
            else [self.sample_index[i] for i in at.tolist()]
        )
        index = pd.Index(labels, name="sample")
        frame = pd.DataFrame(
            {"position": at, "sample_id": np.asarray(self.sample_ids, object)[at]},
            index=index,
        )
        if self.groups is not None:
            frame["group"] = np.asarray(self.groups, dtype=object)[at]
        frame["fold"] = (
            np.concatenate(folds)[order] if folds else np.zeros(0, int)
        ).astype(int)
        frame["y_true"] = np.asarray(self.y, dtype=object)[at]
        frame["y_pred"] = np.concatenate(pred)[order] if pred else np.zeros(0, object)
        if have_proba and proba:
            matrix = np.concatenate(proba)[order]
            for j, c in enumerate(self.classes):
                frame[f"p_{c}"] = matrix[:, j]
        return frame

    def oof_proba(self, model: str, repeat: int = 0) -> np.ndarray | None:
        """The ``p_<class>`` columns of :meth:`oof` as an array (None: not stored)."""
        frame = self.oof(model, repeat)
        columns = [f"p_{c}" for c in self.classes]
        if not set(columns) <= set(frame.columns):
            return None
        return frame[columns].to_numpy(float)

    # -- decisions and answers per group -----------------------------------------
    def _has_groups(self) -> bool:
        return self.settings.get("aggregate_by") is not None

    def _group_folds(self) -> pd.DataFrame:
        if not self._has_groups():
            raise ValueError(
                "This comparison has no answers per group: compare with "
                "aggregate_by (CLI --aggregate-by) to get them."
            )
        names = ("sensitivity", "specificity", "ppv", "npv", "f1")
        rows = []
        for r in sorted(
            self.records + self.curve_records,
            key=lambda r: (self.models.index(r.model), r.repeat, r.fold, -r.fraction),
        ):
            row = {
                "model": r.model,
                "repeat": r.repeat,
                "fold": r.fold,
                "train_size": np.nan if r.train_size is None else r.train_size,
                "fraction": r.fraction,
            }
            if r.error is None and r.group is not None:
                truth = np.asarray(r.group["truth"], bool)
                score = np.asarray(r.group["score"], float)
                called = score >= r.group["threshold"]
                row.update(binary_scores(truth, called))
                row.update(
                    n_groups=len(truth),
                    n_positive=int(truth.sum()),
                    threshold=r.group["threshold"],
                )
            else:
                row.update(dict.fromkeys(names, np.nan))
                row.update(n_groups=0, n_positive=0, threshold=np.nan)
            row["error"] = r.error
            rows.append(row)
        columns = [
            "model",
            "repeat",
            "fold",
            "train_size",
            "fraction",
            *names,
            "n_groups",
            "n_positive",
            "threshold",
            "error",
        ]
        return pd.DataFrame(rows, columns=columns)

    def group_oof(self, model: str, repeat: int = 0) -> pd.DataFrame:
        """Out-of-fold answers per group of one repeat (with ``aggregate_by``).

        Returns
        -------
        DataFrame
            Indexed by group: ``fold``, ``truth`` (bool: the group is positive),
            ``score`` (aggregated probability of the positive class),
            ``threshold`` and ``positive`` (bool: called positive).
        """
        self._group_folds()  # the same error without groups
        rows = []
        for r in self._records(model):
            if r.repeat != repeat or r.error is not None or r.group is None:
                continue
            for gid, truth, score in zip(
                r.group["ids"], r.group["truth"], r.group["score"], strict=True
            ):
                rows.append(
                    {
                        "group": gid,
                        "fold": r.fold,
                        "truth": bool(truth),
                        "score": score,
                        "threshold": r.group["threshold"],
                        "positive": bool(score >= r.group["threshold"]),
                    }
                )
        columns = ["group", "fold", "truth", "score", "threshold", "positive"]
        return pd.DataFrame(rows, columns=columns).set_index("group").sort_index()

    def decision_summary(self) -> pd.DataFrame:
        """Sensitivity, specificity, PPV, NPV and F1 per model, image and group level.

        For a binary comparison: the positive class is ``settings["pos_label"]``
        (or, without one, the less frequent class, as :func:`compare` picks it).
        Per model and level (``"image"``; ``"group"`` with ``aggregate_by``), the
        mean over folds of each score and its 95 % interval (``<score>_low``,
        ``<score>_high``, as in :meth:`leaderboard`), and the median threshold.

        Raises
        ------
        ValueError
            If the comparison has more than two classes, or is multi-label (its
            per-label decisions are in :meth:`per_class`).
        """
        from featcls.evaluation._decision import positive_class

        if self.multilabel:
            raise ValueError(
                "decision_summary is for a binary comparison; a multi-label one "
                "decides per label: see per_class() for each label's scores."
            )

        pos = self.settings.get("pos_label") or positive_class(
            self.classes, self.y, None
        )
        names = ("sensitivity", "specificity", "ppv", "npv", "f1")
        y = np.asarray(self.y, dtype=object)
        image_rows = []
        for r in self.records:
            row = {"model": r.model, "threshold": r.threshold}
            if r.error is None and r.y_pred is not None:
                row.update(
                    binary_scores(
                        y[r.test_index] == pos, np.asarray(r.y_pred, object) == pos
                    )
                )
            image_rows.append(row)
        frames = {"image": pd.DataFrame(image_rows)}
        if self._has_groups():
            frames["group"] = self._group_folds().query("fraction == 1")
        rows = []
        for level, frame in frames.items():
            for model in self.models:
                part = frame[frame["model"] == model]
                row = {"model": model, "level": level}
                for name in names:
                    values = (
                        part[name].to_numpy(float)
                        if name in part
                        else np.zeros(0, float)
                    )
                    finite = np.isfinite(values)
                    row[name] = values[finite].mean() if finite.any() else np.nan
                    row[f"{name}_low"], row[f"{name}_high"] = interval(values)
                thresholds = pd.to_numeric(part["threshold"], errors="coerce")
                row["threshold"] = thresholds.median()
                rows.append(row)
        return pd.DataFrame(rows).set_index(["model", "level"])

    def confusion(self, model: str) -> pd.DataFrame:
        """Confusion matrix (rows: true, columns: predicted), summed over repeats.

        Raises
        ------
        ValueError
            For a multi-label result, which has no one-class-per-sample confusion
            matrix: :meth:`per_class` gives each label's counts.
        """
        from sklearn.metrics import confusion_matrix

        if self.multilabel:
            raise ValueError(
                "A multi-label result has no confusion matrix (a sample may carry "
                "several labels); per_class() scores each label."
            )

        total = np.zeros((len(self.classes),) * 2, dtype=int)
        for repeat in sorted({f["repeat"] for f in self.folds}):
            frame = self.oof(model, repeat)
            if len(frame):
                total += confusion_matrix(
                    frame["y_true"], frame["y_pred"], labels=self.classes
                )
        return pd.DataFrame(
            total,
            index=pd.Index(self.classes, name="true"),
            columns=pd.Index(self.classes, name="predicted"),
        )

    def per_class(self, model: str) -> pd.DataFrame:
        """Per-class precision, recall, F1, TPR, TNR, PPV, NPV (pooled predictions).

        For a multi-label result: per label, precision, recall, F1, ROC-AUC and
        support, pooled over repeats, with the label cardinality of the truth and
        of the predictions in ``attrs`` (see
        :func:`~featcls.evaluation._multilabel.per_label_table`).
        """
        if self.multilabel:
            return self._per_label(model)
        ys, preds = [], []
        for repeat in sorted({f["repeat"] for f in self.folds}):
            frame = self.oof(model, repeat)
            ys.append(frame["y_true"].to_numpy(object))
            preds.append(frame["y_pred"].to_numpy(object))
        return per_class_table(np.concatenate(ys), np.concatenate(preds), self.classes)

    def _per_label(self, model: str) -> pd.DataFrame:
        truth = np.asarray(self.label_matrix, bool)
        ts, ps, probas = [], [], []
        have_proba = True
        for r in self._records(model):
            if r.error is not None or r.y_pred is None:
                continue
            ts.append(truth[r.test_index])
            ps.append(np.asarray(r.y_pred, bool))
            if r.proba is None:
                have_proba = False
            else:
                probas.append(np.asarray(r.proba, float))
        width = len(self.classes)
        t = np.concatenate(ts) if ts else np.zeros((0, width), bool)
        p = np.concatenate(ps) if ps else np.zeros((0, width), bool)
        proba = np.concatenate(probas) if have_proba and probas else None
        return per_label_table(t, p, proba, self.classes)

    def pairwise_tests(self, metric: str = "f1_macro") -> pd.DataFrame:
        """Every pair of models on the same folds: difference and paired tests.

        Columns: ``model_a``, ``model_b``, ``mean_diff`` (a − b), ``t`` and
        ``p_corrected_t``
        (Nadeau–Bengio corrected resampled t-test), ``p_wilcoxon``, ``n_folds``.
        Both tests need at least two paired folds: with fewer (a single split, or
        one model failing on the others) ``t`` and the p-values are NaN, and
        ``n_folds`` says why.
        """
        frame = self.to_frame(curves=False).set_index(["model", "repeat", "fold"])
        frame = frame[metric]
        test_fraction = self.test_fraction()
        rows = []
        for a, b in combinations(self.models, 2):
            pa, pb = frame.loc[a], frame.loc[b]
            both = pa.index.intersection(pb.index)
            va, vb = pa.loc[both].to_numpy(float), pb.loc[both].to_numpy(float)
            mean, t, p = corrected_ttest(va, vb, test_fraction)
            rows.append(
                {
                    "model_a": a,
                    "model_b": b,
                    "mean_diff": mean,
                    "t": t,
                    "p_corrected_t": p,
                    "p_wilcoxon": wilcoxon_test(va, vb),
                    "n_folds": int(np.isfinite(va - vb).sum()),
                }
            )
        return pd.DataFrame(
            rows,
            columns=[
                "model_a",
                "model_b",
                "mean_diff",
                "t",
                "p_corrected_t",
                "p_wilcoxon",
                "n_folds",
            ],
        )

    def confident_errors(
        self, model: str, k: int = N_CONFIDENT_ERRORS, repeat: int = 0
    ) -> list[dict]:
        """The ``k`` misclassified samples the model was most sure about (repeat 0).

        Each: ``{"index", "true", "pred", "confidence"}`` (probability of the wrong
        prediction). Empty when the model stored no probabilities.
        """
        out = []
        # Single-label: the wrong rows of every fold as arrays, and dicts for the k
        # shown only (a fold of 100,000 test images makes no object per row).
        index, pred, confidence = [], [], []
        y = None
        for r in self._records(model):
            if r.repeat != repeat or r.error is not None or r.proba is None:
                continue
            proba = np.asarray(r.proba, float)
            if self.multilabel:
                out += self._label_errors(r, proba)
                continue
            if y is None:
                y = np.asarray(self.y, dtype=object)
            test = np.asarray(r.test_index, dtype=np.intp)
            wrong = np.flatnonzero(np.asarray(r.y_pred, dtype=object) != y[test])
            index.append(test[wrong])
            pred.append(np.asarray(r.y_pred, dtype=object)[wrong])
            confidence.append(np.nanmax(proba[wrong], axis=1, initial=-np.inf))
        if self.multilabel:
            out.sort(key=lambda e: -e["confidence"])
            return out[:k]
        if not index:
            return []
        index, pred = np.concatenate(index), np.concatenate(pred)
        confidence = np.concatenate(confidence)
        order = np.argsort(-confidence, kind="stable")[:k]  # ties keep fold order
        return [
            {
                "index": int(index[i]),
                "true": self.y[index[i]],
                "pred": pred[i],
                "confidence": float(confidence[i]),
            }
            for i in order
        ]

    def _label_errors(self, r: FoldRecord, proba: np.ndarray) -> list[dict]:
        """Samples whose predicted label set is wrong; confidence of the worst label."""
        truth = np.asarray(self.label_matrix, bool)[r.test_index]
        pred = np.asarray(r.y_pred, bool)
        wrong = (truth != pred).any(axis=1)
        sureness = np.where(truth, 1 - proba, proba).max(axis=1)
        shown = label_sets(pred, self.classes)
        return [
            {
                "index": int(r.test_index[i]),
                "true": self.y[r.test_index[i]],
                "pred": shown[i],
                "confidence": float(sureness[i]),
            }
            for i in np.flatnonzero(wrong)
        ]

    def errors(self) -> pd.DataFrame:
        """Failed fits with their tracebacks: (model, repeat, fold, fraction).

        ``fraction`` is 1 for a fit on the whole training part and smaller for a
        learning curve's fit on a subset.
        """
        rows = [
            {
                "model": r.model,
                "repeat": r.repeat,
                "fold": r.fold,
                "fraction": r.fraction,
                "error": r.error,
            }
            for r in self.records + self.curve_records
            if r.error is not None
        ]
        columns = ["model", "repeat", "fold", "fraction", "error"]
        return pd.DataFrame(rows, columns=columns)

    def summary(self, metric: str = "f1_macro") -> str:
        """The leaderboard as aligned text (what the CLI prints).

        Values that are undefined (the spread and interval of a single fold, the
        scores of a model that failed everywhere) are shown as ``-``. An interval
        clipped to [0, 1] (see :meth:`leaderboard`) is marked ``*`` and explained
        in a last line.
        """
        board = self.leaderboard(metric)
        lines = [
            f"{'model':<18} {metric:>9} {'± std':>7} {'95% interval':>17} "
            f"{'accuracy':>9} {'bal.acc':>8} {'fit s':>7}"
        ]
        for model, row in board.iterrows():
            if np.isfinite(row["ci_low"]) and np.isfinite(row["ci_high"]):
                ci = f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}]"
                ci += "*" if row["ci_clipped"] else " "
            else:
                ci = "- "
            lines.append(
                f"{model:<18} {_fmt(row[metric]):>9} {_fmt(row['std']):>7} "
                f"{ci:>17} "
                f"{_fmt(row['accuracy']):>9} "
                f"{_fmt(row['balanced_accuracy']):>8} "
                f"{_fmt(row['fit_time'], 2):>7}"
                + (
                    f"  ({int(row['failed_folds'])} folds failed)"
                    if row["failed_folds"]
                    else ""
                )
            )
        if board["ci_clipped"].any():
            lines.append(
                "* interval clipped to [0, 1], the range of the score: on few folds "
                "the Student-t interval reaches past it."
            )
        return "\n".join(lines)
