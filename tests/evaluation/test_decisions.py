"""Thresholds chosen inside the training folds, answers per group, oof's index."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from featcls.evaluation import ComparisonResult, compare
from featcls.evaluation._decision import (
    ThresholdRule,
    aggregate,
    binary_scores,
    choose_threshold,
    group_truth,
    parse_threshold,
    positive_class,
)
from featcls.exceptions import DecisionWarning


class EchoScore(ClassifierMixin, BaseEstimator):
    """An image model whose probability of ``"sick"`` is the table's ``score``.

    It logs the sample positions of every fit, inner cross-validation included.
    """

    featcls_input = "images"

    def __init__(self, log=None):
        self.log = log

    def fit(self, X, y):
        if self.log is not None:
            with open(self.log, "a") as fh:
                fh.write(json.dumps(X.index.tolist()) + "\n")
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        s = X["score"].to_numpy(float)
        return np.column_stack([s if c == "sick" else 1 - s for c in self.classes_])

    def predict(self, X):
        return np.where(X["score"].to_numpy(float) >= 0.5, "sick", "well")


@pytest.fixture(scope="module")
def patients():
    """60 images of 20 patients; a sick patient's images score higher, noisily."""
    rng = np.random.default_rng(0)
    patient = np.repeat([f"p{i:02d}" for i in range(20)], 3)
    sick_patient = np.repeat(rng.random(20) < 0.4, 3)
    sick = sick_patient & (rng.random(60) < 0.8)
    score = np.clip(0.25 + 0.3 * sick + rng.normal(0, 0.15, 60), 0.01, 0.99)
    table = pd.DataFrame(
        {
            "image": [np.full((8, 8), i, np.uint8) for i in range(60)],
            "score": score,
            "patient": patient,
            "status": np.where(sick_patient, "sick", "well"),
        },
        index=[f"img{i:02d}" for i in range(60)],
    )
    return table, np.where(sick, "sick", "well")


def _run(table, y, log=None, **kw):
    kw.setdefault("cv", 4)
    return compare(
        {"echo": EchoScore(log=log)}, table, y, importance=False, random_state=0, **kw
    )


# -- the rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad", ["youdens", "sensitivity", "sensitivity:0", "sensitivity:1.5", "0.5", ""]
)
def test_unknown_rules_are_refused_with_the_rules_there_are(bad):
    with pytest.raises(ValueError, match="'youden', 'f1' or 'sensitivity:T'"):
        parse_threshold(bad)


def test_rules_pick_the_best_threshold_by_brute_force():
    rng = np.random.default_rng(1)
    for _ in range(20):
        y = rng.random(40) < 0.4
        y[:2] = [True, False]
        s = np.clip(0.3 * y + rng.random(40) * 0.7, 0, 1)
        candidates = np.unique(s)

        def scores(t, y=y, s=s):
            return binary_scores(y, s >= t)

        youden = choose_threshold(y, s, ThresholdRule("youden"))
        best_j = max(
            scores(t)["sensitivity"] + scores(t)["specificity"] for t in candidates
        )
        got = scores(youden)
        assert got["sensitivity"] + got["specificity"] == pytest.approx(best_j)
        f1 = choose_threshold(y, s, ThresholdRule("f1"))
        assert scores(f1)["f1"] == pytest.approx(
            max(scores(t)["f1"] for t in candidates)
        )
        sens = choose_threshold(y, s, ThresholdRule("sensitivity", 0.9))
        assert scores(sens)["sensitivity"] >= 0.9
        # The highest such threshold: one step up falls short of the target.
        higher = candidates[candidates > sens]
        if len(higher):
            assert scores(higher[0])["sensitivity"] < 0.9


def test_one_class_gives_no_threshold():
    assert np.isnan(choose_threshold([1, 1], [0.2, 0.7], ThresholdRule("youden")))


def test_positive_class_is_obvious_or_the_rarer():
    assert positive_class(["negative", "positive"], ["positive"] * 9) == "positive"
    assert positive_class(["0", "1"], ["1"] * 5 + ["0"]) == "1"
    assert positive_class(["sick", "well"], ["well"] * 3 + ["sick"]) == "sick"
    assert positive_class(["a", "b"], ["a", "b"], pos_label="b") == "b"
    with pytest.raises(ValueError, match="not one of the classes"):
        positive_class(["a", "b"], ["a", "b"], pos_label="c")
    with pytest.raises(ValueError, match="two classes"):
        positive_class(["a", "b", "c"], ["a", "b", "c"])


