"""OrdinalClassifier: ordered classes as cumulative binary problems."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression

from featcls.models import (
    IMBALANCE_STRATEGIES,
    OrdinalClassifier,
    build_model,
    load_model,
    save_model,
)


class _Fixed(ClassifierMixin, BaseEstimator):
    """A binary 'model' whose P(class 1) is column ``column`` of X."""

    def __init__(self, column=0):
        self.column = column

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        self.n_seen_ = len(y)
        self.positives_ = int(np.sum(y))
        return self

    def predict_proba(self, X):
        p = np.asarray(X, float)[:, self.column]
        return np.column_stack([1 - p, p])


class _PerThreshold(_Fixed):
    """Copy k reads column k (set by a counter at fit)."""

    count = 0

    def fit(self, X, y):
        self.column = type(self).count
        type(self).count += 1
        return super().fit(X, y)


def _levels(n=90, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 3, n)
    y = np.array(["c0", "c1", "c2"])[np.minimum(x.astype(int), 2)]
    return np.column_stack([x, rng.normal(size=n)]), y


def test_probabilities_are_differences_of_the_cumulative_ones():
    _PerThreshold.count = 0
    X = np.array([[0.9, 0.3], [0.2, 0.1], [0.4, 0.6]])  # P(y > c0), P(y > c1)
    y = np.array(["c0", "c1", "c2"])
    model = OrdinalClassifier(_PerThreshold(), order="sorted").fit(X, y)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba[0], [0.1, 0.6, 0.3])
    np.testing.assert_allclose(proba[1], [0.8, 0.1, 0.1])
    # A cumulative probability that rises (0.4, then 0.6): the negative middle is
    # clipped at 0 and the row renormalised.
    np.testing.assert_allclose(proba[2], np.array([0.6, 0.0, 0.6]) / 1.2)
    assert model.predict(X).tolist() == ["c1", "c0", "c0"]


def test_every_copy_learns_from_all_training_samples():
    X, y = _levels()
    model = OrdinalClassifier(_Fixed(), order="sorted").fit(X, y)
    assert model.classes_.tolist() == ["c0", "c1", "c2"]
    assert [m.n_seen_ for m in model.estimators_] == [len(y), len(y)]
    assert [m.positives_ for m in model.estimators_] == [
        int(np.sum(y != "c0")),
        int(np.sum(y == "c2")),
    ]


def test_an_order_that_is_not_sorted_is_followed():
    X, y = _levels()
    names = np.where(y == "c0", "low", np.where(y == "c1", "mid", "high"))
    model = OrdinalClassifier(LogisticRegression(), order=["low", "mid", "high"])
    model.fit(X, names)
    assert model.classes_.tolist() == ["low", "mid", "high"]
    assert (model.predict(X) == names).mean() > 0.9
    proba = model.predict_proba(X)
    assert proba.shape == (len(y), 3) and (proba >= 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.parametrize(
    ("order", "match"),
    [
        (["c0", "c1"], r"\['c2'\] is not in it"),
        (["c0", "c1", "c1", "c2"], "a class twice"),
        (["c0", "c1", "c2", "c10"], "after 'c2'"),  # a longer name is not cut
    ],
)
def test_a_bad_order_is_refused(order, match):
    X, y = _levels()
    with pytest.raises(ValueError, match=match):
        OrdinalClassifier(LogisticRegression(), order=order).fit(X, y)


def test_the_order_is_never_guessed():
    X, y = _levels()
    with pytest.raises(ValueError, match=r"needs the order of the classes.*'c0'"):
        OrdinalClassifier(LogisticRegression()).fit(X, y)
    with pytest.raises(ValueError, match="a list of the classes or 'sorted'"):
        OrdinalClassifier(LogisticRegression(), order="ascending").fit(X, y)


def test_a_class_without_training_samples_is_refused():
    X, y = _levels()
    with pytest.raises(ValueError, match="after 'c2'"):
        OrdinalClassifier(LogisticRegression(), order=["c0", "c1", "c2", "c3"]).fit(
            X, y
        )
    with pytest.raises(ValueError, match="at least 2 classes"):
        OrdinalClassifier(LogisticRegression(), order="sorted").fit(
            X[:3], ["a", "a", "a"]
        )


def test_a_featcls_model_inside_survives_a_model_file(tmp_path):
    X, y = _levels()
    model = OrdinalClassifier(build_model("svm", random_state=0), order="sorted")
    model.fit(X, y)
    loaded, _ = load_model(save_model(model, tmp_path / "ordinal.skops"))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert clone(loaded).get_params()["order"] == "sorted"


def test_compare_fields_an_ordinal_model_on_the_same_folds():
    import warnings

    from featcls import FeatureExtractor, compare, load_builtin
    from featcls.exceptions import FeatureWarning

    data = load_builtin("synthetic", n_samples=150, image_size=40, random_state=2)
    models = {
        "logreg": build_model("logreg"),
        "logreg-ordinal": OrdinalClassifier(build_model("logreg"), order="sorted"),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FeatureWarning)
        result = compare(
            models,
            data.X,
            data.y,
            cv=3,
            importance=False,
            features=FeatureExtractor(families=["shape", "intensity"]),
        )
    frame = result.to_frame()
    assert set(frame["model"]) == {"logreg", "logreg-ordinal"}
    assert frame.groupby("model")["f1_macro"].count().tolist() == [3, 3]
    assert len(data.classes) >= 3


@pytest.mark.parametrize("imbalance", IMBALANCE_STRATEGIES)
def test_every_remedy_applies_to_each_binary_model(imbalance):
    X, y = _levels()
    model = build_model("logreg-ordinal", imbalance=imbalance, order="sorted")
    model.fit(X, y)
    assert model.predict_proba(X).shape == (len(y), 3)
    assert (model.predict(X) == y).mean() > 0.5  # three levels: chance is 1/3
    if imbalance in ("smote", "oversample", "undersample"):
        assert all("resample" in m.named_steps for m in model.estimators_)


def test_numbers_as_text_that_sort_otherwise_need_their_order():
    X = np.arange(30, dtype=float)[:, None]
    y = np.repeat(["1", "2", "10"], 10)
    model = OrdinalClassifier(LogisticRegression(), order="sorted")
    with pytest.raises(ValueError, match=r"as text \(1 < 10 < 2\).*\['1', '2', '10'\]"):
        model.fit(X, y)
    # Given, the order is followed; numbers that sort alike as text are fine.
    given = OrdinalClassifier(LogisticRegression(), order=["1", "2", "10"]).fit(X, y)
    assert given.predict([[2.0], [15.0], [28.0]]).tolist() == ["1", "2", "10"]
    same = np.repeat(["0.0", "0.5", "1.0"], 10)
    fitted = OrdinalClassifier(LogisticRegression(), order="sorted").fit(X, same)
    assert fitted.classes_.tolist() == ["0.0", "0.5", "1.0"]
