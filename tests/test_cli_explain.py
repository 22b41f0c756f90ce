"""featcls explain: one overlay per image and an index, for saved CNN models."""

import cv2
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from featcls.cli import app
from featcls.models import CNNClassifier, explain, load_model, save_model

runner = CliRunner()
SIZE = 16


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A saved 1-epoch CNN and a folder of its images (one in a sub-folder)."""
    root = tmp_path_factory.mktemp("explain")
    rng = np.random.default_rng(0)
    X = rng.integers(0, 100, size=(10, 20, 20), dtype=np.uint8)
    X[5:] += 120
    y = np.array(["dark"] * 5 + ["bright"] * 5)
    (root / "images" / "sub").mkdir(parents=True)
    for i, image in enumerate(X):
        folder = root / "images" / ("sub" if i == 0 else "")
        cv2.imwrite(str(folder / f"{i}.png"), image)
    cnn = CNNClassifier(input_size=SIZE, max_epochs=1, early_stopping=False)
    save_model(cnn.fit(X, y), root / "cnn.pt", metadata={"model": "cnn"})
    return root


def _explain(root, out, *args):
    return runner.invoke(
        app, ["explain", str(root / "cnn.pt"), "--out", str(out), *args]
    )


def test_explain_writes_one_overlay_per_image_and_an_index(trained, tmp_path):
    out = tmp_path / "out"
    result = _explain(trained, out, "--data", str(trained / "images"))
    assert result.exit_code == 0, result.output
    assert "10 images explained (gradcam) with cnn" in result.output
    index = pd.read_csv(out / "explanations.csv")
    assert list(index.columns) == ["path", "prediction", "probability", "overlay"]
    assert sorted(index["path"]) == sorted(
        ["sub/0.png", *(f"{i}.png" for i in range(1, 10))]
    )
    row = index.set_index("path").loc["sub/0.png"]
    assert row["overlay"] == "sub/0_gradcam.png"
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert written == sorted(index["overlay"])
    # The overlays are those of featcls.explain (RGB there, PNG's BGR here).
    model, _ = load_model(trained / "cnn.pt")
    paths = [str(trained / "images" / p) for p in index["path"]]
    expected = explain(model, paths)
    for name, e in zip(index["overlay"], expected, strict=True):
        image = cv2.imread(str(out / name), cv2.IMREAD_COLOR)
        np.testing.assert_array_equal(image[:, :, ::-1], e.overlay)
    assert index["prediction"].tolist() == [e.prediction for e in expected]
    np.testing.assert_allclose(index["probability"], [e.probability for e in expected])
    assert not list(out.rglob("*.tmp*"))  # written atomically


def test_saliency_is_the_other_method(trained, tmp_path):
    args = ["--data", str(trained / "images"), "--method", "saliency"]
    result = _explain(trained, tmp_path / "s", *args)
    assert result.exit_code == 0, result.output
    index = pd.read_csv(tmp_path / "s" / "explanations.csv")
    assert all(name.endswith("_saliency.png") for name in index["overlay"])
    gradcam = _explain(trained, tmp_path / "g", "--data", str(trained / "images"))
    assert gradcam.exit_code == 0
    one = cv2.imread(str(tmp_path / "s" / "1_saliency.png"))
    other = cv2.imread(str(tmp_path / "g" / "1_gradcam.png"))
    assert not np.array_equal(one, other)


def test_bad_images_follow_on_error(trained, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    cv2.imwrite(str(images / "ok.png"), np.full((20, 20), 50, np.uint8))
    (images / "broken.png").write_bytes(b"not an image")
    out = tmp_path / "out"
    result = _explain(trained, out, "--data", str(images))
    assert result.exit_code == 1
    assert "broken.png" in result.output and "Traceback" not in result.output
    assert not (out / "explanations.csv").exists()
    result = _explain(trained, out, "--data", str(images), "--on-error", "skip")
    assert result.exit_code == 0, result.output
    assert "1 file(s) skipped" in result.output and "broken.png" in result.output
    assert pd.read_csv(out / "explanations.csv")["path"].tolist() == ["ok.png"]


def test_a_manifest_names_the_images(trained, tmp_path):
    csv = tmp_path / "m.csv"
    folder = trained / "images"
    pd.DataFrame(
        {"file": [str(folder / "3.png"), str(folder / "sub" / "0.png")]}
    ).to_csv(csv, index=False)
    args = ["--manifest", str(csv), "--image-col", "file"]
    result = _explain(trained, tmp_path / "out", *args)
    assert result.exit_code == 0, result.output
    index = pd.read_csv(tmp_path / "out" / "explanations.csv")
    assert len(index) == 2 and (tmp_path / "out" / index["overlay"][0]).is_file()
    # Absolute paths in the manifest: the overlays still land inside --out.
    assert all(not name.startswith("/") for name in index["overlay"])


def test_a_feature_model_is_refused_with_one_line(trained, tmp_path):
    model = tmp_path / "m.skops"
    args = ["train", "--model", "logreg", "--n-samples", "20", "--image-size", "32"]
    args += ["--features", "shape", "--threshold-folds", "0", "--out", str(model)]
    assert runner.invoke(app, args).exit_code == 0
    result = runner.invoke(
        app,
        ["explain", str(model), "--data", str(trained / "images"), "-o", str(tmp_path)],
    )
    assert result.exit_code == 1
    assert "explain needs a model with gradients on the pixels" in result.output
    assert "CNNClassifier or FusionClassifier" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "explanations.csv").exists()


def test_out_must_be_a_folder(trained, tmp_path):
    out = tmp_path / "file.txt"
    out.write_text("x")
    result = _explain(trained, out, "--data", str(trained / "images"))
    assert result.exit_code == 1
    assert "is a file" in result.output
