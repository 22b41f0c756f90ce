"""experiments/elpv/compact_reports.py: images recompressed and sampled, nothing else.

The committed ELPV reports were shrunk with it; these tests pin that it changes the
images only (every prediction, score and table stays), keeps the old files readable
and is idempotent.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from featcls.evaluation import ComparisonResult
from featcls.report import write_outputs
from featcls.report._explain import EXPLAINED_FOLDS
from tests._scripts import load_script
from tests.report.conftest import make_result

pytest.importorskip("torch")  # the script re-encodes with the CNN's own encoder


@pytest.fixture(scope="module")
def script():
    return load_script("experiments/elpv/compact_reports.py", "compact_reports")


def _png(seed: int, channels: int = 1) -> str:
    """A 64-pixel PNG data URI of smooth noise, as old reports stored them."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (64, 64, channels), dtype=np.uint8)
    image = cv2.GaussianBlur(image, (0, 0), 2)
    ok, data = cv2.imencode(".png", image)
    return "data:image/png;base64," + base64.b64encode(data.tobytes()).decode()


def _old_extras(n_folds: int, y: list[str]) -> list[dict]:
    """Per fold, two explained images per class; the Grad-CAM overlay twice."""
    folds = []
    for f in range(n_folds):
        saliency, gradcam = [], []
        for c, label in enumerate(sorted(set(y))):
            for k in range(2):
                seed = 100 * f + 10 * c + k
                item = {"index": seed % len(y), "true": label, "pred": label}
                heat = _png(seed + 1, 3)
                saliency.append(
                    {
                        **item,
                        "image": _png(seed, 3),
                        "input": _png(seed + 2, 3),
                        "gradcam": heat,
                    }
                )
                gradcam.append({**item, "image": heat})
        folds.append(
            {
                "repeat": 0,
                "fold": f,
                "history": [{"epoch": 1, "train_loss": 0.5}],
                "saliency": saliency,
                "gradcam": gradcam,
                "best_epoch": 1,
            }
        )
    return folds


@pytest.fixture()
def old(tmp_path) -> Path:
    """An old-style report folder: PNG thumbnails and explanations."""
    result = make_result(cv=5, n=30)
    result.dataset["thumbnails"] = {
        k: _png(int(k)) for k in result.dataset["thumbnails"]
    }
    result.extras = {"good": _old_extras(5, result.y)}
    write_outputs(result, tmp_path)
    return tmp_path


def test_compact_recompresses_and_samples_images_only(script, old):
    before = json.loads((old / "results.json").read_text())
    after = script.compact(before)
    assert script.without_images(after) == script.without_images(before)
    assert script._check(before, after) == []
    thumbs = after["dataset"]["thumbnails"]
    assert set(thumbs) == set(before["dataset"]["thumbnails"])
    assert all(t.startswith("data:image/webp;base64,") for t in thumbs.values())
    folds = after["extras"]["good"]
    for f, fold in enumerate(folds):
        for key in ("saliency", "gradcam"):
            if f >= EXPLAINED_FOLDS:
                assert fold[key] == []
                continue
            labels = [item["true"] for item in fold[key]]
            assert labels == sorted(set(labels))  # one per class
            assert all(i["image"].startswith("data:image/webp") for i in fold[key])
        if f < EXPLAINED_FOLDS:
            assert all("gradcam" not in item for item in fold["saliency"])
    assert len(json.dumps(after)) < len(json.dumps(before)) / 3
    assert script.compact(after) == after  # a second run changes nothing


def test_main_rewrites_results_and_report_but_no_number(script, old, capsys):
    csvs = {p.name: p.read_bytes() for p in old.glob("*.csv")}
    size = (old / "results.json").stat().st_size
    assert script.main([str(old / "results.json")]) == 0
    assert "fold_scores.csv identical, leaderboard.csv identical" in (
        capsys.readouterr().out
    )
    assert {p.name: p.read_bytes() for p in old.glob("*.csv")} == csvs
    assert (old / "results.json").stat().st_size < size / 3
    html = (old / "report.html").read_text(encoding="utf-8")
    assert "data:image/webp;base64," in html
    ComparisonResult.from_json(old / "results.json")
    written = (old / "results.json").read_bytes()
    assert script.main([str(old / "results.json")]) == 0
    assert "already compact" in capsys.readouterr().out
    assert (old / "results.json").read_bytes() == written
