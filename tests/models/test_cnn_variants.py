"""CNN input variants: the network sees the pixels the hand-crafted features see."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from featcls.exceptions import DataWarning, SettingError
from featcls.features import FeatureExtractor
from featcls.features._extract import load_sample
from featcls.models import (
    CNNClassifier,
    FusionClassifier,
    build_model,
    describe_model,
    explain,
    feature_pipeline,
    predict_tiles,
)

SIZE = 24
FAST = {
    "max_epochs": 1,
    "early_stopping": False,
    "n_threads": 1,
    "precision": "float32",
    "batch_size": 4,
}


def _scene(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A colour image with a large and a small object; the mask marks the small one.

    The automatic mask takes the largest object, so a crop by the given mask and
    one by the automatic mask differ.
    """
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 40, (40, 48, 3), dtype=np.uint8)
    image[6:26, 4:28] += np.array([180, 60, 120], np.uint8)
    image[30:37, 36:45] += np.array([60, 180, 30], np.uint8)
    mask = np.zeros((40, 48), bool)
    mask[30:37, 36:45] = True
    return image, mask


def _table(n: int = 8, masks: bool = True) -> pd.DataFrame:
    scenes = [_scene(seed) for seed in range(n)]
    table = pd.DataFrame({"image": pd.Series([s[0] for s in scenes], dtype=object)})
    if masks:
        table["mask"] = pd.Series([s[1] for s in scenes], dtype=object)
    return table


Y = np.array(["a", "b"] * 4)


def _network_view(table: pd.DataFrame, **variant) -> np.ndarray:
    """The uint8 (N, C, S, S) input the CNN decodes in fit."""
    return CNNClassifier(input_size=SIZE, n_threads=1, **variant)._decode(
        table, fitting=True
    )


def _features_view(table: pd.DataFrame, i: int, **variant) -> np.ndarray:
    """Sample ``i`` as the feature extractor computes on it, on the uint8 scale."""
    channels = variant.pop("channels", None) or "channels"  # None: every channel
    fx = FeatureExtractor(["intensity"], channels=channels, size=SIZE, **variant)
    config = fx.fit(table)._config()
    row = table.iloc[i]
    planes, _, _, _ = load_sample(row["image"], row.get("mask"), config, "sample")
    return np.clip(np.stack(planes) * 255.0 + 0.5, 0, 255).astype(np.uint8)


VARIANTS = [
    {"crop": True},
    {"crop": True, "margin": 0.3, "mask_out": True},
    {"mask_out": True},
    {"channels": "hsv"},
    {"channels": "gray", "crop": True},
    {"channels": "rgb", "mask_out": True},
]


@pytest.mark.parametrize("masks", [True, False], ids=["table-mask", "auto-mask"])
@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: ",".join(map(str, v)))
def test_the_network_input_is_the_features_prepared_image(variant, masks):
    table = _table(masks=masks)
    seen = _network_view(table, **variant)
    n_channels = 1 if variant.get("channels") == "gray" else 3
    assert seen.shape == (8, n_channels, SIZE, SIZE)
    for i in (0, 5):
        np.testing.assert_array_equal(seen[i], _features_view(table, i, **variant))


def test_the_table_mask_decides_the_crop_and_the_automatic_mask_stands_in():
    by_table = _network_view(_table(), crop=True)
    by_auto = _network_view(_table(masks=False), crop=True)
    assert not np.array_equal(by_table, by_auto)
    # The small object is green, the large one red: each crop shows its object.
    assert by_table[0, 1].mean() > by_table[0, 0].mean()
    assert by_auto[0, 0].mean() > by_auto[0, 1].mean()


def test_a_crop_by_the_mask_without_margin_is_the_masked_box():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 255, (4, 40, 48, 3), dtype=np.uint8)
    mask = np.zeros((40, 48), bool)
    mask[8:32, 20:44] = True  # exactly SIZE × SIZE: no resizing
    table = pd.DataFrame(
        {
            "image": pd.Series(list(images), dtype=object),
            "mask": pd.Series([mask] * 4, dtype=object),
        }
    )
    seen = _network_view(table, crop=True, margin=0)
    np.testing.assert_array_equal(seen, images[:, 8:32, 20:44].transpose(0, 3, 1, 2))


