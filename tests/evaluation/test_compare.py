"""compare(): same folds for every model, no leakage, failures recorded, round trips."""

import dataclasses
import json
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import classification_report, f1_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from featcls import FeatureExtractor, load_builtin
from featcls.evaluation import (
    ComparisonResult,
    FoldRecord,
    compare,
    corrected_ttest,
    make_folds,
)
from featcls.exceptions import FeatureWarning
from featcls.models import build_model, build_models, describe_model
from featcls.report import render_report

FAMILIES = ["shape", "intensity", "radial"]


@pytest.fixture(scope="module")
def data():
    return load_builtin("synthetic", n_samples=90, image_size=48, random_state=1)


@pytest.fixture(scope="module")
def result(data):
    # Two generated cells have their centroid outside the object: NaN rings.
    with pytest.warns(FeatureWarning, match="rings of the radial or edge profile"):
        return compare(
            ["logreg", "random_forest"],
            data.X,
            data.y,
            cv=3,
            repeats=2,
            features=FeatureExtractor(families=FAMILIES),
            dataset=data,
            random_state=0,
            command="featcls compare --folds 3",
        )


class Spy(ClassifierMixin, BaseEstimator):
    """Logs what it is fitted on to a file (works across processes)."""

    def __init__(self, log=None, fail_on_fold_with=None):
        self.log = log
        self.fail_on_fold_with = fail_on_fold_with

    def fit(self, X, y):
        X = np.asarray(X, float)
        if self.fail_on_fold_with is not None and np.any(
            X[:, 0] == self.fail_on_fold_with
        ):
            raise RuntimeError("spy was told to fail on this fold")
        with open(self.log, "a") as fh:
            fh.write(
                json.dumps(
                    {
                        "n": len(X),
                        "mean": X.mean(axis=0).tolist(),
                        "first": X[:, 0].tolist(),
                    }
                )
                + "\n"
            )
        self.classes_ = np.unique(y)
        self.majority_ = self.classes_[
            np.argmax([np.sum(y == c) for c in self.classes_])
        ]
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)

    def predict_proba(self, X):
        proba = np.zeros((len(X), len(self.classes_)))
        proba[:, list(self.classes_).index(self.majority_)] = 1.0
        return proba


def test_every_model_sees_identical_folds(result):
    by_model = {}
    for r in result.records:
        by_model.setdefault(r.model, {})[(r.repeat, r.fold)] = sorted(r.test_index)
    assert by_model["logreg"] == by_model["random_forest"]
    assert len(by_model["logreg"]) == 6
    # Every sample is tested exactly once per repeat.
    for repeat in (0, 1):
        tested = sorted(
            i
            for (rp, _), idx in by_model["logreg"].items()
            if rp == repeat
            for i in idx
        )
        assert tested == list(range(len(result.y)))
    # Repeats reshuffle.
    assert by_model["logreg"][(0, 0)] != by_model["logreg"][(1, 0)]


def test_folds_are_stratified_and_grouped_folds_keep_groups_apart(data):
    y = np.asarray(data.y)
    for fold in make_folds(y, None, cv=3, repeats=1, random_state=0):
        assert set(y[fold["test"]]) == set(y)
    groups = np.arange(len(y)) // 3  # triplets of images share a group
    folds = make_folds(y, groups, cv=3, repeats=2, random_state=0)
    for fold in folds:
        assert not set(groups[fold["train"]]) & set(groups[fold["test"]])
    r = compare(
        ["logreg"],
        data.X,
        data.y,
        groups=groups,
        cv=3,
        features=FeatureExtractor(families=["shape"]),
    )
    assert r.settings["grouped"] and r.groups is not None


