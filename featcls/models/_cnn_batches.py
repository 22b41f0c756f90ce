"""The training images of an epoch (resampled, shuffled) and their batches."""

from __future__ import annotations

import numpy as np

__all__ = ["batches", "epoch_order", "epoch_size"]


def batches(order: np.ndarray, size: int) -> list[np.ndarray]:
    """Split ``order`` into batches; a trailing batch of one joins the previous one.

    Batch norm cannot train on a single image.
    """
    out = [order[i : i + size] for i in range(0, len(order), size)]
    if len(out) > 1 and len(out[-1]) == 1:
        out[-2:] = [np.concatenate(out[-2:])]
    return out


def epoch_order(train_idx: np.ndarray, y_idx: np.ndarray, how: str | None, generator):
    """The training indices of one epoch, shuffled with the torch ``generator``.

    ``how=None`` shuffles ``train_idx``. ``"oversample"`` keeps every image and
    draws, with replacement, extra images of each smaller class until every class
    has as many as the largest one; ``"undersample"`` draws, without replacement,
    as many images of each class as the smallest one has. The draws are new every
    epoch, so undersampling sees every image over the epochs. Like imbalanced-learn's
    ``RandomOverSampler`` / ``RandomUnderSampler``, but on the indices of the
    training part only (never the validation or the test images).
    """
    import torch

    if how is None:
        perm = torch.randperm(len(train_idx), generator=generator)
        return train_idx[perm.numpy()]
    labels = y_idx[train_idx]
    members = [train_idx[labels == c] for c in np.unique(labels)]
    sizes = [len(m) for m in members]
    parts = []
    for m in members:
        if how == "oversample":
            extra = torch.randint(len(m), (max(sizes) - len(m),), generator=generator)
            parts += [m, m[extra.numpy()]]
        else:
            parts.append(
                m[torch.randperm(len(m), generator=generator).numpy()][: min(sizes)]
            )
    order = np.concatenate(parts)
    return order[torch.randperm(len(order), generator=generator).numpy()]


def epoch_size(train_idx: np.ndarray, y_idx: np.ndarray, how: str | None) -> int:
    """Number of images :func:`epoch_order` yields per epoch."""
    if how is None:
        return len(train_idx)
    counts = np.unique(y_idx[train_idx], return_counts=True)[1]
    return len(counts) * int(counts.max() if how == "oversample" else counts.min())
