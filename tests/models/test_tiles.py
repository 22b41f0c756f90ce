"""Large images region by region: windows, batches, models, maps, the threshold."""

import json
import warnings

import cv2
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from featcls.data import read_image
from featcls.exceptions import DataWarning, ImageReadError, SettingError
from featcls.features import FeatureExtractor
from featcls.models import (
    CLASS_COLOURS,
    UNCERTAIN_COLOUR,
    CNNClassifier,
    build_model,
    confidence_threshold,
    feature_pipeline,
    load_model,
    predict_tiles,
    save_model,
    save_tile_maps,
    tile_map,
    tile_positions,
)


class Brightness(ClassifierMixin, BaseEstimator):
    """Calls a tile bright with probability = its mean value; records its batches.

    Fitting learns nothing: its confidence is known in advance for every image.
    """

    featcls_input = "images"

    def __init__(self, *, calls=None):
        self.calls = calls

    def fit(self, X, y):
        self.classes_ = np.array(["bright", "dark"])
        return self

    def predict_proba(self, X):
        if self.calls is not None:
            self.calls.append(X)
        bright = np.array([np.mean(im) / 255 for im in X["image"]])
        return np.column_stack([bright, 1 - bright])

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def _brightness(calls=None):
    return Brightness(calls=calls).fit(None, None)


def _column(values):
    """An object column of arrays (pandas would stack equal-shaped ones)."""
    column = np.empty(len(values), dtype=object)
    column[:] = [None] * len(values)
    for i, value in enumerate(values):
        column[i] = value
    return column


def _ramp(height, width):
    """uint8 image whose value grows from left to right."""
    row = np.linspace(0, 255, width).round().astype(np.uint8)
    return np.repeat(row[None, :], height, axis=0)


# -- window geometry -------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "tile", "stride", "expected"),
    [
        (100, 32, 24, [0, 24, 48, 68]),  # last window aligned to the border
        (96, 32, 32, [0, 32, 64]),  # exact fit: no extra window
        (32, 32, 8, [0]),  # tile == image
        (100, 10, 25, [0, 25, 50, 75, 90]),  # stride > tile: gaps, border kept
        (9, 10, 4, []),  # tile larger than the axis
    ],
)
def test_tile_positions(length, tile, stride, expected):
    assert tile_positions(length, tile, stride) == expected


@pytest.mark.parametrize(("tile", "stride"), [(16, 5), (16, 16), (7, 3), (20, 9)])
def test_windows_cover_every_pixel_and_stay_inside(tile, stride):
    height, width = 45, 61
    tiles = predict_tiles(
        _brightness(), [_ramp(height, width)], tile=tile, stride=stride
    )
    covered = np.zeros((height, width), dtype=int)
    for x, y, w, h in tiles[["x", "y", "width", "height"]].itertuples(index=False):
        assert (w, h) == (tile, tile)
        assert 0 <= x <= width - tile and 0 <= y <= height - tile
        covered[y : y + h, x : x + w] += 1
    assert covered.min() >= 1
    assert len(tiles) == len(tile_positions(height, tile, stride)) * len(
        tile_positions(width, tile, stride)
    )


def test_stride_larger_than_tile_leaves_gaps_but_reaches_the_border():
    tiles = predict_tiles(_brightness(), [_ramp(30, 30)], tile=4, stride=10)
    assert sorted(set(tiles["x"])) == [0, 10, 20, 26]
    assert sorted(set(tiles["y"])) == [0, 10, 20, 26]


def test_tile_equal_to_the_image_is_one_window():
    tiles = predict_tiles(_brightness(), [_ramp(24, 24)], tile=24)
    assert tiles[["x", "y", "width", "height"]].values.tolist() == [[0, 0, 24, 24]]


def test_default_stride_is_half_the_tile_and_rows_go_row_by_row():
    tiles = predict_tiles(_brightness(), [_ramp(16, 24)], tile=8)
    assert tiles[["x", "y"]].values.tolist()[:4] == [[0, 0], [4, 0], [8, 0], [12, 0]]
    assert sorted(set(tiles["y"])) == [0, 4, 8]


# -- batches and memory ----------------------------------------------------------


