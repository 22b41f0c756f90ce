"""compare(cv=...) with a splitter object or explicit (train, test) index pairs."""

import json
import warnings

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.model_selection import (
    KFold,
    RepeatedStratifiedKFold,
    StratifiedShuffleSplit,
)

from featcls import FeatureExtractor, load_builtin
from featcls.evaluation import ComparisonResult, compare, make_folds
from featcls.models import build_model
from featcls.report import render_report, write_outputs
from tests.evaluation.test_compare import Spy

SHAPE = ["shape"]


@pytest.fixture(scope="module")
def data():
    return load_builtin(
        "synthetic",
        n_samples=48,
        image_size=40,
        weights=(0.4, 0.3, 0.3),
        random_state=3,
    )


@pytest.fixture(scope="module")
def single(data):
    """Two models on one stratified 75/25 split."""
    return compare(
        {"logreg": build_model("logreg"), "majority": DummyClassifier()},
        data.X,
        data.y,
        cv=StratifiedShuffleSplit(n_splits=1, test_size=0.25, random_state=0),
        features=FeatureExtractor(families=SHAPE),
        importance=False,
        dataset=data,
    )


def _compare(data, cv, **kw):
    kw.setdefault("features", FeatureExtractor(families=SHAPE))
    kw.setdefault("importance", False)
    return compare(["logreg"], data.X, data.y, cv=cv, **kw)


def test_splitter_object_gives_its_splits(data, single):
    y = np.asarray(data.y)
    splitter = StratifiedShuffleSplit(n_splits=1, test_size=0.25, random_state=0)
    (train, test), *_ = splitter.split(np.arange(len(y)), y)
    assert single.folds == [{"repeat": 0, "fold": 0, "test": test.tolist()}]
    for rec in single.records:
        assert (rec.repeat, rec.fold) == (0, 0)
        assert rec.test_index.tolist() == test.tolist()
        assert len(rec.y_pred) == len(test)
    assert single.settings["cv"] == (
        "StratifiedShuffleSplit(n_splits=1, random_state=0, test_size=0.25, "
        "train_size=None)"
    )
    assert single.settings["repeats"] == 1


def test_int_cv_is_still_recorded_as_the_number_of_folds(data):
    r = _compare(data, 3)
    assert r.settings["cv"] == 3 and len(r.folds) == 3


def test_splitter_with_several_splits(data):
    r = _compare(data, KFold(4, shuffle=True, random_state=0))
    assert [(f["repeat"], f["fold"]) for f in r.folds] == [(0, k) for k in range(4)]
    assert sorted(i for f in r.folds for i in f["test"]) == list(range(len(data.y)))
    assert r.settings["cv"].startswith("KFold(n_splits=4")


def test_given_pairs_predict_exactly_their_test_part_and_train_on_the_rest(
    data, tmp_path
):
    n = len(data.y)
    rng = np.random.default_rng(0)
    order = rng.permutation(n)
    unused = order[:4]  # in no split at all
    splits = [
        (np.sort(order[4:34]), np.sort(order[34:])),
        (order[20:].tolist(), order[4:20].tolist()),  # lists, unsorted
    ]
    log = tmp_path / "spy.log"
    r = compare(
        {"spy": Spy(log=str(log)), "logreg": build_model("logreg")},
        data.X,
        data.y,
        cv=iter(splits),  # any iterable, consumed once
        features=FeatureExtractor(families=SHAPE),
        importance=False,
    )
    assert r.settings["cv"] == "2 given splits"
    for k, (_, test) in enumerate(splits):
        assert r.folds[k] == {"repeat": 0, "fold": k, "test": list(map(int, test))}
        for rec in (x for x in r.records if x.fold == k):
            assert rec.test_index.tolist() == list(map(int, test))
            assert len(rec.y_pred) == len(test) and rec.error is None
    tested = {i for f in r.folds for i in f["test"]}
    assert not tested & set(unused.tolist())
    # The spy was fitted on exactly the training rows of each split, in order.
    first = FeatureExtractor(families=SHAPE).fit_transform(data.X)[:, 0]
    fits = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(fits) == 2
    for fit, (train, _) in zip(fits, splits, strict=True):
        np.testing.assert_allclose(fit["first"], first[np.asarray(train)], rtol=1e-6)
    # Leaderboard and pooled views use the predicted samples only.
    assert len(r.oof("logreg")) == len(splits[0][1]) + len(splits[1][1])


def test_a_class_rarer_than_the_splits_is_fine_with_given_splits(data):
    y = np.asarray(data.y).copy()
    y[0] = "tiny"  # one member: k-fold would refuse, a given split does not care
    n = len(y)
    r = compare(
        ["logreg"],
        data.X,
        y,
        cv=[(np.arange(12, n), np.arange(12))],
        features=FeatureExtractor(families=SHAPE),
        importance=False,
    )
    assert "tiny" in r.classes and r.settings["dropped_classes"] == []
    with pytest.raises(
        ValueError, match=r"drop_rare_classes=True needs an int cv \(k-fold\)"
    ):
        compare(
            ["logreg"],
            data.X,
            y,
            cv=[(np.arange(12, n), np.arange(12))],
            drop_rare_classes=True,
        )


@pytest.mark.parametrize(
    "cv",
    [
        StratifiedShuffleSplit(n_splits=2, test_size=0.25, random_state=0),
        [([0, 1, 2], [3, 4])],
    ],
    ids=["splitter", "pairs"],
)
def test_repeats_need_an_int_cv(data, cv):
    with pytest.raises(
        ValueError,
        match=r"repeats=3 only applies to an int cv \(repeated k-fold\)\. With a "
        r"splitter or given splits, repeats must be 1",
    ):
        compare(["logreg"], data.X, data.y, cv=cv, repeats=3)


