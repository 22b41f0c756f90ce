"""The report's self-supervised pretraining: what the backbones saw of the images."""

from __future__ import annotations

import os
from collections.abc import Mapping

from featcls.evaluation import pretraining_notes
from featcls.models._pretrain_params import METHOD_NAMES
from featcls.report._facts import Facts

__all__ = ["pretraining_section"]

#: How a model's network came to be pretrained, per ``via`` of the settings.
_HOW = {
    "weights": "backbone file (weights)",
    "embedding": "backbone file (embedding features)",
    "fold": "inside each fit, on its training images",
}
_HOW_EMBEDDING_FOLD = "embedding features: inside each fit, on its training images"


def pretraining_section(facts: Facts) -> dict | None:
    """Per pretrained network: how, on how many images, and how many it saw.

    None (no section) unless a model's network was pretrained by featcls (a
    backbone file, or ``pretrain="fold"``).
    """
    settings = facts.result.settings or {}
    found = settings.get("pretrained_on") or {}
    if not isinstance(found, Mapping) or (
        not found and settings.get("pretrain") is None
    ):
        return None
    models = [m for m in facts.order if m in found]
    models += [str(m) for m in found if m not in models]
    rows = []
    for model in models:
        for entry in found.get(model) or []:
            if not isinstance(entry, Mapping):
                continue
            seen, of = entry.get("seen"), entry.get("of")
            file = entry.get("file")
            rows.append(
                {
                    "model": model,
                    "color": facts.hex_colors.get(model),
                    "how": _HOW_EMBEDDING_FOLD
                    if entry.get("via") == "fold"
                    and entry.get("network") == "embedding"
                    else _HOW.get(entry.get("via"), str(entry.get("via"))),
                    "file": None if file is None else os.path.basename(str(file)),
                    "method": METHOD_NAMES.get(
                        entry.get("method"), entry.get("method")
                    ),
                    "n_images": entry.get("n_images"),
                    "folds": entry.get("folds"),
                    "seen": seen,
                    "of": of,
                    "share": seen / of if of else None,
                }
            )
    return {
        "rows": rows,
        "notes": pretraining_notes(settings),
        "fold": settings.get("pretrain") is not None,
    }
