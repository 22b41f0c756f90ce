"""The report's thumbnails of samples of one file per named channel."""

import base64

import cv2
import numpy as np
import pytest

from featcls.data import load_manifest
from featcls.evaluation import compare
from featcls.features import FeatureExtractor
from tests._atlas import ATLAS, STAINS, write_atlas, write_png


def _decode(uri: str) -> np.ndarray:
    """A thumbnail data URI as an RGB array."""
    data = base64.b64decode(uri.split(",", 1)[1])
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.fixture
def thumbnails(tmp_path):
    """The thumbnails of an atlas whose only structure is in one stain per sample.

    Sample i's stain ``STAINS[i % 4]`` has a bright square; the others are flat.
    """
    csv = write_atlas(tmp_path, n=8)
    flat = np.full((16, 16), 50, np.uint8)
    for i in range(8):
        for k, stain in enumerate(STAINS):
            if k != i % 4:
                write_png(tmp_path / "train" / f"s{i}_{stain}.png", flat)

    def make(view=None):
        data = load_manifest(csv, **ATLAS)
        data = data if view is None else data.select_channels(view)
        features = FeatureExtractor(families=["intensity"], mask="full")
        with pytest.warns(UserWarning):  # flat stains: NaN spread statistics
            result = compare(
                ["logreg"], data.X, data.y, cv=2, features=features, dataset=data
            )
        return {int(i): _decode(u) for i, u in result.dataset["thumbnails"].items()}

    return make


def test_stains_are_shown_in_their_colours(thumbnails):
    thumbs = thumbnails()
    assert thumbs, "the report has thumbnails of the examples"
    expected = {  # red, green, blue, yellow = red + green
        0: (1, 0, 0),
        1: (0, 1, 0),
        2: (0, 0, 1),
        3: (1, 1, 0),
    }
    for i, rgb in thumbs.items():
        square, corner = rgb[8, 8].astype(int), rgb[0, 0].astype(int)
        colour = tuple(int(v > 128) for v in square)
        assert colour == expected[i % 4], (i, square)
        assert corner.max() < 60  # the flat background is black


def test_a_one_stain_view_is_shown_in_its_colour(thumbnails):
    for i, rgb in thumbnails("blue").items():
        square = rgb[8, 8].astype(int)
        if i % 4 == 2:
            assert square[2] > 128 and square[:2].max() < 60, (i, square)
        else:
            assert square.max() < 60, (i, square)
