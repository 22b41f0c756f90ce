"""The CNN's explanation images are small: one per class, WebP, at most 64 px."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest
import torch

from featcls.models._cnn_nets import build_network
from featcls.models._cnn_report import PER_CLASS_EXPLAINED, choose_explained
from featcls.models._cnn_saliency import MAX_SIDE, explain, image_uri

#: Most bytes of one explanation image (a 64-pixel saliency overlay is about 2 kB
#: as WebP; it was about 10 kB as PNG).
MAX_IMAGE_BYTES = 4000


def _decode(uri: str) -> tuple[np.ndarray, int]:
    """The image of a WebP data URI and its size in bytes."""
    assert uri.startswith("data:image/webp;base64,")
    data = base64.b64decode(uri.split(",", 1)[1])
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image is not None
    return image, len(data)


@pytest.mark.parametrize("shape", [(64, 64), (64, 64, 3), (20, 30, 3)])
def test_image_uri_is_a_small_webp_of_the_same_image(shape):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, shape, dtype=np.uint8)  # noise: the worst case
    decoded, size = _decode(image_uri(image))
    assert decoded.shape[:2] == shape[:2]
    assert size <= MAX_IMAGE_BYTES
    smooth = cv2.GaussianBlur(image, (0, 0), 3)
    decoded, _ = _decode(image_uri(smooth))
    if smooth.ndim == 2:  # WebP decodes to BGR
        decoded = cv2.cvtColor(decoded, cv2.COLOR_BGR2GRAY)
    assert np.abs(decoded.astype(int) - smooth).mean() < 6


def test_one_image_is_explained_per_class():
    labels = np.array([0] * 10 + [1] * 10 + [2] * 1)
    chosen = choose_explained(np.arange(21), labels, 3, seed=0)
    assert PER_CLASS_EXPLAINED == 1
    assert sorted(labels[chosen].tolist()) == [0, 1, 2]
    assert choose_explained(np.arange(21), labels, 3, seed=0) == chosen


def test_explain_stores_each_overlay_once_as_small_webp():
    net = build_network("lipnet", 1, 2, dropout=0.0).eval()
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, (3, 1, 96, 96), dtype=np.uint8)
    x = torch.as_tensor(raw / 255.0, dtype=torch.float32)
    items = [{"index": i, "true": "a", "pred": "b"} for i in range(3)]
    saliency, gradcam = explain(net, x, raw, torch.tensor([0, 1, 0]), items)
    keys = {"index", "true", "pred", "image"}
    assert [set(s) for s in saliency] == [keys | {"input"}] * 3
    assert [set(g) for g in gradcam] == [keys] * 3
    for entry in saliency + gradcam:
        for key in ("image", "input"):
            if key in entry:
                image, size = _decode(entry[key])
                assert image.shape[:2] == (MAX_SIDE, MAX_SIDE)  # 96 px scaled down
                assert size <= MAX_IMAGE_BYTES
