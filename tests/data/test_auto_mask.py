"""auto_mask: Otsu, polarity, largest component, filled holes."""

import numpy as np
import pytest

from featcls.data import auto_mask


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


def test_bright_disk_on_dark(disk):
    image, truth = disk
    mask = auto_mask(image)
    assert mask.dtype == bool and mask.shape == image.shape
    assert _iou(mask, truth) > 0.95


def test_dark_disk_on_bright(disk):
    image, truth = disk
    mask = auto_mask(255 - image)
    assert _iou(mask, truth) > 0.95


def test_noisy_float_disk(disk, rng):
    image, truth = disk
    noisy = image / 255 + rng.normal(0, 0.15, image.shape)
    assert _iou(auto_mask(noisy.astype(np.float32)), truth) > 0.9


def test_ring_is_filled_and_small_blobs_dropped():
    yy, xx = np.mgrid[:80, :80]
    r = np.hypot(yy - 40, xx - 40)
    image = np.full((80, 80), 0.8, dtype=np.float32)
    image[(r > 18) & (r < 22)] = 0.2  # dark ring
    image[2:5, 2:5] = 0.2  # small dark blob touching nothing
    mask = auto_mask(image, sigma=0)
    np.testing.assert_array_equal(mask, r < 22)


def test_the_larger_of_two_objects_is_kept(rng):
    image = np.zeros((80, 80), np.float32)
    image[10:30, 10:30] = 1.0  # 400 px
    image[40:75, 40:75] = 1.0  # 1225 px
    image += rng.random(image.shape).astype(np.float32) * 0.05
    mask = auto_mask(image)
    assert abs(int(mask.sum()) - 35 * 35) < 40
    assert not mask[20, 20] and mask[57, 57]


def test_constant_image_gives_all_true():
    assert auto_mask(np.full((10, 12), 7, dtype=np.uint8)).all()


def test_needs_2d():
    with pytest.raises(
        ValueError, match=r"auto_mask expects a 2-D grey image, got shape \(4, 4, 3\)"
    ):
        auto_mask(np.zeros((4, 4, 3)))
