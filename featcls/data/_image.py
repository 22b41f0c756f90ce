"""Decoding and validating images and masks, and splitting them into channels.

Everything that turns a file or an array into pixels goes through this module:
:func:`read_image` and :func:`read_mask` decode files, :func:`check_image` validates
every in-memory array (like scikit-image's ``check_nD``), :func:`to_float` puts all
dtypes on one [0, 1] scale and :func:`split_channels` applies a channel policy.

What a file must pass before its pixels are used: it is a regular file (never a
FIFO or a device, which would block or never end), its header declares at most
:data:`MAX_IMAGE_PIXELS` pixels (checked before decoding), it decodes without any
decoder warning (a JPEG damaged mid-stream only makes libjpeg print ``Corrupt JPEG
data``; that is corruption here, and no decoder message reaches stderr), and its
values have a known scale (see :func:`to_float`).
"""

from __future__ import annotations

import io
import os
import stat
from typing import Any

import cv2
import numpy as np
import tifffile
from PIL import Image

from featcls._policies import CHANNEL_POLICIES
from featcls.data._channels import ChannelFiles, parse_channels
from featcls.data._fileinfo import special_file
from featcls.data._header import (
    MAX_IMAGE_PIXELS,
    check_declared_size,
    declared_size,
)
from featcls.data._stderr import OPENCV_LOG_PREFIX, decoder_messages
from featcls.exceptions import ImageReadError, Setting, SettingError

__all__ = [
    "CHANNEL_POLICIES",
    "MAX_IMAGE_PIXELS",
    "check_image",
    "check_scale",
    "read_image",
    "read_mask",
    "split_channels",
    "to_float",
]


_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_BMP_MAGIC = b"BM"
# ITU-R BT.601 luma weights, as used by OpenCV and Pillow for RGB -> grey.
_LUMA_601 = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_READ_HINT = "Re-export the file."


