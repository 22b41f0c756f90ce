"""Named channels in features: column names, channel views and the cache."""

from pathlib import Path

import numpy as np
import pytest

from featcls.data import load_manifest
from featcls.exceptions import SettingError
from featcls.features import FeatureExtractor
from tests._atlas import ATLAS, BASE, STAINS, stain_image, write_atlas, write_png


@pytest.fixture
def atlas(tmp_path):
    return load_manifest(write_atlas(tmp_path, n=3), **ATLAS)


def _extract(data, **params):
    fx = FeatureExtractor(families=["intensity"], mask="full", **params)
    fx.set_output(transform="pandas")
    with pytest.warns(UserWarning):  # the constant square: NaN spread statistics
        return fx.fit(data.X).transform(data.X), fx


def test_columns_are_named_after_the_channels(atlas):
    features, fx = _extract(atlas, channels="channels")
    assert fx.channel_names_ == STAINS
    names = list(features.columns)
    assert names == list(fx.get_feature_names_out())
    means = [f"intensity__{s}_mean" for s in STAINS]
    assert all(m in names for m in means) and not any("c1" in n for n in names)
    # Each named column measures its own stain (full mask: all 256 pixels).
    expected = [
        [(BASE[s] + i) / 255 + 100 * 64 / 256 / 255 for s in STAINS] for i in range(3)
    ]
    np.testing.assert_allclose(features[means].to_numpy(), expected, rtol=1e-5)


def test_gray_is_the_mean_of_the_channels_with_todays_names(atlas):
    features, _ = _extract(atlas, channels="gray")
    assert "intensity__mean" in features.columns
    stacked = np.mean([BASE[s] for s in STAINS]) + 1
    np.testing.assert_allclose(
        features["intensity__mean"].iloc[1], (stacked + 25) / 255, rtol=1e-5
    )


def test_unnamed_channels_keep_positional_names():
    images = np.random.default_rng(0).integers(0, 255, (2, 16, 16, 4), np.uint8)
    fx = FeatureExtractor(families=["intensity"], channels="channels").fit(images)
    assert "intensity__c3_mean" in fx.get_feature_names_out()


def test_a_view_selects_and_orders_channels(atlas):
    every, _ = _extract(atlas, channels="channels")
    view, fx = _extract(atlas, channels="yellow,green")
    assert fx.channel_names_ == ("yellow", "green")
    assert list(view.columns[:2]) == [
        "intensity__yellow_hist_00",
        "intensity__yellow_hist_01",
    ]
    np.testing.assert_array_equal(view.to_numpy(), every[view.columns].to_numpy())
    # A list does the same; one channel keeps its name.
    single, _ = _extract(atlas, channels=["blue"])
    assert "intensity__blue_mean" in single.columns
    np.testing.assert_array_equal(single.to_numpy(), every[single.columns].to_numpy())


def test_the_automatic_mask_comes_from_the_view(atlas):
    fx = FeatureExtractor(families=["shape"], channels="green").fit(atlas.X)
    area = fx.transform(atlas.X)[
        :, list(fx.get_feature_names_out()).index("shape__area")
    ]
    np.testing.assert_allclose(area, 64)  # the bright 8×8 square of every stain


def test_unknown_channels_and_views_of_unnamed_images_are_clear_errors(atlas):
    with pytest.raises(
        SettingError,
        match=r"Unknown channel\(s\) 'purple' in channels='green,purple'; the "
        r"channels of sample .* are 'red', 'green', 'blue', 'yellow'",
    ):
        FeatureExtractor(channels="green,purple").fit(atlas.X)
    images = np.zeros((2, 8, 8), np.uint8)
    with pytest.raises(
        ValueError,
        match=r"'channels' parameter of FeatureExtractor must be a channel policy "
        r".* Got 'green', but the first sample, 'sample 0', has no named channels",
    ):
        FeatureExtractor(channels="green").fit(images)
    with pytest.raises(ValueError, match=r"mixes the channel policy 'rgb' with"):
        FeatureExtractor(channels="rgb,green").fit(atlas.X)


def test_colour_policies_need_three_named_channels(atlas):
    fx = FeatureExtractor(families=["intensity"], channels="rgb").fit(atlas.X)
    with pytest.raises(
        SettingError,
        match=r"channels='rgb' needs a colour image, but the sample has 4 named "
        r"channel\(s\) \('red', 'green', 'blue', 'yellow'\)",
    ):
        fx.transform(atlas.X)


def test_the_cache_is_keyed_by_every_channel_file(atlas, tmp_path):
    cache = tmp_path / "cache"
    fx = FeatureExtractor(
        families=["intensity"], channels="channels", mask="full", cache_dir=cache
    )
    with pytest.warns(UserWarning):
        before = fx.fit(atlas.X).transform(atlas.X)
    with pytest.warns(UserWarning):
        again = fx.transform(atlas.X)
    assert fx.n_computed_ == 0
    np.testing.assert_array_equal(again, before)
    # Edit one channel file of one sample: only that sample is recomputed, and
    # only its yellow features change.
    yellow = atlas.X["image"].iloc[1].path_of("yellow")
    write_png(Path(yellow), stain_image("yellow", 1) + 50)
    with pytest.warns(UserWarning):
        after = fx.transform(atlas.X)
    assert fx.n_computed_ == 1
    names = list(fx.get_feature_names_out())
    differs = ~np.isclose(after, before, rtol=0, atol=0, equal_nan=True)
    changed = {names[j] for j in np.flatnonzero(differs.any(axis=0))}
    assert "intensity__yellow_mean" in changed
    assert all(n.startswith("intensity__yellow_") for n in changed)
    np.testing.assert_array_equal(after[[0, 2]], before[[0, 2]])