@pytest.mark.parametrize(
    ("cv", "message"),
    [
        ([([0, 1, 2], [3, 48])], r"Split 0: test index 48 is out of range for 48 "),
        ([([0, 1], [2]), ([-1, 1], [2])], r"Split 1: train index -1 is out of range"),
        (
            [([0, 1, 2, 3], [3, 4, 2])],
            r"Split 0: 2 sample\(s\) are in both the train and the test part "
            r"\(positions 2, 3\); train and test must not overlap\.",
        ),
        ([([], [1, 2])], r"Split 0: the train part is empty"),
        ([(np.arange(5), np.array([], int))], r"Split 0: the test part is empty"),
        ([([0, 1], [2, 2])], r"Split 0: test index 2 is listed more than once"),
        (
            [(np.arange(48) < 40, np.arange(48) >= 40)],
            r"Split 0: the train indices must be integer positions .* Got dtype bool",
        ),
        ([([0.0, 1.0], [2])], r"Split 0: the train indices must be integer"),
        ([[0, 1, 2]], r"Split 0 is not a \(train_index, test_index\) pair"),
        ([], r"cv gave no splits; give at least one \(train, test\) pair\."),
        (1, r"cv must be an int >= 2 \(number of folds\)\. Got 1\."),
        ("5", r"cv must be an int >= 2 .*, a splitter .* Got '5'\."),
        (2.5, r"cv must be an int >= 2 .* Got 2\.5\."),
    ],
    ids=[
        "test-out-of-range",
        "negative",
        "overlap",
        "empty-train",
        "empty-test",
        "duplicate-test",
        "boolean-mask",
        "float-indices",
        "not-a-pair",
        "no-splits",
        "int-below-2",
        "string",
        "float",
    ],
)
def test_bad_splits_are_refused(data, cv, message):
    with pytest.raises(ValueError, match=message):
        compare(["logreg"], data.X, data.y, cv=cv)


def test_splitter_failure_and_group_leak_are_explained(data):
    y = np.asarray(data.y).copy()
    y[0] = "tiny"
    with pytest.raises(ValueError, match=r"The cv splitter StratifiedShuffleSplit\("):
        compare(
            ["logreg"],
            data.X,
            y,
            cv=StratifiedShuffleSplit(n_splits=1, test_size=0.25, random_state=0),
        )
    groups = np.arange(len(y)) // 4
    with pytest.raises(
        ValueError,
        match=r"Split 0: group\(s\) 2 are on both sides of the split\. With groups, "
        r"use a group-aware splitter",
    ):
        compare(["logreg"], data.X, data.y, groups=groups, cv=[([0, 1, 8], [9, 10])])


def test_make_folds_takes_the_same_cv(data):
    y = np.asarray(data.y)
    folds = make_folds(y, None, cv=[([0, 1], [2, 3])], repeats=1, random_state=0)
    assert folds == [{"repeat": 0, "fold": 0, "train": [0, 1], "test": [2, 3]}]


def test_repeated_splitter_gives_one_repeat_per_round(data):
    cv = RepeatedStratifiedKFold(n_splits=3, n_repeats=2, random_state=0)
    r = _compare(data, cv)
    assert [(f["repeat"], f["fold"]) for f in r.folds] == [
        (rep, k) for rep in range(2) for k in range(3)
    ]
    n = len(data.y)
    for repeat in (0, 1):
        frame = r.oof(r.models[0], repeat)
        assert len(frame) == n  # every sample exactly once per repeat
        assert frame.index.tolist() == list(range(n))
    assert r.confusion(r.models[0]).to_numpy().sum() == 2 * n
    assert r.leaderboard()["failed_folds"].eq(0).all()


def test_overlapping_given_test_parts_start_a_new_repeat():
    y = np.array(["a", "b"] * 4)
    splits = [([0, 1, 2, 3], [4, 5]), ([0, 1, 4, 5], [2, 3]), ([2, 3, 6, 7], [4, 5])]
    folds = make_folds(y, None, cv=splits, repeats=1, random_state=0)
    assert [(f["repeat"], f["fold"]) for f in folds] == [(0, 0), (0, 1), (1, 0)]
    assert [f["test"] for f in folds] == [[4, 5], [2, 3], [4, 5]]


def test_one_split_downstream_gives_nan_not_errors(single, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning spam either
        board = single.leaderboard()
        pairs = single.pairwise_tests()
        text = single.summary()
        html = render_report(single)
        paths = write_outputs(single, tmp_path)
    assert board["f1_macro"].notna().all()
    assert board[["std", "ci_low", "ci_high"]].isna().all().all()
    assert len(pairs) == 1 and pairs["n_folds"].iloc[0] == 1
    assert np.isfinite(pairs["mean_diff"].iloc[0])
    assert pairs[["t", "p_corrected_t", "p_wilcoxon"]].isna().all().all()
    assert "nan" not in text and text.count(" - ") >= 2
    assert "could not be rendered" not in html
    assert "on a single test split" in html
    assert "The macro-F1 of each model on the single outer test split" in html
    assert "Neither test can be computed here" in html
    assert "outer splits: StratifiedShuffleSplit(n_splits=1" in html
    assert "-fold cross-validation" not in html
    back = ComparisonResult.from_json(paths["results"])
    assert back.folds == single.folds and back.settings == single.settings
    assert back.leaderboard().round(12).equals(board.round(12))
    assert render_report(back) == paths["report"].read_text(encoding="utf-8")
