"""featcls train's confidence threshold and featcls predict --tile / --maps."""

import json

import cv2
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from featcls.cli import app
from featcls.data import make_synthetic, read_image
from featcls.models import load_model, tile_positions

runner = CliRunner()
TRAIN = ["train", "--model", "logreg", "--n-samples", "60", "--image-size", "48"]
TRAIN += ["--features", "shape,intensity"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model with a stored threshold, one without, and a folder of large images."""
    root = tmp_path_factory.mktemp("tiles")
    with_threshold = runner.invoke(app, [*TRAIN, "--out", str(root / "m.skops")])
    without = runner.invoke(
        app, [*TRAIN, "--threshold-folds", "0", "--out", str(root / "m0.skops")]
    )
    assert with_threshold.exit_code == 0, with_threshold.output
    assert without.exit_code == 0, without.output
    cells = list(make_synthetic(6, image_size=48, random_state=4).X["image"])
    large = np.concatenate(
        [np.concatenate(cells[:3], axis=1), np.concatenate(cells[3:], axis=1)]
    )
    (root / "large" / "sub").mkdir(parents=True)
    cv2.imwrite(str(root / "large" / "a.png"), large)  # 96 × 144
    cv2.imwrite(str(root / "large" / "sub" / "b.png"), large[:60, :100])
    return root, with_threshold.output


def _predict(root, *options):
    return runner.invoke(
        app, ["predict", *map(str, options), "--data", str(root / "large")]
    )


def test_train_stores_a_threshold_fitted_on_fewer_folds_when_a_class_is_small(
    trained,
):
    root, output = trained
    # 60 synthetic images hold 2 'uncertain' ones: 2 folds, not the default 5.
    assert "on 2-fold out-of-fold predictions (not 5" in output
    _, meta = load_model(root / "m.skops")
    confidence = meta["confidence"]
    assert confidence["method"] == "youden" and confidence["folds"] == 2
    assert 0 < confidence["threshold"] <= 1
    assert "confidence" not in load_model(root / "m0.skops")[1]


def test_predict_tiles_writes_the_windows_and_the_maps(trained):
    root, _ = trained
    out, maps = root / "tiles.csv", root / "maps"
    result = _predict(
        root,
        *(root / "m.skops", "--tile", 48, "--stride", 24, "--out", out),
        *("--maps", maps, "--batch-size", 5),
    )
    assert result.exit_code == 0, result.output
    tiles = pd.read_csv(out)
    assert list(tiles.columns) == [
        "path",
        "x",
        "y",
        "width",
        "height",
        "prediction",
        "p_multilamellar",
        "p_uncertain",
        "p_unilamellar",
    ]
    n = {
        path: len(tile_positions(h, 48, 24)) * len(tile_positions(w, 48, 24))
        for path, (h, w) in {"a.png": (96, 144), "sub/b.png": (60, 100)}.items()
    }
    assert tiles["path"].value_counts().to_dict() == n
    assert f"{sum(n.values())} windows of 2 images" in result.output
    assert read_image(maps / "a.png").shape == (96, 144, 3)
    assert read_image(maps / "sub" / "b.png").shape == (60, 100, 3)
    legend = json.loads((maps / "legend.json").read_text())
    stored = load_model(root / "m.skops")[1]["confidence"]["threshold"]
    assert legend["threshold"] == pytest.approx(stored)
    assert "Youden" in legend["threshold_from"]


def test_a_model_without_a_threshold_needs_confidence(trained):
    root, _ = trained
    maps = root / "maps0"
    options = (root / "m0.skops", "--tile", 48, "--out", root / "t0.csv")
    result = _predict(root, *options, "--maps", maps)
    assert result.exit_code == 1
    assert "stores no confidence threshold" in result.output
    assert "give --confidence" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not maps.exists()
    result = _predict(root, *options, "--maps", maps, "--confidence", 0.6)
    assert result.exit_code == 0, result.output
    legend = json.loads((maps / "legend.json").read_text())
    assert legend["threshold"] == 0.6 and legend["threshold_from"] == "--confidence"


def test_an_image_smaller_than_the_tile_stops_or_is_skipped(trained):
    root, _ = trained
    options = (root / "m0.skops", "--tile", 64, "--out", root / "t64.csv")
    result = _predict(root, *options)
    assert result.exit_code == 1
    assert "'sub/b.png' is 100×60 pixels, smaller than the 64-pixel tile" in (
        result.output
    )
    assert "Give --tile 60 or less. Or pass --on-error skip" in result.output
    assert not (root / "t64.csv").exists()
    result = _predict(root, *options, "--on-error", "skip")
    assert result.exit_code == 0, result.output
    assert "1 file(s) skipped" in result.output and "sub/b.png:" in result.output
    assert set(pd.read_csv(root / "t64.csv")["path"]) == {"a.png"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--stride", "8"],
            "--stride applies to windows of large images: give --tile.",
        ),
        (["--maps", "m"], "--maps applies to windows of large images: give --tile."),
        (["--tile", "0"], "--tile must be 1 or more. Got 0."),
        (["--tile", "8", "--stride", "0"], "--stride must be 1 or more. Got 0."),
        (
            ["--tile", "8", "--confidence", "0.5"],
            "--confidence applies to --maps: give --maps DIR.",
        ),
        (
            ["--tile", "8", "--maps", "m", "--confidence", "2"],
            "--confidence must be between 0 and 1. Got 2.0.",
        ),
    ],
)
def test_bad_tile_options_stop_with_one_line(tmp_path, options, message):
    model = tmp_path / "absent.skops"  # checked before the model is read
    result = runner.invoke(
        app, ["predict", str(model), "--data", str(tmp_path), *options]
    )
    assert result.exit_code == 1
    assert result.output.strip() == f"featcls: error: {message}"


def test_bad_threshold_folds_stop_before_training(tmp_path):
    for value in ("1", "-2"):
        result = runner.invoke(
            app, ["train", "--threshold-folds", value, "--out", str(tmp_path / "m")]
        )
        assert result.exit_code == 1
        assert "--threshold-folds must be 0 (none) or 2 or more" in result.output


def test_help_explains_the_options():
    result = runner.invoke(app, ["predict", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for option in ("--tile", "--stride", "--batch-size", "--maps", "--confidence"):
        assert option in result.output
    result = runner.invoke(app, ["train", "--help"], terminal_width=200)
    assert "--threshold-folds" in result.output and "Youden" in result.output


@pytest.mark.slow
def test_a_cnn_file_carries_its_threshold_to_the_maps(trained, tmp_path):
    root, _ = trained
    model = tmp_path / "cnn.pt"
    result = runner.invoke(
        app,
        [
            *("train", "--model", "cnn", "--n-samples", "40", "--image-size", "32"),
            *("--cnn-epochs", "1", "--cnn-size", "16", "--threshold-folds", "2"),
            *("--out", str(model)),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "on 2-fold out-of-fold predictions" in result.output
    stored = load_model(model)[1]["confidence"]["threshold"]
    maps = tmp_path / "maps"
    result = _predict(
        root, model, "--tile", 48, "--out", tmp_path / "t.csv", "--maps", maps
    )
    assert result.exit_code == 0, result.output
    legend = json.loads((maps / "legend.json").read_text())
    assert legend["threshold"] == pytest.approx(stored)
