"""Early stopping: the validation score, the best weights, patience and a stop flag."""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedShuffleSplit

from featcls.models._cnn_device import import_torch

__all__ = ["EarlyStopping", "state_copy", "validation_scores", "validation_split"]


def validation_split(y_idx: np.ndarray, classes: np.ndarray, fraction: float, seed):
    """A stratified split of the labels ``y_idx`` into training and validation.

    Returns ``(train, val, problem)``: sorted index arrays and None, or, when the
    set is too small for every class to sit on both sides, all indices, None and a
    sentence that says why.
    """
    n = len(y_idx)
    counts = np.bincount(y_idx, minlength=len(classes))
    n_val = max(len(classes), math.ceil(fraction * n))
    smallest = int(np.argmin(counts))
    problem = None
    if counts[smallest] < 2:
        problem = (
            f"class {str(classes[smallest])!r} has {counts[smallest]} image, "
            "too few for a stratified validation split"
        )
    elif n - n_val < len(classes):
        problem = (
            f"{n} images are too few for a stratified validation split "
            "with every class on both sides"
        )
    if problem:
        return np.arange(n), None, problem
    split = StratifiedShuffleSplit(n_splits=1, test_size=n_val, random_state=seed)
    train, val = next(split.split(np.zeros(n), y_idx))
    return np.sort(train), np.sort(val), None


def state_copy(module) -> dict:
    """A detached copy of ``module``'s state dict (on its device)."""
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def validation_scores(logits, target, n_classes: int) -> dict:
    """``val_loss`` (cross-entropy) and ``val_f1`` (macro) of CPU ``logits``."""
    torch = import_torch()
    loss = torch.nn.functional.cross_entropy(logits, target)
    pred = logits.argmax(dim=1).numpy()
    f1 = f1_score(
        target.numpy(),
        pred,
        labels=np.arange(n_classes),
        average="macro",
        zero_division=0,
    )
    return {"val_loss": float(loss), "val_f1": float(f1)}


class EarlyStopping:
    """Keeps the best epoch's weights and sets ``stop`` after ``patience`` bad epochs.

    An epoch is better when its validation macro-F1 is higher, ties broken by the
    lower validation loss. Stopping only sets the flag; the loop reads it.

    Parameters
    ----------
    patience : int
        Epochs without improvement before ``stop`` is set.
    """

    def __init__(self, patience: int):
        self.patience = patience
        self.best_key: tuple = (-math.inf, -math.inf)
        self.best_state: dict | None = None
        self.best_epoch = 0
        self.since_best = 0
        self.stop = False

    def on_epoch_end(self, row: dict, module) -> None:
        """Score the epoch ``row``; copy ``module``'s state when it is the best."""
        if "val_f1" not in row:  # no validation: the last epoch is the one kept
            self.best_epoch = row["epoch"]
            return
        key = (row["val_f1"], -row["val_loss"])
        if self.best_state is None or key > self.best_key:
            self.best_key, self.since_best = key, 0
            self.best_state = state_copy(module)
            self.best_epoch = row["epoch"]
        else:
            self.since_best += 1
            self.stop = self.since_best >= self.patience
