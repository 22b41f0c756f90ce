"""Multi-label comparisons: label matrix, iterative folds, per-label models, scores."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import f1_score

from featcls import FeatureExtractor, load_builtin
from featcls.evaluation import ComparisonResult, compare
from featcls.evaluation._multilabel import (
    as_label_matrix,
    check_label_counts,
    multilabel_fold_scores,
)
from featcls.evaluation._splits import make_folds
from featcls.exceptions import DecisionWarning
from featcls.models import PerLabelClassifier, build_model
from featcls.report import render_report


class EchoLabels(ClassifierMixin, BaseEstimator):
    """An image model whose label probabilities are the table's ``s_<label>``."""

    featcls_input = "images"
    featcls_multilabel = True

    def fit(self, X, Y):
        self.n_labels_ = np.asarray(Y).shape[1]
        return self

    def predict_proba(self, X):
        return X[[f"s_{j}" for j in range(self.n_labels_)]].to_numpy(float)

    def predict(self, X):
        return (self.predict_proba(X) >= 0.5).astype(int)


@pytest.fixture(scope="module")
def labelled():
    """80 samples, three labels of different rarity, noisy scores per label."""
    rng = np.random.default_rng(3)
    Y = np.column_stack([rng.random(80) < p for p in (0.5, 0.25, 0.1)]).astype(int)
    Y[:3, 2] = 1  # at least a few of the rare label
    scores = np.clip(0.3 + 0.4 * Y + rng.normal(0, 0.2, Y.shape), 0, 1)
    table = pd.DataFrame(
        {
            "image": [np.full((8, 8), i, np.uint8) for i in range(80)],
            **{f"s_{j}": scores[:, j] for j in range(3)},
        }
    )
    return table, pd.DataFrame(Y, columns=["nucleus", "cytosol", "golgi"])


def test_label_matrix_checks():
    with pytest.raises(ValueError, match='label_sep=" "'):
        as_label_matrix([[0, 2], [1, 0]])
    with pytest.raises(ValueError, match="on every sample"):
        as_label_matrix(pd.DataFrame({"a": [1, 1], "b": [0, 1]}))
    with pytest.raises(ValueError, match="distinct label names"):
        as_label_matrix([[0, 1], [1, 0]], labels=["a", "a"])
    Y, names = as_label_matrix(np.array([[True, False], [False, False]]), ["x", "y"])
    assert Y.dtype == bool and names == ["x", "y"]


def test_rare_labels_stop_or_are_dropped():
    Y = np.array([[1, 0]] * 5 + [[0, 1]] * 2 + [[0, 0]] * 3)
    with pytest.raises(
        ValueError, match=r"'b' \(2\) have fewer positive \(or negative\) samples"
    ):
        check_label_counts(Y, ["a", "b"], 3, drop_rare=False)
    assert check_label_counts(Y, ["a", "b"], 3, drop_rare=True).tolist() == [1, 0]


def test_iterative_folds_spread_every_label_and_keep_groups(labelled):
    _, Y = labelled
    Y = Y.to_numpy()
    folds = make_folds(Y, None, cv=3, repeats=1, random_state=0)
    for fold in folds:
        # Each label's positives in the test part are in proportion (±2).
        share = Y[fold["test"]].sum(0) / Y.sum(0)
        assert np.all(np.abs(share - 1 / 3) <= 2 / Y.sum(0) + 1e-9)
    groups = np.repeat(np.arange(40), 2)
    folds = make_folds(Y, groups, cv=3, repeats=1, random_state=0)
    tests = np.concatenate([f["test"] for f in folds])
    assert sorted(tests) == list(range(80))
    for fold in folds:
        assert not set(groups[fold["test"]]) & set(groups[fold["train"]])


