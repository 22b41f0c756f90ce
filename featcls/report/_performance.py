"""Sections on how well the models did: leaderboard, folds, tests, confusion, curves."""

from __future__ import annotations

import math

import numpy as np

from featcls.report._facts import METRIC, METRIC_LABEL, Facts, finite
from featcls.report._figures import confusion_figure, curves_figure, fold_scores_figure

__all__ = [
    "confusion_section",
    "curves_section",
    "fold_scores_section",
    "headline",
    "leaderboard_section",
    "pairwise_section",
    "per_class_section",
]

_SCORE_COLUMNS = ("accuracy", "balanced_accuracy", "f1_weighted", "roc_auc_ovr")


def _model_info(facts: Facts, model: str) -> dict:
    info = facts.result.model_info.get(model) or {}
    return info if isinstance(info, dict) else {}


def leaderboard_section(facts: Facts) -> dict:
    """One row per model, best first, with the best row flagged."""
    rows = []
    counts = facts.frame.groupby("model").size()
    for rank, (model, row) in enumerate(facts.board.iterrows(), start=1):
        info = _model_info(facts, model)
        mean = finite(row[METRIC])
        rows.append(
            {
                "rank": rank,
                "model": model,
                "color": facts.hex_colors.get(model),
                "description": str(info.get("description", "")),
                "input": str(info.get("input", "")),
                "mean": mean,
                "std": finite(row["std"]),
                # already clipped to [0, 1] by the leaderboard, which says where
                "ci_low": finite(row["ci_low"]),
                "ci_high": finite(row["ci_high"]),
                "ci_clipped": bool(row.get("ci_clipped", False)),
                "scored": not math.isnan(mean),
                "has_ci": not math.isnan(finite(row["ci_low"])),
                **{s: finite(row.get(s)) for s in _SCORE_COLUMNS},
                "fit_time": finite(row["fit_time"]),
                "failed_folds": int(row["failed_folds"]),
                "n_folds": int(counts.get(model, 0)),
                "best": rank == 1 and not math.isnan(mean),
            }
        )
    models = []
    for model in facts.result.models:
        info = _model_info(facts, model)
        params = info.get("params") or {}
        searched = [
            {"fold": _fit_label(r), "params": r.params}
            for r in facts.result.records
            if r.model == model and r.params
        ]
        models.append(
            {
                "model": model,
                "description": str(info.get("description", "")),
                "input": str(info.get("input", "")),
                "params": sorted(params.items()) if isinstance(params, dict) else [],
                "searched": searched,
            }
        )
    return {
        "rows": rows,
        "models": models,
        "metric_label": METRIC_LABEL,
        "n_splits": len(facts.result.folds),
    }


def _fit_label(record) -> str:
    """Which fit a record is: its fold, and its training images on a curve."""
    label = f"repeat {record.repeat}, fold {record.fold}"
    if record.fraction != 1:
        label += f", {record.train_size} training images"
    return label


def headline(facts: Facts) -> dict | None:
    """The best model by macro-F1, and how far ahead of the runner-up it is."""
    rows = [(m, r) for m, r in facts.board.iterrows() if np.isfinite(r[METRIC])]
    if not rows:
        return None
    model, row = rows[0]
    out = {
        "model": model,
        "mean": finite(row[METRIC]),
        "std": finite(row["std"]),
        "n_folds": int((facts.frame["model"] == model).sum()),
        "metric_label": METRIC_LABEL,
        "runner_up": None,
    }
    if len(rows) > 1:
        second, second_row = rows[1]
        p = math.nan
        for _, pair in facts.pairs.iterrows():
            if {pair["model_a"], pair["model_b"]} == {model, second}:
                p = finite(pair["p_corrected_t"])
        out["runner_up"] = {
            "model": second,
            "diff": finite(row[METRIC] - second_row[METRIC]),
            "p": p,
        }
    return out


def fold_scores_section(facts: Facts) -> dict:
    """Macro-F1 of every fold of every model, as a figure and a table."""
    frame = facts.frame
    keys = sorted(
        {(int(r), int(f)) for r, f in zip(frame["repeat"], frame["fold"], strict=True)}
    )
    scores, table = {}, []
    lookup = {
        (m, int(r), int(f)): finite(v)
        for m, r, f, v in zip(
            frame["model"], frame["repeat"], frame["fold"], frame[METRIC], strict=True
        )
    }
    for model in facts.order:
        scores[model] = [
            (f"{r}-{f}", lookup[(model, r, f)])
            for r, f in keys
            if (model, r, f) in lookup
        ]
    for r, f in keys:
        table.append(
            {
                "label": f"repeat {r}, fold {f}"
                if len(facts.repeats) > 1
                else f"fold {f}",
                "cells": [lookup.get((m, r, f), math.nan) for m in facts.order],
            }
        )
    figure = None
    if len(frame):
        figure = fold_scores_figure(scores, facts.colors, METRIC_LABEL)
    return {
        "figure": figure,
        "models": facts.order,
        "rows": table,
        "n_folds": len(keys),
        "metric_label": METRIC_LABEL,
    }


