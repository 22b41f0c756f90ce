"""Network inputs: channel statistics and uint8 batches made normalised floats."""

from __future__ import annotations

import numpy as np

from featcls.models._cnn_device import import_torch

__all__ = ["channel_stats", "network_inputs"]


def channel_stats(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of uint8 images, on the [0, 1] scale.

    From each channel's 256-bin histogram (one ``bincount`` pass over the pixels, no
    float copy of the images).
    """
    levels = np.arange(256, dtype=np.float64) / 255.0
    count = images.shape[0] * images.shape[2] * images.shape[3]
    mean = np.empty(images.shape[1])
    squares = np.empty(images.shape[1])
    for c in range(images.shape[1]):
        hist = np.bincount(images[:, c].ravel(), minlength=256).astype(np.float64)
        mean[c] = hist @ levels / count
        squares[c] = hist @ levels**2 / count
    std = np.sqrt(np.maximum(squares - mean**2, 0.0))
    return mean.astype(np.float32), np.maximum(std, 1e-3).astype(np.float32)


def network_inputs(images, mean, std, generator=None, options=None):
    """uint8 batch → float, [augmented,] normalised, channels-last on the device.

    With a ``generator``, :func:`random_augment` augments the batch with the keyword
    ``options``.
    """
    from featcls.models._cnn_augment import random_augment

    torch = import_torch()
    x = images.to(mean.device, non_blocking=True).float().div_(255.0)
    if generator is not None:
        x = random_augment(x, generator=generator, **(options or {}))
    x = x.sub_(mean).div_(std)
    return x.contiguous(memory_format=torch.channels_last)
