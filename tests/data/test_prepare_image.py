"""prepare_image: whole, cropped, cropped and masked; resizing."""

import numpy as np
import pytest

from featcls.data import prepare_image
from featcls.exceptions import DataWarning


def test_default_is_unchanged(disk):
    image, mask = disk
    out, out_mask = prepare_image(image)
    assert out is image and out_mask is None
    out, out_mask = prepare_image(image, mask)
    np.testing.assert_array_equal(out, image)
    np.testing.assert_array_equal(out_mask, mask)


def test_crop_box_with_margin(disk):
    image, mask = disk  # disk rows 18..42, cols 22..46 (25 px box)
    out, out_mask = prepare_image(image, mask, crop=True, margin=0.2)
    assert out.shape == (35, 35)  # 25 + 2 * ceil(0.2 * 25)
    assert out_mask.sum() == mask.sum()  # the whole object is inside
    assert not out_mask[:5].any() and not out_mask[-5:].any()


def test_crop_is_clipped_to_the_image():
    image = np.zeros((20, 20), dtype=np.uint8)
    mask = np.zeros((20, 20), dtype=bool)
    mask[0:10, 12:20] = True
    out, _ = prepare_image(image, mask, crop=True, margin=0.5)
    assert out.shape == (15, 12)  # rows 0..15, cols 8..20


def test_crop_uses_auto_mask_without_mask(disk):
    image, mask = disk
    out, out_mask = prepare_image(image, crop=True, margin=0)
    # The pre-smoothing of auto_mask may shave the disk's one-pixel tips.
    assert 23 <= out.shape[0] <= 25 and 23 <= out.shape[1] <= 25
    assert out_mask is not None and out_mask.sum() == pytest.approx(
        mask.sum(), rel=0.05
    )


def test_mask_out(disk):
    image, mask = disk
    out, out_mask = prepare_image(image, mask, crop=True, mask_out=True, fill=7)
    assert out.dtype == np.uint8
    assert (out[~out_mask] == 7).all()
    assert (out[out_mask] == 200).all()
    assert (image != 7).all()  # the input is not modified


def test_mask_out_colour(disk):
    image, mask = disk
    rgb = np.dstack([image] * 3)
    out, _ = prepare_image(rgb, mask, mask_out=True)
    assert out.shape == rgb.shape
    assert (out[~mask] == 0).all()


@pytest.mark.parametrize(
    ("size", "shape"), [(16, (16, 16)), ((20, 30), (20, 30)), (128, (128, 128))]
)
@pytest.mark.parametrize("channels", [1, 3, 5])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_resize(disk, size, shape, channels, dtype):
    image, mask = disk
    image = image.astype(dtype)
    if channels > 1:
        image = np.dstack([image] * channels)
    out, out_mask = prepare_image(image, mask, size=size)
    assert out.shape == shape + ((channels,) if channels > 1 else ())
    assert out.dtype == dtype
    assert out_mask.shape == shape and out_mask.dtype == bool


def test_resized_mask_is_nearest_neighbour(disk):
    _, mask = disk
    _, small = prepare_image(mask.astype(np.uint8) * 255, mask, size=32)
    assert small.sum() == pytest.approx(mask.sum() / 4, rel=0.1)


def test_a_resized_mask_is_sampled_at_pixel_centres():
    # A centred one-pixel object stays centred: not shifted by half a pixel.
    mask = np.zeros((5, 5), bool)
    mask[2, 2] = True
    _, small = prepare_image(np.ones((5, 5), np.uint8), mask, size=3)
    expected = np.zeros((3, 3), bool)
    expected[1, 1] = True
    np.testing.assert_array_equal(small, expected)


def test_empty_mask_warns_and_keeps_image(disk):
    image, _ = disk
    with pytest.warns(DataWarning, match="the object mask is empty"):
        out, _ = prepare_image(image, np.zeros(image.shape, bool), crop=True)
    assert out.shape == image.shape


@pytest.mark.parametrize("size", [0, (10,), "big", (5, -1)])
def test_bad_size(disk, size):
    with pytest.raises(
        ValueError, match="size must be an int or a .height, width. pair"
    ):
        prepare_image(disk[0], size=size)


def test_mask_of_another_size(disk):
    with pytest.raises(ValueError, match="is 10×10 but its image is 64×64"):
        prepare_image(disk[0], np.ones((10, 10), bool), crop=True)
