"""--crop, --margin, --mask-out, --size and --channels, for features and CNNs alike."""

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
import typer
from typer.testing import CliRunner

from featcls.cli import app
from featcls.data import load_folder, load_images
from featcls.evaluation import ComparisonResult
from featcls.exceptions import DataWarning, FeatureWarning
from featcls.features import FeatureExtractor
from featcls.models import load_model

runner = CliRunner()
CNN = ["--cnn-epochs", "1"]


def _write(root, masks, *, colour=False, n=6, empty=0):
    """Two classes of 32-pixel images of one disk (bright or dark), with masks.

    The first ``empty`` masks of class ``a`` are empty.
    """
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:32, :32]
    for k, label in enumerate(("a", "b")):
        (root / label).mkdir(parents=True)
        (masks / label).mkdir(parents=True)
        for i in range(n):
            cy, cx = rng.integers(10, 22, 2)
            disk = (yy - cy) ** 2 + (xx - cx) ** 2 <= 49
            image = rng.integers(0, 40, (32, 32)).astype(np.uint8)
            image[disk] += 120 + 80 * k
            if colour:  # the classes differ in hue, not in brightness
                image = np.stack([image, image // 2, image // 3], axis=2)
                if k:
                    image = image[:, :, ::-1].copy()
            cv2.imwrite(str(root / label / f"{i}.png"), image)
            mask = disk & (label != "a" or i >= empty)
            cv2.imwrite(str(masks / label / f"{i}.png"), mask.astype(np.uint8) * 255)


@pytest.fixture(scope="module")
def grey(tmp_path_factory):
    root = tmp_path_factory.mktemp("grey")
    _write(root / "images", root / "masks")
    return ["--data", str(root / "images"), "--masks", str(root / "masks")]


@pytest.fixture(scope="module")
def colour(tmp_path_factory):
    root = tmp_path_factory.mktemp("colour")
    _write(root / "images", root / "masks", colour=True)
    return ["--data", str(root / "images"), "--masks", str(root / "masks")]


@pytest.fixture(scope="module")
def empty(tmp_path_factory):
    root = tmp_path_factory.mktemp("empty")
    _write(root / "images", root / "masks", empty=2)
    return ["--data", str(root / "images"), "--masks", str(root / "masks")]


def _folder(args):
    return load_folder(args[1], masks=args[3])


def test_compare_gives_the_features_and_the_cnn_the_same_variant(grey, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "compare",
            *grey,
            *("--models", "logreg,cnn", "--features", "intensity", "--folds", "2"),
            *("--crop", "--mask-out", "--size", "32", *CNN, "--out", str(out)),
        ],
    )
    assert result.exit_code == 0, result.output
    res = ComparisonResult.from_json(out / "results.json")
    features = res.settings["features"]
    assert (features["size"], features["crop"], features["mask_out"]) == (
        32,
        True,
        True,
    )
    assert features["margin"] == 0.1
    cnn = res.model_info["cnn"]["params"]
    assert (cnn["input_size"], cnn["crop"], cnn["mask_out"]) == (32, True, True)
    # --channels not given: the CNN takes the images' own channels.
    assert cnn["channels"] is None
    assert "cropped to the object" in res.model_info["cnn"]["description"]
    assert "--crop --mask-out --size 32" in res.command
    assert res.errors().empty


def test_a_given_channel_policy_reaches_the_cnn(colour, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "compare",
            *colour,
            *("--models", "cnn", "--channels", "hsv", "--folds", "2"),
            *("--cnn-size", "16", *CNN, "--out", str(out)),
        ],
    )
    assert result.exit_code == 0, result.output
    res = ComparisonResult.from_json(out / "results.json")
    assert res.model_info["cnn"]["params"]["channels"] == "hsv"
    assert res.errors().empty


