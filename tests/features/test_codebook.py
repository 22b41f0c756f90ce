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
    assert family.codebook_.shape == (4, 64)  # descriptors whitened to 64 dims
    out = fx.transform(images)
    assert out.shape == (12, 4 * 64) == (12, len(fx.get_feature_names_out()))
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


def test_several_sizes_give_one_codebook_and_vector_each(images):
    raw = {"n_words": 4, "step": 8, "pca_components": None}
    one = FeatureExtractor(families=[VLADFeatures(**raw)]).fit(images)
    two = FeatureExtractor(families=[VLADFeatures(**raw, size=(16, 24))]).fit(images)
    assert two.families_[0].codebook_.shape == (8, 128)
    names = two.get_feature_names_out()
    assert len(names) == 2 * 4 * 128
    assert names[0] == "vlad__s16_w0_000" and names[-1] == "vlad__s24_w3_127"
    out = two.transform(images)
    for block in (out[:, :512], out[:, 512:]):  # each size normalised on its own
        np.testing.assert_allclose(np.linalg.norm(block, axis=1), 1.0, rtol=1e-6)
    # The first size's codebook and vector are those of that size alone.
    np.testing.assert_array_equal(out[:, :512], one.transform(images))
    assert not np.allclose(out[:, 512:], out[:, :512])


def test_pca_whitens_the_descriptors_before_the_codebook(images):
    family = VLADFeatures(n_words=4, step=8, pca_components=16)
    fx = FeatureExtractor(families=[family], mask="full").fit(images)
    fitted = fx.families_[0]
    assert fitted.codebook_.shape == (4, 16)
    assert fitted.projection_.shape == (1, 128, 16)
    assert len(fx.get_feature_names_out()) == 4 * 16
    # On the training descriptors, the projection gives unit variance, zero mean.
    ctx = [
        ImageContext(im / 255.0, MaskGeometry(np.ones(im.shape, bool))) for im in images
    ]
    desc = np.concatenate([fitted.local_descriptors(c) for c in ctx])
    desc = desc.astype(np.float16).astype(np.float64)
    from featcls.features._codebook import _project

    projected = _project(desc, fitted.projection_[0], fitted.offset_[0])
    np.testing.assert_allclose(projected.mean(axis=0), 0.0, atol=0.02)
    np.testing.assert_allclose(projected.std(axis=0), 1.0, rtol=0.05)
    out = fx.transform(images)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-6)


def test_a_new_vocabulary_reuses_the_descriptors(images, tmp_path):
    fx = FeatureExtractor(
        families=[VLADFeatures(n_words=4, step=8)], cache_dir=tmp_path
    )
    fx.fit(images)
    other = FeatureExtractor(
        families=[VLADFeatures(n_words=6, step=8, pca_components=8)],
        cache_dir=tmp_path,
    ).fit(images)
    assert other.n_computed_ == 0
    assert len(list(tmp_path.glob("descriptors-*"))) == 1
    FeatureExtractor(
        families=[VLADFeatures(n_words=4, step=6)], cache_dir=tmp_path
    ).fit(images)
    assert len(list(tmp_path.glob("descriptors-*"))) == 2  # another grid: new ones


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"size": (16, 16)}, "'size' parameter"),
        ({"size": ()}, "'size' parameter"),
        ({"size": (16, -1)}, "'size' parameter"),
        ({"pca_components": 129}, "'pca_components' parameter"),
        ({"pca_components": 0}, "'pca_components' parameter"),
    ],
)
def test_bad_sizes_and_pca_are_refused(params, match):
    with pytest.raises(ValueError, match=match):
        VLADFeatures(**params).validate()


def test_pca_needs_more_descriptors_than_components():
    desc = np.sqrt(np.random.default_rng(0).dirichlet(np.ones(128), 10))
    with pytest.raises(ValueError, match="more than pca_components=16"):
        VLADFeatures(n_words=2, pca_components=16).fit_codebook([desc])


def test_a_whitened_multi_size_codebook_survives_a_model_file(images, tmp_path):
    from featcls.models import load_model, save_model

    family = VLADFeatures(n_words=4, step=8, size=(16, 24), pca_components=8)
    fx = FeatureExtractor(families=[family]).fit(images)
    loaded, _ = load_model(save_model(fx, tmp_path / "features.skops"))
    assert loaded.transform(images).tobytes() == fx.transform(images).tobytes()