def pairwise_section(facts: Facts) -> dict:
    """Matrix of paired differences (row − column) with both tests' p-values."""
    found = {}
    listing = []
    for _, p in facts.pairs.iterrows():
        a, b = p["model_a"], p["model_b"]
        cell = {
            "p_t": finite(p["p_corrected_t"]),
            "p_w": finite(p["p_wilcoxon"]),
            "t": finite(p["t"]),
            "n": int(p["n_folds"]),
        }
        diff = finite(p["mean_diff"])
        found[(a, b)] = {**cell, "diff": diff}
        found[(b, a)] = {**cell, "diff": -diff}
        listing.append({"a": a, "b": b, "diff": diff, **cell})
    matrix = []
    for a in facts.order:
        cells = []
        for b in facts.order:
            cell = None if a == b else found.get((a, b))
            if cell is not None:
                cell = {**cell, "significant": cell["p_t"] < 0.05}
            cells.append(cell)
        matrix.append({"model": a, "cells": cells})
    return {
        "models": facts.order,
        "matrix": matrix,
        "pairs": listing,
        "tested": any(p["n"] >= 2 for p in listing),
        "metric_label": METRIC_LABEL,
    }


def _no_predictions(facts: Facts, model: str) -> str | None:
    if model not in facts.predicted:
        return "No predictions: every fold of this model failed (see Errors)."
    return None


def confusion_section(facts: Facts) -> dict | None:
    """Per model: confusion matrix figure (counts, row-normalised) and the counts.

    None (no section) for a multi-label result: a sample may carry several labels,
    and the per-label metrics hold each label's counts.
    """
    result = facts.result
    if result.multilabel:
        return None
    models = []
    for model in facts.order:
        note = _no_predictions(facts, model)
        if note:
            models.append({"model": model, "note": note, "figure": None})
            continue
        counts = result.confusion(model)
        models.append(
            {
                "model": model,
                "note": None,
                "figure": confusion_figure(counts.to_numpy(), result.classes, model),
                "classes": list(result.classes),
                "counts": counts.to_numpy().astype(int).tolist(),
            }
        )
    return {
        "models": models,
        "pooled": len(facts.repeats) > 1,
        "n_repeats": len(facts.repeats),
    }


def per_class_section(facts: Facts) -> dict:
    """Per model: precision, recall, F1, specificity, NPV and support per class."""
    models = []
    for model in facts.order:
        note = _no_predictions(facts, model)
        if note:
            models.append({"model": model, "note": note, "rows": []})
            continue
        table = facts.result.per_class(model)
        rows = [
            {
                "class": str(c),
                **{k: finite(v) for k, v in row.items() if k != "support"},
                "support": int(row["support"]),
            }
            for c, row in table.iterrows()
        ]
        models.append(
            {
                "model": model,
                "note": None,
                "rows": rows,
                "cardinality": finite(table.attrs.get("cardinality")),
                "predicted_cardinality": finite(
                    table.attrs.get("predicted_cardinality")
                ),
            }
        )
    return {"models": models, "multilabel": facts.result.multilabel}


def curves_section(facts: Facts) -> dict:
    """Per model: one-vs-rest ROC and PR curves from repeat 0's out-of-fold scores."""
    result = facts.result
    repeat = facts.repeats[0]
    models = []
    for model in facts.order:
        entry = {
            "model": model,
            "note": _no_predictions(facts, model),
            "figure": None,
            "rows": [],
            "partial": False,
        }
        if entry["note"] is None:
            frame = result.oof(model, repeat)
            y = frame["y_true"].to_numpy(object)
            if result.multilabel:  # one column of truth per label
                y = np.asarray(result.label_matrix, bool)[frame["position"]]
            proba = result.oof_proba(model, repeat)
            failed = sum(
                1
                for r in result.records
                if r.model == model and r.repeat == repeat and r.error is not None
            )
            entry["partial"] = failed > 0
            if proba is None:
                entry["note"] = "No curves: this model stored no class probabilities."
            elif (
                proba.shape != (len(y), len(result.classes))
                or not np.isfinite(proba).all()
            ):
                entry["note"] = (
                    "No curves: the stored probabilities are incomplete "
                    "(missing or non-finite values)."
                )
            elif (y.all(0) | ~y.any(0)).all() if result.multilabel else len(set(y)) < 2:
                entry["note"] = "No curves: fewer than two classes were predicted on."
            else:
                entry["figure"], entry["rows"] = curves_figure(
                    y, proba, result.classes, model
                )
        models.append(entry)
    return {"models": models, "repeat": repeat}
