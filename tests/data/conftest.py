"""Fixtures that write image files for the featcls.data tests."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile


def _write(path, image, **tiff_kwargs):
    """Write ``image`` (RGB order) to ``path``, choosing the writer by extension."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".tif", ".tiff"):
        tifffile.imwrite(path, image, **tiff_kwargs)
        return path
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    ok, encoded = cv2.imencode(path.suffix, image)
    assert ok
    path.write_bytes(encoded.tobytes())
    return path


@pytest.fixture
def write():
    """``write(path, image, **tiff_kwargs) -> Path``."""
    return _write


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def disk():
    """A 64×64 uint8 image of a bright disk (radius 12 at (30, 34)) and its mask."""
    yy, xx = np.mgrid[:64, :64]
    mask = (yy - 30) ** 2 + (xx - 34) ** 2 <= 12**2
    image = np.where(mask, 200, 40).astype(np.uint8)
    return image, mask