def test_extract_prepares_the_images(grey, tmp_path):
    out = tmp_path / "f.parquet"
    args = ["--crop", "--margin", "0.3", "--mask-out", "--size", "24"]
    result = runner.invoke(
        app, ["extract", *grey, "--features", "intensity", *args, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out)
    ds = _folder(grey)
    fx = FeatureExtractor(["intensity"], crop=True, margin=0.3, mask_out=True, size=24)
    with pytest.warns(FeatureWarning, match="background has a single intensity"):
        expected = fx.fit(ds.X).extract(ds.X)
    np.testing.assert_array_equal(
        table[expected.columns[1:]].to_numpy(), expected.iloc[:, 1:].to_numpy()
    )
    plain = FeatureExtractor(["intensity"]).fit(ds.X).transform(ds.X)
    assert not np.allclose(plain, expected.iloc[:, 1:].to_numpy(), equal_nan=True)


def test_a_feature_model_keeps_its_variant_from_train_to_predict(grey, tmp_path):
    model = tmp_path / "m.skops"
    result = runner.invoke(
        app,
        [
            "train",
            *grey,
            *("--model", "logreg", "--features", "intensity"),
            *("--crop", "--margin", "0.2", "--size", "24", "--out", str(model)),
        ],
    )
    assert result.exit_code == 0, result.output
    pipe, _ = load_model(model)
    params = pipe.get_params()
    assert (params["features__crop"], params["features__margin"]) == (True, 0.2)
    assert (params["features__size"], params["features__mask_out"]) == (24, False)
    out = tmp_path / "pred.csv"
    result = runner.invoke(
        app, ["predict", str(model), "--data", grey[1], "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "fitted on the table's own object masks" in result.output
    images = load_images(grey[1])
    with pytest.warns(DataWarning, match="fitted on the table's own object masks"):
        expected = pipe.predict_proba(images.X)
    got = pd.read_csv(out).filter(like="p_").to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_a_cnn_keeps_its_variant_from_train_to_predict(colour, tmp_path):
    model = tmp_path / "m.pt"
    result = runner.invoke(
        app,
        [
            "train",
            *colour,
            *("--model", "cnn", "--channels", "gray", "--crop", "--mask-out"),
            *("--size", "24", "--cnn-size", "16", *CNN, "--out", str(model)),
        ],
    )
    assert result.exit_code == 0, result.output
    payload = torch.load(model, weights_only=True)
    assert payload["version"] == 6
    params = payload["params"]
    assert (params["input_size"], params["channels"]) == (16, "gray")
    assert (params["crop"], params["mask_out"]) == (True, True)
    assert payload["fitted"]["n_channels"] == 1
    out = tmp_path / "pred.csv"
    # No mask at prediction: the automatic mask stands in, as for the features,
    # and the user is told that the model was fitted on the given masks.
    result = runner.invoke(
        app, ["predict", str(model), "--data", colour[1], "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "fitted on the table's own object masks" in result.output
    cnn, _ = load_model(model)
    with pytest.warns(DataWarning, match="fitted on the table's own object masks"):
        expected = cnn.predict_proba(load_images(colour[1]).X)
    got = pd.read_csv(out).filter(like="p_").to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_size_is_the_cnn_input_size_unless_cnn_size_is_given(grey, tmp_path):
    model = tmp_path / "m.pt"
    args = ["train", *grey, "--model", "cnn", "--size", "20", *CNN]
    result = runner.invoke(app, [*args, "--out", str(model)])
    assert result.exit_code == 0, result.output
    assert torch.load(model, weights_only=True)["params"]["input_size"] == 20


def test_train_takes_every_cnn_option_of_compare():
    commands = typer.main.get_command(app).commands

    def options(name):
        return {
            opt
            for p in commands[name].params
            for opt in p.opts
            if opt.startswith("--cnn-")
        }

    assert options("compare") <= options("train")
    assert {"--cnn-epochs", "--cnn-size", "--cnn-module", "--cnn-weights"} <= (
        options("train")
    )
    for name in ("compare", "extract", "train"):
        given = {opt for p in commands[name].params for opt in p.opts}
        assert {"--crop", "--margin", "--mask-out", "--size"} <= given


@pytest.mark.parametrize("command", ["compare", "extract", "train"])
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--crop", "--margin", "-0.5"],
            "featcls: error: --margin must be 0 or more (a fraction of the object's "
            "box added on each side, e.g. 0.1). Got -0.5.\n",
        ),
        (
            ["--margin", "0.2"],
            "featcls: error: --margin is the margin of --crop; give --crop too "
            "(without it the image is not cropped and a margin has no effect).\n",
        ),
        (["--size", "0"], "featcls: error: --size must be 1 or more"),
    ],
)
def test_bad_input_options_stop_with_one_line(command, args, message, tmp_path):
    out = tmp_path / {"compare": "out", "extract": "f.csv", "train": "m.pt"}[command]
    result = runner.invoke(app, [command, *args, "--out", str(out)])
    assert result.exit_code == 1
    assert result.output.startswith(message) and result.output.count("\n") == 1


def test_a_size_below_the_cnn_minimum_names_cnn_size(tmp_path):
    result = runner.invoke(
        app, ["train", "--model", "cnn", "--size", "4", "--out", str(tmp_path / "m.pt")]
    )
    assert result.exit_code == 1
    assert result.output == (
        "featcls: error: --size 4 is also the input size of cnn, which must be 8 or "
        "more; give --cnn-size 8 (or more) for the CNN and fusion models.\n"
    )
    # Without a CNN --size 4 is the features' business.
    out = tmp_path / "f.csv"
    result = runner.invoke(
        app,
        ["extract", "--n-samples", "4", "--features", "shape", "--size", "4"]
        + ["--out", str(out)],
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("policy", ["rgb", "hsv"])
def test_a_colour_policy_of_grey_images_with_a_cnn_names_the_fix(
    grey, policy, tmp_path
):
    result = runner.invoke(
        app,
        [
            "compare",
            *grey,
            *("--models", "cnn", "--channels", policy, *CNN),
            *("--out", str(tmp_path / "out")),
        ],
    )
    assert result.exit_code == 1
    line = result.output.strip().splitlines()[-1]
    assert line.startswith(f"featcls: error: --channels {policy} applies to cnn as to ")
    assert line.endswith(
        f"--channels {policy} needs an RGB or RGBA image, got a grey image of shape "
        "(32, 32). Use --channels gray or --channels channels."
    )
    result = runner.invoke(
        app,
        [
            "train",
            *grey,
            *("--model", "cnn", "--channels", policy, *CNN),
            *("--out", str(tmp_path / "m.pt")),
        ],
    )
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "a/0.png': --channels " in result.output
    assert "Use --channels gray or --channels channels." in result.output


def test_empty_masks_are_one_line_not_one_per_image(empty, tmp_path):
    result = runner.invoke(
        app,
        [
            "train",
            *empty,
            *("--model", "cnn", "--crop", "--cnn-size", "16", *CNN),
            *("--out", str(tmp_path / "m.pt")),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.output.splitlines() if "empty object mask" in ln]
    assert lines == [
        "featcls: warning: CNNClassifier: 2 of 12 images have an empty object mask: "
        "there is nothing to crop to, so the whole image is kept; check the masks "
        "(or drop the mask column to let featcls segment the objects)."
    ]
    result = runner.invoke(
        app,
        [
            "extract",
            *empty,
            *("--features", "intensity", "--crop"),
            *("--out", str(tmp_path / "f.csv")),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.output.splitlines() if "mask is empty" in ln]
    assert "prepare_image" not in result.output
    assert len(lines) == 1 and lines[0].startswith(
        "featcls: warning: 2 sample(s): the object mask is empty"
    )


def test_a_config_file_sets_the_variant_and_is_checked_the_same(tmp_path):
    config = tmp_path / "compare.toml"
    config.write_text("[compare]\nmargin = 0.2\n")
    out = str(tmp_path / "out")
    result = runner.invoke(app, ["compare", "--config", str(config), "--out", out])
    assert result.exit_code == 1
    assert result.output.startswith("featcls: error: --margin is the margin of --crop")
