"""Parameter validation of the feature families and FeatureExtractor.

Each declares scikit-learn's ``_parameter_constraints``; the rules constraints cannot
state (distinct ints, an odd window, a (low, high) pair, canny_low <= canny_high) are
checked right after. A bad value raises a ``ValueError`` naming the parameter, from
``fit`` and, without data, from ``feature_names`` and ``get_feature_names_out``.
"""

import inspect

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError, make_constraint

from featcls.features import (
    FEATURE_FAMILIES,
    EdgeProfile,
    FeatureExtractor,
    HaralickFeatures,
    IntensityFeatures,
    LawsFeatures,
    LBPFeatures,
    MomentFeatures,
    RadialProfile,
    ShapeFeatures,
    SNRFeatures,
    VLADFeatures,
)

ESTIMATORS = [FeatureExtractor, *FEATURE_FAMILIES.values()]


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_parameter_constraints_cover_exactly_the_init_parameters(cls):
    init = inspect.signature(cls.__init__).parameters
    assert set(cls._parameter_constraints) == set(init) - {"self"}
    for constraints in cls._parameter_constraints.values():
        if constraints == "no_validation":  # checked by the family itself
            continue
        for constraint in constraints:
            make_constraint(constraint)  # a constraint scikit-learn knows
    cls()._validate_params()  # the defaults are valid


BAD = [
    (ShapeFeatures, {"pixel_size": 0}),
    (ShapeFeatures, {"pixel_size": np.inf}),
    (ShapeFeatures, {"pixel_size": True}),
    (MomentFeatures, {"weighting": "mass"}),
    (MomentFeatures, {"zernike_degree": -1}),
    (MomentFeatures, {"zernike_degree": 2.0}),
    (MomentFeatures, {"zernike_size": 7}),
    (IntensityFeatures, {"n_bins": 1}),
    (IntensityFeatures, {"range": (1.0, 0.0)}),
    (IntensityFeatures, {"range": (0.0, np.nan)}),
    (IntensityFeatures, {"range": 1.0}),
    (IntensityFeatures, {"background": "yes"}),
    (SNRFeatures, {"band": 0}),
    (SNRFeatures, {"band": 1.5}),
    (RadialProfile, {"n_rings": 0}),
    (RadialProfile, {"n_rings": True}),
    (RadialProfile, {"extent": 0.0}),
    (RadialProfile, {"ring_width": -1.0}),
    (RadialProfile, {"region": "ring"}),
    (EdgeProfile, {"canny_low": np.nan}),
    (EdgeProfile, {"canny_low": 100.0, "canny_high": 50.0}),
    (HaralickFeatures, {"distances": ()}),
    (HaralickFeatures, {"distances": (1, 1)}),
    (HaralickFeatures, {"distances": (0, 1)}),
    (HaralickFeatures, {"distances": (1, 2.0)}),
    (HaralickFeatures, {"distances": (True,)}),
    (HaralickFeatures, {"distances": "12"}),
    (HaralickFeatures, {"levels": 4097}),
    (HaralickFeatures, {"quantization": "global"}),
    (LBPFeatures, {"radii": [1, 2.5]}),
    (LBPFeatures, {"radii": 0}),
    (LBPFeatures, {"points": 3}),
    (LBPFeatures, {"points": 17}),
    (LawsFeatures, {"window": 4}),
    (LawsFeatures, {"window": 1}),
    (VLADFeatures, {"step": 0}),
    (VLADFeatures, {"size": -1.0}),
    (VLADFeatures, {"n_words": 1}),
    (VLADFeatures, {"max_descriptors": 1}),
    (VLADFeatures, {"power": 0}),
    (VLADFeatures, {"random_state": -1}),
]


def _named(cls, params):
    """The message pattern: the parameter (the last one given) and its owner."""
    return f"The '{list(params)[-1]}' parameter of {cls.__name__} must be"


@pytest.mark.parametrize(
    ("cls", "params"), BAD, ids=lambda v: v.__name__ if isinstance(v, type) else None
)
def test_bad_family_values_raise_naming_the_parameter(cls, params):
    family = cls(**params)
    for call in (family.validate, family.feature_names, family.get_feature_names_out):
        with pytest.raises(InvalidParameterError, match=_named(cls, params)):
            call()
    with pytest.raises(ValueError, match=_named(cls, params)):
        FeatureExtractor(families=[family]).fit(np.zeros((1, 16, 16), np.uint8))


@pytest.mark.parametrize(
    "params",
    [
        {"channels": "bgr"},
        {"mask": "none"},
        {"chunk_size": 0},
        {"n_jobs": 1.5},
        {"margin": -0.1},
        {"size": 0},
        {"cache_dir": 3},
        {"families": 3},
        {"prefix": "no"},
    ],
    ids=lambda p: next(iter(p)),
)
def test_bad_extractor_values_raise_before_reading_images(params):
    with pytest.raises(ValueError, match=_named(FeatureExtractor, params)):
        FeatureExtractor(**params).fit(np.zeros((1, 16, 16), np.uint8))


@pytest.mark.parametrize(
    ("cls", "params", "n_names"),
    [
        (ShapeFeatures, {"pixel_size": 2}, 11),
        (MomentFeatures, {"zernike_degree": 0, "zernike_size": 8}, 22),
        (IntensityFeatures, {"n_bins": 2, "range": np.array([0, 0.5])}, 26),
        (SNRFeatures, {"band": np.int64(3)}, 4),
        (RadialProfile, {"ring_width": 2.5, "n_rings": 1}, 2),
        (EdgeProfile, {"canny_low": 80, "canny_high": 80.0}, 32),
        (HaralickFeatures, {"distances": 3, "levels": 4096}, 26),
        (HaralickFeatures, {"distances": np.array([2, 1])}, 52),
        (LBPFeatures, {"radii": [4], "points": 16}, 18),
        (LawsFeatures, {"window": 3}, 9),
        (VLADFeatures, {"n_words": 2, "random_state": None}, 128),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else None,
)
def test_boundary_values_are_accepted(cls, params, n_names):
    family = cls(**params)
    family.validate()
    assert len(family.feature_names()) == n_names


def test_extent_is_ignored_with_a_ring_width_and_checked_without():
    from featcls.features import EdgeProfile, RadialProfile

    for family in (RadialProfile, EdgeProfile):
        assert family(ring_width=2.0, extent=None).feature_names()
        with pytest.raises(ValueError, match=r"'extent' .*\(or set ring_width\)"):
            family(extent=0).validate()