def test_mask_out_sets_the_background_to_zero_and_keeps_the_object():
    rng = np.random.default_rng(2)
    images = rng.integers(1, 255, (4, SIZE, SIZE), dtype=np.uint8)
    mask = np.zeros((SIZE, SIZE), bool)
    mask[4:15, 6:20] = True
    table = pd.DataFrame(
        {
            "image": pd.Series(list(images), dtype=object),
            "mask": pd.Series([mask] * 4, dtype=object),
        }
    )
    seen = _network_view(table, mask_out=True)[:, 0]
    np.testing.assert_array_equal(seen[:, mask], images[:, mask])
    assert not seen[:, ~mask].any()


def test_empty_masks_are_counted_in_one_warning_per_fit():
    table = _table()
    empty = np.zeros((40, 48), bool)
    table["mask"] = pd.Series([empty, empty, *table["mask"][2:]], dtype=object)
    clf = CNNClassifier(input_size=16, crop=True, mask_out=True, **FAST)
    with pytest.warns(DataWarning, match="empty object mask") as record:
        clf.fit(table, Y)
    messages = [str(w.message) for w in record if "empty object mask" in str(w.message)]
    assert messages == [
        "CNNClassifier: 2 of 8 images have an empty object mask: there is nothing "
        "to crop to, so the whole image is kept and mask_out sets every pixel to "
        "0; check the masks (or drop the mask column to let featcls segment the "
        "objects)."
    ]
    with pytest.warns(DataWarning, match="2 of 8 images"):
        seen = clf._decode(table)
    assert not seen[:2].any() and seen[2:].any()


def test_an_rgb_policy_of_grey_images_names_the_image_and_the_fix():
    X = np.zeros((4, 20, 20), np.uint8)
    with pytest.raises(
        SettingError,
        match=r"^Image 'sample 0': channels='rgb' needs an RGB or RGBA image, got a "
        r"grey image of shape \(20, 20\)\. Use channels='gray' or "
        r"channels='channels'\.$",
    ):
        CNNClassifier(channels="rgb", input_size=16, **FAST).fit(X, Y[:4])


@pytest.mark.parametrize(
    ("params", "name"),
    [({"channels": "lab"}, "channels"), ({"margin": -0.1}, "margin")],
)
def test_bad_variant_parameters_are_refused_in_fit(params, name):
    with pytest.raises(ValueError, match=f"The '{name}' parameter of CNNClassifier"):
        CNNClassifier(input_size=16, **params, **FAST).fit(_table(), Y)


def test_a_saved_cnn_applies_its_variant_after_loading(tmp_path):
    table = _table()
    variant = {"channels": "hsv", "crop": True, "margin": 0.2, "mask_out": True}
    clf = CNNClassifier(input_size=16, **variant, **FAST).fit(table, Y)
    path = clf.save(tmp_path / "cnn.pt")
    payload = torch.load(path, weights_only=True)
    assert payload["version"] == 6
    assert {k: payload["params"][k] for k in variant} == variant
    loaded = CNNClassifier.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(table), clf.predict_proba(table))
    # The variant matters: the same network on the images as decoded answers otherwise.
    plain = CNNClassifier.load(path).set_params(channels=None, crop=False)
    assert not np.allclose(plain.predict_proba(table), clf.predict_proba(table))


def test_predicting_without_the_masks_it_was_fitted_on_warns(tmp_path):
    clf = CNNClassifier(input_size=16, crop=True, **FAST).fit(_table(), Y)
    assert clf.masks_fitted_
    with pytest.warns(DataWarning, match="fitted on the table's own object masks"):
        clf.predict(_table(masks=False))
    loaded = CNNClassifier.load(clf.save(tmp_path / "cnn.pt"))
    with pytest.warns(DataWarning, match=r"--masks DIR"):
        loaded.predict(_table(masks=False))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        loaded.predict(_table())  # with its masks: silent
        # Fitted on automatic masks, automatic masks at predict time are no change.
        auto = CNNClassifier(input_size=16, crop=True, **FAST).fit(
            _table(masks=False), Y
        )
        assert not auto.masks_fitted_
        auto.predict(_table(masks=False))


