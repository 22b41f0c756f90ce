"""Every model ``featcls compare`` knows by name: classical pipelines, CNNs, fusion."""

from __future__ import annotations

from featcls.models._classical import (
    IMBALANCE_STRATEGIES,
    MODELS,
    describe_model,
    make_model,
)
from featcls.models._cnn import CNNClassifier
from featcls.models._cnn_setup import RESAMPLE_STRATEGIES, import_torch
from featcls.models._fusion import FusionClassifier

__all__ = ["IMAGE_MODELS", "MODEL_NAMES", "build_model", "describe"]

#: Models trained on the pixels, by name → (architecture, description).
IMAGE_MODELS = {
    "cnn": ("lipnet", "CNN trained from scratch (default architecture: lipnet)"),
    "cnn-lipnet": ("lipnet", "Compact LipNet-style CNN trained from scratch"),
    "cnn-simple": ("simple", "Three conv blocks (malaria-cell style baseline)"),
    "cnn-resnet": ("resnet", "Small residual network trained from scratch"),
    "fusion": (
        "lipnet",
        "CNN embedding + standardised hand-crafted features, one head",
    ),
}

#: All model names, in the order they are listed to users.
MODEL_NAMES = (*MODELS, "ensemble", *IMAGE_MODELS)


def build_model(
    name: str,
    *,
    imbalance: str = "class_weight",
    search: bool = False,
    random_state: int | None = 0,
    n_jobs: int = 1,
    features=None,
    cnn_params: dict | None = None,
):
    """The estimator behind a model name of :data:`MODEL_NAMES`.

    Classical names go to :func:`make_model`. CNNs and ``fusion`` take the images;
    ``imbalance="class_weight"`` weights their loss, ``"oversample"`` and
    ``"undersample"`` resample their training images every epoch (``resample``),
    ``"none"`` does neither, and ``"smote"`` is refused (interpolating between
    images is not meaningful). They have no grid search, and ``fusion`` uses
    ``features`` (a FeatureExtractor) for its hand-crafted branch. ``cnn_params``
    overrides CNN parameters (``max_epochs``, ``input_size`` ...).
    """
    if name not in IMAGE_MODELS:
        if name not in MODEL_NAMES:
            raise ValueError(
                f"Unknown model {name!r}. Known models: {', '.join(MODEL_NAMES)}."
            )
        return make_model(
            name,
            imbalance=imbalance,
            search=search,
            random_state=random_state,
            n_jobs=n_jobs,
        )
    if imbalance not in IMBALANCE_STRATEGIES:
        raise ValueError(
            f"Unknown imbalance strategy {imbalance!r}. Choose one of "
            f"{', '.join(IMBALANCE_STRATEGIES)}."
        )
    if imbalance == "smote":
        raise ValueError(
            f"The smote remedy cannot be used with the image model {name!r}: SMOTE "
            "interpolates between feature vectors, which is not meaningful on "
            "pixels. Use class_weight, oversample or undersample for image models."
        )
    import_torch()  # fail now, with how to install it, not in every fold
    architecture, _ = IMAGE_MODELS[name]
    params = {
        "architecture": architecture,
        "random_state": random_state,
        "class_weight": "balanced" if imbalance == "class_weight" else None,
        "resample": imbalance if imbalance in RESAMPLE_STRATEGIES else None,
        **(cnn_params or {}),
    }
    if name == "fusion":
        return FusionClassifier(features=features, **params)
    return CNNClassifier(**params)


def describe(name: str) -> str:
    """One line describing a model name."""
    if name in IMAGE_MODELS:
        return IMAGE_MODELS[name][1]
    return describe_model(name)
