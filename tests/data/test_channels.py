"""split_channels and its policies."""

import numpy as np
import pytest

from featcls.data import CHANNEL_POLICIES, split_channels


@pytest.fixture
def rgba(rng):
    return rng.random((6, 7, 4), dtype=np.float32)


def test_policies_constant():
    assert CHANNEL_POLICIES == ("gray", "rgb", "hsv", "channels")


def test_gray_of_grey_image_is_unchanged(rng):
    image = rng.random((5, 5), dtype=np.float32)
    arrays, names = split_channels(image)
    assert names == ["gray"]
    np.testing.assert_array_equal(arrays[0], image)


def test_gray_of_colour_is_bt601_luma_and_drops_alpha(rgba):
    arrays, names = split_channels(rgba, "gray")
    expected = 0.299 * rgba[..., 0] + 0.587 * rgba[..., 1] + 0.114 * rgba[..., 2]
    assert names == ["gray"] and arrays[0].dtype == np.float32
    np.testing.assert_allclose(arrays[0], expected, rtol=1e-5)
    np.testing.assert_array_equal(
        arrays[0], split_channels(rgba[..., :3], "gray")[0][0]
    )


def test_gray_of_multichannel_is_mean(rng):
    image = rng.random((4, 4, 6), dtype=np.float32)
    np.testing.assert_allclose(
        split_channels(image)[0][0], image.mean(axis=2), rtol=1e-6
    )


def test_integer_images_are_scaled():
    image = np.full((2, 2, 3), 255, dtype=np.uint8)
    np.testing.assert_allclose(split_channels(image, "gray")[0][0], 1.0, rtol=1e-6)


def test_rgb(rgba):
    arrays, names = split_channels(rgba, "rgb")
    assert names == ["r", "g", "b"]
    for i, array in enumerate(arrays):
        np.testing.assert_array_equal(array, rgba[..., i])
        assert array.flags.c_contiguous


@pytest.mark.parametrize("policy", ["rgb", "hsv"])
@pytest.mark.parametrize(
    ("shape", "kind"), [((4, 4), "a grey"), ((4, 4, 5), "a 5-channel")]
)
def test_colour_policies_need_rgb(policy, shape, kind):
    with pytest.raises(
        ValueError,
        match=f"channels='{policy}' needs an RGB or RGBA image, got {kind} image",
    ):
        split_channels(np.zeros(shape, dtype=np.float32), policy)


@pytest.mark.parametrize(
    ("rgb", "hsv"),
    [
        ((1.0, 0.0, 0.0), (0.0, 1.0, 1.0)),
        ((0.0, 1.0, 0.0), (1 / 3, 1.0, 1.0)),
        ((0.0, 0.0, 0.5), (2 / 3, 1.0, 0.5)),
        ((0.5, 0.5, 0.5), (0.0, 0.0, 0.5)),
    ],
)
def test_hsv_in_unit_range(rgb, hsv):
    image = np.broadcast_to(np.array(rgb, dtype=np.float32), (3, 3, 3))
    arrays, names = split_channels(image, "hsv")
    assert names == ["h", "s", "v"]
    np.testing.assert_allclose([a[1, 1] for a in arrays], hsv, atol=1e-5)


def test_channels_keeps_everything(rgba):
    arrays, names = split_channels(rgba, "channels")
    assert names == ["c0", "c1", "c2", "c3"]
    np.testing.assert_array_equal(np.stack(arrays, axis=2), rgba)
    assert split_channels(rgba[..., 0], "channels")[1] == ["c0"]


def test_invalid_policy():
    with pytest.raises(
        ValueError,
        match="channels must be one of 'gray', 'rgb', 'hsv', 'channels'. Got 'grey'",
    ):
        split_channels(np.zeros((2, 2)), "grey")


#: A 5×5 RGB image whose grey, as a matrix product, changed in its last bit when the
#: array was Fortran-ordered (found by the hostile property tests).
_LAYOUT_SENSITIVE = np.array(
    [
        [217, 163, 130],
        [69, 78, 10],
        [19, 4, 44],
        [208, 166, 233],
        [128, 155, 248],
        [186, 161, 139],
        [143, 239, 71],
        [208, 171, 0],
        [100, 219, 141],
        [8, 195, 186],
        [216, 44, 22],
        [220, 5, 138],
        [20, 76, 123],
        [108, 103, 7],
        [1, 31, 2],
        [171, 134, 165],
        [65, 157, 195],
        [98, 117, 255],
        [206, 251, 97],
        [175, 243, 166],
        [215, 176, 180],
        [99, 224, 34],
        [148, 184, 216],
        [134, 96, 79],
        [108, 124, 184],
    ],
    dtype=np.uint8,
).reshape(5, 5, 3)


@pytest.mark.parametrize("policy", ["gray", "channels"])
def test_grey_and_channels_are_the_same_bits_in_any_memory_layout(policy):
    image = _LAYOUT_SENSITIVE
    (expected, *_), _ = split_channels(image, policy)
    for layout in (np.asfortranarray(image), image[::-1, ::-1].copy()[::-1, ::-1]):
        (got, *_), _ = split_channels(layout, policy)
        assert got.tobytes() == expected.tobytes()
    five = np.concatenate([image, image[:, :, :2]], axis=2)  # the mean of 5 channels
    names = ["a", "b", "c", "d", "e"]
    (mean, *_), _ = split_channels(five, "gray", names=names)
    (again, *_), _ = split_channels(np.asfortranarray(five), "gray", names=names)
    assert again.tobytes() == mean.tobytes()


def test_cnn_luma_is_the_same_bits_in_any_memory_layout():
    from featcls.models._cnn_data import luma

    image = _LAYOUT_SENSITIVE.astype(np.float32) / 255
    assert luma(np.asfortranarray(image)).tobytes() == luma(image).tobytes()
