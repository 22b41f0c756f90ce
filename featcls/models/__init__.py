"""Models: classical pipelines on the feature table, CNNs and fusion on pixels.

:data:`MODEL_SPECS` is the one table of models known by name; :func:`build_models`
builds them for :func:`featcls.compare`. The public names are loaded on first use
(PEP 562): the CLI reads the table for its ``--help`` without importing
scikit-learn, PyTorch, XGBoost or skops.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from featcls._lazy import lazy_names

#: Public name → the private module that defines it.
_EXPORTS = {
    "SafeSMOTE": "featcls.models._classical",
    "CNNClassifier": "featcls.models._cnn",
    "random_augment": "featcls.models._cnn_augment",
    "ARCHITECTURES": "featcls.models._cnn_params",
    "reuse_freed_memory": "featcls.models._cnn_heap",
    "EXPLAIN_METHODS": "featcls.models._explain",
    "Explanation": "featcls.models._explain",
    "explain": "featcls.models._explain",
    "confidence_threshold": "featcls.models._confidence",
    "check_model_path": "featcls.models._formats",
    "FusionClassifier": "featcls.models._fusion",
    "PerLabelClassifier": "featcls.models._multilabel",
    "OrdinalClassifier": "featcls.models._ordinal",
    "feature_pipeline": "featcls.models._pipeline",
    "load_model": "featcls.models._persist",
    "save_model": "featcls.models._persist",
    "IMBALANCE_STRATEGIES": "featcls.models._registry",
    "MODEL_NAMES": "featcls.models._registry",
    "MODEL_SPECS": "featcls.models._registry",
    "BuiltModels": "featcls.models._registry",
    "ModelOptions": "featcls.models._registry",
    "ModelSpec": "featcls.models._registry",
    "build_model": "featcls.models._registry",
    "build_models": "featcls.models._registry",
    "describe_model": "featcls.models._registry",
    "threads_per_model": "featcls.models._registry",
    "SVMClassifier": "featcls.models._svm",
    "UntrustedModelError": "featcls.models._trust",
    "CLASS_COLOURS": "featcls.models._tile_maps",
    "UNCERTAIN_COLOUR": "featcls.models._tile_maps",
    "save_tile_maps": "featcls.models._tile_maps",
    "tile_map": "featcls.models._tile_maps",
    "predict_tiles": "featcls.models._tiles",
    "PRETRAIN_METHODS": "featcls.models._pretrain_params",
    "PretrainedBackbone": "featcls._nets._pretrained",
    "pretrain": "featcls.models._pretrain",
    "tile_positions": "featcls.models._tiles",
    "trusted_types": "featcls.models._trust",
    "XGBoostClassifier": "featcls.models._xgb",
}

__all__ = [
    "ARCHITECTURES",
    "BuiltModels",
    "CLASS_COLOURS",
    "CNNClassifier",
    "EXPLAIN_METHODS",
    "Explanation",
    "FusionClassifier",
    "IMBALANCE_STRATEGIES",
    "MODEL_NAMES",
    "MODEL_SPECS",
    "ModelOptions",
    "ModelSpec",
    "PRETRAIN_METHODS",
    "OrdinalClassifier",
    "PerLabelClassifier",
    "PretrainedBackbone",
    "SVMClassifier",
    "SafeSMOTE",
    "UNCERTAIN_COLOUR",
    "UntrustedModelError",
    "XGBoostClassifier",
    "build_model",
    "build_models",
    "check_model_path",
    "confidence_threshold",
    "describe_model",
    "explain",
    "feature_pipeline",
    "load_model",
    "predict_tiles",
    "pretrain",
    "random_augment",
    "reuse_freed_memory",
    "save_model",
    "save_tile_maps",
    "threads_per_model",
    "tile_map",
    "tile_positions",
    "trusted_types",
]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time names load lazily
    from featcls._nets._pretrained import PretrainedBackbone
    from featcls.models._classical import SafeSMOTE
    from featcls.models._cnn import CNNClassifier
    from featcls.models._cnn_augment import random_augment
    from featcls.models._cnn_heap import reuse_freed_memory
    from featcls.models._cnn_params import ARCHITECTURES
    from featcls.models._confidence import confidence_threshold
    from featcls.models._explain import EXPLAIN_METHODS, Explanation, explain
    from featcls.models._formats import check_model_path
    from featcls.models._fusion import FusionClassifier
    from featcls.models._multilabel import PerLabelClassifier
    from featcls.models._ordinal import OrdinalClassifier
    from featcls.models._persist import load_model, save_model
    from featcls.models._pipeline import feature_pipeline
    from featcls.models._pretrain import pretrain
    from featcls.models._pretrain_params import PRETRAIN_METHODS
    from featcls.models._registry import (
        IMBALANCE_STRATEGIES,
        MODEL_NAMES,
        MODEL_SPECS,
        BuiltModels,
        ModelOptions,
        ModelSpec,
        build_model,
        build_models,
        describe_model,
        threads_per_model,
    )
    from featcls.models._svm import SVMClassifier
    from featcls.models._tile_maps import (
        CLASS_COLOURS,
        UNCERTAIN_COLOUR,
        save_tile_maps,
        tile_map,
    )
    from featcls.models._tiles import predict_tiles, tile_positions
    from featcls.models._trust import UntrustedModelError, trusted_types
    from featcls.models._xgb import XGBoostClassifier


__getattr__, __dir__ = lazy_names("featcls.models", _EXPORTS, globals())
