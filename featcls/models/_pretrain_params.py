"""The settings of self-supervised pretraining: method, defaults, validation.

Shared by :func:`featcls.models.pretrain` (its keyword arguments) and
``CNNClassifier(pretrain={...})`` (the same settings as a dict): plain data and
scikit-learn's parameter constraints, and the content keys by which both record
the images a pretraining saw. Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

from sklearn.utils._param_validation import StrOptions, validate_parameter_constraints

from featcls._validation import NumberInterval
from featcls.models._cnn_augment import AUGMENT_OPTIONS

__all__ = [
    "IMAGE_KEY",
    "METHODS",
    "METHOD_NAMES",
    "PRETRAIN_METHODS",
    "PRETRAIN_AUGMENT",
    "PRETRAIN_CONSTRAINTS",
    "PRETRAIN_DEFAULTS",
    "VICREG_DEFAULTS",
    "PretrainSettings",
    "image_keys",
    "resolve_settings",
]

#: How the content key of an image is computed (recorded in a backbone file).
IMAGE_KEY = (
    "featcls.features content_key(image) without a mask: the 128-bit BLAKE2b of "
    "the image file's bytes (of every channel file's name and bytes; of an "
    "array's dtype, shape and bytes)"
)
#: The self-supervised methods (``method``): VICReg (Bardes, Ponce and LeCun 2022).
METHODS = ("vicreg",)
#: The self-supervised methods of :func:`pretrain` (``method``): VICReg.
PRETRAIN_METHODS = METHODS
#: Each method's name as written in prose.
METHOD_NAMES = {"vicreg": "VICReg"}
#: VICReg's parameters (``method_params``): the weights of its invariance,
#: variance and covariance terms (the paper's λ = μ = 25, ν = 1) and the widths of
#: the projector's layers (the paper's is 8192-8192-8192; 512 wide is enough for
#: the 128- to 256-dimensional embeddings of the built-in networks, and cheap on
#: a CPU).
VICREG_DEFAULTS: dict[str, Any] = {
    "invariance": 25.0,
    "variance": 25.0,
    "covariance": 1.0,
    "projector": (512, 512, 512),
}
#: The augmentation each of the two views of an image is drawn with
#: (:func:`~featcls.models.random_augment` options). Stronger than supervised
#: training's default, as self-supervised learning needs: the two views must
#: differ in what the network should learn to ignore. A crop of 40-100 % of the
#: side (16-100 % of the area, where SimCLR and VICReg crop 8-100 % of the area
#: of photographs: objects in microscopy fill less of the frame), any flip or 90°
#: rotation, brightness ± 0.3, contrast ± 40 % and noise up to σ = 0.05.
PRETRAIN_AUGMENT: dict[str, Any] = {
    "dihedral": True,
    "crop_scale": (0.4, 1.0),
    "aspect_ratio": (3 / 4, 4 / 3),
    "brightness": 0.3,
    "contrast": 0.4,
    "noise": 0.05,
}
#: The pretraining settings and their defaults.
PRETRAIN_DEFAULTS: dict[str, Any] = {
    "method": "vicreg",
    "method_params": None,
    "epochs": 30,
    "batch_size": 64,
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "augment": True,
}
#: Their allowed values (scikit-learn's parameter constraints).
PRETRAIN_CONSTRAINTS: dict[str, list] = {
    "method": [StrOptions(set(METHODS))],
    "method_params": [dict, None],
    "epochs": [NumberInterval(Integral, 1, None, closed="left")],
    "batch_size": [NumberInterval(Integral, 2, None, closed="left")],
    "lr": [NumberInterval(Real, 0, None, closed="neither")],
    "weight_decay": [NumberInterval(Real, 0, None, closed="left")],
    "augment": ["boolean", dict],
}


@dataclass(frozen=True)
class PretrainSettings:
    """Checked pretraining settings, with the method's and the views' defaults."""

    method: str
    method_params: dict
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    augment: dict

    def describe(self) -> dict:
        """Plain data (lists for tuples), for a backbone file and fingerprints."""
        return {
            "method": self.method,
            "method_params": _plain(self.method_params),
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "augment": _plain(self.augment),
        }


def _plain(value):
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _method_params(given, caller: str) -> dict:
    """VICReg's parameters: the defaults, with the ones given."""
    given = dict(given or {})
    unknown = sorted(set(given) - set(VICREG_DEFAULTS))
    if unknown:
        raise ValueError(
            f"The 'method_params' of {caller} are those of VICReg, "
            f"{sorted(VICREG_DEFAULTS)}; got unknown {unknown}."
        )
    params = {**VICREG_DEFAULTS, **given}
    weight = NumberInterval(Real, 0, None, closed="left")
    for name in ("invariance", "variance", "covariance"):
        if not weight.is_satisfied_by(params[name]):
            raise ValueError(
                f"VICReg's {name!r} weight (method_params of {caller}) must be a "
                f"number >= 0. Got {params[name]!r}."
            )
        params[name] = float(params[name])
    widths = params["projector"]
    width = NumberInterval(Integral, 1, None, closed="left")
    if (
        not isinstance(widths, (list, tuple))
        or not widths
        or not all(width.is_satisfied_by(w) for w in widths)
    ):
        raise ValueError(
            f"VICReg's 'projector' (method_params of {caller}) must be a non-empty "
            f"list of layer widths (ints >= 1), e.g. [512, 512, 512]. Got {widths!r}."
        )
    params["projector"] = tuple(int(w) for w in widths)
    return params


