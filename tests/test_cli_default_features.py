"""compare and train choose their default features from the data: the learned
codebook joins the default families when every class is large enough for the SVM
to weigh it inside each fit."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from featcls.cli import app
from featcls.cli._compare import _training_counts
from featcls.cli._options import class_counts, default_families
from featcls.data import make_synthetic, save_folder
from featcls.evaluation import ComparisonResult
from featcls.models import load_model
from featcls.models._svm import MIN_CLASS_FOR_ALPHA

runner = CliRunner()


def _settings(folds=5, holdout=None, drop_rare=False):
    return SimpleNamespace(folds=folds, holdout=holdout, drop_rare=drop_rare)


def _dataset(y, classes=None):
    y = np.asarray(y)
    if classes is None:
        classes = sorted(set(y.tolist()))
    return SimpleNamespace(targets=y, classes=classes, multilabel=y.ndim == 2)


def test_class_counts_of_labels_and_of_a_label_matrix():
    assert class_counts(["a", "b", "a"], ["a", "b"]) == {"a": 2, "b": 1}
    matrix = np.array([[1, 0], [1, 1], [1, 0], [0, 0]])
    # label x: 3 positives, 1 negative; label y: 1 positive, 3 negatives.
    assert class_counts(matrix, ["x", "y"]) == {"x": 1, "y": 1}


def test_training_counts_follow_the_folds_holdout_and_curve_sizes():
    ds = _dataset(["a"] * 50 + ["b"] * 41)
    # 5-fold CV: a class of n keeps n - ceil(n / 5) in each training part.
    assert _training_counts(ds, _settings(), 5, None) == {"a": 40, "b": 32}
    assert _training_counts(ds, _settings(folds=2), 2, None) == {"a": 25, "b": 20}
    # A 20 % hold-out keeps n - ceil(0.2 n).
    assert _training_counts(ds, _settings(holdout=0.2), None, None) == {
        "a": 40,
        "b": 32,
    }
    # The smallest learning-curve fraction scales the training parts.
    assert _training_counts(ds, _settings(), 5, [0.5, 1.0]) == {"a": 20, "b": 16}


def test_training_counts_of_predefined_folds_are_counted_in_each_part():
    ds = _dataset(["a"] * 6 + ["b"] * 4)
    folds = [
        (np.array([0, 1, 2, 6, 7]), np.array([3, 4, 5, 8, 9])),
        (np.array([0, 1, 2, 3, 4, 5, 8, 9]), np.array([6, 7])),
    ]
    assert _training_counts(ds, _settings(), folds, None) == {"a": 3, "b": 2}


def test_drop_rare_leaves_the_dropped_classes_uncounted():
    ds = _dataset(["a"] * 100 + ["rare"] * 3)
    counts = _training_counts(ds, _settings(drop_rare=True), 5, None)
    assert counts == {"a": 80}


def test_the_codebook_joins_only_when_every_class_is_large_enough():
    enough = {"a": MIN_CLASS_FOR_ALPHA, "b": 200}
    families, note = default_families(None, "svm,xgboost", enough)
    assert families == "default,vlad"
    assert "the learned codebook 'vlad'" in note and "--features default" in note
    few = {"a": 200, "rare": MIN_CLASS_FOR_ALPHA - 1}
    families, note = default_families(None, "svm", few)
    assert families is None
    assert f"'rare' keeps {MIN_CLASS_FOR_ALPHA - 1}" in note
    # The user's own choice is kept as it is, and said nothing about.
    assert default_families("shape,vlad", "svm", few) == ("shape,vlad", None)
    assert default_families("default", "svm", enough) == ("default", None)
    # No model reads the features: nothing to choose.
    assert default_families(None, "cnn,cnn-simple", enough) == (None, None)
    assert default_families(None, "fusion", enough)[0] == "default,vlad"


@pytest.fixture(scope="module")
def balanced(tmp_path_factory):
    """A folder of three classes of 60 small images each."""
    root = tmp_path_factory.mktemp("balanced") / "images"
    data = make_synthetic(
        180, image_size=32, weights=(1 / 3, 1 / 3, 1 / 3), random_state=4
    )
    save_folder(data, root)
    return root


def test_compare_adds_the_codebook_on_large_enough_classes(balanced, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "compare",
            "--data",
            str(balanced),
            "--models",
            "svm",
            "--folds",
            "3",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "the default families and the learned codebook 'vlad'" in result.output
    res = ComparisonResult.from_json(out / "results.json")
    assert "vlad" in str(res.settings["features"])
    # 40 training images per class: the SVM chose the codebook's weight each fit.
    for rec in res.records:
        assert rec.params["family_alpha"] in (0.0, 0.5, 1.0)


def test_compare_leaves_the_codebook_out_on_small_classes(tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "compare",
            "--n-samples",
            "100",
            "--image-size",
            "32",
            "--models",
            "logreg",
            "--folds",
            "3",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "the learned codebook 'vlad' joins them when" in result.output
    res = ComparisonResult.from_json(out / "results.json")
    assert "vlad" not in str(res.settings["features"])


def test_train_adds_the_codebook_and_predict_uses_it(balanced, tmp_path):
    model = tmp_path / "model.skops"
    result = runner.invoke(
        app, ["train", "--model", "svm", "--data", str(balanced), "--out", str(model)]
    )
    assert result.exit_code == 0, result.output
    assert "the learned codebook 'vlad'" in result.output
    pipe, _ = load_model(model)
    names = pipe.named_steps["features"].get_feature_names_out()
    assert any(str(n).startswith("vlad__") for n in names)
    out = tmp_path / "pred.csv"
    result = runner.invoke(
        app, ["predict", str(model), "--data", str(balanced), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == 180


def test_the_help_states_the_rule_with_the_svms_threshold():
    result = runner.invoke(app, ["compare", "--help"], terminal_width=400)
    text = " ".join(result.output.replace("│", " ").split())
    assert f"at least {MIN_CLASS_FOR_ALPHA} training images in each fit" in text