def test_compare_scores_a_multilabel_model_like_scikit_learn(labelled):
    table, Y = labelled
    r = compare({"echo": EchoLabels()}, table, Y, cv=4, importance=False)
    assert r.multilabel and r.classes == ["nucleus", "cytosol", "golgi"]
    assert r.settings["multilabel"] is True
    frame = r.to_frame()
    assert {"f1_micro", "f1_samples"} <= set(frame.columns)
    truth = Y.to_numpy()
    for rec, (_, row) in zip(r.records, frame.iterrows(), strict=True):
        t = truth[rec.test_index]
        p = table.loc[rec.test_index, ["s_0", "s_1", "s_2"]].to_numpy() >= 0.5
        assert row["f1_macro"] == pytest.approx(f1_score(t, p, average="macro"))
        assert row["f1_micro"] == pytest.approx(f1_score(t, p, average="micro"))
        assert row["f1_samples"] == pytest.approx(
            f1_score(t, p, average="samples", zero_division=0)
        )
    table_ = r.per_class("echo")
    assert list(table_.index) == r.classes
    assert table_["support"].tolist() == truth.sum(0).tolist()
    assert table_.attrs["cardinality"] == pytest.approx(truth.sum(1).mean())
    oof = r.oof("echo")
    assert oof.loc[0, "y_true"] == " ".join(
        n for n, v in zip(r.classes, truth[0], strict=True) if v
    )
    with pytest.raises(ValueError, match="no confusion matrix"):
        r.confusion("echo")


def test_feature_models_get_per_label_thresholds_from_training_folds(labelled):
    table, Y = labelled
    data = load_builtin("synthetic", n_samples=80, image_size=32, random_state=3)
    extractor = FeatureExtractor(families=["shape", "intensity"])
    r = compare(
        {"logreg": build_model("logreg")},
        data.X,
        Y,
        cv=3,
        features=extractor,
        importance=False,
        random_state=0,
    )
    matrix = extractor.fit_transform(data.X).astype(np.float32)  # as compare has it
    for rec, fold in zip(r.records, r.folds, strict=True):
        train = np.setdiff1d(np.arange(80), fold["test"])
        # The same per-label model refitted on the fold's training part alone.
        again = PerLabelClassifier(build_model("logreg"), random_state=0)
        again.fit(matrix[train], Y.to_numpy()[train])
        np.testing.assert_allclose(rec.params["label_thresholds"], again.thresholds_)
        np.testing.assert_array_equal(rec.y_pred, again.predict(matrix[fold["test"]]))


def test_a_label_too_rare_for_a_training_part_is_predicted_at_its_rate():
    X = np.random.default_rng(0).normal(size=(20, 2))
    Y = np.zeros((20, 2), int)
    Y[:10, 0] = 1
    Y[0, 1] = 1
    with pytest.warns(DecisionWarning, match="too few to fit and tune"):
        model = PerLabelClassifier(build_model("logreg")).fit(X, Y)
    assert np.isnan(model.thresholds_[1])
    assert model.predict_proba(X)[:, 1] == pytest.approx(0.05)


def test_multilabel_refusals(labelled):
    table, Y = labelled
    with pytest.raises(ValueError, match="train_sizes is for single-label"):
        compare({"echo": EchoLabels()}, table, Y, train_sizes=[0.5, 1])

    class SingleLabel(EchoLabels):
        featcls_multilabel = False

    with pytest.raises(ValueError, match="single does not take multi-label"):
        compare({"single": SingleLabel()}, table, Y)
    with pytest.raises(
        ValueError, match="'golgi' .* fewer positive \\(or negative\\) samples"
    ):
        compare({"echo": EchoLabels()}, table, Y, cv=10)
    r = compare({"echo": EchoLabels()}, table, Y, cv=10, drop_rare_classes=True)
    assert r.classes == ["nucleus", "cytosol"]
    assert r.settings["dropped_classes"] == ["golgi"]


def test_multilabel_results_round_trip_and_render(labelled, tmp_path):
    table, Y = labelled
    r = compare({"echo": EchoLabels()}, table, Y, cv=3, importance=False)
    back = ComparisonResult.from_json(r.to_json(tmp_path / "r.json"))
    assert back.multilabel
    pd.testing.assert_frame_equal(back.to_frame(), r.to_frame())
    html = render_report(back)
    assert "Label cardinality" in html
    assert 'id="section-confusion"' not in html
    assert "could not be rendered" not in html


def test_scores_of_a_perfect_and_an_empty_prediction():
    t = np.array([[1, 0], [0, 1], [1, 1]])
    perfect = multilabel_fold_scores(t, t, t.astype(float))
    assert perfect["f1_macro"] == perfect["accuracy"] == perfect["roc_auc_ovr"] == 1
    empty = multilabel_fold_scores(t, np.zeros_like(t), None)
    assert empty["f1_macro"] == 0 and np.isnan(empty["roc_auc_ovr"])


