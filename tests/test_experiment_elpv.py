"""experiments/elpv/run.py: the paper split, the quick subset and the tables.

The benchmark itself takes far too long for the test suite; these tests pin the parts
whose mistakes would silently change its numbers (split sizes and strata, the subset,
the pooled scores behind the ablation tables).
"""

import numpy as np
import pandas as pd
import pytest

from featcls.data import Dataset
from featcls.evaluation import ComparisonResult, FoldRecord
from tests._scripts import load_script


@pytest.fixture(scope="module")
def run():
    return load_script("experiments/elpv/run.py", "elpv_run")


def fake_elpv(n_per_stratum: int = 8) -> Dataset:
    """Metadata like ELPV's (probability × cell type), constant images."""
    rows = []
    for p in (0.0, 1 / 3, 2 / 3, 1.0):
        for cell in ("mono", "poly"):
            rows += [{"probability": p, "cell_type": cell}] * n_per_stratum
    X = pd.DataFrame(rows)
    X.insert(0, "image", [np.zeros((4, 4), np.uint8)] * len(X))
    y = np.where(X["probability"] >= 0.5, "defective", "functional")
    return Dataset(X=X, y=y, name="elpv")


def test_paper_split_is_75_25_and_stratified_on_probability_and_cell_type(run):
    data = fake_elpv(8)
    train, test = run.paper_split(data, seed=0)
    assert len(train) == 48 and len(test) == 16
    assert not set(train) & set(test)
    strata = run._strata(data)
    for stratum in np.unique(strata):
        assert (strata[test] == stratum).sum() == 2


def test_paper_split_of_the_real_set_is_1968_656(run):
    pytest.importorskip("elpv_dataset")
    from featcls import load_builtin

    train, test = run.paper_split(load_builtin("elpv"), seed=0)
    assert (len(train), len(test)) == (1968, 656)


def test_quick_subset_keeps_every_stratum(run):
    data = fake_elpv(10)
    sub = run.quick_subset(data, 40, seed=0)
    assert len(sub) == 40
    assert pd.Series(run._strata(sub)).value_counts().tolist() == [5] * 8


def test_pooled_scores_use_only_the_predicted_samples_and_the_mask(run):
    y = ["a", "a", "b", "b", "a", "b"]
    records = [
        FoldRecord("m", 0, 0, [0, 1, 2], y_pred=["a", "b", "b"]),
        FoldRecord("m", 0, 1, [3, 4], y_pred=["b", "a"]),  # sample 5: no prediction
    ]
    result = ComparisonResult(
        classes=["a", "b"],
        y=y,
        sample_ids=[str(i) for i in range(6)],
        folds=[],
        models=["m"],
        records=records,
    )
    s = run.scores_of(result, "m")
    assert s["n"] == 5 and s["accuracy"] == pytest.approx(4 / 5)
    mask = np.array([True, True, False, False, False, False])
    s = run.scores_of(result, "m", mask)
    assert s["n"] == 2 and s["accuracy"] == pytest.approx(0.5)
    table = run.paper_table(result, n_train=10)
    published = table[table["model"].str.startswith("published")]
    assert published["accuracy"].tolist() == [0.8244, 0.8842]


def test_published_binary_accuracies_stay_off_the_4_class_table(run):
    y = ["p0", "p1", "p2", "p3"]
    result = ComparisonResult(
        classes=y,
        y=y,
        sample_ids=y,
        folds=[],
        models=["m"],
        records=[FoldRecord("m", 0, 0, [0, 1, 2, 3], y_pred=y)],
    )
    table = run.paper_table(result, n_train=12)
    assert table["model"].tolist() == ["m"]
    assert table["accuracy"].tolist() == [1.0]
    assert "defective vs functional only" in run.paper_note(([0] * 12, y), 0, 4)


def test_cnn_patience_zero_turns_early_stopping_off(run):
    params = run.cnn_params(run.parse_args(["--cnn-patience", "0"]))
    assert params["early_stopping"] is False and params["patience"] == 1
    params = run.cnn_params(run.parse_args([]))
    assert params["early_stopping"] is True and params["patience"] == 8
    assert params["input_size"] == 64 and params["max_epochs"] == 30


def test_cnn_seeds_script_parses_its_settings():
    module = load_script("experiments/elpv/cnn_seeds.py", "elpv_seeds")
    args = module.parse_args(["--seeds", "3,5", "--epochs", "7", "--patience", "0"])
    assert args.seeds == [3, 5] and args.epochs == 7 and args.patience == 0
    assert args.target == "defective" and args.size == 64


def test_split_scores_fit_on_train_and_score_the_test_part(run):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 60, size=(24, 16, 16), dtype=np.uint8)
    y = np.array(["dark", "bright"] * 12)
    images[y == "bright"] += 150
    data = Dataset(X=pd.DataFrame({"image": list(images)}), y=y, name="toy")
    split = (np.arange(16), np.arange(16, 24))
    args = run.parse_args(
        ["--cnn-epochs", "3", "--cnn-size", "16", "--cnn-patience", "0"]
    )
    row = run.split_scores(data, split, "cnn-lipnet", 0, run.cnn_params(args))
    assert set(row) == {"f1_macro", "accuracy", "epochs", "seconds"}
    assert row["epochs"] == 3 and row["seconds"] > 0
    assert row["accuracy"] == 1.0  # brightness separates the classes


def test_the_full_run_has_learning_curves_and_the_summary_tables_them(run):
    assert run.parse_args([]).train_sizes == "0.25,0.5"
    assert run.parse_args(["--quick"]).train_sizes == "0.5"
    assert run.parse_args(["--train-sizes", "none"]).train_sizes is None
    summary = {
        "command": "python experiments/elpv/run.py",
        "hardware": "a CPU",
        "wall_s": 60.0,
        "targets": [
            {
                "target": "defective",
                "n_cells": 100,
                "wall_s": 60.0,
                "cv": {"svm": {"f1_macro": 0.81, "accuracy": 0.84}},
                "holdout": {"svm": {"f1_macro": 0.8, "accuracy": 0.83}},
                "curves": {
                    "train_images": {"0.5": 40, "1": 80},
                    "f1_macro": {"svm": {"0.5": 0.7, "1": 0.81}},
                },
                "verdict": "The best feature model, svm, scores 0.810.",
            }
        ],
    }
    text = run.markdown(summary)
    assert "**defective** — The best feature model, svm, scores 0.810." in text
    assert "| training images (fold mean) | 40 | 80 |" in text
    assert "| svm | 0.700 | 0.810 |" in text
