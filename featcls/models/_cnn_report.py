"""The images a fitted CNN explains in its report (saliency and Grad-CAM)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from featcls.models._cnn_device import import_torch
from featcls.models._cnn_params import is_int

__all__ = [
    "PER_CLASS_EXPLAINED",
    "choose_explained",
    "choose_explained_labels",
    "explain_samples",
]

#: Images explained per class and fit: one, so that the explanations of a 5-fold
#: comparison (5 per class and CNN) stay a few tens of kB in results.json.
PER_CLASS_EXPLAINED = 1


def choose_explained(
    pool: np.ndarray, labels: np.ndarray, n_classes: int, seed: int
) -> list[int]:
    """Up to :data:`PER_CLASS_EXPLAINED` indices of ``pool`` per class.

    Drawn with ``seed``, sorted within each class.
    """
    rng = np.random.default_rng(seed)
    chosen = []
    for k in range(n_classes):
        members = pool[labels[pool] == k]
        take = min(PER_CLASS_EXPLAINED, len(members))
        chosen += sorted(rng.choice(members, size=take, replace=False).tolist())
    return chosen


def choose_explained_labels(pool: np.ndarray, Y: np.ndarray, seed: int) -> list[int]:
    """Up to :data:`PER_CLASS_EXPLAINED` indices of ``pool`` per label, distinct.

    For a 0/1 label matrix ``Y``: images carrying each label in turn (an image
    is taken once), drawn with ``seed``; sorted.
    """
    rng = np.random.default_rng(seed)
    chosen: set[int] = set()
    for k in range(Y.shape[1]):
        members = np.setdiff1d(pool[Y[pool, k] > 0], list(chosen))
        take = min(PER_CLASS_EXPLAINED, len(members))
        chosen.update(rng.choice(members, size=take, replace=False).tolist())
    return sorted(chosen)


def _label_set(names: np.ndarray, row: np.ndarray) -> str:
    return " ".join(str(n) for n, v in zip(names, row, strict=True) if v) or "none"


def explain_samples(est: Any, run: Any, table: pd.DataFrame, seed: int):
    """Saliency and Grad-CAM items of a few images per class of the fit ``run``.

    Validation images of ``est``'s fit where there are any, else training images.
    Multi-label: a few images per label, each map explaining the image's most
    probable label (``explained``); ``true`` and ``pred`` are label sets.
    """
    from featcls.models._cnn_saliency import explain

    torch = import_torch()
    pool = run.val_idx if run.val_idx is not None else run.train_idx
    labels = run.y.cpu().numpy()
    multilabel = labels.ndim == 2
    if multilabel:
        chosen = choose_explained_labels(pool, labels, seed)
    else:
        chosen = choose_explained(pool, labels, len(est.classes_), seed)
    index = torch.as_tensor(chosen, dtype=torch.int64)
    raw = run.images[index.to(run.images.device)]
    extra = None if run.extra is None else run.extra[index.to(run.device)]
    logits = est._forward(raw, extra, run.device, run.mean, run.std)
    pred = logits.argmax(dim=1)  # multi-label: the most probable label
    if multilabel:
        decided = torch.sigmoid(logits.double()).numpy() >= est.thresholds_
    x = est._inputs(raw, run.mean, run.std)
    items = []
    for j, i in enumerate(chosen):
        label = table.index[i]
        item = {"index": int(label) if is_int(label) else int(i)}
        if multilabel:
            item["true"] = _label_set(est.classes_, labels[i])
            item["pred"] = _label_set(est.classes_, decided[j])
            item["explained"] = str(est.classes_[int(pred[j])])
        else:
            item["true"] = str(est.classes_[labels[i]])
            item["pred"] = str(est.classes_[int(pred[j])])
        items.append(item)
    return explain(
        est.module_,
        x,
        raw.cpu().numpy(),
        pred.to(run.device),
        items,
        extra,
        est._gradcam_layer(),
        channel_names=getattr(est, "channel_names_", None),
    )
