"""The pixel-count limit, checked against an image's header before it is decoded.

A few kilobytes of PNG or TIFF can declare billions of pixels; decoding such a file
allocates the whole image and exhausts memory (or trips a decoder's own assertion).
:func:`check_declared_size` reads the declared size from the header alone (PNG
IHDR, JPEG SOF, BMP info header; TIFF tags through tifffile) and refuses anything
larger than the limit, saying what to do.
"""

from __future__ import annotations

import os

from featcls.exceptions import ImageReadError

__all__ = [
    "MAX_IMAGE_PIXELS",
    "PIXEL_LIMIT_ENV",
    "check_declared_size",
    "declared_size",
    "pixel_limit",
]

#: Largest image (height × width, any number of channels) that featcls decodes:
#: 8192 × 8192 pixels, 256 MiB per float32 channel. Raise it for one call with
#: ``read_image(..., max_pixels=n)``, or for a whole run (loaders, feature
#: extraction in worker processes, the CLI) with the environment variable
#: ``FEATCLS_MAX_IMAGE_PIXELS=n``.
MAX_IMAGE_PIXELS = 8192 * 8192

#: Environment variable that overrides :data:`MAX_IMAGE_PIXELS`.
PIXEL_LIMIT_ENV = "FEATCLS_MAX_IMAGE_PIXELS"

# JPEG start-of-frame markers (SOF0-SOF15 without DHT 0xC4, JPG 0xC8, DAC 0xCC).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field: TEM and RST0-RST7.
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


def pixel_limit(max_pixels: int | None = None) -> int:
    """The pixel limit in force: ``max_pixels``, else the environment, else the default.

    Raises
    ------
    ValueError
        If ``max_pixels`` or the environment variable is not an int >= 1.

    Examples
    --------
    >>> pixel_limit(1000)
    1000
    """
    if max_pixels is None:
        text = os.environ.get(PIXEL_LIMIT_ENV)
        if text is None or not text.strip():
            return MAX_IMAGE_PIXELS
        try:
            value = int(text.strip().replace("_", ""))
        except ValueError:
            value = 0
        if value < 1:
            raise ValueError(
                f"The environment variable {PIXEL_LIMIT_ENV} must be an int >= 1. "
                f"Got {text!r} instead."
            )
        return value
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int):
        raise ValueError(f"max_pixels must be an int >= 1. Got {max_pixels!r} instead.")
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be an int >= 1. Got {max_pixels!r} instead.")
    return max_pixels


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(height, width) from the first SOF segment, walking the header's segments."""
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None  # not at a marker: leave it to the decoder
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _STANDALONE:
            i += 2
            continue
        if marker == 0xDA:  # start of scan before any frame header
            return None
        if marker in _SOF_MARKERS:
            if i + 9 > n:
                return None
            height = int.from_bytes(data[i + 5 : i + 7], "big")
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            return (height, width) if height else None  # 0: height set by DNL
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return None


def declared_size(data: bytes, fmt: str) -> tuple[int, int] | None:
    r"""The (height, width) a PNG, JPEG or BMP header declares, or None if unknown.

    Only the header is parsed; nothing is decoded. None means the header could not
    be read, and the decoder then reports the file as corrupt.

    Examples
    --------
    >>> ihdr = b"IHDR" + (256).to_bytes(4, "big") * 2  # width, height
    >>> declared_size(b"\x89PNG\r\n\x1a\n" + bytes(4) + ihdr, "PNG")
    (256, 256)
    """
    if fmt == "PNG":
        if len(data) < 24 or data[12:16] != b"IHDR":
            return None
        width = int.from_bytes(data[16:20], "big")
        height = int.from_bytes(data[20:24], "big")
        return height, width
    if fmt == "JPEG":
        return _jpeg_size(data)
    if fmt == "BMP":
        if len(data) < 26:
            return None
        header_size = int.from_bytes(data[14:18], "little")
        if header_size == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes
            width = int.from_bytes(data[18:20], "little")
            height = int.from_bytes(data[20:22], "little")
        else:
            width = int.from_bytes(data[18:22], "little", signed=True)
            height = int.from_bytes(data[22:26], "little", signed=True)
        return abs(height), abs(width)  # a negative height means top-down rows
    return None


def check_declared_size(
    height: int, width: int, *, name: str, kind: str, max_pixels: int | None
) -> None:
    """Raise ImageReadError if ``height × width`` exceeds the pixel limit.

    Examples
    --------
    >>> check_declared_size(100, 100, name="x.png", kind="image", max_pixels=None)
    >>> check_declared_size(  # doctest: +ELLIPSIS
    ...     100, 100, name="x.png", kind="image", max_pixels=9999)
    Traceback (most recent call last):
    ...
    featcls.exceptions.ImageReadError: Cannot read image 'x.png': its header ...
    """
    limit = pixel_limit(max_pixels)
    if height * width <= limit:
        return
    raise ImageReadError(
        f"Cannot read {kind} {name!r}: its header declares {height}×{width} pixels "
        f"(height×width), more than the limit of {limit:,}, so it is not decoded. "
        "If the image is genuine, raise the limit (environment variable "
        f"{PIXEL_LIMIT_ENV}={height * width}, or read_image(..., max_pixels=...)) "
        "or tile or downscale the image; otherwise the file is corrupt: remove it."
    )