def test_class_rarer_than_folds_raises_or_is_dropped(data):
    y = np.asarray(data.y).copy()
    y[:2] = "tiny"
    with pytest.raises(
        ValueError,
        match=r"Class\(es\) 'tiny' \(2\) have fewer members "
        r"than the 3 folds.*use 2 folds or fewer.*"
        r"drop_rare_classes=True",
    ):
        compare(["logreg"], data.X, y, cv=3)
    r = compare(
        ["logreg"],
        data.X,
        y,
        cv=3,
        drop_rare_classes=True,
        features=FeatureExtractor(families=["shape"]),
    )
    assert "tiny" not in r.classes and r.settings["dropped_classes"] == ["tiny"]
    assert type(r.settings["dropped_classes"][0]) is str  # not np.str_ in messages
    assert len(r.y) == len(y) - 2


def test_scaling_is_fitted_on_training_folds_only(data, tmp_path):
    log = tmp_path / "spy.log"
    honest = make_pipeline(StandardScaler(), Spy(log=str(log)))
    compare(
        {"honest": honest},
        data.X,
        data.y,
        cv=3,
        importance=False,
        features=FeatureExtractor(families=["shape"]),
    )
    fits = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(fits) == 3
    for fit in fits:
        assert fit["n"] == pytest.approx(len(data.y) * 2 / 3, abs=2)
        # (float32 features: the scaled means are 0 within float32 rounding)
        np.testing.assert_allclose(fit["mean"], 0.0, atol=1e-5)

    # The same check catches a leak: statistics taken from all samples before CV.
    F = FeatureExtractor(families=["shape"]).fit_transform(data.X)
    mean, std = F.mean(axis=0), F.std(axis=0)
    leaky_log = tmp_path / "leaky.log"
    leaky = make_pipeline(
        FunctionTransformer(lambda X: (X - mean) / std), Spy(log=str(leaky_log))
    )
    compare(
        {"leaky": leaky},
        data.X,
        data.y,
        cv=3,
        importance=False,
        features=FeatureExtractor(families=["shape"]),
    )
    leaky_fits = [json.loads(line) for line in leaky_log.read_text().splitlines()]
    assert any(np.max(np.abs(f["mean"])) > 1e-3 for f in leaky_fits)


def test_resampling_happens_inside_training_folds_only(data, tmp_path):
    log = tmp_path / "spy.log"
    pipe = build_model("logreg", imbalance="oversample")
    pipe.steps[-1] = ("clf", Spy(log=str(log)))
    r = compare(
        {"oversampled": pipe},
        data.X,
        data.y,
        cv=3,
        importance=False,
        features=FeatureExtractor(families=["shape"]),
    )
    counts = np.unique(data.y, return_counts=True)[1]
    for fit, rec in zip(
        [json.loads(x) for x in log.read_text().splitlines()], r.records, strict=True
    ):
        n_train = len(data.y) - len(rec.test_index)
        assert fit["n"] > n_train  # oversampled ...
        assert fit["n"] <= len(counts) * counts.max()  # ... from the training fold
        assert len(rec.y_pred) == len(rec.test_index)  # test fold untouched


def test_search_keeps_chosen_parameters_per_fold(data):
    r = compare(
        build_models(["logreg"], search=True),
        data.X,
        data.y,
        cv=3,
        features=FeatureExtractor(families=["shape", "intensity"]),
    )
    for rec in r.records:
        assert set(rec.params) == {"clf__C"}


def test_settings_record_the_options_the_models_were_built_with(data):
    fx = FeatureExtractor(families=["shape"])
    kw = {"cv": 3, "features": fx, "importance": False}
    built = compare(
        build_models("logreg", imbalance="undersample", search=True),
        data.X,
        data.y,
        **kw,
    )
    assert (built.settings["imbalance"], built.settings["search"]) == (
        "undersample",
        True,
    )
    assert built.model_info["logreg"]["description"] == describe_model(
        build_model("logreg", imbalance="undersample", search=True)
    )
    by_name = compare("logreg", data.X, data.y, **kw)  # built with the defaults
    assert (by_name.settings["imbalance"], by_name.settings["search"]) == (
        "class_weight",
        False,
    )
    own = compare({"mine": build_model("logreg")}, data.X, data.y, **kw)
    assert (own.settings["imbalance"], own.settings["search"]) == (None, None)
    assert own.model_info["mine"]["description"] == describe_model("logreg")
    with pytest.raises(ValueError, match="No models to compare. Known models: svm"):
        compare({}, data.X, data.y, **kw)


