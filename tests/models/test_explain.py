"""featcls.explain: Grad-CAM and saliency maps of fitted CNN and fusion models."""

import numpy as np
import pytest
import torch
from torch import nn

import featcls
from featcls.features import FeatureExtractor
from featcls.models import (
    CNNClassifier,
    Explanation,
    FusionClassifier,
    build_model,
    explain,
    feature_pipeline,
)

SIZE = 16
FAST = {"input_size": SIZE, "max_epochs": 1, "early_stopping": False, "n_threads": 1}


def images(n: int = 12, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 100, size=(n, SIZE, SIZE), dtype=np.uint8)
    X[n // 2 :] += 120
    return X, np.array(["dark"] * (n // 2) + ["bright"] * (n // 2))


class LeftHalf(nn.Module):
    """Sees only the left half of the image: the right half is multiplied by 0."""

    def __init__(self, in_channels, n_classes, conv=True):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 4, 1, bias=False) if conv else None
        self.fc = nn.Linear(4 if conv else in_channels, n_classes)

    def forward(self, x):
        keep = torch.zeros_like(x)
        keep[..., : x.shape[-1] // 2] = 1
        x = x * keep
        maps = self.conv(x) if self.conv is not None else x
        return self.fc(maps.mean(dim=(2, 3)))


@pytest.fixture(scope="module")
def data():
    return images()


@pytest.fixture(scope="module")
def cnn(data):
    return CNNClassifier(**FAST).fit(*data)


@pytest.fixture(scope="module")
def left_half(data):
    return CNNClassifier(module=LeftHalf, tta=False, **FAST).fit(*data)


def test_explanations_are_heat_maps_and_rgb_overlays(cnn, data):
    X, _ = data
    found = featcls.explain(cnn, X[:5])
    assert len(found) == 5 and all(isinstance(e, Explanation) for e in found)
    proba = cnn.predict_proba(X[:5])
    for e, p in zip(found, proba, strict=True):
        assert e.heatmap.shape == (SIZE, SIZE) and e.heatmap.dtype == np.float32
        assert e.heatmap.min() >= 0 and e.heatmap.max() == pytest.approx(1.0)
        assert e.overlay.shape == (SIZE, SIZE, 3) and e.overlay.dtype == np.uint8
        assert e.prediction == cnn.classes_[p.argmax()] == e.target
        assert e.probability == pytest.approx(p.max())


@pytest.mark.parametrize("method", ["gradcam", "saliency"])
def test_a_network_blind_to_the_right_half_never_looks_there(left_half, data, method):
    """Analytic: the logits do not depend on the right half's pixels at all."""
    X, _ = data
    for e in explain(left_half, X, method=method):
        assert np.all(e.heatmap[:, SIZE // 2 :] == 0)
        if method == "saliency":  # the gradient is non-zero on the left half
            assert np.all(e.heatmap[:, : SIZE // 2] > 0)


def test_the_overlay_is_the_heat_map_in_colour_over_the_grey_image(left_half, data):
    """Where the map is 0 the overlay is JET's dark blue blended with the grey."""
    X, _ = data
    (e,) = explain(left_half, X[:1], method="saliency")
    right = e.overlay[:, SIZE // 2 + 1 :].astype(int)  # clear of the blend edge
    grey = X[0][:, SIZE // 2 + 1 :].astype(int)
    # JET at 0 is (0, 0, 128) in RGB: half of it, plus half of the grey.
    np.testing.assert_allclose(right[..., 0], grey / 2, atol=1)
    np.testing.assert_allclose(right[..., 2], grey / 2 + 64, atol=1)


def test_a_class_can_be_chosen_for_every_image(cnn, data):
    X, _ = data
    dark = explain(cnn, X[:4], target="dark")
    bright = explain(cnn, X[:4], target="bright")
    assert {e.target for e in dark} == {"dark"} and {e.target for e in bright} == {
        "bright"
    }
    assert [e.prediction for e in dark] == [e.prediction for e in bright]
    assert not np.allclose(dark[0].heatmap, bright[0].heatmap)


@pytest.mark.filterwarnings("ignore::featcls.exceptions.FeatureWarning")
def test_a_fusion_model_is_explained_through_its_network(data):
    X, y = data
    fusion = FusionClassifier(
        cnn=CNNClassifier(**FAST), features=FeatureExtractor(families="intensity")
    )
    fusion.fit(X, y)
    found = explain(fusion, X[:3], method="gradcam")
    assert [e.prediction for e in found] == [str(c) for c in fusion.predict(X[:3])]


def test_a_network_without_convolutions_has_saliency_but_no_grad_cam(data):
    X, y = data
    flat = CNNClassifier(module=lambda c, k: LeftHalf(c, k, conv=False), **FAST)
    flat.fit(X, y)
    assert explain(flat, X[:2], method="saliency")[0].heatmap.shape == (SIZE, SIZE)
    with pytest.raises(ValueError, match="no Grad-CAM layer .* method='saliency'"):
        explain(flat, X[:2], method="gradcam")


def test_feature_models_are_refused_with_the_models_that_can_be_explained(data):
    X, y = data
    extractor = FeatureExtractor(families="shape")
    pipe = feature_pipeline(extractor, build_model("logreg", features=extractor))
    pipe.fit(X, y)
    message = "explain needs a model with gradients .* CNNClassifier or FusionClass"
    with pytest.raises(ValueError, match=message + ".* got a Pipeline"):
        explain(pipe, X[:2])


def test_bad_settings_say_what_was_expected(cnn, data):
    X, _ = data
    with pytest.raises(ValueError, match=r"'method' .* \('gradcam', 'saliency'\)"):
        explain(cnn, X[:2], method="lime")
    with pytest.raises(ValueError, match=r"'target' .* \['bright', 'dark'\]"):
        explain(cnn, X[:2], target="grey")
    with pytest.raises(ValueError, match="needs images: got 0"):
        explain(cnn, X[:0])
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        explain(CNNClassifier(), X[:2])