def test_features_fitted_on_masks_warn_when_the_masks_are_missing():
    extractor = FeatureExtractor(families=["shape"], n_jobs=1).fit(_table())
    with pytest.warns(DataWarning, match="fitted on the table's own object masks"):
        extractor.transform(_table(masks=False))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        extractor.transform(_table())
        full = FeatureExtractor(families=["shape"], mask="full", n_jobs=1)
        full.fit(_table()).transform(_table(masks=False))


def test_a_cnn_on_the_images_as_decoded_writes_the_old_file(tmp_path):
    clf = CNNClassifier(input_size=16, margin=0.1, **FAST).fit(_table(), Y)
    payload = torch.load(clf.save(tmp_path / "cnn.pt"), weights_only=True)
    assert payload["version"] == 2
    assert not {"channels", "crop", "margin", "mask_out"} & set(payload["params"])


def test_fusion_prepares_its_network_input_and_saves_it(tmp_path):
    table = _table()
    cnn = CNNClassifier(input_size=SIZE, channels="gray", crop=True, **FAST)
    features = FeatureExtractor(["intensity"], crop=True, size=SIZE)
    fusion = FusionClassifier(cnn=cnn, features=features).fit(table, Y)
    assert fusion.cnn_.n_channels_ == 1
    np.testing.assert_array_equal(
        fusion.cnn_._decode(table), _network_view(table, channels="gray", crop=True)
    )
    path = fusion.save(tmp_path / "fusion.pt")
    payload = torch.load(path, weights_only=True)
    assert payload["version"] == 6 and payload["params"]["cnn"]["crop"] is True
    loaded = FusionClassifier.load(path)
    assert loaded.cnn_.get_params()["channels"] == "gray"
    np.testing.assert_array_equal(
        loaded.predict_proba(table), fusion.predict_proba(table)
    )


def test_explanations_overlay_the_prepared_image():
    from featcls.models._cnn_saliency import _overlay
    from featcls.models._explain import _grey_bgr

    table = _table()
    clf = CNNClassifier(input_size=SIZE, crop=True, mask_out=True, **FAST)
    clf.fit(table, Y)
    maps = explain(clf, table.iloc[:2], method="saliency")
    prepared = clf._decode(table.iloc[:2])
    plain = CNNClassifier(input_size=SIZE, n_threads=1)._decode(
        table.iloc[:2], fitting=True
    )
    for i, item in enumerate(maps):
        seen = _overlay(_grey_bgr(prepared[i]), item.heatmap)[:, :, ::-1]
        np.testing.assert_array_equal(item.overlay, seen)
        other = _overlay(_grey_bgr(plain[i]), item.heatmap)[:, :, ::-1]
        assert not np.array_equal(item.overlay, other)


def test_tiles_refuse_a_model_that_crops_and_take_one_that_masks():
    large = [np.random.default_rng(3).integers(0, 255, (32, 32), dtype=np.uint8)]
    with pytest.raises(SettingError, match=r"crops every sample .*\(crop=True\)"):
        predict_tiles(CNNClassifier(crop=True), large, tile=16)
    pipe = feature_pipeline(FeatureExtractor(crop=True), build_model("logreg"))
    with pytest.raises(SettingError, match=r"\(features__crop=True\)"):
        predict_tiles(pipe, large, tile=16)
    X = np.random.default_rng(4).integers(0, 255, (8, 16, 16), dtype=np.uint8)
    clf = CNNClassifier(input_size=16, mask_out=True, **FAST).fit(X, Y)
    tiles = predict_tiles(clf, large, tile=16, stride=16)
    assert len(tiles) == 4


def test_the_description_says_how_the_images_are_prepared():
    text = describe_model(
        CNNClassifier(input_size=32, crop=True, mask_out=True, channels="hsv")
    )
    assert (
        "(32 px, cropped to the object + 10%, background masked out, hsv channels, "
        "up to 30 epochs)" in text
    )
    assert "(96 px, up to 30 epochs)" in describe_model(CNNClassifier())
