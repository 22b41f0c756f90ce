"""The parameters of CNNClassifier: their allowed values, as sklearn constraints."""

from __future__ import annotations

import numbers
import re
from numbers import Integral, Real
from typing import Any

from sklearn.utils._param_validation import Interval, StrOptions

from featcls._validation import NumberInterval, invalid

__all__ = [
    "ARCHITECTURES",
    "CNN_CONSTRAINTS",
    "PRECISIONS",
    "RESAMPLE_STRATEGIES",
    "check_extra_params",
    "is_int",
    "lowest",
]

#: Network architectures of :class:`~featcls.models.CNNClassifier`.
ARCHITECTURES = ("lipnet", "simple", "resnet")
#: Values of the ``precision`` parameter.
PRECISIONS = ("auto", "float32", "bfloat16")
#: How a CNN may resample its training images per epoch (``resample`` parameter).
RESAMPLE_STRATEGIES = ("oversample", "undersample")
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


def _at_least(low: int) -> Interval:
    return NumberInterval(Integral, low, None, closed="left")


#: ``CNNClassifier._parameter_constraints`` (scikit-learn's parameter validation).
CNN_CONSTRAINTS: dict[str, list] = {
    "architecture": [StrOptions(set(ARCHITECTURES))],
    "input_size": [_at_least(8)],
    "max_epochs": [_at_least(1)],
    "batch_size": [_at_least(2)],
    "lr": [NumberInterval(Real, 0, None, closed="neither")],
    "weight_decay": [NumberInterval(Real, 0, None, closed="left")],
    "dropout": [NumberInterval(Real, 0, 1, closed="left")],
    "label_smoothing": [NumberInterval(Real, 0, 1, closed="left")],
    "class_weight": [StrOptions({"balanced"}), None],
    # "smote" is listed so that check_extra_params can say why it is refused.
    "resample": [StrOptions({*RESAMPLE_STRATEGIES, "smote"}), None],
    "augment": ["boolean", dict],
    "early_stopping": ["boolean"],
    "patience": [_at_least(1)],
    "validation_fraction": [NumberInterval(Real, 0, 1, closed="neither")],
    "ema_decay": [NumberInterval(Real, 0, 1, closed="left")],
    "tta": ["boolean"],
    # Any string here; check_extra_params checks it against "cuda:<index>" too.
    "device": [str],
    "precision": [StrOptions(set(PRECISIONS))],
    "n_threads": [_at_least(1), None],
    "random_state": [_at_least(0), None],
    "verbose": ["verbose"],
}


def is_int(v: Any) -> bool:
    """Whether ``v`` is an integer (a bool is not)."""
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def lowest(constraints: dict[str, list], name: str) -> Any:
    """The lower bound of the first interval constraint on the parameter ``name``.

    Other interfaces, such as the CLI, use it to state the same minimum.
    """
    return next(c.left for c in constraints[name] if isinstance(c, Interval))


def check_extra_params(est: Any) -> None:
    """What the constraints cannot say, checked on ``est``.

    SMOTE's refusal with its reason, the keys of an ``augment`` dict and the
    ``"cuda:<index>"`` device spelling.
    """
    if est.resample == "smote":
        raise ValueError(
            f"The 'resample' parameter of {type(est).__name__} cannot be 'smote': "
            "SMOTE interpolates between feature vectors, which is not meaningful on "
            "pixels. Use 'oversample', 'undersample' or class_weight='balanced'."
        )
    if isinstance(est.augment, dict):
        from featcls.models._cnn_augment import AUGMENT_OPTIONS

        unknown = sorted(set(est.augment) - set(AUGMENT_OPTIONS))
        if unknown:
            raise invalid(
                est,
                "augment",
                f"a bool or a dict of {list(AUGMENT_OPTIONS)} (unknown: {unknown})",
            )
    if not _DEVICE.fullmatch(est.device):
        raise invalid(est, "device", "'auto', 'cpu', 'cuda' or 'cuda:<index>'")
