"""CNNClassifier and FusionClassifier on multi-label targets (a 0/1 label matrix)."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import f1_score

from featcls import FeatureExtractor
from featcls.evaluation import compare
from featcls.models import CNNClassifier, FusionClassifier

SIZE = 24
LABELS = ["top_left", "top_right", "bottom_left", "bottom_right"]
#: No flips or rotations: they would move a corner, and so its label, elsewhere.
FAST = {
    "input_size": SIZE,
    "n_threads": 1,
    "batch_size": 8,
    "architecture": "simple",
    "augment": False,
}


def corners(n: int, seed: int = 0, rates=(0.4, 0.4, 0.3, 0.15)):
    """Dark noisy images; label ``k`` is a bright square in corner ``k``."""
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, 4)) < np.asarray(rates)).astype(int)
    Y[:2, 3] = 1  # a few of the rare label in any draw
    X = rng.integers(0, 40, size=(n, SIZE, SIZE)).astype(np.uint8)
    h = SIZE // 3
    for i, k in zip(*np.nonzero(Y), strict=True):
        rows = slice(0, h) if k < 2 else slice(SIZE - h, SIZE)
        cols = slice(0, h) if k % 2 == 0 else slice(SIZE - h, SIZE)
        X[i, rows, cols] = rng.integers(180, 250, size=(h, h))
    return X, pd.DataFrame(Y, columns=LABELS)


@pytest.fixture(scope="module")
def data():
    return corners(40)


@pytest.fixture(scope="module")
def fitted(data):
    X, Y = data
    return CNNClassifier(max_epochs=3, **FAST).fit(X, Y)


def test_per_label_probabilities_and_decisions_at_the_thresholds(data, fitted):
    X, Y = data
    assert fitted.multilabel_ and fitted.classes_.tolist() == LABELS
    proba = fitted.predict_proba(X)
    assert proba.shape == (40, 4) and np.all((proba >= 0) & (proba <= 1))
    assert not np.allclose(proba.sum(axis=1), 1.0)  # sigmoids, not a softmax
    pred = fitted.predict(X)
    assert pred.shape == (40, 4) and set(np.unique(pred)) <= {0, 1}
    np.testing.assert_array_equal(pred, proba >= fitted.thresholds_)
    assert fitted.history_[0].keys() >= {"val_loss", "val_f1"}


def test_a_short_fit_learns_every_corner(fitted):
    X, Y = corners(40, seed=1)
    scores = f1_score(Y, fitted.predict(X), average=None)
    assert np.all(scores > 0.6), scores


def test_positive_weights_are_negatives_over_positives_of_the_training_data(data):
    X, Y = data
    clf = CNNClassifier(max_epochs=1, early_stopping=False, **FAST).fit(X, Y)
    positives = Y.to_numpy().sum(axis=0)
    np.testing.assert_allclose(clf.pos_weight_, (40 - positives) / positives)
    assert clf.pos_weight_[3] > clf.pos_weight_[0]  # the rare label weighs more
    # Without a validation split, every threshold is 0.5.
    assert clf.thresholds_.tolist() == [0.5] * 4
    unweighted = CNNClassifier(
        max_epochs=1, early_stopping=False, class_weight=None, **FAST
    )
    assert unweighted.fit(X, Y).pos_weight_ is None


def test_positive_weights_leave_the_validation_images_out(data):
    X, Y = data

    class Recording(CNNClassifier):
        def _train_step(self, run, idx):
            seen.update(idx.tolist())
            return super()._train_step(run, idx)

    seen = set()
    clf = Recording(max_epochs=1, validation_fraction=0.25, **FAST).fit(X, Y)
    train = sorted(seen)
    assert len(train) == 30
    positives = Y.to_numpy()[train].sum(axis=0)
    np.testing.assert_allclose(clf.pos_weight_, (30 - positives) / positives)


def test_thresholds_are_tuned_on_the_validation_images(fitted):
    t = fitted.thresholds_
    assert t.shape == (4,) and np.all((t > 0) & (t < 1))
    assert not np.allclose(t, 0.5)


def test_the_loss_is_the_weighted_sigmoid_cross_entropy(data):
    X, Y = data
    losses = []

    class Recording(CNNClassifier):
        def _train_step(self, run, idx):
            with torch.no_grad():
                x = self._inputs(run.images[idx], run.mean, run.std)
                logits = self.module_(x)
            expected = torch.nn.functional.binary_cross_entropy_with_logits(
                logits.float(),
                torch.as_tensor(Y.to_numpy()[idx], dtype=torch.float32),
                pos_weight=torch.as_tensor(self.pos_weight_),
            )
            losses.append((float(expected), float(super()._train_step(run, idx))))
            return torch.as_tensor(losses[-1][1])

    # float32: on a CPU with native bfloat16 "auto" would train in bfloat16.
    Recording(
        max_epochs=1,
        early_stopping=False,
        ema_decay=0.0,
        dropout=0.0,
        precision="float32",
        **FAST,
    ).fit(X, Y)
    # The first step: same weights, batch norm in training mode both times.
    assert losses[0][1] == pytest.approx(losses[0][0], rel=1e-4)


def test_oversampling_draws_images_of_rare_labels_again(data):
    X, Y = data
    batches = []

    class Recording(CNNClassifier):
        def _train_step(self, run, idx):
            batches.append(np.array(idx))
            return super()._train_step(run, idx)

    Recording(
        max_epochs=1,
        early_stopping=False,
        class_weight=None,
        resample="oversample",
        **FAST,
    ).fit(X, Y)
    order = np.concatenate(batches)
    counts = Y.to_numpy()[order].sum(axis=0)
    before = Y.to_numpy().sum(axis=0)
    assert set(order) == set(range(40))  # every image, plus repeats
    assert len(order) > 40
    # The rare label is topped up to (at least) the mean count of the labels.
    assert counts[3] >= np.ceil(before.mean()) > before[3]
    with pytest.raises(ValueError, match="cannot be 'undersample' for a multi-label"):
        CNNClassifier(resample="undersample", **FAST).fit(X, Y)


def test_a_two_dimensional_y_must_be_zero_or_one(data):
    X, _ = data
    with pytest.raises(ValueError, match="multi-label indicator matrix"):
        CNNClassifier(max_epochs=1, **FAST).fit(X, np.full((40, 2), 2))


def test_saliency_explains_the_most_probable_label(fitted):
    report = fitted.featcls_report_
    assert report["saliency"] and report["gradcam"]
    assert "most probable label" in report["explained_label"]
    for item in report["saliency"]:
        assert item["explained"] in LABELS
        assert set(item["true"].split()) <= set(LABELS)


def test_compare_runs_the_cnn_on_a_label_matrix_above_chance():
    X, Y = corners(48, seed=2)
    result = compare(
        {"cnn": CNNClassifier(max_epochs=3, **FAST)},
        pd.DataFrame({"image": list(X)}),
        Y,
        cv=2,
        importance=False,
        progress=False,
    )
    assert result.multilabel
    assert all(r.error is None for r in result.records), result.records[0].error
    scores = result.to_frame()["f1_macro"]
    # Calling every image positive for every label scores at most this.
    rates = Y.to_numpy().mean(axis=0)
    chance = np.mean(2 * rates / (1 + rates))
    assert scores.min() > chance + 0.2, (scores.tolist(), chance)
    for rec in result.records:
        assert len(rec.params["label_thresholds"]) == 4


def test_save_load_round_trip(tmp_path, data, fitted):
    X, _ = data
    path = fitted.save(tmp_path / "multilabel.pt")
    assert torch.load(path, weights_only=True)["version"] == 5
    loaded = CNNClassifier.load(path)
    assert loaded.multilabel_ and loaded.classes_.tolist() == LABELS
    np.testing.assert_array_equal(loaded.thresholds_, fitted.thresholds_)
    np.testing.assert_array_equal(loaded.pos_weight_, fitted.pos_weight_)
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))


def test_fusion_trains_on_a_label_matrix_and_saves(tmp_path, data):
    X, Y = data
    fusion = FusionClassifier(
        cnn=CNNClassifier(max_epochs=2, **FAST),
        features=FeatureExtractor(["intensity"]),
    )
    assert FusionClassifier.featcls_multilabel is True
    fusion.fit(X, Y)
    assert fusion.multilabel_ and fusion.thresholds_.shape == (4,)
    assert fusion.predict_proba(X).shape == (40, 4)
    np.testing.assert_array_equal(
        fusion.predict(X), fusion.predict_proba(X) >= fusion.thresholds_
    )
    loaded = FusionClassifier.load(fusion.save(tmp_path / "fusion.pt"))
    np.testing.assert_array_equal(loaded.thresholds_, fusion.thresholds_)
    np.testing.assert_array_equal(loaded.predict_proba(X), fusion.predict_proba(X))