def test_model_crashing_in_one_fold_is_recorded_and_the_rest_goes_on(data, tmp_path):
    F = FeatureExtractor(families=["shape"]).fit_transform(data.X)
    folds = make_folds(np.asarray(data.y), None, cv=3, repeats=1, random_state=0)
    # Fail when sample i (with a unique first feature) is in the training set: the
    # two folds that train on it fail, the fold that tests it succeeds.
    values, counts = np.unique(F[:, 0], return_counts=True)
    marker = values[counts == 1][0]
    sample = int(np.flatnonzero(F[:, 0] == marker)[0])
    crashing = Spy(log=str(tmp_path / "x.log"), fail_on_fold_with=marker)
    r = compare(
        {"crashing": crashing, "logreg": build_model("logreg")},
        data.X,
        data.y,
        cv=3,
        features=FeatureExtractor(families=["shape"]),
        importance=False,
    )
    frame = r.to_frame()
    crashed = frame[frame["model"] == "crashing"]
    fold_with_0 = next(f["fold"] for f in folds if sample in f["test"])
    assert crashed["error"].notna().sum() == 2
    assert crashed.loc[crashed["fold"] == fold_with_0, "error"].isna().all()
    assert "spy was told to fail on this fold" in r.errors()["error"].iloc[0]
    assert "Traceback" in r.errors()["error"].iloc[0]
    assert frame[frame["model"] == "logreg"]["error"].isna().all()
    assert r.leaderboard().loc["crashing", "failed_folds"] == 2


def test_to_frame_columns_and_scores_match_sklearn(result):
    frame = result.to_frame()
    for col in (
        "model",
        "repeat",
        "fold",
        "f1_macro",
        "accuracy",
        "balanced_accuracy",
        "fit_time",
    ):
        assert col in frame.columns
    assert len(frame) == 2 * 3 * 2
    rec = result.records[0]
    y = np.asarray(result.y)[rec.test_index]
    expected = f1_score(
        y, rec.y_pred, average="macro", labels=result.classes, zero_division=0
    )
    assert frame.iloc[0]["f1_macro"] == pytest.approx(expected)
    assert (frame["fit_time"] > 0).all()


def test_per_class_table_matches_classification_report(result):
    f0, f1 = result.oof("logreg", 0), result.oof("logreg", 1)
    y, pred, y1, pred1 = f0["y_true"], f0["y_pred"], f1["y_true"], f1["y_pred"]
    table = result.per_class("logreg")
    report = classification_report(
        np.concatenate([y, y1]),
        np.concatenate([pred, pred1]),
        labels=result.classes,
        output_dict=True,
        zero_division=0,
    )
    for c in result.classes:
        assert table.loc[c, "recall"] == pytest.approx(report[c]["recall"])
        assert table.loc[c, "f1"] == pytest.approx(report[c]["f1-score"])
        assert table.loc[c, "TPR"] == table.loc[c, "recall"]
    cm = result.confusion("logreg")
    assert cm.to_numpy().sum() == 2 * len(result.y)


def test_corrected_ttest_is_more_conservative_than_naive():
    a = np.array([0.80, 0.82, 0.78, 0.81, 0.83])
    b = a - np.array([0.02, 0.03, 0.01, 0.02, 0.02])
    mean, t, p = corrected_ttest(a, b, test_fraction=0.2)
    d = a - b
    naive_t = d.mean() / (d.std(ddof=1) / np.sqrt(5))
    assert mean == pytest.approx(0.02)
    # variance inflated by (1/k + 1/4) / (1/k) = 2.25 → t shrinks by 1.5
    assert t == pytest.approx(naive_t / 1.5)
    assert 0 < p < 1


