"""The CNN keeps the names of its input channels and predicts by name."""

import base64

import cv2
import numpy as np
import pytest
import torch

from featcls.data import ChannelFiles, load_manifest
from featcls.models import CNNClassifier
from featcls.models._cnn_nets import build_network
from featcls.models._cnn_saliency import explain
from tests._atlas import ATLAS, STAINS, write_atlas

FAST = {"input_size": 8, "batch_size": 4, "n_threads": 1, "max_epochs": 1}


@pytest.fixture
def atlas(tmp_path):
    return load_manifest(write_atlas(tmp_path, n=6), **ATLAS)


def _reordered(table):
    """The same samples with their channel files listed in reverse order."""
    out = table.copy()
    out["image"] = [ChannelFiles(s.paths[::-1], s.names[::-1]) for s in table["image"]]
    return out


def test_the_channel_names_of_the_training_samples_are_kept(atlas):
    clf = CNNClassifier(**FAST).fit(atlas.X, atlas.y)
    assert clf.channel_names_ == STAINS
    # Samples listing their channels in another order are read by name.
    np.testing.assert_allclose(
        clf.predict_proba(_reordered(atlas.X)), clf.predict_proba(atlas.X)
    )
    arrays = np.stack([np.zeros((8, 8), np.uint8), np.ones((8, 8), np.uint8)] * 2)
    assert CNNClassifier(**FAST).fit(arrays, [0, 1, 0, 1]).channel_names_ is None


def test_a_cnn_fitted_on_a_channel_view_predicts_on_full_samples(atlas):
    view = atlas.select_channels("green,blue")
    clf = CNNClassifier(**FAST).fit(view.X, view.y)
    assert clf.channel_names_ == ("green", "blue") and clf.n_channels_ == 2
    np.testing.assert_allclose(clf.predict_proba(atlas.X), clf.predict_proba(view.X))
    other = atlas.select_channels("red")
    with pytest.raises(ValueError, match=r"Unknown channel\(s\) 'green', 'blue'"):
        clf.predict(other.X)


def test_saved_models_keep_their_channel_names(atlas, tmp_path):
    view = atlas.select_channels("blue")
    clf = CNNClassifier(**FAST).fit(view.X, view.y)
    path = clf.save(tmp_path / "blue.pt")
    assert torch.load(path, weights_only=True)["version"] == 5
    loaded = CNNClassifier.load(path)
    assert loaded.channel_names_ == ("blue",)
    np.testing.assert_array_equal(
        loaded.predict_proba(atlas.X), clf.predict_proba(view.X)
    )


def _decode(uri: str) -> np.ndarray:
    data = base64.b64decode(uri.split(",", 1)[1])
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def test_thumbnails_of_named_channels_are_a_false_colour_composite():
    raw = np.zeros((1, 4, 32, 32), np.uint8)
    raw[0, 1, 8:24, 8:24] = 200  # a square in the green stain only
    net = build_network("lipnet", 4, 2, dropout=0.0).eval()
    x = torch.as_tensor(raw / 255.0, dtype=torch.float32)
    items = [{"index": 0, "true": "a", "pred": "a"}]
    saliency, _ = explain(
        net, x, raw, torch.tensor([0]), items, channel_names=list(STAINS)
    )
    square = _decode(saliency[0]["input"])[12:20, 12:20].mean(axis=(0, 1))  # BGR
    assert square[1] > 200 and square[0] < 40 and square[2] < 40  # green
    # Unnamed channels: the mean over them, in grey.
    plain, _ = explain(net, x, raw, torch.tensor([0]), items)
    grey = _decode(plain[0]["input"])[12:20, 12:20].mean(axis=(0, 1))
    assert np.ptp(grey) < 10 and grey[1] < 100
