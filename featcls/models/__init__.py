"""Models: classical pipelines on the feature table (and, later, CNNs on pixels)."""

from featcls.models._classical import (
    IMBALANCE_STRATEGIES,
    MODELS,
    SEARCH_GRIDS,
    SafeSMOTE,
    describe_model,
    make_model,
)
from featcls.models._persist import TRUSTED_MODULES, load_model, save_model
from featcls.models._svm import SVMClassifier
from featcls.models._xgb import XGBoostClassifier

__all__ = [
    "IMBALANCE_STRATEGIES",
    "MODELS",
    "SEARCH_GRIDS",
    "TRUSTED_MODULES",
    "SVMClassifier",
    "SafeSMOTE",
    "XGBoostClassifier",
    "describe_model",
    "load_model",
    "make_model",
    "save_model",
]
