"""The parameters of CNNClassifier: their allowed values, as sklearn constraints."""

from __future__ import annotations

import numbers
import os
import re
from numbers import Integral, Real
from typing import Any

from sklearn.utils._param_validation import Interval, StrOptions

from featcls._policies import (
    ARCHITECTURES,
    CHANNEL_POLICIES,
    NORMALIZATIONS,
    PRECISIONS,
)
from featcls._validation import NumberInterval, invalid

__all__ = [
    "ADAPT_CHANNELS",
    "ARCHITECTURES",
    "CNN_CONSTRAINTS",
    "FINE_TUNING_DEFAULTS",
    "INPUT_VARIANT_DEFAULTS",
    "NORMALIZATIONS",
    "PRECISIONS",
    "RESAMPLE_STRATEGIES",
    "check_extra_params",
    "check_module_spec",
    "is_int",
    "lowest",
    "normalization",
]

#: How a CNN may resample its training images per epoch (``resample`` parameter).
RESAMPLE_STRATEGIES = ("oversample", "undersample")
#: How images whose channel count differs from the network's first layer are fed to
#: it (``adapt_channels`` parameter); see :class:`~featcls.models.CNNClassifier`.
ADAPT_CHANNELS = ("sum", "replicate")
#: The parameters of a user's network and of fine-tuning, at their defaults (a
#: model file leaves them out at these values, so older featcls versions read it).
FINE_TUNING_DEFAULTS = {
    "module": None,
    "weights": None,
    "freeze_epochs": 0,
    "backbone_lr": 1.0,
    "normalize": None,
    "adapt_channels": "sum",
    "cam_layer": None,
}
#: The parameters of the input variant at their defaults (the image as decoded); a
#: model file leaves them out at these values, so older featcls versions read it.
INPUT_VARIANT_DEFAULTS = {
    "channels": None,
    "crop": False,
    "margin": 0.1,
    "mask_out": False,
}
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")
_NAME = r"[A-Za-z_]\w*"
#: ``package.module:factory`` (the factory may be an attribute path) or ``timm:NAME``.
_MODULE_SPEC = re.compile(
    rf"(?:{_NAME}(?:\.{_NAME})*:{_NAME}(?:\.{_NAME})*)|timm:[\w.\-]+"
)


def _at_least(low: int) -> Interval:
    return NumberInterval(Integral, low, None, closed="left")


#: ``CNNClassifier._parameter_constraints`` (scikit-learn's parameter validation).
CNN_CONSTRAINTS: dict[str, list] = {
    "architecture": [StrOptions(set(ARCHITECTURES))],
    # A torch.nn.Module or a factory (both callable), or "package.module:factory".
    "module": [callable, str, None],
    "weights": [str, os.PathLike, None],
    # Settings of pretrain(); check_extra_params checks them.
    "pretrain": [dict, None],
    "freeze_epochs": [_at_least(0)],
    "backbone_lr": [NumberInterval(Real, 0, None, closed="neither")],
    "normalize": [StrOptions(set(NORMALIZATIONS)), tuple, list, None],
    "adapt_channels": [StrOptions(set(ADAPT_CHANNELS))],
    "cam_layer": [str, None],
    "input_size": [_at_least(8)],
    "channels": [StrOptions(set(CHANNEL_POLICIES)), None],
    "crop": ["boolean"],
    "margin": [NumberInterval(Real, 0, None, closed="left")],
    "mask_out": ["boolean"],
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

    SMOTE's refusal with its reason, the keys of an ``augment`` dict, the
    ``"cuda:<index>"`` device spelling, the spelling of a ``module`` string and
    the ``pretrain`` settings (``normalize`` is checked against the channels in
    ``fit``).
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
    if est.pretrain is not None:
        from featcls.models._pretrain_params import resolve_settings

        resolve_settings(est.pretrain, f"{type(est).__name__}(pretrain=...)")
    if isinstance(est.module, str) and not _MODULE_SPEC.fullmatch(est.module):
        raise invalid(
            est,
            "module",
            "a torch.nn.Module, a callable factory(in_channels, n_classes), "
            "'package.module:factory' or 'timm:NAME'",
        )


def check_module_spec(spec: str) -> str:
    """``spec`` if it spells ``package.module:factory`` or ``timm:NAME``.

    Only the spelling is checked; nothing is imported.

    Raises
    ------
    ValueError
        If it spells neither.

    Examples
    --------
    >>> check_module_spec("mynets.models:make_net")
    'mynets.models:make_net'
    >>> check_module_spec("mynets.models")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: A network spec must be 'package.module:factory' or ...
    """
    if not isinstance(spec, str) or not _MODULE_SPEC.fullmatch(spec):
        raise ValueError(
            "A network spec must be 'package.module:factory' or 'timm:NAME' "
            f"(e.g. 'mynets.models:make_net', 'timm:resnet18'). Got {spec!r}."
        )
    return spec


def normalization(est: Any, n_channels: int):
    """The per-channel ``(mean, std)`` of ``est.normalize`` for ``n_channels``.

    None when ``normalize`` is None (the training images' own statistics are used).
    One value per statistic applies to every channel.

    Raises
    ------
    ValueError
        If the statistics are not two sequences of 1 or ``n_channels`` numbers, or a
        standard deviation is not positive.
    """
    import numpy as np

    value = est.normalize
    if value is None:
        return None
    if isinstance(value, str):
        value = NORMALIZATIONS[value]
    expected = (
        f"a (mean, std) pair of 1 or {n_channels} numbers each (per channel, on "
        "the [0, 1] scale), 'imagenet' or None"
    )
    try:
        mean, std = (np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in value)
    except (TypeError, ValueError):
        raise invalid(est, "normalize", expected) from None
    if mean.ndim != 1 or mean.shape != std.shape or not np.all(std > 0):
        raise invalid(est, "normalize", expected)
    if len(mean) not in (1, n_channels):
        hint = ""
        counts = "1" if n_channels == 1 else f"1 or {n_channels}"
        if n_channels == 1 and len(mean) == 3:
            hint = (
                " For grey images and three-channel statistics, use "
                "adapt_channels='replicate' with a three-channel network."
            )
        raise ValueError(
            f"The 'normalize' parameter of {type(est).__name__} has {len(mean)} "
            f"values per statistic, but the network's input has {n_channels} "
            f"channel(s): give {counts}.{hint}"
        )
    shape = (n_channels,)
    return (
        np.broadcast_to(mean, shape).astype(np.float32),
        np.broadcast_to(std, shape).astype(np.float32),
    )
