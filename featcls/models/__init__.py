"""Models: classical pipelines on the feature table, CNNs and fusion on pixels."""

from featcls.models._classical import (
    IMBALANCE_STRATEGIES,
    MODELS,
    SEARCH_GRIDS,
    SafeSMOTE,
    describe_model,
    make_model,
)
from featcls.models._cnn import CNNClassifier
from featcls.models._cnn_augment import random_augment
from featcls.models._cnn_setup import ARCHITECTURES, reuse_freed_memory
from featcls.models._formats import check_model_path
from featcls.models._fusion import FusionClassifier
from featcls.models._persist import load_model, save_model
from featcls.models._registry import IMAGE_MODELS, MODEL_NAMES, build_model, describe
from featcls.models._svm import SVMClassifier
from featcls.models._trust import UntrustedModelError, trusted_types
from featcls.models._xgb import XGBoostClassifier

__all__ = [
    "ARCHITECTURES",
    "CNNClassifier",
    "FusionClassifier",
    "IMAGE_MODELS",
    "IMBALANCE_STRATEGIES",
    "MODELS",
    "MODEL_NAMES",
    "SEARCH_GRIDS",
    "UntrustedModelError",
    "SVMClassifier",
    "SafeSMOTE",
    "XGBoostClassifier",
    "build_model",
    "describe",
    "describe_model",
    "check_model_path",
    "load_model",
    "make_model",
    "random_augment",
    "reuse_freed_memory",
    "save_model",
    "trusted_types",
]
