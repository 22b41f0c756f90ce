"""featcls compare --label-sep: a multi-label manifest end to end."""

import cv2
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from featcls.cli import app
from featcls.data import make_synthetic
from featcls.evaluation import ComparisonResult

runner = CliRunner()


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    root = tmp_path_factory.mktemp("multilabel")
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


def _compare(manifest, tmp_path, *extra):
    args = ["compare", "--manifest", str(manifest), "--models", "logreg"]
    args += ["--features", "shape,intensity", "--folds", "3"]
    return runner.invoke(app, [*args, "--out", str(tmp_path / "out"), *extra])


def test_compare_a_multilabel_manifest(manifest, tmp_path):
    result = _compare(manifest, tmp_path, "--label-sep", " ")
    assert result.exit_code == 0, result.output
    assert "3 labels (multi-label)" in result.output
    res = ComparisonResult.from_json(tmp_path / "out" / "results.json")
    assert res.multilabel and res.classes == ["0", "1", "2"]
    assert len(res.records[0].params["label_thresholds"]) == 3
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Label cardinality" in html


def test_multilabel_bad_inputs_stop_with_one_line(manifest, tmp_path):
    # Without --label-sep the label lists are refused, with the fix (the empty
    # cells, samples without a label, are bad rows of a single-label manifest).
    result = _compare(manifest, tmp_path, "--on-error", "skip")
    assert result.exit_code == 1
    assert "--label-sep ' '" in result.output
    result = _compare(manifest, tmp_path, "--label-sep", " ", "--label-names", "0,1")
    assert result.exit_code == 1
    assert "Unknown label(s) ['2']" in result.output
    result = _compare(manifest, tmp_path, "--label-names", "0,1")
    assert result.exit_code == 1
    assert "--label-names needs --label-sep" in result.output
    result = _compare(manifest, tmp_path, "--label-sep", " ", "--train-sizes", "0.5,1")
    assert result.exit_code == 1
    assert "train_sizes is for single-label" in result.output
    assert "Traceback" not in result.output


def test_a_threshold_rule_applies_per_label(manifest, tmp_path):
    result = _compare(manifest, tmp_path, "--label-sep", " ", "--threshold", "youden")
    assert result.exit_code == 0, result.output
    assert "thresholds: youden, chosen per label inside each training fold" in (
        result.output
    )
    res = ComparisonResult.from_json(tmp_path / "out" / "results.json")
    assert res.settings["threshold"] == "youden"
    html = (tmp_path / "out" / "report.html").read_text()
    assert "could not be rendered" not in html