def test_aggregations_and_group_truth():
    s, g = [0.2, 0.9, 0.4, 0.6], ["a", "a", "b", "b"]
    assert aggregate(s, g, "mean").to_dict() == pytest.approx({"a": 0.55, "b": 0.5})
    assert aggregate(s, g, "max").to_dict() == {"a": 0.9, "b": 0.6}
    assert aggregate(s, g, "fraction", 0.5).to_dict() == {"a": 0.5, "b": 0.5}
    assert group_truth([0, 1, 0, 0], g).to_dict() == {"a": True, "b": False}
    labels = ["x", "x", "y", "y"]
    assert group_truth([0, 0, 0, 0], g, labels, "y").to_dict() == {
        "a": False,
        "b": True,
    }
    with pytest.raises(ValueError, match="differ within group"):
        group_truth([0, 0, 0, 0], g, ["x", "y", "y", "y"], "y")


# -- in compare --------------------------------------------------------------------


@pytest.mark.parametrize("rule", ["youden", "f1", "sensitivity:0.9"])
def test_each_fold_threshold_comes_from_its_training_part_only(
    patients, rule, tmp_path
):
    table, y = patients
    path = tmp_path / "fits.jsonl"
    r = _run(table, y, log=str(path), threshold=rule)
    log = [json.loads(line) for line in path.read_text().splitlines()]
    score, parsed = table["score"].to_numpy(), parse_threshold(rule)
    assert r.settings["threshold"] == str(parsed)
    assert r.settings["pos_label"] == "sick"
    for rec, fold in zip(r.records, r.folds, strict=True):
        test = np.asarray(fold["test"])
        train = np.setdiff1d(np.arange(len(y)), test)
        expected = choose_threshold(y[train] == "sick", score[train], parsed)
        assert rec.threshold == pytest.approx(expected)
        called = np.asarray(rec.y_pred) == "sick"
        np.testing.assert_array_equal(called, score[test] >= expected)
    # No fit, inner cross-validation included, saw a test image of its fold.
    assert len(log) == len(r.folds) * 4  # the outer fit and three inner fits
    for i, fold in enumerate(r.folds):
        test = set(table.index[fold["test"]])
        for fitted in log[4 * i : 4 * i + 4]:
            assert not test & set(fitted)


def test_groups_are_answered_with_thresholds_from_training_groups(patients):
    table, y = patients
    r = _run(table, y, threshold="youden", aggregate_by="patient")
    score, patient = table["score"].to_numpy(), table["patient"].to_numpy()
    frame = r.to_frame(level="group")
    assert len(frame) == len(r.folds)
    for rec, fold, (_, row) in zip(r.records, r.folds, frame.iterrows(), strict=True):
        test = np.asarray(fold["test"])
        train = np.setdiff1d(np.arange(len(y)), test)
        # Folds are grouped by patient.
        assert not set(patient[test]) & set(patient[train])
        t_img = choose_threshold(
            y[train] == "sick", score[train], ThresholdRule("youden")
        )
        truth_train = group_truth(y[train] == "sick", patient[train])
        t_grp = choose_threshold(
            truth_train,
            aggregate(score[train], patient[train], "mean", t_img),
            ThresholdRule("youden"),
        )
        assert rec.group["threshold"] == pytest.approx(t_grp)
        truth = group_truth(y[test] == "sick", patient[test])
        called = aggregate(score[test], patient[test], "mean") >= t_grp
        expected = binary_scores(truth.to_numpy(), called.to_numpy())
        for k, v in expected.items():
            assert row[k] == pytest.approx(v, nan_ok=True)
        assert row["n_groups"] == len(truth)
    answers = r.group_oof("echo")
    assert sorted(answers.index) == sorted(set(patient))
    summary = r.decision_summary()
    assert set(summary.index) == {("echo", "image"), ("echo", "group")}
    assert summary.loc[("echo", "group"), "f1"] == pytest.approx(
        frame["f1"].mean(), nan_ok=True
    )


def test_group_labels_give_the_truth_per_group(patients):
    table, y = patients
    r = _run(
        table, y, aggregate_by="patient", group_labels="status", aggregate_with="max"
    )
    answers = r.group_oof("echo")
    status = table.groupby("patient")["status"].first()
    np.testing.assert_array_equal(
        answers["truth"].to_numpy(), (status.loc[answers.index] == "sick").to_numpy()
    )
    # Without a rule the group threshold is 0.5 on the maximum.
    assert (answers["threshold"] == 0.5).all()
    maxima = table.groupby("patient")["score"].max()
    np.testing.assert_allclose(answers["score"], maxima.loc[answers.index])


