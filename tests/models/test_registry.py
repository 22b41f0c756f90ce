"""The one table of models: specs, the builder, derived descriptions, threads."""

import pytest
from joblib import cpu_count
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import VotingClassifier
from sklearn.model_selection import GridSearchCV

from featcls.models import (
    IMBALANCE_STRATEGIES,
    MODEL_NAMES,
    MODEL_SPECS,
    ModelOptions,
    build_model,
    build_models,
    describe_model,
    threads_per_model,
)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_spec_builds_what_it_says_it_consumes(name):
    spec = MODEL_SPECS[name]
    assert spec.name == name and spec.consumes in ("features", "images")
    model = build_model(name, order="sorted" if spec.ordinal else None)
    consumes = getattr(model, "featcls_input", "features")
    assert consumes == spec.consumes
    described = describe_model(model)
    if spec.ordinal:  # the built one says its order
        described = described.replace(" (sorted labels)", "")
    assert spec.description == describe_model(name) == described


def test_descriptions_follow_the_parameters_of_the_built_estimator():
    model = build_model("xgboost")
    expected = "XGBoost, hist (64 bins), 300 trees of depth 4, learning rate 0.05"
    assert describe_model(model) == expected
    model.set_params(clf__max_bin=16, clf__n_estimators=20, clf__learning_rate=0.3)
    assert describe_model(model) == (
        "XGBoost, hist (16 bins), 20 trees of depth 4, learning rate 0.3"
    )
    svm = build_model("svm", imbalance="smote", search=True)
    assert describe_model(svm) == (
        "StandardScaler → SMOTE (5 neighbours at most) → RBF SVC (C=3, "
        "gamma='scale', families weighted (alpha chosen inside the fit)), "
        "calibrated probabilities; grid search of C, gamma (inner 3-fold, f1_macro)"
    )
    cnn = build_model("cnn-resnet", cnn_params={"input_size": 48, "max_epochs": 2})
    assert describe_model(cnn) == (
        "Small residual network trained from scratch (48 px, up to 2 epochs)"
    )
    assert describe_model(DummyClassifier()) == "DummyClassifier"  # not featcls's


def test_the_ensemble_is_a_spec_whose_factory_votes_its_members():
    ensemble = build_model("ensemble", imbalance="oversample", search=True)
    assert isinstance(ensemble, VotingClassifier) and ensemble.voting == "soft"
    assert [name for name, _ in ensemble.estimators] == ["svm", "xgboost", "logreg"]
    # each member is built, resampled and searched on its own
    for _, member in ensemble.estimators:
        assert isinstance(member, GridSearchCV)
        assert "resample" in member.estimator.named_steps
    assert describe_model("ensemble") == (
        "Soft vote (mean probability) of svm, xgboost, logreg"
    )


def test_search_wraps_only_the_models_that_have_a_grid():
    for name, spec in MODEL_SPECS.items():
        model = build_model(name, search=True, order="sorted")
        searched = isinstance(model, GridSearchCV)
        assert searched == (spec.search_grid is not None), name


def test_build_models_builds_each_name_with_the_same_options():
    models = build_models("svm, logreg", imbalance="undersample", random_state=4)
    assert list(models) == ["svm", "logreg"]
    assert models.options == ModelOptions(imbalance="undersample", random_state=4)
    for model in models.values():
        assert model.named_steps["resample"].random_state == 4
    assert list(build_models(["cnn", "xgboost"])) == ["cnn", "xgboost"]
    with pytest.raises(ValueError, match="Unknown model 'deep-forest'. Known models"):
        build_models(["svm", "deep-forest"])
    with pytest.raises(ValueError, match="Unknown imbalance strategy 'smoot'"):
        build_models([], imbalance="smoot")
    assert set(IMBALANCE_STRATEGIES) >= {"class_weight", "smote", "none"}


def test_model_threads_share_the_cpus_out_among_the_workers():
    cpus = cpu_count()
    assert threads_per_model(1) == cpus
    assert threads_per_model(-1) == 1
    for workers in (1, 2, 3, 64):
        threads = threads_per_model(workers)
        assert threads >= 1 and (workers * threads <= cpus or threads == 1)
    xgb = build_model("xgboost", n_jobs=3)
    assert xgb.named_steps["clf"].n_jobs == 3
