"""featcls predict --manifest: classify rows of a CSV, one file per channel or not."""

import cv2
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from featcls.cli import app
from featcls.data import load_manifest
from featcls.models import load_model
from tests._atlas import ATLAS, STAINS, write_atlas

runner = CliRunner()
CHANNELS = ["--image-col", "Id", "--channel-files", ATLAS["channel_files"]]
CHANNELS += ["--channel-names", ",".join(STAINS)]


@pytest.fixture(scope="module")
def atlas(tmp_path_factory):
    """A four-stain atlas and a model trained on it (its green channel)."""
    root = tmp_path_factory.mktemp("predict_manifest")
    csv = write_atlas(root, n=8)
    model = root / "green.skops"
    args = ["train", "--manifest", str(csv), *CHANNELS, "--model", "logreg"]
    args += ["--features", "shape,intensity", "--channels", "green"]
    result = runner.invoke(app, [*args, "--threshold-folds", "0", "--out", str(model)])
    assert result.exit_code == 0, result.output
    return csv, model


def _predict(model, *args):
    return runner.invoke(app, ["predict", str(model), *args])


# The tiny atlas' flat stains leave some intensity features undefined (NaN).
@pytest.mark.filterwarnings("ignore::featcls.exceptions.FeatureWarning")
def test_predict_classifies_samples_of_one_file_per_channel(atlas, tmp_path):
    csv, model = atlas
    out = tmp_path / "p.csv"
    result = _predict(model, "--manifest", str(csv), *CHANNELS, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "8 images classified" in result.output
    table = pd.read_csv(out)
    assert list(table.columns) == ["path", "prediction", "p_a", "p_b"]
    # Each sample as its channel files, relative to the manifest's folder.
    assert table["path"].tolist() == [
        f"train/s{i}_{{red,green,blue,yellow}}.png" for i in range(8)
    ]
    # The model trained on the green channel picks it out of the four.
    pipe, _ = load_model(model)
    data = load_manifest(csv, **{**ATLAS, "label_col": None})
    np.testing.assert_array_equal(table["prediction"], pipe.predict(data.X))
    np.testing.assert_allclose(
        table[["p_a", "p_b"]].to_numpy(), pipe.predict_proba(data.X)
    )


def test_a_missing_channel_file_is_a_bad_input(atlas, tmp_path):
    csv, model = atlas
    root = tmp_path / "copy"
    copy = write_atlas(root, n=8)
    (root / "train" / "s3_yellow.png").unlink()
    out = tmp_path / "p.csv"
    args = ["--manifest", str(copy), *CHANNELS, "--out", str(out)]
    result = _predict(model, *args)
    assert result.exit_code == 1
    assert "s3_yellow.png" in result.output and "Traceback" not in result.output
    assert not out.exists()
    result = _predict(model, *args, "--on-error", "skip")
    assert result.exit_code == 0, result.output
    assert "1 file(s) skipped" in result.output
    paths = pd.read_csv(out)["path"].tolist()
    assert len(paths) == 7 and not any(p.startswith("train/s3_") for p in paths)


def test_predict_reads_a_manifest_of_one_file_per_row(tmp_path):
    from featcls.data import make_synthetic

    data = make_synthetic(30, image_size=32, random_state=0)
    (tmp_path / "img").mkdir()
    rows = []
    for i, (image, label) in enumerate(zip(data.X["image"], data.y, strict=True)):
        cv2.imwrite(str(tmp_path / "img" / f"{i}.png"), image)
        rows.append({"file": f"img/{i}.png", "label": label})
    csv = tmp_path / "m.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    model = tmp_path / "m.skops"
    args = ["train", "--manifest", str(csv), "--image-col", "file"]
    args += ["--model", "logreg", "--features", "shape", "--threshold-folds", "0"]
    assert runner.invoke(app, [*args, "--out", str(model)]).exit_code == 0
    # An unlabelled manifest (no label column) with the image column named.
    unlabelled = tmp_path / "new.csv"
    pd.DataFrame({"file": [r["file"] for r in rows[:5]]}).to_csv(
        unlabelled, index=False
    )
    out = tmp_path / "p.csv"
    result = _predict(
        model, "--manifest", str(unlabelled), "--image-col", "file", "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert table["path"].tolist() == [f"img/{i}.png" for i in range(5)]
    assert set(table["prediction"]) <= set(data.classes)
    # --data keeps working on the same images: the same predictions.
    folder_out = tmp_path / "f.csv"
    result = _predict(model, "--data", str(tmp_path / "img"), "-o", str(folder_out))
    assert result.exit_code == 0, result.output
    by_folder = pd.read_csv(folder_out).set_index("path")["prediction"]
    expected = by_folder.reindex([f"{i}.png" for i in range(5)]).tolist()
    assert table["prediction"].tolist() == expected


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "give the images: --data DIR"),
        (["--data", "DIR", "--manifest", "CSV"], "give one dataset, not --data and"),
        (["--data", "DIR", "--channel-files", "x_{channel}.png"], "give --manifest"),
        (["--manifest", "CSV", "--masks", "DIR"], "--masks goes with --data"),
        (["--data", "DIR", "--mask-col", "mask"], "--mask-col names a column"),
        (
            ["--manifest", "CSV", "--channel-files", "x_{channel}.png"],
            "needs --channel-names",
        ),
    ],
)
def test_conflicting_inputs_stop_with_one_line(atlas, tmp_path, args, message):
    csv, model = atlas
    args = [
        {"DIR": str(tmp_path), "CSV": str(csv)}.get(a, a) for a in args
    ]  # real paths
    result = _predict(model, *args, "--out", str(tmp_path / "p.csv"))
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
