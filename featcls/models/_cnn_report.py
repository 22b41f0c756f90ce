"""The images a fitted CNN explains in its report (saliency and Grad-CAM)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from featcls.models._cnn_device import import_torch
from featcls.models._cnn_params import is_int

__all__ = ["PER_CLASS_EXPLAINED", "choose_explained", "explain_samples"]

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


def explain_samples(est: Any, run: Any, table: pd.DataFrame, seed: int):
    """Saliency and Grad-CAM items of a few images per class of the fit ``run``.

    Validation images of ``est``'s fit where there are any, else training images.
    """
    from featcls.models._cnn_saliency import explain

    torch = import_torch()
    pool = run.val_idx if run.val_idx is not None else run.train_idx
    labels = run.y.cpu().numpy()
    chosen = choose_explained(pool, labels, len(est.classes_), seed)
    index = torch.as_tensor(chosen, dtype=torch.int64)
    raw = run.images[index.to(run.images.device)]
    extra = None if run.extra is None else run.extra[index.to(run.device)]
    logits = est._forward(raw, extra, run.device, run.mean, run.std)
    pred = logits.argmax(dim=1)
    x = est._inputs(raw, run.mean, run.std)
    items = []
    for j, i in enumerate(chosen):
        label = table.index[i]
        items.append(
            {
                "index": int(label) if is_int(label) else int(i),
                "true": str(est.classes_[labels[i]]),
                "pred": str(est.classes_[int(pred[j])]),
            }
        )
    return explain(est.module_, x, raw.cpu().numpy(), pred.to(run.device), items, extra)