def channel_sum(image: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``sum_c weights[c] * image[..., c]`` in float32, one channel after another.

    Not a matrix product or a reduction over the channel axis: their order of
    additions (and BLAS's fused multiply-adds) follows the array's memory layout, so
    a Fortran-ordered copy of an image would give other bits.
    """
    out = image[..., 0].astype(np.float32) * weights[0]
    for c in range(1, len(weights)):
        out += image[..., c].astype(np.float32) * weights[c]
    return out


def _describe(name: str | None, kind: str = "image") -> str:
    return f"{kind} {name!r}" if name else f"{kind} array"


def check_image(
    image: Any, *, name: str | None = None, allow_float: bool = True
) -> np.ndarray:
    """Validate an in-memory image and return it as an ndarray.

    This is the one validation helper used everywhere in featcls (like
    :func:`skimage._shared.utils.check_nD`).

    Parameters
    ----------
    image : array_like
        Candidate image: ``(H, W)`` grey or ``(H, W, C)`` with ``C >= 1`` channels.
    name : str, optional
        Name of the image (usually its file) used in error messages.
    allow_float : bool, default=True
        Whether floating-point dtypes are accepted.

    Returns
    -------
    image : ndarray
        The same data (not copied when already an ndarray); ``(H, W, 1)`` is squeezed
        to ``(H, W)``.

    Raises
    ------
    ImageReadError
        If the array is not 2-D or 3-D, has no pixels, has a non-numeric dtype (or a
        float dtype while ``allow_float`` is false), or contains NaN or infinity.

    Examples
    --------
    >>> import numpy as np
    >>> check_image(np.zeros((4, 5, 1), dtype=np.uint8)).shape
    (4, 5)
    """
    what = _describe(name)
    arr = np.asarray(image)
    kinds = "biuf" if allow_float else "biu"
    if arr.dtype.kind not in kinds:
        expected = (
            "a boolean, integer or float" if allow_float else "a boolean or integer"
        )
        raise ImageReadError(
            f"Cannot use {what}: expected {expected} dtype, got {arr.dtype}."
        )
    if arr.ndim not in (2, 3):
        raise ImageReadError(
            f"Cannot use {what}: expected a 2-D (H, W) or 3-D (H, W, C) array, "
            f"got shape {arr.shape}."
        )
    if min(arr.shape) < 1:
        raise ImageReadError(
            f"Cannot use {what}: expected at least 1×1 pixels and 1 channel, "
            f"got shape {arr.shape}."
        )
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = ~np.isfinite(arr)
        if bad.ndim == 3:
            bad = bad.any(axis=2)
        n_bad = int(bad.sum())
        raise ImageReadError(
            f"Cannot use {what}: {n_bad} of {bad.size} pixels are NaN or infinite. "
            "Replace them (e.g. with numpy.nan_to_num) or re-export the image."
        )
    return arr


def _normalise_dtype(image: np.ndarray) -> np.ndarray:
    """Boolean -> uint8 0/255, any float -> float32; integers unchanged."""
    if image.dtype == np.bool_:
        return image.astype(np.uint8) * np.uint8(255)
    if image.dtype.kind == "f" and image.dtype != np.float32:
        # A value beyond float32's range becomes ±inf, which the scale check then
        # refuses (or which stays nonzero in a mask), without an overflow warning.
        with np.errstate(over="ignore"):
            return image.astype(np.float32)
    return image


def _first_bytes(data: bytes, n: int = 8) -> str:
    return " ".join(f"0x{b:02x}" for b in data[:n])


def _tiff_plane(shape: tuple[int, ...], axes: str) -> tuple[int, int]:
    """(height, width) of a TIFF series from its shape and axes, before decoding."""
    if "Y" in axes and "X" in axes and len(axes) == len(shape):
        return shape[axes.index("Y")], shape[axes.index("X")]
    if len(shape) == 3 and axes.endswith("YX"):
        return shape[1], shape[2]
    return shape[0], shape[1] if len(shape) > 1 else 1


def _decode_tiff(
    data: bytes, name: str, kind: str, max_pixels: int | None
) -> np.ndarray:
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        series = tif.series[0]
        shape, axes = tuple(series.shape), series.axes
        if len(shape) > 3:
            raise ImageReadError(
                f"Cannot read {kind} {name!r}: expected a single 2-D image with "
                f"optional channels, got a {len(shape)}-D TIFF series of shape "
                f"{shape} (axes {axes!r}). Save one image per file."
            )
        # The tags give the size; nothing is decoded before the limit is checked.
        height, width = _tiff_plane(shape, axes)
        check_declared_size(height, width, name=name, kind=kind, max_pixels=max_pixels)
        image = series.asarray()
    if image.ndim == 3 and axes.endswith("YX"):
        # Channels stored as separate planes or pages (SYX, CYX, QYX, ...).
        image = np.moveaxis(image, 0, -1)
    return image


def _decode_with_pillow(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        im.load()  # raises OSError on truncated data
        return np.array(im)


def _imdecode(data: bytes, exclusive: bool):
    with decoder_messages(exclusive=exclusive) as capture:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    return image, capture


def _jpeg_warnings(lines: list[str]) -> list[str]:
    """The warnings of libjpeg among the captured lines (not libpng's or OpenCV's)."""
    return [
        line for line in lines if not line.startswith(("libpng", OPENCV_LOG_PREFIX))
    ]


def _decode_cv2(data: bytes, fmt: str) -> tuple[np.ndarray | None, list[str]]:
    """OpenCV's decode and the decoder lines it printed (kept off stderr).

    Decodes in other threads run at the same time; when this one overlapped them
    and what it saw matters (it failed, or a JPEG warning was printed), it is
    decoded again alone, so the lines returned are surely its own.
    """
    image, capture = _imdecode(data, exclusive=False)
    if not capture.alone and (
        image is None or (fmt == "JPEG" and _jpeg_warnings(capture.lines))
    ):
        image, capture = _imdecode(data, exclusive=True)
    messages = capture.lines if capture.alone else []
    if image is not None and image.ndim == 3:
        if image.shape[2] == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        elif image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return image, messages


def _quote(messages: list[str]) -> str:
    """Decoder messages for an error message: ``" (libpng error: ...)"`` or ``""``."""
    return f" ({'; '.join(messages)})" if messages else ""


def _decode(
    data: bytes, name: str, kind: str = "image", max_pixels: int | None = None
) -> np.ndarray:
    """Decode bytes by their content (not the file extension).

    The header's declared size is checked against the pixel limit first, and any
    warning libjpeg prints while decoding makes the file corrupt.
    """
    if data.startswith(_PNG_MAGIC):
        fmt = "PNG"
        # Every complete PNG ends with an IEND chunk; checking first gives a clear
        # message and keeps libpng from printing errors.
        if data.rfind(b"IEND") == -1:
            raise ImageReadError(
                f"Cannot read {kind} {name!r}: the PNG file is truncated (no IEND "
                f"chunk; {len(data)} bytes). {_READ_HINT}"
            )
    elif data.startswith(_JPEG_MAGIC):
        fmt = "JPEG"
        # Some decoders return the decoded part of a truncated JPEG without error.
        # A complete JPEG ends with the EOI marker; without it, let Pillow decide,
        # since it raises on truncation.
        if not data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9"):
            _check_header(data, fmt, name, kind, max_pixels)
            try:
                return _decode_with_pillow(data)
            except Exception as exc:
                raise ImageReadError(
                    f"Cannot read {kind} {name!r}: the JPEG file is truncated or "
                    f"corrupt ({exc}). {_READ_HINT}"
                ) from exc
    elif data.startswith(_TIFF_MAGICS):
        try:
            return _decode_tiff(data, name, kind, max_pixels)
        except ImageReadError:
            raise
        except Exception as exc:
            raise ImageReadError(
                f"Cannot read {kind} {name!r}: the TIFF file is truncated, corrupt or "
                f"uses an unsupported compression ({exc}). {_READ_HINT}"
            ) from exc
    elif data.startswith(_BMP_MAGIC):
        fmt = "BMP"
        declared = int.from_bytes(data[2:6], "little") if len(data) >= 6 else 0
        if len(data) < 54 or len(data) < declared:
            raise ImageReadError(
                f"Cannot read {kind} {name!r}: the BMP file is truncated ({len(data)} "
                f"of {declared} bytes). {_READ_HINT}"
            )
    else:
        raise ImageReadError(
            f"Cannot read {kind} {name!r}: not a PNG/TIFF/JPEG/BMP file (first bytes "
            f"{_first_bytes(data)}). Convert it to PNG or TIFF, or remove it."
        )
    _check_header(data, fmt, name, kind, max_pixels)
    try:
        image, messages = _decode_cv2(data, fmt)
    except cv2.error as exc:
        raise ImageReadError(
            f"Cannot read {kind} {name!r}: the {fmt} file is corrupt ({exc}). "
            f"{_READ_HINT}"
        ) from exc
    if image is None:
        raise ImageReadError(
            f"Cannot read {kind} {name!r}: the {fmt} file is corrupt or "
            f"truncated{_quote(messages)}. {_READ_HINT}"
        )
    if fmt == "JPEG" and _jpeg_warnings(messages):
        # libjpeg fills what it could not decode with grey and only prints a
        # warning: the pixels are not the picture, so the file is corrupt.
        raise ImageReadError(
            f"Cannot read {kind} {name!r}: the JPEG file is corrupt"
            f"{_quote(_jpeg_warnings(messages))}. {_READ_HINT}"
        )
    return image


def _check_header(
    data: bytes, fmt: str, name: str, kind: str, max_pixels: int | None
) -> None:
    """Refuse a PNG/JPEG/BMP whose header declares more pixels than the limit."""
    size = declared_size(data, fmt)
    if size is not None:
        check_declared_size(*size, name=name, kind=kind, max_pixels=max_pixels)


def _not_regular(path: str | os.PathLike, name: str, kind: str, mode: int):
    """The error for a path that is not a regular file (a FIFO, a device ...)."""
    if stat.S_ISDIR(mode):
        return ImageReadError(
            f"Cannot read {kind} {name!r}: it is a directory, not an image file."
        )
    return ImageReadError(
        f"Cannot read {kind} {name!r}: not a regular file ({special_file(path, mode)})"
        "; featcls reads only regular files. Point it at the image file itself."
    )


def file_problem(
    path: str | os.PathLike, name: str, kind: str = "image"
) -> ImageReadError | None:
    """Why ``path`` cannot be read (missing, a folder, a FIFO, a device), or None.

    Only a ``stat``: nothing is opened, so a FIFO cannot block the caller.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return ImageReadError(
            f"Cannot read {kind} {name!r}: the file does not exist. Check the path."
        )
    except (OSError, ValueError) as exc:
        return ImageReadError(f"Cannot read {kind} {name!r}: {exc}.")
    if stat.S_ISREG(mode):
        return None
    return _not_regular(path, name, kind, mode)


def _read_bytes(path: str | os.PathLike, name: str, kind: str) -> bytes:
    # Only regular files are opened: a FIFO would block the reader forever and a
    # device such as /dev/zero never ends. The open is non-blocking and the opened
    # file is checked again, so a path swapped in between cannot block either.
    problem = file_problem(path, name, kind)
    if problem is not None:
        raise problem
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        with open(os.open(path, flags), "rb") as fh:
            mode = os.fstat(fh.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise _not_regular(path, name, kind, mode)
            data = fh.read()
    except FileNotFoundError as exc:
        raise ImageReadError(
            f"Cannot read {kind} {name!r}: the file does not exist. Check the path."
        ) from exc
    except OSError as exc:
        raise ImageReadError(f"Cannot read {kind} {name!r}: {exc}.") from exc
    if not data:
        raise ImageReadError(
            f"Cannot read {kind} {name!r}: the file is empty (0 bytes). {_READ_HINT}"
        )
    return data


def read_image(
    source: str | os.PathLike | ChannelFiles | np.ndarray,
    *,
    name: str | None = None,
    max_pixels: int | None = None,
) -> np.ndarray:
    """Read an image file (or validate an array) into its native dtype.

    PNG, TIFF (via tifffile), JPEG and BMP are decoded by content, not by extension:
    8- and 16-bit, grey, RGB, RGBA and (TIFF) any number of channels; float TIFFs.
    PNG, JPEG and BMP are decoded by OpenCV (about 1 ms for a 300×300 PNG) after a
    cheap completeness check (IEND chunk, EOI marker, declared BMP size), so truncated
    files are always reported instead of being returned half-decoded.

    Only regular files are read (a FIFO or device is refused without being opened
    for reading); the size the header declares is checked against the pixel limit
    before decoding; a JPEG that makes libjpeg warn (``Corrupt JPEG data ...``) is
    corrupt; decoder messages never reach stderr, they are quoted in the error.
    Images whose values have no known scale (float outside [0, 1], 32/64-bit
    integers) are refused, see :func:`to_float`.

    A :class:`ChannelFiles` (one grey file per named channel) is read file by file
    and stacked into ``(H, W, C)`` in the order of its names. Each file must be a
    single grey image (an RGB or grey+alpha file is refused, even when its colour
    channels are equal) and all must have the same height and width; the error
    names the file, its channel and the fix. Files of one dtype keep it; files of
    different dtypes (an 8-bit and a 16-bit stain) are each put on the common
    [0, 1] scale by :func:`to_float` and stacked as float32.

    Parameters
    ----------
    source : str, os.PathLike, ChannelFiles or ndarray
        Path of the image file, the files of a sample's channels, or an in-memory
        image.
    name : str, optional
        Name used in error messages; defaults to the path.
    max_pixels : int, optional
        Largest height × width to decode. Defaults to the environment variable
        ``FEATCLS_MAX_IMAGE_PIXELS`` if set, else :data:`MAX_IMAGE_PIXELS`
        (8192 × 8192).

    Returns
    -------
    image : ndarray
        ``(H, W)`` for grey or ``(H, W, C)`` images, colour in RGB(A) order. The dtype
        is the file's (uint8, uint16, ...); floats become float32 and booleans uint8
        0/255.

    Raises
    ------
    ImageReadError
        If the file is missing, not a regular file, empty, not an image, larger
        than the pixel limit, truncated or corrupt, or the image fails
        :func:`check_image` (e.g. NaN pixels) or has no known scale; for
        ChannelFiles also if a channel file has several channels or another size.
    TypeError
        If ``source`` is neither a path, ChannelFiles nor an array.

    Examples
    --------
    >>> import numpy as np
    >>> read_image(np.zeros((3, 4), dtype=bool)).dtype
    dtype('uint8')
    """
    if isinstance(source, np.ndarray):
        image = _normalise_dtype(check_image(source, name=name))
    elif isinstance(source, (str, os.PathLike)):
        image = _read_file(source, name, "image", max_pixels)
        name = str(source) if name is None else name
    elif isinstance(source, ChannelFiles):
        image = _read_channel_files(source, max_pixels)
        name = str(source) if name is None else name
    else:
        raise TypeError(
            "read_image expects a path (str or os.PathLike), ChannelFiles or a numpy "
            f"array, got {type(source).__name__}."
        )
    _check_scale(image, _describe(name))
    return image


def channel_kind(channel: str) -> str:
    """How messages call the file of one named channel: ``'green' channel file``."""
    return f"{channel!r} channel file"


def _read_channel_files(files: ChannelFiles, max_pixels: int | None) -> np.ndarray:
    """The grey files of one sample's channels, stacked in the order of its names."""
    planes: list[np.ndarray] = []
    for channel, path in zip(files.names, files.paths, strict=True):
        what = channel_kind(channel)
        plane = _read_file(path, None, what, max_pixels)
        if plane.ndim == 3:
            equal = plane.shape[2] >= 3 and all(
                np.array_equal(plane[:, :, 0], plane[:, :, c]) for c in (1, 2)
            )
            note = " (its colour channels are equal: a grey image saved as colour)"
            raise ImageReadError(
                f"Cannot use {what} {path!r}: it has {plane.shape[2]} channels "
                f"(shape {plane.shape}){note if equal else ''}, but each channel "
                f"file must be a single grey image. Save the {channel!r} channel "
                "alone as a grey PNG or TIFF; or, if the file holds every channel, "
                "load it as one image (image_col, without channel_files)."
            )
        if planes and plane.shape != planes[0].shape:
            (h, w), (h0, w0) = plane.shape, planes[0].shape
            raise ImageReadError(
                f"The {what} {path!r} is {h}×{w} but the "
                f"{channel_kind(files.names[0])} {files.paths[0]!r} of the same "
                f"sample is {h0}×{w0} (height×width); every channel file of a "
                "sample must have the same size. Re-export it at the size of the "
                "others."
            )
        _check_scale(plane, f"{what} {path!r}")
        planes.append(plane)
    if len({p.dtype for p in planes}) > 1:
        planes = [to_float(p) for p in planes]
    return np.stack(planes, axis=2) if len(planes) > 1 else planes[0]


def _read_file(
    source: str | os.PathLike, name: str | None, kind: str, max_pixels: int | None
) -> np.ndarray:
    name = str(source) if name is None else name
    data = _read_bytes(source, name, kind)
    image = _decode(data, name, kind, max_pixels)
    return _normalise_dtype(check_image(image, name=name))


# A float image may stray this far outside [0, 1] (rounding in a resize or a
# conversion) and still count as inside.
_FLOAT_SLACK = 1e-5


def check_scale(image: np.ndarray, *, name: str | None = None) -> None:
    """Refuse an image whose values have no known [0, 1] scale (see :func:`to_float`).

    The check :func:`read_image` and :func:`to_float` make, on its own, for an
    image that is transformed (resized, masked) before it is converted.

    Raises
    ------
    ImageReadError
        If the image is float with values outside [0, 1], a 32/64-bit integer, or
        a signed integer with negative values.
    """
    _check_scale(np.asarray(image), _describe(name))


def _check_scale(image: np.ndarray, what: str) -> None:
    """Refuse an image whose values have no known [0, 1] scale (see to_float)."""
    kind = image.dtype.kind
    if image.size == 0 or kind not in "iuf":
        return
    if kind == "f":
        lo, hi = float(image.min()), float(image.max())
        if lo >= -_FLOAT_SLACK and hi <= 1 + _FLOAT_SLACK:
            return
        raise ImageReadError(
            f"Cannot use {what}: a {image.dtype} image must hold values in [0, 1], "
            f"featcls's intensity scale, but got {lo:g} to {hi:g}. Divide by the "
            "data's full-scale value, the same for every image (e.g. the sensor's "
            "maximum), or save the images as uint8 or uint16."
        )
    if image.dtype.itemsize > 2:
        lo, hi = image.min(), image.max()
        raise ImageReadError(
            f"Cannot use {what}: it is {image.dtype} (values {lo} to {hi}). featcls "
            "puts integer images on its [0, 1] scale by the dtype's maximum "
            f"({np.iinfo(image.dtype).max:,} here), which would put every pixel in "
            "the lowest histogram bin. Convert the images to uint16 or uint8, or to "
            "float in [0, 1] by dividing by their full-scale value (e.g. 4095 for "
            "12-bit data)."
        )
    if kind == "i" and image.min() < 0:
        lo, hi = image.min(), image.max()
        raise ImageReadError(
            f"Cannot use {what}: it is {image.dtype} with negative values ({lo} to "
            f"{hi}), which featcls's [0, 1] intensity scale (dtype maximum = 1) has "
            "no place for. Shift every image by the same offset (e.g. "
            f"{-int(np.iinfo(image.dtype).min)} to use the whole {image.dtype} range) "
            "and save them unsigned, or convert them to float in [0, 1] by the "
            "data's own full scale."
        )


def read_mask(
    source: str | os.PathLike | np.ndarray,
    *,
    name: str | None = None,
    shape: tuple[int, ...] | None = None,
    image_name: str | None = None,
    max_pixels: int | None = None,
) -> np.ndarray:
    """Read a mask file (or validate an array) as a boolean array.

    Nonzero pixels are True. For a colour mask a pixel is True when any colour channel
    is nonzero; the alpha channel of a 2-channel (grey + alpha) or 4-channel (RGBA)
    mask is ignored. An all-False mask is returned as is (features decide what to do).

    Parameters
    ----------
    source : str, os.PathLike or ndarray
        Path of the mask file (any format :func:`read_image` reads), or an array.
    name : str, optional
        Name used in error messages; defaults to the path.
    shape : tuple of int, optional
        Shape of the image the mask belongs to; only ``shape[:2]`` is compared.
    image_name : str, optional
        Name of that image, for the error message.
    max_pixels : int, optional
        Largest height × width to decode, as in :func:`read_image`.

    Returns
    -------
    mask : ndarray of bool, shape (H, W)

    Raises
    ------
    ImageReadError
        If the mask cannot be read or its size differs from ``shape``.

    Examples
    --------
    >>> import numpy as np
    >>> read_mask(np.array([[0, 3], [0, 0]]))
    array([[False,  True],
           [False, False]])
    """
    if isinstance(source, np.ndarray):
        image = check_image(source, name=name)
    elif isinstance(source, (str, os.PathLike)):
        image = _read_file(source, name, "mask", max_pixels)
        name = str(source) if name is None else name
    else:
        raise TypeError(
            "read_mask expects a path (str or os.PathLike) or a numpy array, "
            f"got {type(source).__name__}."
        )
    if image.ndim == 3:
        if image.shape[2] in (2, 4):
            image = image[:, :, :-1]
        mask = (image != 0).any(axis=2)
    else:
        mask = image != 0
    if shape is not None and tuple(mask.shape) != tuple(shape[:2]):
        h, w = mask.shape
        ih, iw = shape[:2]
        mask_what = f"Mask {name!r}" if name else "Mask array"
        image_what = f"its image {image_name!r}" if image_name else "its image"
        raise ImageReadError(
            f"{mask_what} is {h}×{w} but {image_what} is {ih}×{iw} (height×width); "
            "a mask must have the same size as its image. Re-export the mask at the "
            "image's size."
        )
    return mask


def to_float(image: np.ndarray, *, name: str | None = None) -> np.ndarray:
    """Convert an image to float32 on the dtype's scale.

    Integer dtypes of up to 16 bits are divided by their dtype maximum (uint8 by 255,
    uint16 by 65535, int16 by 32767, ...), booleans become 0/1 and floats in
    [0, 1] are only cast to float32. The same picture stored in 8 and 16 bits
    (``x * 257``) gives identical floats.

    Images whose scale is unknown are refused rather than guessed: float images
    with values outside [0, 1] (a float TIFF of 0–1000), 32- or 64-bit integer
    images (12-bit data in int32) and signed images with negative values.
    Dividing int32 by its maximum (2**31 - 1) or clipping floats to [0, 1] would
    put every pixel in one histogram bin, and
    scaling each image by its own minimum and maximum would give each image its
    own scale: the same intensity would mean different things in different
    images, and intensity features would compare nothing. Only the user knows the
    full-scale value (e.g. 4095 for a 12-bit sensor), so the error asks for it.
    Values within 1e-5 of [0, 1] (rounding) count as inside.

    Parameters
    ----------
    image : ndarray
        Image of any numeric dtype.
    name : str, optional
        Name of the image (usually its file) used in error messages.

    Returns
    -------
    image : ndarray of float32
        Same shape as the input.

    Raises
    ------
    TypeError
        If the dtype is not boolean, integer or float.
    ImageReadError
        If the image is float with values outside [0, 1], a 32/64-bit integer, or
        a signed integer with negative values.

    Examples
    --------
    >>> import numpy as np
    >>> to_float(np.array([0, 255], dtype=np.uint8))
    array([0., 1.], dtype=float32)
    >>> to_float(np.array([0, 65535], dtype=np.uint16))
    array([0., 1.], dtype=float32)
    """
    image = np.asarray(image)
    kind = image.dtype.kind
    _check_scale(image, _describe(name))
    if kind == "b":
        return image.astype(np.float32)
    if kind in "ui":
        # A correctly rounded division (not a multiplication by the reciprocal)
        # guarantees x/255 == (257 x)/65535 bit for bit.
        return image.astype(np.float32) / np.float32(np.iinfo(image.dtype).max)
    if kind == "f":
        return image.astype(np.float32, copy=False)
    raise TypeError(
        f"to_float expects a boolean, integer or float image, got dtype {image.dtype}."
    )


def split_channels(
    image: np.ndarray,
    channels: str | tuple[str, ...] = "gray",
    *,
    names: tuple[str, ...] | None = None,
) -> tuple[list[np.ndarray], list[str]]:
    """Split an image into named 2-D float channels according to a policy.

    Without ``names``, the number of channels decides how an image is
    interpreted: 2-D is grey, 2 channels grey + alpha, 3 RGB, 4 RGBA and more than
    4 a multichannel image. With ``names`` (a sample of one file per named
    channel, :class:`ChannelFiles`) the channels are stains, not colours: none is
    an alpha channel and each keeps its name.

    Parameters
    ----------
    image : ndarray
        Image from :func:`to_float` (integer images are converted with it).
    channels : {"gray", "rgb", "hsv", "channels"} or channel names, default="gray"
        ``"gray"``: one channel ``"gray"`` (colour -> ITU-R BT.601 luma, alpha
        dropped, more than 4 channels -> their mean; named channels -> their
        mean). ``"rgb"``: ``"r", "g", "b"``. ``"hsv"``: ``"h", "s", "v"``, all in
        [0, 1] (hue divided by 360); both need 3 colour channels (or exactly 3
        named ones, taken as red, green, blue). ``"channels"``: every channel as
        is, named by ``names``, else ``"c0"``, ``"c1"``, ... Channel names
        (``"green"``, ``"green,blue"`` or a tuple) keep those named channels, in
        that order.
    names : tuple of str, optional
        The names of the image's channels, in order.

    Returns
    -------
    arrays : list of ndarray
        C-contiguous float32 ``(H, W)`` arrays.
    names : list of str
        Their names.

    Raises
    ------
    ValueError
        If ``channels`` is neither a valid policy nor names of the image's
        channels, an RGB/HSV policy is asked of an image without three colour
        channels, or ``names`` does not name every channel.

    Examples
    --------
    >>> import numpy as np
    >>> arrays, names = split_channels(np.ones((2, 2, 3), dtype=np.float32), "rgb")
    >>> names
    ['r', 'g', 'b']
    >>> stains = np.zeros((2, 2, 2), dtype=np.float32)
    >>> split_channels(stains, "channels", names=("dapi", "actin"))[1]
    ['dapi', 'actin']
    """
    if names is None and not (
        isinstance(channels, str) and channels in CHANNEL_POLICIES
    ):
        raise ValueError(
            f"channels must be one of {', '.join(map(repr, CHANNEL_POLICIES))}. "
            f"Got {channels!r} instead (channel names select channels only of "
            "images with named channels)."
        )
    policy = parse_channels(channels)
    image = to_float(check_image(image))
    n_channels = 1 if image.ndim == 2 else image.shape[2]
    if names is not None and len(names) != n_channels:
        raise ValueError(
            f"names must name each of the image's {n_channels} channel(s); got "
            f"{len(names)}: {list(names)}."
        )

    def plane(i: int) -> np.ndarray:
        return np.ascontiguousarray(image if image.ndim == 2 else image[:, :, i])

    if not isinstance(policy, str):  # a channel view, by name
        unknown = [n for n in policy if n not in names]
        if unknown:
            raise SettingError(
                f"Unknown channel(s) {', '.join(map(repr, unknown))} in ",
                Setting("channels", ",".join(policy)),
                f"; the image's channels are {', '.join(map(repr, names))}.",
            )
        return [plane(names.index(n)) for n in policy], list(policy)
    if policy == "channels":
        own = list(names) if names is not None else [f"c{i}" for i in range(n_channels)]
        return [plane(i) for i in range(n_channels)], own
    if policy == "gray":
        if image.ndim == 2:
            gray = image
        elif names is not None or n_channels > 4:
            gray = channel_sum(image, np.ones(n_channels, np.float32)) / n_channels
        elif n_channels == 2:
            gray = image[:, :, 0]
        else:
            gray = channel_sum(image, _LUMA_601)
        return [np.ascontiguousarray(gray, dtype=np.float32)], ["gray"]
    if names is not None and n_channels != 3:
        raise SettingError(
            Setting("channels", policy),
            f" needs a colour image, but the sample has {n_channels} named "
            f"channel(s) ({', '.join(map(repr, names))}), which are not colours. "
            "Use ",
            Setting("channels", "channels"),
            " (each channel by its name) or name the channels to keep (",
            Setting("channels", ",".join(names[:2])),
            ").",
        )
    if n_channels not in (3, 4):
        kind = "a grey" if n_channels <= 2 else f"a {n_channels}-channel"
        raise SettingError(
            Setting("channels", policy),
            f" needs an RGB or RGBA image, got {kind} image of shape {image.shape}. "
            "Use ",
            Setting("channels", "gray"),
            " or ",
            Setting("channels", "channels"),
            ".",
        )
    rgb = np.ascontiguousarray(image[:, :, :3])
    if policy == "rgb":
        return [np.ascontiguousarray(rgb[:, :, i]) for i in range(3)], ["r", "g", "b"]
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    h = hsv[:, :, 0] / np.float32(360.0)
    return (
        [
            np.ascontiguousarray(h),
            np.ascontiguousarray(hsv[:, :, 1]),
            np.ascontiguousarray(hsv[:, :, 2]),
        ],
        ["h", "s", "v"],
    )
