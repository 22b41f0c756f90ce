"""read_image, read_mask, check_image and to_float."""

import re

import numpy as np
import pytest

from featcls.data import check_image, read_image, read_mask, to_float
from featcls.exceptions import ImageReadError


def _image(rng, dtype, channels, shape=(20, 30)):
    high = np.iinfo(dtype).max
    size = shape if channels == 1 else (*shape, channels)
    return rng.integers(0, high, size=size, endpoint=True).astype(dtype)


_LOSSLESS = [
    (suffix, dtype, channels)
    for suffix in (".png", ".tif", ".bmp")
    for dtype in (np.uint8, np.uint16)
    for channels in (1, 3, 4)
    # BMP holds 8-bit grey and RGB only
    if suffix != ".bmp" or (dtype == np.uint8 and channels != 4)
]


@pytest.mark.parametrize(("suffix", "dtype", "channels"), _LOSSLESS)
def test_lossless_round_trip(tmp_path, write, rng, suffix, dtype, channels):
    image = _image(rng, dtype, channels)
    kwargs = {"photometric": "rgb"} if suffix == ".tif" and channels > 1 else {}
    path = write(tmp_path / f"x{suffix}", image, **kwargs)
    out = read_image(path)
    assert out.dtype == dtype
    assert out.shape == image.shape
    np.testing.assert_array_equal(out, image)


@pytest.mark.parametrize("channels", [1, 3])
def test_jpeg_round_trip_keeps_rgb_order(tmp_path, write, channels):
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    image[..., 0] = 220  # red
    image = image if channels == 3 else image[..., 0]
    out = read_image(write(tmp_path / "x.jpg", image))
    assert out.dtype == np.uint8 and out.shape == image.shape
    assert np.abs(out.astype(int) - image).mean() < 3
    if channels == 3:
        assert out[..., 0].mean() > 200 and out[..., 2].mean() < 20


def test_rgb_order_png(tmp_path, write):
    image = np.zeros((4, 4, 3), dtype=np.uint8)
    image[..., 0] = 255
    out = read_image(write(tmp_path / "red.png", image))
    assert out[0, 0].tolist() == [255, 0, 0]


@pytest.mark.parametrize("planar", ["contig", "separate"])
def test_multichannel_tiff(tmp_path, write, rng, planar):
    image = _image(rng, np.uint16, 5)
    data = image if planar == "contig" else np.moveaxis(image, -1, 0)
    path = write(
        tmp_path / "five.tif", data, photometric="minisblack", planarconfig=planar
    )
    out = read_image(path)
    assert out.shape == (20, 30, 5)
    np.testing.assert_array_equal(out, image)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_tiff_becomes_float32(tmp_path, write, rng, dtype):
    image = rng.random(size=(10, 12)).astype(dtype)  # floats must lie in [0, 1]
    out = read_image(write(tmp_path / "f.tif", image))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, image, rtol=1e-6)


def test_8_and_16_bit_give_the_same_floats(tmp_path, write, rng):
    image8 = _image(rng, np.uint8, 3)
    image16 = image8.astype(np.uint16) * 257
    a = to_float(read_image(write(tmp_path / "a.png", image8)))
    b = to_float(read_image(write(tmp_path / "b.png", image16)))
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, b)


def test_array_source(rng):
    image = _image(rng, np.uint8, 3)
    assert read_image(image) is image
    assert read_image(np.array([[True, False]])).tolist() == [[255, 0]]
    assert read_image(np.zeros((2, 2), dtype=np.float64)).dtype == np.float32


def test_read_image_rejects_other_types():
    with pytest.raises(TypeError, match="expects a path .* or a numpy array, got list"):
        read_image([[0, 1]])


def _pinned(path, text):
    return re.escape(f"Cannot read image {str(path)!r}: {text}")


def test_missing_file(tmp_path):
    path = tmp_path / "nope.png"
    with pytest.raises(ImageReadError, match=_pinned(path, "the file does not exist")):
        read_image(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(
        ImageReadError, match=_pinned(path, "the file is empty (0 bytes)")
    ):
        read_image(path)


def test_not_an_image(tmp_path):
    path = tmp_path / "x.png"
    path.write_text("hello world")
    with pytest.raises(
        ImageReadError,
        match=_pinned(
            path, "not a PNG/TIFF/JPEG/BMP file (first bytes 0x68 0x65 0x6c 0x6c"
        ),
    ):
        read_image(path)


def test_directory(tmp_path):
    with pytest.raises(ImageReadError, match="it is a directory"):
        read_image(tmp_path)


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_png(tmp_path, write, rng, cut):
    data = write(tmp_path / "full.png", _image(rng, np.uint8, 3, (60, 60))).read_bytes()
    path = tmp_path / "cut.png"
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(
        ImageReadError, match=_pinned(path, "the PNG file is truncated")
    ):
        read_image(path)


@pytest.mark.parametrize("cut", [0.3, 0.8, -2])
def test_truncated_jpeg(tmp_path, write, rng, cut):
    data = write(tmp_path / "full.jpg", _image(rng, np.uint8, 3, (60, 60))).read_bytes()
    path = tmp_path / "cut.jpg"
    end = cut if cut < 0 else int(len(data) * cut)
    path.write_bytes(data[:end])
    with pytest.raises(
        ImageReadError, match=_pinned(path, "the JPEG file is truncated or corrupt")
    ):
        read_image(path)


def test_jpeg_with_bytes_after_the_end_marker(tmp_path, write, rng):
    image = _image(rng, np.uint8, 3, (40, 40))
    data = write(tmp_path / "full.jpg", image).read_bytes()
    path = tmp_path / "padded.jpg"
    path.write_bytes(data + b"trailing camera data")
    expected = read_image(tmp_path / "full.jpg").astype(int)
    np.testing.assert_allclose(read_image(path), expected, atol=2)


def test_truncated_tiff(tmp_path, write, rng):
    data = write(tmp_path / "full.tif", _image(rng, np.uint8, 1, (60, 60))).read_bytes()
    path = tmp_path / "cut.tif"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        ImageReadError, match=_pinned(path, "the TIFF file is truncated, corrupt")
    ):
        read_image(path)


