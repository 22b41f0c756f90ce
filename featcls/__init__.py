"""featcls: hand-crafted features, classical models and CNNs on the same folds."""

from featcls.data import Dataset, load_builtin, load_folder, load_manifest, read_image
from featcls.evaluation import ComparisonResult, compare
from featcls.features import FEATURE_FAMILIES, FeatureExtractor

__version__ = "0.1.0"

__all__ = [
    "FEATURE_FAMILIES",
    "ComparisonResult",
    "Dataset",
    "FeatureExtractor",
    "load_builtin",
    "load_folder",
    "load_manifest",
    "read_image",
    "__version__",
    "compare",
]