def test_bad_group_settings_are_refused_before_fitting(patients):
    table, y = patients
    bad = table.assign(status=np.where(np.arange(60) % 2, "sick", "well"))
    with pytest.raises(ValueError, match="differ within group"):
        _run(bad, y, aggregate_by="patient", group_labels="status")
    with pytest.raises(ValueError, match="needs aggregate_by"):
        _run(table, y, group_labels="status")
    with pytest.raises(ValueError, match="not a column of X"):
        _run(table, y, aggregate_by="ward")
    with pytest.raises(ValueError, match="empty for 1 sample"):
        _run(
            table.assign(patient=[None] + list(table["patient"][1:])),
            y,
            aggregate_by="patient",
        )
    with pytest.raises(ValueError, match="span several groups"):
        _run(table, y, aggregate_by="patient", groups=np.arange(60) % 2)
    with pytest.raises(ValueError, match="Unknown aggregate_with"):
        _run(table, y, aggregate_by="patient", aggregate_with="median")
    with pytest.raises(ValueError, match="applies with threshold or aggregate_by"):
        _run(table, y, pos_label="sick")
    three = np.where(np.arange(60) % 3 == 0, "other", y)
    with pytest.raises(ValueError, match="two classes"):
        _run(table, three, threshold="f1", cv=3)


def test_a_fold_without_both_classes_in_its_groups_warns_and_uses_one_half(patients):
    table, y = patients
    # Only one patient is sick: some training parts hold no sick group twice.
    y = np.where(table["patient"] == "p00", "sick", "well")
    with pytest.warns(DecisionWarning, match="0.5 is used"):
        r = _run(table, y, threshold="youden", aggregate_by="patient", cv=2)
    assert any(rec.threshold == 0.5 for rec in r.records)


def test_oof_is_indexed_like_the_input_and_joins_back(patients):
    table, y = patients
    r = _run(table, y, aggregate_by="patient")
    frame = r.oof("echo")
    assert list(frame.index) == list(table.index)
    joined = table.join(frame)
    np.testing.assert_allclose(joined["p_sick"], joined["score"])
    assert (joined["y_true"] == y).all()
    assert (joined["group"] == joined["patient"]).all()


def test_oof_index_survives_dropped_rare_classes(patients):
    table, y = patients
    y = y.copy()
    y[5] = "rare"
    r = _run(table, y, drop_rare_classes=True)
    frame = r.oof("echo")
    assert "img05" not in frame.index
    assert list(frame.index) == [i for i in table.index if i != "img05"]
    np.testing.assert_allclose(frame["p_sick"], table["score"].drop("img05"))


def test_json_round_trip_and_older_files(patients, tmp_path):
    table, y = patients
    r = _run(table, y, threshold="f1", aggregate_by="patient")
    back = ComparisonResult.from_json(r.to_json(tmp_path / "r.json"))
    pd.testing.assert_frame_equal(
        back.to_frame(level="group"), r.to_frame(level="group")
    )
    pd.testing.assert_frame_equal(back.oof("echo"), r.oof("echo"))
    # A version-2 file: no thresholds, groups or index; positions index oof.
    data = json.loads((tmp_path / "r.json").read_text())
    data["schema_version"] = 2
    for rec in data["records"]:
        del rec["threshold"], rec["group"]
    del data["sample_index"]
    data["settings"] = {
        k: v for k, v in data["settings"].items() if k not in ("aggregate_by",)
    }
    old = ComparisonResult.from_dict(data)
    assert list(old.oof("echo").index) == list(range(60))
    with pytest.raises(ValueError, match="no answers per group"):
        old.to_frame(level="group")


def test_group_labels_must_use_the_class_names(patients):
    table, y = patients
    table = table.assign(status=np.where(table["status"] == "sick", "pos", "neg"))
    with pytest.raises(ValueError, match="'neg', 'pos', which is not a class of y"):
        _run(table, y, aggregate_by="patient", group_labels="status")


class NaNScore(EchoScore):
    """Probabilities that are NaN for some images."""

    def predict_proba(self, X):
        proba = super().predict_proba(X)
        proba[X["score"].to_numpy(float) > 0.6] = np.nan
        return proba


def test_non_finite_probabilities_fail_the_fold_and_say_so(patients):
    table, y = patients
    r = compare(
        {"nan": NaNScore()},
        table,
        y,
        importance=False,
        random_state=0,
        cv=3,
        threshold="youden",
    )
    errors = r.errors()
    assert len(errors) == len(r.folds)
    assert errors["error"].str.contains("non-finite probabilities").all()


def test_inner_folds_keep_identical_images_together(patients, tmp_path):
    from featcls.exceptions import DataWarning

    table, y = patients
    table = table.copy()
    images = list(table["image"])
    for i in range(10):  # images i and i + 30 are the same file's pixels
        images[i + 30] = images[i].copy()
    table["image"] = images
    y = y.copy()
    y[30:40] = y[:10]
    path = tmp_path / "fits.jsonl"
    with pytest.warns(DataWarning, match="identical"):
        r = _run(table, y, log=str(path), threshold="youden", cv=3)
    log = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(log) == len(r.folds) * 4
    pairs = [(table.index[i], table.index[i + 30]) for i in range(10)]
    for fitted in log:
        seen = set(fitted)
        for a, b in pairs:
            assert (a in seen) == (b in seen), (a, b)