def test_truncated_bmp(tmp_path, write, rng):
    data = write(tmp_path / "full.bmp", _image(rng, np.uint8, 3)).read_bytes()
    path = tmp_path / "cut.bmp"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        ImageReadError, match=_pinned(path, "the BMP file is truncated")
    ):
        read_image(path)


def test_corrupt_png(tmp_path, write, rng):
    data = bytearray(write(tmp_path / "x.png", _image(rng, np.uint8, 1)).read_bytes())
    data[60:80] = b"\x00" * 20  # inside IDAT, past the header
    path = tmp_path / "bad.png"
    path.write_bytes(bytes(data))
    with pytest.raises(ImageReadError, match=_pinned(path, "the PNG file is corrupt")):
        read_image(path)


def test_nan_pixels_are_counted(tmp_path, write):
    image = np.ones((8, 8), dtype=np.float32)
    image[0, :2] = np.nan
    image[3, 3] = np.inf
    path = write(tmp_path / "nan.tif", image)
    with pytest.raises(
        ImageReadError,
        match=re.escape(f"Cannot use image {str(path)!r}: 3 of 64 pixels are NaN"),
    ):
        read_image(path)


def test_check_image_squeezes_single_channel():
    assert check_image(np.zeros((4, 5, 1))).shape == (4, 5)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (
            np.zeros((2, 3, 4, 5)),
            r"expected a 2-D \(H, W\) or 3-D \(H, W, C\) array, "
            r"got shape \(2, 3, 4, 5\)",
        ),
        (np.zeros(5), r"expected a 2-D \(H, W\) .* got shape \(5,\)"),
        (np.zeros((0, 4)), r"expected at least 1×1 pixels and 1 channel"),
        (np.zeros((3, 3, 0)), r"expected at least 1×1 pixels"),
        (np.array([["a"]]), r"expected a boolean, integer or float dtype, got <U1"),
        (np.zeros((2, 2), dtype=complex), r"expected a boolean, .* got complex128"),
    ],
)
def test_check_image_errors(array, message):
    with pytest.raises(ImageReadError, match="Cannot use image 'x': " + message):
        check_image(array, name="x")


def test_check_image_allow_float():
    with pytest.raises(ImageReadError, match="expected a boolean or integer dtype"):
        check_image(np.zeros((2, 2)), allow_float=False)
    with pytest.raises(ImageReadError, match="Cannot use image array: 1 of 4 pixels"):
        check_image(np.array([[0.0, np.nan], [0, 0]]))


def test_read_mask(tmp_path, write):
    image = np.zeros((6, 7, 3), dtype=np.uint8)
    image[1, 2, 1] = 5
    image[4, 4, 2] = 255
    mask = read_mask(write(tmp_path / "m.png", image))
    assert mask.dtype == bool and mask.shape == (6, 7)
    assert np.flatnonzero(mask).tolist() == [1 * 7 + 2, 4 * 7 + 4]
    assert not read_mask(np.zeros((3, 3), dtype=np.uint8)).any()


def test_read_mask_ignores_alpha(tmp_path, write):
    rgba = np.zeros((5, 5, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[2, 2, 0] = 255
    mask = read_mask(write(tmp_path / "m.png", rgba))
    assert mask.sum() == 1 and mask[2, 2]


def test_read_mask_shape_mismatch(tmp_path, write):
    path = write(tmp_path / "m.png", np.zeros((40, 50), dtype=np.uint8))
    with pytest.raises(
        ImageReadError,
        match=re.escape(f"Mask {str(path)!r} is 40×50 but its image 'x.png' is 64×64"),
    ):
        read_mask(path, shape=(64, 64, 3), image_name="x.png")
    assert read_mask(path, shape=(40, 50)).shape == (40, 50)


@pytest.mark.parametrize(
    ("dtype", "value", "expected"),
    [
        (np.uint8, 255, 1.0),
        (np.uint8, 51, 0.2),
        (np.uint16, 65535, 1.0),
        (np.int16, 32767, 1.0),
        (np.bool_, True, 1.0),
        (np.float64, 0.25, 0.25),
        (np.float32, 1.0, 1.0),
    ],
)
def test_to_float(dtype, value, expected):
    out = to_float(np.array([[value, 0]], dtype=dtype))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[expected, 0]], rtol=1e-6)


def test_to_float_rejects_strings():
    with pytest.raises(TypeError, match="got dtype <U1"):
        to_float(np.array(["a"]))