def test_results_do_not_depend_on_the_batch_size_and_batches_are_bounded():
    images = [_ramp(40, 50), 255 - _ramp(33, 41)]
    results = []
    for batch_size in (1, 7, 1000):
        calls = []
        results.append(
            predict_tiles(
                _brightness(calls), images, tile=16, stride=9, batch_size=batch_size
            )
        )
        assert max(len(X) for X in calls) <= batch_size
    pd.testing.assert_frame_equal(results[0], results[1])
    pd.testing.assert_frame_equal(results[0], results[2])


def test_columns_paths_and_probabilities(tmp_path):
    path = tmp_path / "big.png"
    cv2.imwrite(str(path), _ramp(32, 64))
    tiles = predict_tiles(_brightness(), [str(path)], tile=32, stride=32)
    assert list(tiles.columns) == [
        "path",
        "x",
        "y",
        "width",
        "height",
        "prediction",
        "p_bright",
        "p_dark",
    ]
    assert tiles["path"].tolist() == [str(path)] * 2
    # The ramp: dark on the left, bright on the right.
    assert tiles["prediction"].tolist() == ["dark", "bright"]
    np.testing.assert_allclose(tiles[["p_bright", "p_dark"]].sum(axis=1), 1)
    table = pd.DataFrame({"image": [str(path)], "relpath": ["sub/big.png"]})
    assert predict_tiles(_brightness(), table, tile=32)["path"].unique().tolist() == [
        "sub/big.png"
    ]
    assert tiles.attrs["skipped"] == []


def test_masks_are_cut_into_the_same_windows():
    calls = []
    image = _ramp(20, 20)
    mask = np.zeros((20, 20), dtype=bool)
    mask[:, 10:] = True
    table = pd.DataFrame({"image": _column([image]), "mask": _column([mask])})
    predict_tiles(_brightness(calls), table, tile=10, stride=10)
    cut = calls[0]
    assert [m.all() for m in cut["mask"]] == [False, True, False, True]
    assert all(m.shape == (10, 10) for m in cut["mask"])


def test_progress_bar_on_request(capsys):
    predict_tiles(_brightness(), [_ramp(16, 16)], tile=8, progress=True)
    assert "tile" in capsys.readouterr().err


# -- bad input -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "name", "got"),
    [
        ({"tile": 0}, "tile", "0"),
        ({"tile": True}, "tile", "True"),
        ({"stride": 0}, "stride", "0"),
        ({"stride": -3}, "stride", "-3"),
        ({"batch_size": 0}, "batch_size", "0"),
    ],
)
def test_bad_parameters_are_named(kwargs, name, got):
    with pytest.raises(
        ValueError,
        match=rf"The '{name}' parameter of predict_tiles must be an int >= 1\. "
        rf"Got {got} instead\.",
    ):
        predict_tiles(_brightness(), [_ramp(8, 8)], **kwargs)
    with pytest.raises(ValueError, match="on_error must be 'raise' or 'skip'"):
        predict_tiles(_brightness(), [_ramp(8, 8)], tile=4, on_error="ignore")


def test_tile_larger_than_the_image_fails_before_any_work(tmp_path):
    path = tmp_path / "small.png"
    cv2.imwrite(str(path), _ramp(10, 20))
    calls = []
    with pytest.raises(
        SettingError,
        match=r"Image '.*small\.png' is 20×10 pixels, smaller than the 16-pixel "
        r"tile\. Give tile=10 or less\. Or pass on_error='skip'",
    ):
        predict_tiles(_brightness(calls), [_ramp(40, 40), str(path)], tile=16)
    assert calls == []  # checked before the first image's tiles were classified


