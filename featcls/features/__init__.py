"""Feature families (hand-crafted, and a network's embedding) and their union.

:class:`FeatureExtractor` is the union.
"""

from featcls.features._base import FeatureFamily
from featcls.features._codebook import VLADFeatures
from featcls.features._embedding import EmbeddingFeatures
from featcls.features._extractor import FEATURE_VERSION, FeatureExtractor
from featcls.features._intensity import (
    IntensityFeatures,
    SNRFeatures,
    intensity_features,
    snr_features,
)
from featcls.features._lbp import LBPFeatures, lbp_features
from featcls.features._moments import MomentFeatures, moment_features
from featcls.features._profiles import (
    EdgeProfile,
    RadialProfile,
    edge_profile,
    radial_profile,
)
from featcls.features._registry import DEFAULT_FAMILIES, FEATURE_FAMILIES
from featcls.features._shape import ShapeFeatures, shape_features
from featcls.features._texture import (
    HaralickFeatures,
    LawsFeatures,
    haralick_features,
    laws_features,
)

__all__ = [
    "DEFAULT_FAMILIES",
    "FEATURE_FAMILIES",
    "FEATURE_VERSION",
    "EdgeProfile",
    "EmbeddingFeatures",
    "FeatureExtractor",
    "FeatureFamily",
    "HaralickFeatures",
    "IntensityFeatures",
    "LBPFeatures",
    "LawsFeatures",
    "MomentFeatures",
    "RadialProfile",
    "SNRFeatures",
    "VLADFeatures",
    "ShapeFeatures",
    "edge_profile",
    "haralick_features",
    "intensity_features",
    "lbp_features",
    "laws_features",
    "moment_features",
    "radial_profile",
    "shape_features",
    "snr_features",
]
