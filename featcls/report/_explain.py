"""Sections on why models decide as they do: errors, importances, model extras."""

from __future__ import annotations

from collections.abc import Mapping

from featcls.evaluation import N_CONFIDENT_ERRORS
from featcls.report._facts import Facts, finite
from featcls.report._figures import gain_figure, history_figure, permutation_figure
from featcls.report._format import image_uri, is_number

__all__ = ["extras_section", "importances_section", "misclassified_section"]

#: Folds whose images (saliency, Grad-CAM ...) the extras show, per model: a
#: sample, the first folds that stored any; results.json keeps the others.
EXPLAINED_FOLDS = 2
#: Most images shown per model and per image list in the extras.
MAX_EXTRA_IMAGES = 24
_IMAGE_LISTS = ("saliency", "gradcam")
_FOLD_KEYS = ("repeat", "fold")


def misclassified_section(facts: Facts, k: int = N_CONFIDENT_ERRORS) -> dict:
    """Per model: the ``k`` wrong predictions made with the highest probability."""
    models = []
    for model in facts.order:
        entry = {"model": model, "note": None, "images": []}
        if model not in facts.predicted:
            entry["note"] = "No predictions: every fold of this model failed."
        elif not facts.has_proba(model):
            entry["note"] = (
                "This model stored no probabilities, so its errors cannot "
                "be ranked by confidence."
            )
        else:
            for e in facts.result.confident_errors(model, k=k):
                entry["images"].append(
                    {
                        "image": facts.thumbnail(e["index"]),
                        "name": facts.sample_name(e["index"]),
                        "true": str(e["true"]),
                        "pred": str(e["pred"]),
                        "confidence": finite(e["confidence"]),
                    }
                )
            if not entry["images"]:
                entry["note"] = "No misclassified samples in repeat 0."
        models.append(entry)
    return {"models": models, "k": k}


def importances_section(facts: Facts, top: int = 20) -> dict:
    """Tree gain per model (top features, by family) and permutation drop by family."""
    importances = facts.result.importances or {}
    gains, drops = [], {}
    for model in facts.order:
        entry = importances.get(model)
        if not isinstance(entry, Mapping):
            continue
        gain = entry.get("gain")
        if isinstance(gain, Mapping) and gain:
            clean = {str(k): finite(v) for k, v in gain.items()}
            gains.append(
                {
                    "model": model,
                    "figure": gain_figure(clean, model, facts.colors[model], top=top),
                }
            )
        family = entry.get("permutation_family")
        if isinstance(family, Mapping) and family:
            drops[model] = {str(k): finite(v) for k, v in family.items()}
    permutation = None
    if drops:
        families = sorted({f for d in drops.values() for f in d})
        permutation = {
            "figure": permutation_figure(drops, facts.colors),
            "models": list(drops),
            "rows": [
                {"family": f, "cells": [drops[m].get(f, float("nan")) for m in drops]}
                for f in families
            ],
        }
    return {
        "gains": gains,
        "permutation": permutation,
        "top": top,
        "n_features": len(facts.result.feature_names),
    }


def _fold_label(fold: Mapping) -> str:
    parts = [f"{k} {fold[k]}" for k in _FOLD_KEYS if k in fold]
    return ", ".join(parts) or "fold"


def _fold_images(facts: Facts, key: str, fold: Mapping) -> list[dict]:
    """The safe images of list ``key`` of one fold, with their captions."""
    entries = fold.get(key)
    if not isinstance(entries, list):
        return []
    items = []
    for item in entries:
        if not isinstance(item, Mapping) or not image_uri(item.get("image")):
            continue
        index = item.get("index")
        items.append(
            {
                "image": image_uri(item.get("image")),
                "name": facts.sample_name(index) if index is not None else "",
                "true": str(item.get("true", "")),
                "pred": str(item.get("pred", "")),
                "fold": _fold_label(fold),
            }
        )
    return items


def _images(facts: Facts, key: str, folds: list[Mapping]) -> dict | None:
    """A sample of the image list ``key``.

    The images of the first :data:`EXPLAINED_FOLDS` folds that have any, at most
    :data:`MAX_EXTRA_IMAGES`.
    """
    per_fold = [items for f in folds if (items := _fold_images(facts, key, f))]
    if not per_fold:
        return None
    shown = [item for items in per_fold[:EXPLAINED_FOLDS] for item in items]
    return {
        "key": key,
        "images": shown[:MAX_EXTRA_IMAGES],
        "total": sum(len(items) for items in per_fold),
        "n_folds": len(per_fold),
        "shown_folds": min(EXPLAINED_FOLDS, len(per_fold)),
    }


def extras_section(facts: Facts) -> dict:
    """Model-specific material: learning curves, saliency images, scalar facts."""
    extras = facts.result.extras or {}
    models = []
    for model, folds in extras.items():
        if not isinstance(folds, list):
            continue
        folds = [f for f in folds if isinstance(f, Mapping)]
        histories = [
            (_fold_label(f), f["history"])
            for f in folds
            if isinstance(f.get("history"), list)
        ]
        figure = history_figure(histories, str(model)) if histories else None
        image_keys = [
            *_IMAGE_LISTS,
            *sorted(
                {
                    k
                    for f in folds
                    for k, v in f.items()
                    if isinstance(v, list) and k not in (*_IMAGE_LISTS, "history")
                }
            ),
        ]
        galleries = [g for key in image_keys if (g := _images(facts, key, folds))]
        scalar_keys = sorted(
            {
                k
                for f in folds
                for k, v in f.items()
                if k not in _FOLD_KEYS and (isinstance(v, (str, bool)) or is_number(v))
            }
        )
        scalars = (
            [
                {"fold": _fold_label(f), "cells": [f.get(k) for k in scalar_keys]}
                for f in folds
            ]
            if scalar_keys
            else []
        )
        if figure or galleries or scalars:
            models.append(
                {
                    "model": str(model),
                    "curves": figure,
                    "galleries": galleries,
                    "scalar_keys": scalar_keys,
                    "scalars": scalars,
                }
            )
    return {"models": models}
