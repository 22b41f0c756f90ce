"""SVMClassifier (precomputed BLAS kernel) against plain RBF SVC + calibration."""

import pickle
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import SVC

from featcls.models import SVMClassifier, build_model, load_model, save_model


def _reference(X, y, *, C=3.0, gamma="scale", class_weight="balanced", folds=3):
    """The textbook estimator: libsvm's own RBF kernel, Platt on 3-fold CV scores."""
    svc = SVC(
        C=C,
        gamma=gamma,
        class_weight=class_weight,
        decision_function_shape="ovr",
        random_state=0,
    )
    cv = StratifiedKFold(folds, shuffle=True, random_state=0)
    return CalibratedClassifierCV(svc, method="sigmoid", cv=cv, ensemble=False).fit(
        X, y
    )


def _problem(n_classes, seed=0, n=90, p=12):
    rng = np.random.default_rng(seed)
    labels = np.array(["cracked", "dark", "fine", "spotted"])[:n_classes]
    codes = rng.integers(0, n_classes, n)
    X = rng.normal(size=(n, p)) + 0.5 * codes[:, None] * rng.normal(size=p)
    X_test = rng.normal(size=(40, p)) * 1.3
    return X, labels[codes], X_test


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("gamma", ["scale", "auto", 0.05])
@pytest.mark.parametrize("class_weight", ["balanced", None])
def test_equals_rbf_svc_with_calibrated_classifier_cv(n_classes, gamma, class_weight):
    X, y, X_test = _problem(n_classes)
    ref = _reference(X, y, gamma=gamma, class_weight=class_weight)
    svc = ref.calibrated_classifiers_[0].estimator
    model = SVMClassifier(gamma=gamma, class_weight=class_weight).fit(X, y)

    np.testing.assert_array_equal(model.classes_, ref.classes_)
    np.testing.assert_array_equal(model.svc_.support_, svc.support_)
    np.testing.assert_array_equal(model.support_vectors_, svc.support_vectors_)
    assert model.gamma_ == svc._gamma
    for data in (X, X_test):
        decision = model.decision_function(data)
        assert decision.shape == ((len(data),) if n_classes == 2 else (len(data), 4))
        np.testing.assert_allclose(
            decision, svc.decision_function(data), rtol=1e-6, atol=1e-9
        )
        np.testing.assert_array_equal(model.predict(data), svc.predict(data))
        np.testing.assert_allclose(
            model.predict_proba(data), ref.predict_proba(data), rtol=1e-6, atol=1e-9
        )


def test_gamma_scale_is_resolved_on_the_training_rows_as_svc_does():
    X, y, _ = _problem(2, p=7)
    X *= 3.0
    model = SVMClassifier().fit(X, y)
    assert model.gamma_ == 1.0 / (7 * X.var())
    assert SVMClassifier(gamma="auto").fit(X, y).gamma_ == 1.0 / 7
    assert SVMClassifier(gamma=0.25).fit(X, y).gamma_ == 0.25


def test_rare_classes_shrink_the_folds_or_fall_back_to_softmax():
    X, y, X_test = _problem(2)
    y = y.astype(object)
    y[:2] = "tiny"  # 2 members: 2 calibration folds
    model = SVMClassifier().fit(X, y)
    ref = _reference(X, y, folds=2)
    np.testing.assert_allclose(
        model.predict_proba(X_test), ref.predict_proba(X_test), rtol=1e-6, atol=1e-9
    )

    y[1] = y[2]  # 1 member: no calibration, softmax of the decision values
    model = SVMClassifier().fit(X, y)
    assert model.calibrated_ is None
    svc = SVC(C=3.0, class_weight="balanced").fit(X, y)
    scores = svc.decision_function(X_test)
    np.testing.assert_allclose(model.decision_function(X_test), scores, rtol=1e-6)
    expected = np.exp(scores - scores.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict_proba(X_test), expected, rtol=1e-6)
    np.testing.assert_array_equal(model.predict(X_test), svc.predict(X_test))


@pytest.mark.parametrize("block_rows", [1, 7, 130, 300])
def test_prediction_in_blocks_equals_prediction_at_once(monkeypatch, block_rows):
    """Exact by construction: distances are always computed on the same chunks of
    test rows, whatever the block size that bounds memory."""
    X, y, _ = _problem(4)
    X_test = np.random.default_rng(1).normal(size=(700, X.shape[1])) * 1.3
    model = SVMClassifier().fit(X, y)
    at_once = model.predict_proba(X_test), model.predict(X_test)
    module = sys.modules[SVMClassifier.__module__]
    # Blocks of ``block_rows`` rows of kernel values against the 90 training rows.
    monkeypatch.setattr(module, "_BLOCK_BYTES", 8 * 90 * block_rows)
    np.testing.assert_array_equal(model.predict_proba(X_test), at_once[0])
    np.testing.assert_array_equal(model.predict(X_test), at_once[1])


def test_pickle_and_skops_round_trips(tmp_path):
    X, y, X_test = _problem(4)
    model = SVMClassifier().fit(X, y)
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(
        loaded.predict_proba(X_test), model.predict_proba(X_test)
    )

    pipeline = build_model("svm").fit(X, y)
    loaded, _ = load_model(save_model(pipeline, tmp_path / "svm.skops"))
    np.testing.assert_array_equal(
        loaded.predict_proba(X_test), pipeline.predict_proba(X_test)
    )


