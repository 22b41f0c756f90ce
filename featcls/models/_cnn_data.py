"""Decode a sample table once into a uint8 ``(N, C, S, S)`` array for the CNN."""

from __future__ import annotations

import os
import warnings

import cv2
import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from featcls.data import ChannelFiles, read_image, to_float
from featcls.data._channels import channel_view, sample_channel_names
from featcls.exceptions import DataWarning

__all__ = ["decode_images", "luma", "sample_channels"]

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_CHUNK = 64


def luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma of an ``(..., 3)`` array, same dtype kind (uint8 rounded)."""
    grey = rgb.astype(np.float32) @ _LUMA
    if rgb.dtype == np.uint8:
        return np.clip(grey + 0.5, 0, 255).astype(np.uint8)
    return grey


def sample_channels(table: pd.DataFrame) -> tuple[str, ...] | None:
    """The channel names of the table's first sample (one file per channel), or None."""
    return sample_channel_names(table["image"].tolist()[:1])


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    if image.shape[:2] == (size, size):
        return image
    if image.shape[2] > 4:  # some OpenCV paths are limited to 4 channels
        planes = [
            cv2.resize(
                np.ascontiguousarray(image[:, :, c]),
                (size, size),
                interpolation=cv2.INTER_AREA,
            )
            for c in range(image.shape[2])
        ]
        return np.stack(planes, axis=2)
    out = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return out[:, :, None] if out.ndim == 2 else out


def _load_one(source, size: int) -> tuple[np.ndarray, bool]:
    """One image as uint8 ``(size, size, c)``, and whether it has a constant alpha.

    The image keeps all its channels. The flag says whether its last channel is a
    constant alpha (grey+alpha or RGBA with one alpha value); the named channels
    of a sample of one file per channel are stains, never an alpha channel.
    """
    name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
    image = read_image(source, name=name)
    if image.ndim == 2:
        image = image[:, :, None]
    c = image.shape[2]
    last = image[:, :, -1]
    constant_alpha = (
        not isinstance(source, ChannelFiles)
        and c in (2, 4)
        and bool(last.min() == last.max())
    )
    if image.dtype == np.uint8:
        return _resize(np.ascontiguousarray(image), size), constant_alpha
    values = to_float(image)
    if image.dtype.kind == "f":
        lo, hi = float(values.min()), float(values.max())
        if lo < 0.0 or hi > 1.0:  # arbitrary float range: min-max scale this image
            values = (values - lo) / (hi - lo if hi > lo else 1.0)
    values = _resize(np.ascontiguousarray(values), size)
    out = np.clip(values * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out, constant_alpha


def _load_chunk(sources: list, size: int) -> list[tuple[np.ndarray, bool]]:
    return [_load_one(s, size) for s in sources]


def _drop_alpha(
    loaded: list[tuple[np.ndarray, bool]], channels: int | None
) -> list[np.ndarray]:
    """Drop the last channel of images whose alpha is constant; warn with the count.

    A constant alpha carries nothing. The channel is kept when the model takes that
    many channels.
    """
    images, dropped = [], 0
    for image, constant_alpha in loaded:
        if constant_alpha and image.shape[2] != channels:
            image, dropped = image[:, :, :-1], dropped + 1
        images.append(image)
    if dropped:
        warnings.warn(
            f"{dropped} of {len(images)} images have a constant last channel (an "
            "opaque alpha channel: grey+alpha or RGBA); it was dropped and they are "
            "used as grey or RGB. Images whose fourth channel varies (e.g. a fourth "
            "stain) keep all their channels.",
            DataWarning,
            stacklevel=3,
        )
    return images


def _target_channels(counts: set[int]) -> int:
    if counts <= {1}:
        return 1
    if counts <= {1, 3}:
        return 3
    if len(counts) == 1:
        return counts.pop()
    raise ValueError(
        "Images must all be grey or colour, or all have the same number of channels; "
        f"got channel counts {sorted(counts)} (after dropping constant alpha "
        "channels)."
    )


def _convert(image: np.ndarray, channels: int) -> np.ndarray:
    c = image.shape[2]
    if c == channels:
        return image
    if c == 1 and channels == 3:
        return np.repeat(image, 3, axis=2)
    if c == 3 and channels == 1:
        return luma(image)[:, :, None]
    raise ValueError(
        f"The model was fitted on {channels}-channel images; got an image with {c} "
        "channels."
    )


def decode_images(
    table: pd.DataFrame,
    size: int,
    *,
    channels: int | None = None,
    n_jobs: int | None = None,
    select: tuple[str, ...] | None = None,
) -> np.ndarray:
    """Decode and resize every image of ``table`` into one uint8 array.

    Images are read with :func:`featcls.data.read_image` with all their channels;
    a sample of one file per named channel (:class:`~featcls.data.ChannelFiles`)
    gives its channels in the order of its names, or of ``select``.
    A grey+alpha or RGBA image whose last channel is constant (an opaque alpha)
    loses that channel, with a :class:`~featcls.exceptions.DataWarning` giving the
    count; a varying fourth channel (a fourth stain) is kept. 8-bit images are
    resized as they are, other integer dtypes go through
    :func:`featcls.data.to_float` (16-bit is thus quantised to 8 bits) and float
    images outside ``[0, 1]`` are min-max scaled per image. Every image is
    resized to ``size × size`` with ``cv2.INTER_AREA`` (aspect ratio not kept; a
    1-pixel image becomes a constant one). Masks are not used.

    Parameters
    ----------
    table : DataFrame
        Sample table with an ``image`` column.
    size : int
        Output height and width.
    channels : int, optional
        Channel count to convert to (grey ↔ colour by replication / BT.601 luma);
        None infers it: 1 if every image is grey, 3 if any is colour.
    n_jobs : int, optional
        Decoding threads (OpenCV releases the GIL); None uses up to 4.
    select : tuple of str, optional
        A channel view: reduce every sample to these named channels first (e.g.
        those a model was fitted on); only their files are read.

    Returns
    -------
    ndarray of uint8, shape (N, C, size, size)

    Raises
    ------
    ValueError
        If ``select`` names a channel a sample lacks, or a sample has no named
        channels while ``select`` is given.
    """
    sources = table["image"].tolist()
    if select is not None:
        sources = [
            channel_view(s, select, str(s) if isinstance(s, str) else f"sample {i}")
            for i, s in enumerate(sources)
        ]
    chunks = [sources[i : i + _CHUNK] for i in range(0, len(sources), _CHUNK)]
    workers = n_jobs if n_jobs is not None else min(4, os.cpu_count() or 1)
    if workers == 1 or len(chunks) == 1:
        loaded = [im for chunk in chunks for im in _load_chunk(chunk, size)]
    else:
        done = Parallel(n_jobs=workers, prefer="threads")(
            delayed(_load_chunk)(chunk, size) for chunk in chunks
        )
        loaded = [im for chunk in done for im in chunk]
    images = _drop_alpha(loaded, channels)
    if channels is None:
        channels = _target_channels({im.shape[2] for im in images})
    out = np.empty((len(images), channels, size, size), dtype=np.uint8)
    for i, image in enumerate(images):
        out[i] = _convert(image, channels).transpose(2, 0, 1)
    return out