def _augment(value, caller: str) -> dict:
    if value is False:
        raise ValueError(
            f"The 'augment' setting of {caller} cannot be False: self-supervised "
            "pretraining learns what two augmented views of an image share, and "
            "two identical views teach nothing. Give True or a dict of "
            f"{list(AUGMENT_OPTIONS)} (e.g. brightness=0 when brightness carries "
            "the label)."
        )
    given = {} if value is True else dict(value)
    unknown = sorted(set(given) - set(AUGMENT_OPTIONS))
    if unknown:
        raise ValueError(
            f"The 'augment' setting of {caller} must be True or a dict of "
            f"{list(AUGMENT_OPTIONS)}; got unknown {unknown}."
        )
    return {**PRETRAIN_AUGMENT, **given}


def resolve_settings(values: Mapping[str, Any], caller: str) -> PretrainSettings:
    """Check pretraining settings and fill in the defaults.

    ``values`` holds some of :data:`PRETRAIN_DEFAULTS`' names; ``caller`` names
    the function or parameter in messages (``"pretrain"``,
    ``"CNNClassifier(pretrain=...)"``).

    Raises
    ------
    ValueError
        For an unknown setting or a value out of range, naming it.
    """
    unknown = sorted(set(values) - set(PRETRAIN_DEFAULTS))
    if unknown:
        raise ValueError(
            f"Unknown pretraining setting(s) {unknown} for {caller}; the settings "
            f"are {list(PRETRAIN_DEFAULTS)}."
        )
    merged = {**PRETRAIN_DEFAULTS, **values}
    validate_parameter_constraints(PRETRAIN_CONSTRAINTS, merged, caller_name=caller)
    return PretrainSettings(
        method=merged["method"],
        method_params=_method_params(merged["method_params"], caller),
        epochs=int(merged["epochs"]),
        batch_size=int(merged["batch_size"]),
        lr=float(merged["lr"]),
        weight_decay=float(merged["weight_decay"]),
        augment=_augment(merged["augment"], caller),
    )


def image_keys(table) -> list[str]:
    """The content key of every image of a sample table (see :data:`IMAGE_KEY`).

    The image's content only, not its mask's: an image counts as seen whatever
    mask it comes with.
    """
    from featcls.features._cache import content_key

    return [content_key(image) for image in table["image"]]
