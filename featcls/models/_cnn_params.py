"""The parameters of the CNN estimators: their allowed values and their check."""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

import numpy as np

__all__ = [
    "ARCHITECTURES",
    "PRECISIONS",
    "RESAMPLE_STRATEGIES",
    "check_params",
    "is_int",
]

#: Network architectures of :class:`~featcls.models.CNNClassifier`.
ARCHITECTURES = ("lipnet", "simple", "resnet")
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")
#: Values of the ``precision`` parameter.
PRECISIONS = ("auto", "float32", "bfloat16")
#: How a CNN may resample its training images per epoch (``resample`` parameter).
RESAMPLE_STRATEGIES = ("oversample", "undersample")


def is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def _invalid(est: Any, name: str, expected: str) -> ValueError:
    return ValueError(
        f"The {name!r} parameter of {type(est).__name__} must be {expected}. "
        f"Got {getattr(est, name)!r} instead."
    )


def check_params(est: Any) -> None:
    """Validate the parameters of a CNN estimator; the error names the bad one."""
    if est.architecture not in ARCHITECTURES:
        raise _invalid(
            est, "architecture", "one of " + ", ".join(map(repr, ARCHITECTURES))
        )
    lows = {"input_size": 8, "max_epochs": 1, "batch_size": 2, "patience": 1}
    for name, low in lows.items():
        value = getattr(est, name)
        if not (is_int(value) and value >= low):
            raise _invalid(est, name, f"an int >= {low}")
    ranges = {  # name: (low, high, low included)
        "lr": (0.0, math.inf, False),
        "weight_decay": (0.0, math.inf, True),
        "dropout": (0.0, 1.0, True),
        "label_smoothing": (0.0, 1.0, True),
        "validation_fraction": (0.0, 1.0, False),
        "ema_decay": (0.0, 1.0, True),
    }
    for name, (low, high, closed) in ranges.items():
        value = getattr(est, name)
        ok = _is_real(value) and (value >= low if closed else value > low)
        if not (ok and value < high):
            if high == math.inf:
                expected = f"a number {'>=' if closed else '>'} {low:g}"
            else:
                expected = f"a number in {'[' if closed else '('}{low:g}, {high:g})"
            raise _invalid(est, name, expected)
    if est.class_weight not in ("balanced", None):
        raise _invalid(est, "class_weight", "'balanced' or None")
    if est.resample == "smote":
        raise ValueError(
            f"The 'resample' parameter of {type(est).__name__} cannot be 'smote': "
            "SMOTE interpolates between feature vectors, which is not meaningful on "
            "pixels. Use 'oversample', 'undersample' or class_weight='balanced'."
        )
    if est.resample not in (None, *RESAMPLE_STRATEGIES):
        raise _invalid(est, "resample", "None, 'oversample' or 'undersample'")
    if isinstance(est.augment, dict):
        from featcls.models._cnn_augment import AUGMENT_OPTIONS

        unknown = sorted(set(est.augment) - set(AUGMENT_OPTIONS))
        if unknown:
            raise _invalid(
                est,
                "augment",
                f"a bool or a dict of {list(AUGMENT_OPTIONS)} (unknown: {unknown})",
            )
    elif not isinstance(est.augment, (bool, np.bool_)):
        raise _invalid(est, "augment", "a bool or a dict of random_augment options")
    for name in ("early_stopping", "tta"):
        if not isinstance(getattr(est, name), (bool, np.bool_)):
            raise _invalid(est, name, "a bool")
    if not (isinstance(est.device, str) and _DEVICE.fullmatch(est.device)):
        raise _invalid(est, "device", "'auto', 'cpu', 'cuda' or 'cuda:<index>'")
    if est.precision not in PRECISIONS:
        raise _invalid(est, "precision", "one of " + ", ".join(map(repr, PRECISIONS)))
    if est.n_threads is not None and not (is_int(est.n_threads) and est.n_threads > 0):
        raise _invalid(est, "n_threads", "None or an int >= 1")
    seed = est.random_state
    if seed is not None and not (is_int(seed) and seed >= 0):
        raise _invalid(est, "random_state", "None or an int >= 0")
    if not (isinstance(est.verbose, numbers.Integral) and est.verbose >= 0):
        raise _invalid(est, "verbose", "an int >= 0")
