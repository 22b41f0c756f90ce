"""featcls train --label-sep and featcls predict: a multi-label model end to end."""

import io
import json
import zipfile

import cv2
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from featcls.cli import app
from featcls.data import make_synthetic
from featcls.models import PerLabelClassifier, load_model

runner = CliRunner()
FEATURES = ["--features", "shape,intensity"]


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    """60 images; label 0 = unilamellar, 1 = multilamellar, 2 = a coin flip."""
    root = tmp_path_factory.mktemp("multilabel_train")
    data = make_synthetic(60, image_size=40, random_state=0)
    rng = np.random.default_rng(0)
    rows = []
    for i, (image, label) in enumerate(zip(data.X["image"], data.y, strict=True)):
        cv2.imwrite(str(root / f"{i}.png"), image)
        labels = {"unilamellar": ["0"], "multilamellar": ["1"]}.get(label, [])
        if rng.random() < 0.4:
            labels.append("2")
        rows.append({"image": f"{i}.png", "label": " ".join(labels)})
    pd.DataFrame(rows).to_csv(root / "m.csv", index=False)
    return root / "m.csv"


@pytest.fixture(scope="module")
def trained(manifest):
    """``train --label-sep ' ' --model svm``: the model file and the output."""
    out = manifest.parent / "model.skops"
    args = ["train", "--manifest", str(manifest), "--label-sep", " "]
    result = runner.invoke(app, [*args, "--model", "svm", *FEATURES, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_train_fits_one_model_per_label_and_skips_the_confidence_threshold(trained):
    out, output = trained
    assert "(3 labels)" in output
    # --threshold-folds (default 5 for feature models) does not apply: a note.
    assert "no confidence threshold" in output and "multi-label" in output
    pipe, meta = load_model(out)
    assert isinstance(pipe.steps[-1][1], PerLabelClassifier)
    assert meta["multilabel"] is True and meta["labels"] == ["0", "1", "2"]
    assert "confidence" not in meta
    assert len(pipe.steps[-1][1].estimators_) == 3


def test_predict_writes_the_labels_and_one_probability_per_label(
    manifest, trained, tmp_path
):
    out, _ = trained
    csv = tmp_path / "p.csv"
    result = runner.invoke(
        app, ["predict", str(out), "--manifest", str(manifest), "--out", str(csv)]
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(csv, dtype={"labels": str}, keep_default_na=False)
    assert list(table.columns) == ["path", "labels", "p_0", "p_1", "p_2"]
    assert table["path"].tolist() == [f"{i}.png" for i in range(60)]
    proba = table[["p_0", "p_1", "p_2"]].to_numpy()
    assert np.all((proba >= 0) & (proba <= 1))
    predicted = [set(cell.split()) for cell in table["labels"]]
    assert all(s <= {"0", "1", "2"} for s in predicted)
    # Labels 0 and 1 follow the image class: recovered on (most of) the
    # training images; the labels written are those the model decides.
    truth = pd.read_csv(manifest, dtype=str, keep_default_na=False)["label"]
    for label in ("0", "1"):
        expected = np.array([label in cell.split() for cell in truth])
        got = np.array([label in s for s in predicted])
        assert (expected == got).mean() > 0.8
    pipe, _ = load_model(out)
    data = pd.DataFrame({"image": [str(manifest.parent / p) for p in table["path"]]})
    np.testing.assert_array_equal(
        pipe.predict(data), [[str(j) in s for j in range(3)] for s in predicted]
    )


def test_tiles_need_a_single_label_model(manifest, trained, tmp_path):
    out, _ = trained
    args = ["predict", str(out), "--data", str(manifest.parent), "--tile", "16"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "t.csv")])
    assert result.exit_code == 1
    assert "--tile classifies windows with a single-label model" in result.output
    assert "Traceback" not in result.output


def test_a_cnn_that_does_not_take_label_matrices_stops_with_one_line(
    manifest, tmp_path, monkeypatch
):
    from featcls.models import CNNClassifier

    monkeypatch.setattr(CNNClassifier, "featcls_multilabel", False, raising=False)
    args = ["train", "--manifest", str(manifest), "--label-sep", " ", "--model"]
    args += ["cnn", "--cnn-epochs", "1", "--cnn-size", "16"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "cnn.pt")])
    assert result.exit_code == 1
    assert "--model cnn does not take multi-label targets" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "cnn.pt").exists()


def _tampered(source, target, module: str, name: str) -> None:
    """``source`` with its PerLabelClassifier node renamed to ``module.name``."""
    with zipfile.ZipFile(source) as archive:
        files = {n: archive.read(n) for n in archive.namelist()}
    schema = json.loads(files["schema.json"])
    found = []

    def rename(node):
        if isinstance(node, dict):
            if node.get("__class__") == "PerLabelClassifier":
                node["__module__"], node["__class__"] = module, name
                found.append(node)
            for value in node.values():
                rename(value)
        elif isinstance(node, list):
            for value in node:
                rename(value)

    rename(schema)
    assert found, "the model file holds no PerLabelClassifier node"
    files["schema.json"] = json.dumps(schema).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n, data in files.items():
            archive.writestr(n, data)
    target.write_bytes(buffer.getvalue())


@pytest.mark.parametrize(
    "module, name",
    [
        ("os", "system"),
        # A look-alike of a trusted name: trusted only as a whole.
        ("featcls.models._multilabel_evil", "PerLabelClassifier"),
    ],
)
def test_a_tampered_multilabel_model_file_is_refused(
    manifest, trained, tmp_path, module, name
):
    out, _ = trained
    evil = tmp_path / "evil.skops"
    _tampered(out, evil, module, name)
    args = ["predict", str(evil), "--manifest", str(manifest)]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "p.csv")])
    assert result.exit_code == 1
    assert f"does not trust: {module}.{name}" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "p.csv").exists()


def test_a_multilabel_model_saved_from_python_is_recognised(
    manifest, trained, tmp_path
):
    """No metadata in the file: the PerLabelClassifier step says it is multi-label."""
    from featcls.models import save_model

    out, _ = trained
    pipe, _ = load_model(out)
    bare = save_model(pipe, tmp_path / "bare.skops")
    csv = tmp_path / "p.csv"
    args = ["predict", str(bare), "--manifest", str(manifest), "--out", str(csv)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert list(pd.read_csv(csv).columns) == ["path", "labels", "p_0", "p_1", "p_2"]
