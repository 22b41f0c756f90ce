"""The learned-codebook family (dense RootSIFT + VLAD), fitted on training images."""

import numpy as np
import pytest
from sklearn.base import clone

from featcls import FeatureExtractor
from featcls.features import (
    DEFAULT_FAMILIES,
    FEATURE_FAMILIES,
    VLADFeatures,
    shape_features,
)
from featcls.features._context import ImageContext, MaskGeometry

from .conftest import textured


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    out = []
    for i in range(12):
        image, _ = textured(size=64, seed=i)
        if i % 2:  # two kinds of texture
            image = np.clip(image + 0.2 * (rng.random(image.shape) > 0.9), 0, 1)
        out.append((image * 255).astype(np.uint8))
    return np.stack(out)


def test_vlad_is_not_a_default_family_but_is_registered():
    assert FEATURE_FAMILIES["vlad"] is VLADFeatures
    names = FeatureExtractor().fit(np.zeros((1, 16, 16), np.uint8))
    assert not any(n.startswith("vlad__") for n in names.get_feature_names_out())


def test_default_alias_expands_to_the_default_families():
    fx = FeatureExtractor(families="default,vlad", mask="full")
    fx.fit(np.random.default_rng(0).integers(0, 255, (2, 96, 96), dtype=np.uint8))
    heads = list(dict.fromkeys(n.split("__")[0] for n in fx.get_feature_names_out()))
    assert heads == [*DEFAULT_FAMILIES, "vlad"]


def test_fit_learns_codebook_and_transform_encodes(images):
    fx = FeatureExtractor(families={"vlad": {"n_words": 4, "step": 8}}).fit(images)
    family = fx.families_[0]
    assert family.codebook_.shape == (4, 128)
    out = fx.transform(images)
    assert out.shape == (12, 4 * 128) == (12, len(fx.get_feature_names_out()))
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-6)
    assert fx.get_feature_names_out()[0] == "vlad__w0_000"


def test_codebook_comes_from_the_training_images_only(images):
    fx = FeatureExtractor(families={"vlad": {"n_words": 4, "step": 8}})
    a = clone(fx).fit(images[:6])
    b = clone(fx).fit(images[6:])
    assert not np.allclose(a.families_[0].codebook_, b.families_[0].codebook_)
    before = a.families_[0].codebook_.copy()
    a.transform(images[6:])  # transforming other images never refits
    np.testing.assert_array_equal(a.families_[0].codebook_, before)


def test_descriptors_are_cached_and_reused(images, tmp_path):
    fx = FeatureExtractor(
        families={"vlad": {"n_words": 4, "step": 8}}, cache_dir=tmp_path
    )
    first = fx.fit(images).transform(images)
    stored = list(tmp_path.glob("descriptors-*/*.npy"))
    assert len(stored) == 12
    again = clone(fx).fit(images)
    assert again.n_computed_ == 0
    np.testing.assert_allclose(again.transform(images), first, rtol=1e-6)


def test_descriptors_honour_the_mask():
    image, mask = textured(size=80, seed=3)
    other = image.copy()
    other[~mask] = np.random.default_rng(1).random(int((~mask).sum()))
    family = VLADFeatures(step=8)
    a = family.local_descriptors(ImageContext(image, MaskGeometry(mask)))
    b = family.local_descriptors(ImageContext(other, MaskGeometry(mask)))
    assert len(a) > 10
    np.testing.assert_array_equal(a, b)


def test_stateful_family_has_no_single_image_form():
    with pytest.raises(ValueError, match="learns a codebook from training images"):
        from featcls.features._extract import compute_family

        compute_family(VLADFeatures(), np.zeros((32, 32)))
    with pytest.warns(UserWarning, match="constant"):
        assert shape_features(np.ones((8, 8)))["area"] == 64


def test_mixed_families_keep_column_order(images):
    fx = FeatureExtractor(
        families={"shape": None, "vlad": {"n_words": 2, "step": 8}, "intensity": None}
    )
    out = fx.fit(images).set_output(transform="pandas").transform(images)
    names = list(out.columns)
    assert names[0] == "shape__area" and names[-1] == "intensity__bg_entropy"
    assert names.index("vlad__w0_000") == 11
    alone = FeatureExtractor(families=["shape"]).fit_transform(images)
    np.testing.assert_allclose(out.iloc[:, :11].to_numpy(), alone)
