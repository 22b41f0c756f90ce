"""Learning curves on the outer folds, the cost of each model and the verdict."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from featcls import CNNClassifier, FeatureExtractor, compare, load_builtin
from featcls.evaluation import ComparisonResult
from featcls.evaluation._curves import FitMemory, check_train_sizes, nested_subsets
from featcls.features import IntensityFeatures
from featcls.models import build_model

FAMILIES = ["shape", "intensity"]


class LearnsWithData(ClassifierMixin, BaseEstimator):
    """An image model that knows the answer once it has seen ``needs`` images.

    The class of every test image is written in its corner pixel (see ``coded``);
    below ``needs`` (or from ``forgets``) training images the model predicts the
    majority class. It logs the sample positions it was fitted on.
    """

    featcls_input = "images"

    def __init__(self, needs=40, forgets=None, log=None):
        self.needs = needs
        self.forgets = forgets
        self.log = log

    def fit(self, X, y):
        if self.log is not None:
            with open(self.log, "a") as fh:
                fh.write(json.dumps([int(i) for i in X.index]) + "\n")
        self.classes_ = np.unique(y)
        counts = [np.sum(y == c) for c in self.classes_]
        self.majority_ = self.classes_[int(np.argmax(counts))]
        self.learned_ = len(y) >= self.needs and (
            self.forgets is None or len(y) < self.forgets
        )
        return self

    def predict(self, X):
        if not self.learned_:
            return np.full(len(X), self.majority_)
        return np.array([self.classes_[im[0, 0] // 60] for im in X["image"]])


@pytest.fixture(scope="module")
def coded():
    data = load_builtin("synthetic", n_samples=90, image_size=48, random_state=1)
    classes = sorted(set(data.y))
    table = data.X.copy()
    images = []
    for image, label in zip(table["image"], data.y, strict=True):
        image = image.copy()
        image[0, 0] = 60 * classes.index(label) + 10
        images.append(image)
    table["image"] = images
    return table, np.asarray(data.y)


def _compare(coded, needs, log=None, forgets=None, **kwargs):
    """A weak feature model against an image model that learns at ``needs``."""
    X, y = coded
    models = {
        "logreg": build_model("logreg"),
        "image": LearnsWithData(needs=needs, forgets=forgets, log=log),
    }
    return compare(
        models,
        X,
        y,
        cv=3,
        features=FeatureExtractor(families=FAMILIES),
        importance=False,
        random_state=0,
        **kwargs,
    )


# -- the subsets ----------------------------------------------------------------------
def test_subsets_are_nested_stratified_and_inside_the_training_part():
    rng = np.random.default_rng(0)
    y = np.array(["a"] * 60 + ["b"] * 30 + ["c"] * 10, dtype=object)
    train = np.sort(rng.choice(100, 80, replace=False))
    fractions = (0.1, 0.25, 0.5, 1.0)
    train = rng.permutation(train)  # the fold's order is kept
    subsets = nested_subsets(train, y, None, fractions, seed=3)
    assert np.array_equal(subsets[-1], train)
    for part in subsets:
        where = [np.flatnonzero(train == i)[0] for i in part]
        assert where == sorted(where)
    for small, large in zip(subsets, subsets[1:], strict=False):
        assert set(small) < set(large)
    for f, part in zip(fractions, subsets, strict=True):
        for c in "abc":
            n_c = np.sum(y[train] == c)
            assert abs(np.sum(y[part] == c) - max(1, f * n_c)) <= 1
    # the same seed gives the same subsets; another seed others
    again = nested_subsets(train, y, None, fractions, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(subsets, again, strict=True))
    other = nested_subsets(train, y, None, fractions, seed=4)
    assert not np.array_equal(subsets[1], other[1])


def test_grouped_subsets_take_whole_groups():
    y = np.repeat(np.array(["a", "b"], dtype=object), 40)
    groups = np.repeat(np.arange(20), 4)  # 4 images per patient
    train = np.arange(80)
    for part in nested_subsets(train, y, groups, (0.2, 0.5, 1.0), seed=0)[:2]:
        for g in set(groups[part]):
            assert set(np.flatnonzero(groups == g)) <= set(part)
        assert set(y[part]) == {"a", "b"}


@pytest.mark.parametrize("bad", [[0], [1.5], [-0.1], ["half"], [True], [], "0.5"])
def test_bad_train_sizes_are_refused(bad):
    with pytest.raises(ValueError, match="train"):
        check_train_sizes(bad)


def test_the_whole_part_is_always_a_size():
    assert check_train_sizes([0.5, 0.1, 0.5]) == (0.1, 0.5, 1.0)


def test_fit_memory_sees_an_allocation():
    with FitMemory() as memory:
        block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
        block.sum()
    del block
    if not np.isfinite(memory.peak):
        pytest.skip("no /proc/self/clear_refs here")
    assert memory.peak >= 48 * 2**20


# -- compare with curves ------------------------------------------------------------
def test_curves_fit_nested_subsets_on_untouched_test_folds(coded, tmp_path):
    log = tmp_path / "fits.jsonl"
    result = _compare(coded, needs=10**6, train_sizes=[0.25, 0.5], log=log)
    frame = result.to_frame()
    assert len(frame) == 2 * 3 * 3  # models × folds × sizes
    assert sorted(frame["fraction"].unique()) == [0.25, 0.5, 1.0]
    assert len(result.records) == 6 and len(result.curve_records) == 12
    folds = {(f["repeat"], f["fold"]): set(f["test"]) for f in result.folds}
    for r in result.curve_records:
        assert set(r.test_index) == folds[r.repeat, r.fold]
    fitted_on = [set(json.loads(line)) for line in log.read_text().splitlines()]
    assert len(fitted_on) == 9
    for positions in fitted_on:  # never a test image of its fold
        assert any(not positions & test for test in folds.values())
    sizes = sorted(len(p) for p in fitted_on)  # 60 training images per fold
    assert max(sizes[:3]) <= 0.25 * 60 + 3 and sizes[-3:] == [60] * 3
    # the other views stay on the whole training parts
    assert len(result.to_frame(curves=False)) == 6
    assert list(result.leaderboard().index) == ["logreg", "image"]
    curve = result.learning_curve()
    assert set(curve["fraction"]) == {0.25, 0.5, 1.0}
    for _, part in curve.groupby("model"):
        assert part["train_size"].is_monotonic_increasing


def test_the_curve_of_a_model_that_learns_overtakes_and_the_verdict_says_so(coded):
    result = _compare(coded, needs=40, train_sizes=[0.25, 0.5])
    gaps = result.curve_gaps()
    assert list(gaps["image_model"]) == ["image"] * 3
    assert gaps["mean_diff"].iloc[0] < 0 < gaps["mean_diff"].iloc[-1]
    text = result.verdict()
    assert "The learning curves cross between" in text
    assert "the feature model is ahead in mean below, the CNN-based model from" in text


def test_a_lead_that_changes_twice_is_not_called_a_crossing(coded):
    result = _compare(coded, needs=25, forgets=45, train_sizes=[0.25, 0.5])
    assert list(np.sign(result.curve_gaps()["mean_diff"])) == [-1, 1, -1]
    text = result.verdict()
    assert re.search(r"The lead changes 2 times between \d+ and 60 training", text)
    assert "at 60 images the feature model is ahead in mean (p = " in text
    assert "cross between" not in text


def test_no_crossing_is_stated_with_the_range_and_the_trend(coded):
    result = _compare(coded, needs=10**6, train_sizes=[0.25, 0.5])
    text = result.verdict()
    assert re.search(r"do not cross between \d+ and 60 training images", text)
    assert "per doubling of the training data" in text
    assert "the feature model is ahead in mean wherever they differ" in text
    assert "not a forecast beyond 60 images" in text
    # The feature model leads (a negative difference): the gap widens when the
    # difference falls with more data, and the sentence says which.
    gaps = result.curve_gaps().dropna(subset=["mean_diff"])
    slope = np.polyfit(np.log2(gaps["train_size"]), gaps["mean_diff"], 1)[0]
    trend = (
        "the gap stays about the same"
        if abs(slope) < 5e-4
        else "the gap widens"
        if slope < 0
        else "the gap narrows"
    )
    assert f"{slope:+.3f} per doubling of the training data over that range: " in text
    assert f"{trend}. At 60 images the feature model is ahead in mean" in text


def test_curves_survive_json_and_older_files_still_load(coded, tmp_path):
    result = _compare(coded, needs=40, train_sizes=[0.5])
    path = result.to_json(tmp_path / "r.json")
    loaded = ComparisonResult.from_json(path)
    pd.testing.assert_frame_equal(loaded.to_frame(), result.to_frame())
    assert loaded.verdict() == result.verdict()
    data = json.loads(path.read_text())
    data["schema_version"] = 1  # a file written before curves existed
    del data["curve_records"]
    for r in data["records"]:
        for key in ("train_size", "fraction", "fit_memory"):
            del r[key]
    old = ComparisonResult.from_dict(data)
    assert old.to_frame()["train_size"].isna().all()
    assert "Learning curves were not measured" in old.verdict()
    pd.testing.assert_frame_equal(old.leaderboard(), result.leaderboard())


# -- cost and the verdict without curves -------------------------------------------
def test_costs_mark_the_pareto_front(coded):
    result = _compare(coded, needs=40)
    costs = result.costs().set_index("model")
    assert (costs["fit_time"] > 0).all()
    assert (costs["predict_time_per_image"] > 0).all()
    # a model that scores best is on the front, whatever it costs
    best = costs["f1_macro"].idxmax()
    assert costs.loc[best, "pareto"]
    text = result.verdict()
    assert "significant" in text or "cannot be tested" in text
    assert "Learning curves were not measured" in text


def test_a_verdict_needs_both_kinds_of_model(coded):
    X, y = coded
    result = compare(
        ["logreg"],
        X,
        y,
        cv=3,
        features=FeatureExtractor(families=FAMILIES),
        importance=False,
    )
    assert result.verdict().startswith(
        "There is no answer to whether a CNN does better here: no CNN-based model "
        "was compared."
    )


# -- a real CNN ----------------------------------------------------------------------
def _stripes(n, seed):
    """Horizontal or vertical stripes under noise, the vertical ones a little
    brighter: a weak feature model reads the brightness, a CNN learns the
    orientation, given enough images."""
    rng = np.random.default_rng(seed)
    y = np.array(["horizontal", "vertical"])[np.arange(n) % 2]
    yy, xx = np.mgrid[:32, :32]
    images = []
    for label in y:
        axis = xx if label == "vertical" else yy
        wave = np.sin(axis * 2 * np.pi / 6 + rng.uniform(0, 2 * np.pi))
        level = 0.45 + (0.1 if label == "vertical" else 0.0) + rng.normal(0, 0.06)
        image = level + 0.11 * wave + rng.normal(0, 0.2, (32, 32))
        images.append(np.clip(image * 255, 0, 255).astype(np.uint8))
    return np.stack(images), y


@pytest.mark.slow
def test_a_cnn_that_needs_data_ends_ahead_of_a_weak_feature_model():
    X, y = _stripes(240, seed=1)
    cnn = CNNClassifier(
        input_size=32,
        max_epochs=10,
        batch_size=16,
        early_stopping=False,
        augment=False,
        tta=False,
        precision="float32",
    )
    result = compare(
        {"brightness": build_model("logreg"), "cnn": cnn},
        X,
        y,
        cv=2,
        train_sizes=[0.05, 0.2],
        features=FeatureExtractor(
            families=[IntensityFeatures(background=False)], mask="full"
        ),
        importance=False,
        random_state=1,
    )
    curve = result.learning_curve().set_index(["model", "fraction"])["f1_macro"]
    assert curve["cnn", 1.0] - curve["cnn", 0.05] > 0.1  # it learns with data
    assert curve["cnn", 1.0] > curve["brightness", 1.0] + 0.08
    text = result.verdict()
    assert (
        "the CNN-based model from" in text
        or "the CNN-based model is ahead in mean wherever" in text
    )


# -- what the review of the first version found ------------------------------------
def _gaps(diffs, p=0.01):
    sizes = [20.0 * 2**i for i in range(len(diffs))]
    return pd.DataFrame(
        {
            "train_size": sizes,
            "mean_diff": diffs,
            "p_corrected_t": [p] * len(diffs),
        }
    )


@pytest.mark.parametrize(
    ("diffs", "says", "never"),
    [
        ([-0.05, 0.0, 0.04], "cross between 20 and 80 training images", "level at"),
        ([-0.05, 0.04, 0.0], "at 80 images the two are level", "stays ahead"),
        (
            [0.05, 0.04, 0.0],
            "the CNN-based model is ahead in mean wherever",
            "curves cross",
        ),
        ([0.0, 0.0, 0.0], "The two are level at every size measured", "ahead"),
    ],
)
def test_a_level_size_is_neither_a_lead_nor_a_crossing(diffs, says, never):
    from types import SimpleNamespace

    from featcls.evaluation._verdict import _curves

    fake = SimpleNamespace(curve_records=[None], curve_gaps=lambda m: _gaps(diffs))
    text = _curves(fake, "f1_macro")
    assert says in text and never not in text


def test_an_untested_lead_is_said_to_be_not_significant():
    from types import SimpleNamespace

    from featcls.evaluation._verdict import _curves

    fake = SimpleNamespace(
        curve_records=[None], curve_gaps=lambda m: _gaps([-0.1, 0.1], p=0.3)
    )
    assert "is ahead in mean (p = 0.3, not significant)" in _curves(fake, "f1_macro")


class FailsWithSampleZero(LearnsWithData):
    """Fails on every fold whose training part holds sample 0."""

    def fit(self, X, y):
        if 0 in X.index:
            raise RuntimeError("told to fail")
        return super().fit(X, y)


def test_failed_folds_are_said_and_the_scores_quoted_on_the_common_folds(coded):
    X, y = coded
    result = compare(
        {"logreg": build_model("logreg"), "image": FailsWithSampleZero(needs=1)},
        X,
        y,
        cv=3,
        features=FeatureExtractor(families=FAMILIES),
        importance=False,
    )
    text = result.verdict()
    assert "on the 1 of 3 folds where both produced scores" in text
    assert "single split, which cannot be tested" in text
    frame = result.to_frame()
    ran = frame.loc[frame["error"].isna() & (frame["model"] == "image"), "fold"]
    logreg = frame.loc[
        (frame["model"] == "logreg") & frame["fold"].isin(ran), "f1_macro"
    ].mean()
    assert f"logreg, {logreg:.3f}" in text


def test_failed_curve_fits_are_errors_too(coded):
    X, y = coded
    result = compare(
        {"logreg": build_model("logreg"), "image": FailsWithSampleZero(needs=1)},
        X,
        y,
        cv=3,
        train_sizes=[0.5],
        features=FeatureExtractor(families=FAMILIES),
        importance=False,
    )
    errors = result.errors()
    assert set(errors["fraction"]) <= {0.5, 1.0} and (errors["fraction"] < 1).any()


def test_train_sizes_may_be_an_array_and_grouped_subsets_keep_every_class():
    assert check_train_sizes(np.linspace(0.25, 1, 4)) == (0.25, 0.5, 0.75, 1.0)
    with pytest.raises(ValueError, match="train_sizes must be a list"):
        check_train_sizes(np.ones((2, 2)))
    # class c is no group's majority: it still comes into the smallest subset
    y = np.array(["a"] * 3 + ["c"] * 2 + ["a"] * 36 + ["b"] * 40, dtype=object)
    groups = np.repeat(np.arange(20), [5] + [4] * 19)
    for seed in range(10):
        small = nested_subsets(np.arange(81), y, groups, (0.1, 1.0), seed)[0]
        assert set(y[small]) == {"a", "b", "c"}
