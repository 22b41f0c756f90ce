"""The training images of an epoch (resampled, shuffled) and their batches."""

from __future__ import annotations

import numpy as np

__all__ = ["batches", "epoch_order", "epoch_size", "label_top_ups"]


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

    For a 0/1 label matrix ``y_idx`` (multi-label), ``"oversample"`` keeps every
    image and draws, with replacement, extra images carrying each rare label
    (:func:`label_top_ups`).
    """
    import torch

    if how is None:
        perm = torch.randperm(len(train_idx), generator=generator)
        return train_idx[perm.numpy()]
    if y_idx.ndim == 2:  # a label matrix: images of rare labels drawn again
        parts = [train_idx]
        for members, extra in label_top_ups(train_idx, y_idx):
            draw = torch.randint(len(members), (extra,), generator=generator)
            parts.append(members[draw.numpy()])
        order = np.concatenate(parts)
        return order[torch.randperm(len(order), generator=generator).numpy()]
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
    if y_idx.ndim == 2:
        return len(train_idx) + sum(n for _, n in label_top_ups(train_idx, y_idx))
    counts = np.unique(y_idx[train_idx], return_counts=True)[1]
    return len(counts) * int(counts.max() if how == "oversample" else counts.min())


def label_top_ups(train_idx: np.ndarray, Y: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """The extra draws of multi-label oversampling: ``(images, how many)`` per label.

    A label with fewer positive training images than the mean over the labels
    that have any (rounded up) is topped up to that mean by drawing, with
    replacement, among its positive images (in the spirit of ML-ROS, Charte et
    al. 2015); the images drawn bring their other labels along. Labels without
    positives are left alone.
    """
    positives = Y[train_idx].astype(bool)
    counts = positives.sum(axis=0)
    present = counts[counts > 0]
    if not len(present):
        return []
    target = int(np.ceil(present.mean()))
    return [
        (train_idx[positives[:, k]], target - int(c))
        for k, c in enumerate(counts)
        if 0 < c < target
    ]