def test_rare_labels_are_counted_in_groups():
    # Label b has six positive samples but all in two groups: two units, not six.
    Y = np.array([[1, 0]] * 6 + [[0, 1]] * 6 + [[0, 0]] * 6)
    groups = np.array([f"g{i // 3}" for i in range(18)])
    assert check_label_counts(Y, ["a", "b"], 3, drop_rare=False).all()
    with pytest.raises(ValueError, match=r"'b' \(2\) have fewer positive"):
        check_label_counts(Y, ["a", "b"], 3, drop_rare=False, groups=groups)


def test_labels_no_sample_has_are_refused_with_given_folds(labelled):
    from featcls.evaluation import HoldOut

    table, Y = labelled
    Y = Y.assign(empty=0)
    with pytest.raises(ValueError, match="'empty' are in no sample"):
        compare({"echo": EchoLabels()}, table, Y, cv=HoldOut(0.25))
    with pytest.raises(ValueError, match="drop_rare_classes=True needs an int cv"):
        compare(
            {"echo": EchoLabels()},
            table,
            Y,
            cv=HoldOut(0.25),
            drop_rare_classes=True,
        )


def test_holdout_splits_a_label_matrix_by_iterative_stratification(labelled):
    from featcls.evaluation import HoldOut

    table, Y = labelled
    r = compare({"echo": EchoLabels()}, table, Y, cv=HoldOut(0.25), importance=False)
    (fold,) = r.folds
    test = np.asarray(fold["test"])
    assert len(test) == 20
    shares = Y.to_numpy()[test].mean(axis=0) / Y.to_numpy().mean(axis=0)
    assert np.all(np.abs(shares - 1) < 0.35), shares  # every label in proportion
    groups = np.repeat(np.arange(40), 2)
    r = compare(
        {"echo": EchoLabels()},
        table,
        Y,
        groups=groups,
        cv=HoldOut(0.25),
        importance=False,
    )
    test = np.asarray(r.folds[0]["test"])
    train = np.setdiff1d(np.arange(80), test)
    assert not set(groups[test]) & set(groups[train])


def test_a_one_column_target_is_refused(labelled):
    table, Y = labelled
    with pytest.raises(ValueError, match="one column. Give class labels as a 1-D"):
        compare({"echo": EchoLabels()}, table, Y[["nucleus"]].to_numpy())


def test_per_label_thresholds_follow_the_binary_rules():
    from sklearn.linear_model import LogisticRegression

    from featcls.evaluation._decision import choose_threshold, inner_oof
    from featcls.models._thresholds import parse_threshold

    rng = np.random.default_rng(1)
    X = rng.normal(size=(90, 3))
    Y = np.column_stack([X[:, 0] + rng.normal(0, 1, 90) > 0, X[:, 1] > 0.7])
    Y = Y.astype(int)
    for rule in ("f1", "youden", "sensitivity:0.9"):
        model = PerLabelClassifier(LogisticRegression(), threshold=rule).fit(X, Y)
        for j in range(2):
            score = inner_oof(
                LogisticRegression(), X, Y[:, j], None, pos="1", random_state=0
            )
            expected = choose_threshold(Y[:, j] == 1, score, parse_threshold(rule))
            assert model.thresholds_[j] == pytest.approx(expected)
        proba = model.predict_proba(X)
        np.testing.assert_array_equal(model.predict(X), proba >= model.thresholds_)
    with pytest.raises(ValueError, match="Unknown threshold rule"):
        PerLabelClassifier(LogisticRegression(), threshold="best").fit(X, Y)
    with pytest.raises(ValueError, match="0/1 indicator matrix"):
        PerLabelClassifier(LogisticRegression()).fit(X, Y * 2)


def test_a_multilabel_threshold_has_no_binary_decision_summary(labelled):
    table, Y = labelled
    r = compare({"echo": EchoLabels()}, table, Y, cv=3, threshold="youden")
    with pytest.raises(ValueError, match="decides per label"):
        r.decision_summary()
    html = render_report(r)
    assert "could not be rendered" not in html
