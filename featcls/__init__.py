"""featcls: hand-crafted features, classical models and CNNs on the same folds.

The public names are loaded on first use (PEP 562), so that ``import featcls`` and
the ``featcls`` command start without importing scikit-learn, PyTorch, XGBoost or
skops until a command or a name needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from featcls._lazy import lazy_names

__version__ = "0.1.0"

#: Public name → the subpackage that defines it.
_EXPORTS = {
    "Dataset": "featcls.data",
    "load_builtin": "featcls.data",
    "load_folder": "featcls.data",
    "load_manifest": "featcls.data",
    "read_image": "featcls.data",
    "ComparisonResult": "featcls.evaluation",
    "compare": "featcls.evaluation",
    "FEATURE_FAMILIES": "featcls.features",
    "FeatureExtractor": "featcls.features",
    "CNNClassifier": "featcls.models",
    "FusionClassifier": "featcls.models",
    "explain": "featcls.models",
    "use_scheduler": "featcls.evaluation",
}

__all__ = [
    "FEATURE_FAMILIES",
    "CNNClassifier",
    "ComparisonResult",
    "Dataset",
    "FeatureExtractor",
    "FusionClassifier",
    "load_builtin",
    "load_folder",
    "load_manifest",
    "read_image",
    "__version__",
    "compare",
    "explain",
    "use_scheduler",
]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time names load lazily
    from featcls.data import (
        Dataset,
        load_builtin,
        load_folder,
        load_manifest,
        read_image,
    )
    from featcls.evaluation import ComparisonResult, compare, use_scheduler
    from featcls.features import FEATURE_FAMILIES, FeatureExtractor
    from featcls.models import CNNClassifier, FusionClassifier, explain


__getattr__, __dir__ = lazy_names("featcls", _EXPORTS, globals())