@pytest.mark.parametrize("gamma", ["median", -1.0, True, None])
def test_invalid_gamma_has_a_clear_error(gamma):
    X, y, _ = _problem(2)
    with pytest.raises(ValueError, match="'gamma' parameter of SVMClassifier must be"):
        SVMClassifier(gamma=gamma).fit(X, y)


def test_errors_name_the_problem():
    X, y, _ = _problem(2)
    with pytest.raises(ValueError, match="needs at least 2 classes.*got 1 class"):
        SVMClassifier().fit(X, np.zeros(len(X)))
    model = SVMClassifier().fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but SVMClassifier is"):
        model.predict(X[:, :3])


def test_calibration_needs_at_least_two_folds():
    X, y, _ = _problem(2)
    with pytest.raises(ValueError, match="'calibration_cv' parameter of SVMClassifier"):
        SVMClassifier(calibration_cv=1).fit(X, y)


def _families(n=240, seed=0, wide=300):
    """Two informative columns of family 'shape' next to a wide family of noise."""
    rng = np.random.default_rng(seed)
    y = np.array(["a", "b", "c"])[rng.integers(0, 3, n)]
    signal = rng.normal(size=(n, 2))
    signal[:, 0] += 2.5 * (y == "b")
    signal[:, 1] += 2.5 * (y == "c")
    names = ["shape__area", "shape__width"] + [f"vlad__w{i}" for i in range(wide)]
    X = pd.DataFrame(np.hstack([signal, rng.normal(size=(n, wide))]), columns=names)
    return X, y


def test_family_weights_follow_the_stated_rule():
    X, y = _families(wide=30)
    X["vlad__w0"] = 1.0  # constant: not counted in its family
    model = SVMClassifier(family_alpha=1.0).fit(X, y)
    # n = 31 live columns, k = 2 families: shape (2 columns) gets (31/4) ** 1,
    # vlad (29 live columns) (31/58) ** 1; the factors are their square roots.
    w = model.column_weights_
    np.testing.assert_allclose(w[:2], np.sqrt(31 / 4))
    np.testing.assert_allclose(w[2:], np.sqrt(31 / 58))
    assert model.family_alpha_ == 1.0
    # Prediction weighs the columns the same way as the fit.
    ref = SVMClassifier().fit(X.to_numpy() * w, y)
    np.testing.assert_array_equal(model.predict(X), ref.predict(X.to_numpy() * w))


def test_auto_lets_a_narrow_family_beat_a_wide_one_of_noise():
    X, y = _families()
    train, test = np.arange(160), np.arange(160, 240)
    flat = SVMClassifier().fit(X.iloc[train], y[train])
    auto = SVMClassifier(family_alpha="auto").fit(X.iloc[train], y[train])
    assert auto.family_alpha_ in (0.5, 1.0)  # the inner CV left alpha = 0
    f1 = {
        name: f1_score(y[test], m.predict(X.iloc[test]), average="macro")
        for name, m in (("flat", flat), ("auto", auto))
    }
    assert f1["auto"] > f1["flat"] + 0.05, f1


def test_without_names_or_with_few_samples_every_column_counts_alike():
    X, y = _families()
    # No names (a plain array), one family, or a class under MIN_CLASS_FOR_ALPHA.
    plain = SVMClassifier(family_alpha="auto").fit(X.to_numpy(), y)
    assert plain.family_alpha_ is None and plain.column_weights_ is None
    one = X.rename(columns=lambda c: "vlad__" + c.split("__")[1])
    single = SVMClassifier(family_alpha="auto").fit(one, y)
    assert single.family_alpha_ is None
    few = np.isin(y, ["a", "b"]) | (np.cumsum(y == "c") <= 10)
    small = SVMClassifier(family_alpha="auto").fit(X[few], y[few])
    assert small.family_alpha_ == 0.0
    reference = SVMClassifier().fit(X[few], y[few])
    np.testing.assert_allclose(
        small.decision_function(X), reference.decision_function(X), rtol=1e-10
    )


def test_the_svm_model_weighs_families_and_survives_a_model_file(tmp_path):
    X, y = _families()
    pipeline = build_model("svm").fit(X, y)
    assert pipeline.named_steps["clf"].family_alpha_ in (0.5, 1.0)
    loaded, _ = load_model(save_model(pipeline, tmp_path / "svm.skops"))
    np.testing.assert_array_equal(loaded.predict_proba(X), pipeline.predict_proba(X))


def test_a_model_file_pipeline_gives_the_svm_the_feature_names():
    from featcls import FeatureExtractor, load_builtin
    from featcls.models import feature_pipeline

    data = load_builtin("synthetic", n_samples=40, image_size=32, random_state=0)
    extractor = FeatureExtractor(families=["shape", "intensity"])
    pipe = feature_pipeline(extractor, build_model("svm")).fit(data.X, data.y)
    names = list(pipe.named_steps["clf"].feature_names_in_)
    assert names == list(pipe.named_steps["features"].get_feature_names_out())
    assert {n.split("__")[0] for n in names} == {"shape", "intensity"}
