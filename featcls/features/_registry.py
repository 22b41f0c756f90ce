"""The explicit registry of feature families (iterated by the CLI, docs and tests)."""

from featcls.features._codebook import VLADFeatures
from featcls.features._embedding import EmbeddingFeatures
from featcls.features._intensity import IntensityFeatures, SNRFeatures
from featcls.features._lbp import LBPFeatures
from featcls.features._moments import MomentFeatures
from featcls.features._profiles import EdgeProfile, RadialProfile
from featcls.features._shape import ShapeFeatures
from featcls.features._texture import HaralickFeatures, LawsFeatures

__all__ = ["DEFAULT_FAMILIES", "FEATURE_FAMILIES"]

#: Family name → transformer class. Order is the column order of the default extractor.
FEATURE_FAMILIES = {
    "shape": ShapeFeatures,
    "moments": MomentFeatures,
    "intensity": IntensityFeatures,
    "snr": SNRFeatures,
    "radial": RadialProfile,
    "edges": EdgeProfile,
    "haralick": HaralickFeatures,
    "lbp": LBPFeatures,
    "laws": LawsFeatures,
    "vlad": VLADFeatures,
    "embedding": EmbeddingFeatures,
}

#: Families computed by ``FeatureExtractor()`` with no ``families`` argument: every
#: hand-crafted family except the learned codebook (``vlad``), whose dense
#: descriptors are far more expensive than the other families and which must be
#: fitted on training images, and the deep features (``embedding``), which need a
#: network.
DEFAULT_FAMILIES = tuple(
    name for name in FEATURE_FAMILIES if name not in ("vlad", "embedding")
)
