"""featcls: hand-crafted features, classical models and CNNs on the same folds."""

from featcls.data import Dataset, load_builtin, load_folder, load_manifest, read_image
from featcls.evaluation import ComparisonResult, compare
from featcls.features import FEATURE_FAMILIES, FeatureExtractor
from featcls.models import CNNClassifier, FusionClassifier

__version__ = "0.1.0"

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
]
