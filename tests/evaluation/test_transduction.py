"""No hidden transduction: what a pretrained backbone saw of the evaluated images."""

import numpy as np
import pytest

from featcls import FeatureExtractor, compare
from featcls.evaluation import ComparisonResult, pretraining_notes
from featcls.features import EmbeddingFeatures
from featcls.features._cache import content_key
from featcls.models import (
    CNNClassifier,
    FusionClassifier,
    PretrainedBackbone,
    build_models,
    pretrain,
)
from featcls.report import render_report

SIZE = 16
CNN = {
    "input_size": SIZE,
    "batch_size": 8,
    "max_epochs": 1,
    "early_stopping": False,
    "device": "cpu",
    "precision": "float32",
    "n_threads": 1,
}
INTENSITY = FeatureExtractor(families=["intensity"])
PRETRAIN = {
    "input_size": SIZE,
    "batch_size": 8,
    "epochs": 1,
    "device": "cpu",
    "progress": False,
}


def data(n: int = 24, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 100, size=(n, SIZE, SIZE), dtype=np.uint8)
    X[n // 2 :] += 120
    return X, np.array(["dark"] * (n // 2) + ["bright"] * (n // 2))


@pytest.fixture(scope="module")
def backbone(tmp_path_factory):
    """A backbone that saw exactly 5 of the 24 evaluated images, and 6 others."""
    X, _ = data()
    others = np.random.default_rng(9).integers(0, 255, (6, SIZE, SIZE), np.uint8)
    path = tmp_path_factory.mktemp("backbone") / "bb.pt"
    pretrain(np.concatenate([X[[0, 3, 13, 20, 21]], others]), out=path, **PRETRAIN)
    return path


def test_the_count_of_evaluated_images_a_cnn_backbone_saw_is_exact(backbone, tmp_path):
    X, y = data()
    cnn = CNNClassifier(weights=backbone, **CNN)
    result = compare({"cnn": cnn}, X, y, cv=2, importance=False)
    assert result.settings["pretrained_on"] == {
        "cnn": [
            {
                "via": "weights",
                "file": str(backbone),
                "method": "vicreg",
                "n_images": 11,
                "seen": 5,
                "of": 24,
            }
        ]
    }
    (note,) = pretraining_notes(result.settings)
    assert note.startswith("The backbone of cnn (bb.pt, pretrained by VICReg on 11")
    assert "saw 5 of the 24 evaluated images (21%), without labels" in note
    assert 'pretrain="fold"' in note
    back = ComparisonResult.from_json(result.to_json(tmp_path / "results.json"))
    assert back.settings["pretrained_on"] == result.settings["pretrained_on"]
    html = render_report(result)
    assert "Self-supervised pretraining" in html and "5 of 24" in html


def test_the_embedding_features_of_every_feature_model_are_counted_too(backbone):
    X, y = data()
    deep = EmbeddingFeatures(weights=backbone, device="cpu")
    features = FeatureExtractor(families=["intensity", deep])
    models = build_models("logreg", features=features)
    fusion = FusionClassifier(cnn=CNNClassifier(**CNN), features=features)
    result = compare(
        {**models, "fusion": fusion}, X, y, cv=2, importance=False, features=features
    )
    found = result.settings["pretrained_on"]
    assert [(e["via"], e["seen"], e["of"]) for e in found["logreg"]] == [
        ("embedding", 5, 24)
    ]
    assert [(e["via"], e["seen"]) for e in found["fusion"]] == [("embedding", 5)]
    notes = pretraining_notes(result.settings)
    assert len(notes) == 2
    assert "pretrains their network inside each training fold instead" in notes[0]


def test_no_count_without_a_pretrained_backbone():
    X, y = data()
    result = compare(["logreg"], X, y, cv=2, importance=False, features=INTENSITY)
    assert "pretrained_on" not in result.settings
    assert pretraining_notes(result.settings) == []
    assert "Self-supervised pretraining" not in render_report(result)


def _assert_each_fold_saw_its_training_images(result, X, model):
    """The pretraining of each of ``model``'s fits saw its training images only."""
    keys = [content_key(image) for image in X]
    folds = {(f["repeat"], f["fold"]): f["test"] for f in result.folds}
    logged = result.extras[model]
    assert len(logged) == len(result.folds)
    for fold in logged:
        test = set(folds[fold["repeat"], fold["fold"]])
        saw = set(fold["pretrain"]["images"])
        train_keys = {keys[i] for i in range(len(X)) if i not in test}
        assert saw == train_keys  # the fold's training images, all and only them
        assert not saw & {keys[i] for i in test}


def test_pretrain_fold_never_shows_a_test_image_to_the_pretraining():
    X, y = data(30)
    cnn = CNNClassifier(**CNN)
    result = compare(
        {"cnn": cnn, **build_models("logreg")},
        X,
        y,
        cv=3,
        importance=False,
        features=INTENSITY,
        pretrain={"epochs": 1, "batch_size": 8},
    )
    _assert_each_fold_saw_its_training_images(result, X, "cnn")
    assert result.settings["pretrain"] == {"epochs": 1, "batch_size": 8}
    assert result.settings["pretrained_on"] == {
        "cnn": [
            {
                "via": "fold",
                "network": "cnn",
                "method": "vicreg",
                "folds": 3,
                "n_images": 20,
                "seen": 0,
                "of": 30,
            }
        ]
    }
    assert result.model_info["cnn"]["description"].startswith(
        "Compact LipNet-style CNN pretrained without labels (VICReg)"
    )
    (note,) = pretraining_notes(result.settings)
    assert "none of the 30 evaluated images was seen" in note


def test_pretrain_fold_keeps_a_model_s_own_settings():
    X, y = data(16)
    cnn = CNNClassifier(pretrain={"epochs": 2}, **CNN)
    result = compare({"cnn": cnn}, X, y, cv=2, importance=False, pretrain="fold")
    assert all(len(f["pretrain"]["history"]) == 2 for f in result.extras["cnn"])
    assert result.settings["pretrain"] == "fold"


@pytest.mark.parametrize(
    ("models", "features", "pretrain", "message"),
    [
        (["logreg"], None, "fold", "none of logreg is one"),
        (
            ["logreg", "cnn"],
            FeatureExtractor(
                families=[EmbeddingFeatures(weights="bb.pt", device="cpu")]
            ),
            "fold",
            r"from random weights .* it was given weights \(bb.pt\)",
        ),
        (
            {
                "fusion": FusionClassifier(
                    cnn=CNNClassifier(**CNN),
                    features=FeatureExtractor(
                        families=[EmbeddingFeatures(weights="bb.pt", device="cpu")]
                    ),
                )
            },
            None,
            "fold",
            "fusion holds 'embedding' features of its own",
        ),
        (["cnn"], None, "all", "must be None, 'fold' or a dict"),
        (["cnn"], None, {"epochs": 0}, r"'epochs' parameter of compare\(pretrain"),
    ],
)
def test_pretrain_fold_refuses_what_it_cannot_do(models, features, pretrain, message):
    X, y = data(8)
    with pytest.raises(ValueError, match=message):
        compare(models, X, y, cv=2, features=features, pretrain=pretrain)


# -- the embedding features, pretrained per fold ---------------------------------
def _deep_features(cache_dir=None):
    deep = EmbeddingFeatures(architecture="lipnet", input_size=SIZE, device="cpu")
    return FeatureExtractor(families=["intensity", deep], cache_dir=cache_dir)


def test_pretrain_fold_pretrains_the_embedding_network_on_each_training_fold(tmp_path):
    X, y = data(30)
    result = compare(
        ["logreg"],
        X,
        y,
        cv=3,
        importance=False,
        features=_deep_features(tmp_path / "cache"),
        pretrain={"epochs": 1, "batch_size": 8},
        random_state=0,
    )
    _assert_each_fold_saw_its_training_images(result, X, "logreg")
    assert result.settings["pretrained_on"] == {
        "logreg": [
            {
                "via": "fold",
                "network": "embedding",
                "method": "vicreg",
                "folds": 3,
                "n_images": 20,
                "seen": 0,
                "of": 30,
            }
        ]
    }
    (note,) = pretraining_notes(result.settings)
    assert note.startswith("The network of the embedding features of logreg was")
    assert "none of the 30 evaluated images was seen" in note
    html = render_report(result)
    assert "embedding features: inside each fit, on its training images" in html
    # One backbone per fold, each its own network: the folds' features differ.
    files = sorted((tmp_path / "cache" / "backbones").glob("embedding-*.pt"))
    assert len(files) == 3
    nets = [PretrainedBackbone.load(f) for f in files]
    assert {len(n.image_keys) for n in nets} == {20}
    assert len({n.state_dict["trunk.0.weight"].sum().item() for n in nets}) == 3


def test_a_rerun_reuses_the_folds_backbones_and_gives_the_same_result(
    tmp_path, monkeypatch
):
    X, y = data(20)
    settings = {"epochs": 1, "batch_size": 8}
    run = {"cv": 2, "importance": False, "pretrain": settings, "random_state": 0}
    first = compare(["logreg"], X, y, features=_deep_features(tmp_path), **run)

    def no_pretraining(*args, **kwargs):
        raise AssertionError("the backbones were pretrained again")

    monkeypatch.setattr("featcls.models.pretrain", no_pretraining)
    again = compare(["logreg"], X, y, features=_deep_features(tmp_path), **run)
    for a, b in zip(again.records, first.records, strict=True):
        np.testing.assert_array_equal(a.proba, b.proba)
        np.testing.assert_array_equal(a.y_pred, b.y_pred)
    # Other settings are another backbone, pretrained anew.
    with pytest.raises(AssertionError, match="pretrained again"):
        compare(
            ["logreg"],
            X,
            y,
            features=_deep_features(tmp_path),
            **{**run, "pretrain": {"epochs": 2, "batch_size": 8}},
        )


def test_without_pretrain_an_embedding_family_needs_a_network():
    X, y = data(8)
    with pytest.raises(ValueError, match="needs a network.*pretrain='fold'"):
        compare(["logreg"], X, y, cv=2, features=_deep_features())
