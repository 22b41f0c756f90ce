"""FitRun: the state of one CNN fit besides the module, dropped when the fit ends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["FitRun"]


@dataclass
class FitRun:
    """Everything one fit needs besides the module; dropped when the fit ends."""

    images: Any  # uint8 tensor (N, C, S, S), on the device when it fits
    y: Any  # int64 (N,) classes or float32 (N, L) label matrix, on the device
    extra: Any  # float32 tensor (N, d) on the device, or None
    train_idx: np.ndarray
    val_idx: np.ndarray | None
    device: Any
    mean: Any  # (1, C, 1, 1) float tensors on the device
    std: Any
    y_idx: np.ndarray | None = None  # the same labels as a numpy array (int8 matrix)
    optimizer: Any = None
    scheduler: Any = None
    criterion: Any = None
    shuffle_generator: Any = None  # CPU torch.Generator
    augment_generator: Any = None  # torch.Generator on the device
    average: Any = None  # a WeightAverage, or None without averaging
    stopping: Any = None  # an EarlyStopping
    backbone: Any = None  # a Backbone: freezes all but the head (freeze_epochs)
    seen: int = 0
    train_time: float = 0.0