def test_unreadable_image_fails_before_any_work_or_is_skipped(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x00\x00 not an image")
    calls = []
    with pytest.raises(ImageReadError, match=r"bad\.png.*on_error='skip'"):
        predict_tiles(_brightness(calls), [_ramp(32, 32), str(bad)], tile=16)
    assert calls == []
    small = _ramp(8, 8)
    with pytest.warns(DataWarning, match=r"Skipped 2 unusable image\(s\).*tiles of 1"):
        tiles = predict_tiles(
            _brightness(), [_ramp(32, 32), str(bad), small], tile=16, on_error="skip"
        )
    assert set(tiles["path"]) == {"0"}
    assert [s["path"] for s in tiles.attrs["skipped"]] == [str(bad), "2"]
    assert "smaller than the 16-pixel tile" in tiles.attrs["skipped"][1]["reason"]
    with pytest.raises(SettingError, match="No usable images: all 1 were skipped"):
        predict_tiles(_brightness(), [small], tile=16, on_error="skip")


# -- real models -----------------------------------------------------------------


def _textures(n, size, seed):
    """Smooth (blurred) and grainy noise patches of equal mean and contrast."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for label, blur in (("grainy", 0.6), ("smooth", 2.5)):
        for _ in range(n):
            field = cv2.GaussianBlur(
                rng.standard_normal((size, size)).astype(np.float32), (0, 0), blur
            )
            field = (field - field.mean()) / field.std()
            images.append(np.clip(128 + 32 * field, 0, 255).astype(np.uint8))
            labels.append(label)
    return images, np.array(labels)


@pytest.fixture(scope="module")
def texture_pipeline():
    images, labels = _textures(12, 24, seed=0)
    extractor = FeatureExtractor(families=["lbp"], mask="full")
    return feature_pipeline(extractor, build_model("logreg")).fit(images, labels)


def _cut(image, tiles):
    return [
        image[y : y + h, x : x + w]
        for x, y, w, h in tiles[["x", "y", "width", "height"]].itertuples(index=False)
    ]


def test_a_feature_pipeline_classifies_tiles_as_it_classifies_samples(
    texture_pipeline,
):
    (grainy, smooth), _ = _textures(1, 48, seed=5)
    large = np.concatenate([grainy, smooth], axis=1)  # grainy left, smooth right
    tiles = predict_tiles(texture_pipeline, [large], tile=24, stride=12, batch_size=5)
    cut = _cut(large, tiles)
    assert tiles["prediction"].tolist() == texture_pipeline.predict(cut).tolist()
    np.testing.assert_allclose(
        tiles[["p_grainy", "p_smooth"]], texture_pipeline.predict_proba(cut)
    )
    left, right = tiles[tiles["x"] == 0], tiles[tiles["x"] == 72]
    assert set(left["prediction"]) == {"grainy"}
    assert set(right["prediction"]) == {"smooth"}


def test_a_tiny_cnn_classifies_tiles():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 60, size=(16, 16, 16), dtype=np.uint8)
    X[8:] += 180
    y = np.array(["dark"] * 8 + ["bright"] * 8)
    cnn = CNNClassifier(
        input_size=16, max_epochs=2, batch_size=8, early_stopping=False, tta=False
    ).fit(X, y)
    large = _ramp(40, 40)
    tiles = predict_tiles(cnn, [large], tile=16, stride=12, batch_size=4)
    assert len(tiles) == 9 and list(tiles.columns[-2:]) == ["p_bright", "p_dark"]
    cut = _cut(large, tiles)
    assert tiles["prediction"].tolist() == cnn.predict(cut).tolist()
    # Batches of another size may round differently in the last bits.
    np.testing.assert_allclose(
        tiles[["p_bright", "p_dark"]], cnn.predict_proba(cut), atol=1e-6
    )


# -- maps ------------------------------------------------------------------------


def _rgb(colour):
    return [int(colour[i : i + 2], 16) for i in (1, 3, 5)]


def test_the_map_colours_each_region_by_its_nearest_window():
    image = np.zeros((8, 12), dtype=np.uint8)
    tiles = pd.DataFrame(
        {
            "path": "a",
            "x": [0, 4, 8],
            "y": 0,
            "width": 4,
            "height": 4,  # on an 8-pixel-high image: rows 0-3 only
            "prediction": ["a", "b", "b"],
            "p_a": [0.9, 0.2, 0.45],
            "p_b": [0.1, 0.8, 0.55],
        }
    )
    rgb = tile_map(image, tiles, threshold=0.7)
    assert rgb.shape == (8, 12, 3) and rgb.dtype == np.uint8
    expected = [round(0.45 * v) for v in _rgb(CLASS_COLOURS[0])]
    assert rgb[0, 0].tolist() == expected
    assert rgb[2, 5].tolist() == [round(0.45 * v) for v in _rgb(CLASS_COLOURS[1])]
    assert rgb[3, 11].tolist() == [round(0.45 * v) for v in _rgb(UNCERTAIN_COLOUR)]
    assert rgb[6, 0].tolist() == [0, 0, 0]  # no window covers it: the image


def test_maps_are_written_at_the_size_of_their_image(tmp_path):
    images = [_ramp(30, 50), _ramp(20, 20)]
    table = pd.DataFrame({"image": _column(images), "relpath": ["a.tif", "sub/b.png"]})
    tiles = predict_tiles(_brightness(), table, tile=10, stride=10)
    written = save_tile_maps(table, tiles, tmp_path / "maps", threshold=0.6)
    assert [p.relative_to(tmp_path / "maps").as_posix() for p in written] == [
        "a.png",
        "sub/b.png",
    ]
    assert read_image(written[0]).shape == (30, 50, 3)
    assert read_image(written[1]).shape == (20, 20, 3)
    legend = json.loads((tmp_path / "maps" / "legend.json").read_text())
    assert legend["classes"] == {"bright": CLASS_COLOURS[0], "dark": CLASS_COLOURS[1]}
    assert legend["threshold"] == 0.6 and legend["uncertain"] == UNCERTAIN_COLOUR
    assert not [p for p in (tmp_path / "maps").rglob("*") if ".tmp" in p.name]
    clash = pd.DataFrame({"image": _column(images), "relpath": ["a.tif", "a.png"]})
    with pytest.raises(ValueError, match="would both be 'a.png'"):
        save_tile_maps(clash, tiles, tmp_path / "x", threshold=0.5)


# -- the confidence threshold ----------------------------------------------------


def _levels(values):
    return [np.full((4, 4), v, dtype=np.uint8) for v in values]


def test_youden_threshold_separates_right_from_wrong_calls():
    # Brightness is right far from grey and wrong near it: the calls at
    # confidence 0.6 (values 102 and 153) carry the other label.
    values = [0, 25, 51, 102, 153, 204, 230, 255] * 2
    labels = ["dark", "dark", "dark", "bright", "dark", "bright", "bright", "bright"]
    found = confidence_threshold(Brightness(), _levels(values), labels * 2, cv=2)
    assert found["n_wrong"] == 4 and found["n_right"] == 12
    assert found["youden_j"] == 1.0
    assert found["threshold"] == pytest.approx(0.8)  # the least confident right call
    assert found["right_kept"] == 1.0 and found["wrong_kept"] == 0.0
    assert found["folds"] == 2 and found["method"] == "youden"
    json.dumps(found)  # plain data, for a model file's metadata


def test_threshold_when_every_call_is_right_and_on_too_few_samples():
    values = [0, 30, 220, 250] * 2
    labels = ["dark", "dark", "bright", "bright"] * 2
    found = confidence_threshold(Brightness(), _levels(values), labels, cv=2)
    assert found["n_wrong"] == 0
    assert found["threshold"] == pytest.approx(220 / 255)
    with pytest.raises(ValueError, match="class 'bright' has only 4 samples"):
        confidence_threshold(Brightness(), _levels(values), labels, cv=5)
    with pytest.raises(ValueError, match="only 2 groups. Use at most 2 folds"):
        confidence_threshold(
            Brightness(), _levels(values), labels, groups=[0, 1] * 4, cv=3
        )
    with pytest.raises(ValueError, match="'cv' parameter of confidence_threshold"):
        confidence_threshold(Brightness(), _levels(values), labels, cv=1)


def test_threshold_of_a_feature_pipeline_leaves_it_unchanged(texture_pipeline):
    images, labels = _textures(6, 24, seed=3)
    before = texture_pipeline.predict_proba(images)
    found = confidence_threshold(texture_pipeline, images, labels, cv=3)
    assert 0.5 <= found["threshold"] <= 1 and found["n_samples"] == 12
    np.testing.assert_array_equal(texture_pipeline.predict_proba(images), before)


def test_a_cnn_file_keeps_the_threshold_in_its_metadata(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.integers(0, 60, size=(8, 16, 16), dtype=np.uint8)
    X[4:] += 180
    y = np.array(["dark"] * 4 + ["bright"] * 4)
    cnn = CNNClassifier(input_size=16, max_epochs=1, batch_size=4, early_stopping=False)
    cnn.fit(X, y)
    confidence = {"threshold": 0.75, "method": "youden", "folds": 2}
    path = save_model(cnn, tmp_path / "m.pt", metadata={"confidence": confidence})
    model, meta = load_model(path)
    assert meta["confidence"] == confidence and meta["classes"] == ["bright", "dark"]
    np.testing.assert_allclose(model.predict_proba(X), cnn.predict_proba(X))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]
    cnn.save(tmp_path / "plain.pt")  # a file without metadata: none is invented
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "confidence" not in load_model(tmp_path / "plain.pt")[1]