def test_pairwise_tests_and_leaderboard(result):
    tests = result.pairwise_tests()
    assert list(tests[["model_a", "model_b"]].iloc[0]) == ["logreg", "random_forest"]
    assert tests["n_folds"].iloc[0] == 6
    board = result.leaderboard()
    assert board["f1_macro"].is_monotonic_decreasing
    assert (board["ci_low"] <= board["f1_macro"]).all()


def test_predictions_are_held_as_compact_arrays_and_written_as_json_lists(
    result, tmp_path
):
    rec = result.records[0]
    assert rec.test_index.dtype == np.int64 and rec.proba.dtype == np.float64
    assert rec.proba.shape == (len(rec.test_index), len(result.classes))
    # One string object per class, shared by every prediction of it.
    assert len({id(v) for v in rec.y_pred}) == len(set(rec.y_pred.tolist()))
    path = result.to_json(tmp_path / "results.json")
    # Written a record at a time, the file is what one json.dumps would write.
    assert path.read_text() == json.dumps(result.to_dict(), indent=1)
    assert isinstance(json.loads(path.read_text())["records"][0]["proba"], list)
    back = ComparisonResult.from_json(path)
    assert back.records == result.records
    assert back.records[0] != back.records[1]


def test_json_round_trip(result, tmp_path):
    path = result.to_json(tmp_path / "results.json")
    back = ComparisonResult.from_json(path)
    assert back.models == result.models and back.classes == result.classes
    np.testing.assert_allclose(
        back.to_frame()["f1_macro"], result.to_frame()["f1_macro"]
    )
    assert back.leaderboard().round(12).equals(result.leaderboard().round(12))
    assert back.command == "featcls compare --folds 3"
    assert back.dataset["class_counts"] == result.dataset["class_counts"]
    data = json.loads(path.read_text())
    data["schema_version"] = 99
    (tmp_path / "future.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="schema version 99"):
        ComparisonResult.from_json(tmp_path / "future.json")
    (tmp_path / "junk.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a featcls results file"):
        ComparisonResult.from_json(tmp_path / "junk.json")


def test_importances_by_family_and_gain(result):
    imp = result.importances["random_forest"]
    assert set(imp["permutation_family"]) == set(FAMILIES)
    assert set(imp["gain"]) == set(result.feature_names)
    assert sum(imp["gain"].values()) == pytest.approx(1.0, rel=0.01)


def test_features_of_a_sample_do_not_depend_on_other_samples(data):
    fx = FeatureExtractor(families=FAMILIES).fit(data.X)
    together = fx.transform(data.X.iloc[:10])
    alone = np.vstack([fx.transform(data.X.iloc[[i]]) for i in range(10)])
    np.testing.assert_array_equal(together, alone)


def test_parallel_comparison_equals_serial(data):
    kw = {
        "cv": 3,
        "features": FeatureExtractor(families=["shape"]),
        "importance": False,
    }
    serial = compare(["logreg"], data.X, data.y, n_jobs=1, **kw).to_frame()
    parallel = compare(["logreg"], data.X, data.y, n_jobs=2, **kw).to_frame()
    np.testing.assert_allclose(serial["f1_macro"], parallel["f1_macro"])


def test_learned_codebook_is_fitted_on_each_training_fold_only(data, monkeypatch):
    from featcls.features import VLADFeatures

    seen = []
    original = VLADFeatures.fit_codebook

    def spy(self, descriptors):
        seen.append(len(descriptors))
        return original(self, descriptors)

    monkeypatch.setattr(VLADFeatures, "fit_codebook", spy)
    fx = FeatureExtractor(families={"shape": None, "vlad": {"n_words": 4, "step": 12}})
    r = compare(["logreg"], data.X, data.y, cv=3, features=fx, importance=False)
    n = len(data.y)
    assert sorted(seen) == sorted(n - len(f["test"]) for f in r.folds)
    assert any(name.startswith("vlad__") for name in r.feature_names)


class Warner(ClassifierMixin, BaseEstimator):
    """Warns in fit, then always predicts the first class."""

    def fit(self, X, y):
        warnings.warn("careful: this model is a constant", UserWarning, stacklevel=2)
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_warnings_of_worker_processes_reach_the_caller_naming_model_and_fold(data):
    with pytest.warns(UserWarning) as caught:
        compare(
            {"warner": Warner()},
            data.X,
            data.y,
            cv=2,
            n_jobs=2,
            features=FeatureExtractor(families=["shape"]),
            importance=False,
        )
    texts = [str(w.message) for w in caught if "careful" in str(w.message)]
    # The same warning of every fold is shown once, the other folds counted.
    assert texts == [
        "warner, fold 0: careful: this model is a constant "
        "(also in 1 more fit(s): warner, fold 1)"
    ]


class CountingWarner(Warner):
    """Warns with the size of its training part: one kind, different texts."""

    def fit(self, X, y):
        warnings.warn(f"{len(X)} samples seen", UserWarning, stacklevel=2)
        if len(X) < 50:
            warnings.warn("a small part", RuntimeWarning, stacklevel=2)
        self.classes_ = np.unique(y)
        return self


def test_warnings_of_one_kind_are_shown_once_and_other_kinds_apart(data):
    with pytest.warns((UserWarning, RuntimeWarning)) as caught:
        compare(
            {"warner": CountingWarner()},
            data.X,
            data.y,
            cv=3,
            train_sizes=[0.5],
            features=FeatureExtractor(families=["shape"]),
            importance=False,
        )
    seen = [str(w.message) for w in caught if "samples seen" in str(w.message)]
    small = [str(w.message) for w in caught if "a small part" in str(w.message)]
    assert seen == [
        "warner, fold 0: 60 samples seen (also in 5 more fit(s), with other counts "
        "or names: warner, fold 0, 50% of its training part; warner, fold 1; "
        "warner, fold 1, 50% of its training part; …)"
    ]
    assert small == [
        "warner, fold 0, 50% of its training part: a small part (also in 2 more "
        "fit(s): warner, fold 1, 50% of its training part; warner, fold 2, 50% of "
        "its training part)"
    ]


def test_a_codebook_fitted_per_fold_warns_about_the_images_once(data):
    from featcls.features import VLADFeatures

    features = FeatureExtractor(
        families=["intensity", VLADFeatures(n_words=4, pca_components=8)],
        mask="full",
    )
    with pytest.warns(FeatureWarning) as caught:
        compare(["logreg"], data.X, data.y, cv=3, features=features, importance=False)
    texts = [str(w.message) for w in caught if w.category is FeatureWarning]
    # Three folds each fit a codebook and encode every image: the same warnings
    # three times over, shown once each.
    assert any("the object fills the whole image" in t for t in texts)
    assert len(texts) == len(set(texts))


class NameSpy(ClassifierMixin, BaseEstimator):
    """Records the columns it is fitted on; predicts the first class."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.featcls_report_ = {"columns": [str(c) for c in getattr(X, "columns", [])]}
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_feature_models_see_the_features_by_name(data):
    features = FeatureExtractor(families=["shape", "intensity"])
    result = compare(
        {"spy": NameSpy()}, data.X, data.y, cv=2, features=features, importance=False
    )
    names = list(features.fit(data.X).get_feature_names_out())
    assert [e["columns"] for e in result.extras["spy"]] == [names, names]


def test_a_single_class_is_refused_before_any_fit(data):
    y = np.full(len(data.y), "only")
    with pytest.raises(
        ValueError,
        match=r"A comparison needs at least two classes; the labels hold only "
        r"'only' \(90 samples\), so no model can be trained",
    ):
        compare(["logreg"], data.X, y, cv=3, features=FeatureExtractor(["shape"]))


def _three_folds(predictions: list[list[str]]) -> ComparisonResult:
    """One model on three folds of four samples (a, a, b, b) each."""
    folds = [
        {"repeat": 0, "fold": k, "test": list(range(4 * k, 4 * k + 4))}
        for k in range(3)
    ]
    records = [
        FoldRecord("rule", 0, k, fold["test"], pred)
        for k, (fold, pred) in enumerate(zip(folds, predictions, strict=True))
    ]
    return ComparisonResult(
        classes=["a", "b"],
        y=["a", "a", "b", "b"] * 3,
        sample_ids=[f"x{i}" for i in range(12)],
        folds=folds,
        models=["rule"],
        records=records,
    )


def test_interval_of_a_bounded_score_is_clipped_to_0_1_and_says_so():
    from scipy import stats

    perfect = ["a", "a", "b", "b"]
    result = _three_folds([perfect, perfect, ["a", "b", "b", "b"]])
    scores = result.to_frame()["f1_macro"].to_numpy()
    half = stats.t.ppf(0.975, 2) * scores.std(ddof=1) / np.sqrt(3)
    assert scores.mean() + half > 1  # the t interval itself reaches past 1
    row = result.leaderboard().loc["rule"]
    assert row["ci_low"] == pytest.approx(scores.mean() - half)
    assert row["ci_high"] == 1.0 and row["ci_clipped"]
    summary = result.summary()
    assert f"[{scores.mean() - half:.3f}, 1.000]*" in summary
    assert summary.splitlines()[-1].startswith("* interval clipped to [0, 1]")
    # Within the range: not clipped, not marked.
    inside = _three_folds([list("abbb"), list("aaab"), list("abab")])
    row = inside.leaderboard().loc["rule"]
    assert 0 < row["ci_low"] and row["ci_high"] < 1 and not row["ci_clipped"]
    assert "*" not in inside.summary()


def test_to_json_killed_while_writing_keeps_the_previous_file(
    result, tmp_path, monkeypatch
):
    path = result.to_json(tmp_path / "results.json")
    before = path.read_bytes()

    # The file is written a record at a time: die after a few of them.
    from featcls.evaluation import _result

    written = []

    def array_then_die(value):
        written.append(value)
        if len(written) > 3:
            raise RuntimeError("killed while writing")
        return value.tolist()

    monkeypatch.setattr(_result, "_array_json", array_then_die)
    with pytest.raises(RuntimeError, match="killed while writing"):
        result.to_json(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_default_features_follow_the_dataset_mask_policy(data):
    whole = dataclasses.replace(data, X=data.X.drop(columns="mask"), mask_policy="full")
    with warnings.catch_warnings():  # no background statistics, empty rings
        warnings.simplefilter("ignore", FeatureWarning)
        result = compare(["logreg"], whole.X, whole.y, cv=2, dataset=whole)
        plain = compare(["logreg"], whole.X, whole.y, cv=2)
    assert result.settings["features"]["mask"] == "full"
    assert plain.settings["features"]["mask"] == "auto"


def test_records_keep_the_family_weights_each_fit_used(data):
    models = build_models(["svm", "svm-ordinal", "logreg"], order="sorted")
    models["svm"].set_params(clf__family_alpha=0.5)
    result = compare(
        models,
        data.X,
        data.y,
        cv=2,
        features=FeatureExtractor(families=["shape", "intensity"]),
        importance=False,
    )
    thresholds = len(np.unique(data.y)) - 1
    for rec in result.records:
        alpha = rec.params.get("family_alpha")
        if rec.model == "svm":
            assert alpha == 0.5
        elif rec.model == "svm-ordinal":  # one SVM per threshold, too few to choose
            assert alpha == [0.0] * thresholds
        else:
            assert alpha is None
    html = render_report(result)
    assert "family_alpha" in html and "Chosen inside each training part" in html
