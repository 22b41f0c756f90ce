"""Decode a sample table once into a uint8 ``(N, C, S, S)`` array for the CNN."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from featcls.data import (
    ChannelFiles,
    prepare_sample,
    read_image,
    read_mask,
    split_channels,
    to_float,
)
from featcls.data._channels import channel_view, sample_channel_names
from featcls.data._image import channel_sum
from featcls.exceptions import DataWarning, SettingError

__all__ = ["InputVariant", "decode_images", "luma", "sample_channels"]

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_CHUNK = 64


def luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma of an ``(..., 3)`` array, same dtype kind (uint8 rounded)."""
    grey = channel_sum(rgb, _LUMA)  # the same bits whatever the memory layout
    if rgb.dtype == np.uint8:
        return np.clip(grey + 0.5, 0, 255).astype(np.uint8)
    return grey


@dataclass(frozen=True)
class InputVariant:
    """How a CNN prepares each image before it is resized to the network's input.

    The parameters of the same names of :class:`~featcls.models.CNNClassifier`
    (and :class:`~featcls.features.FeatureExtractor`): ``channels`` a channel
    policy of :func:`featcls.data.split_channels` or None (every channel as
    decoded); ``crop``, ``margin`` and ``mask_out`` as in
    :func:`featcls.data.prepare_sample`.
    """

    channels: str | None = None
    crop: bool = False
    margin: float = 0.1
    mask_out: bool = False

    @property
    def plain(self) -> bool:
        """Whether images are used as decoded (no crop, mask or channel policy)."""
        return self.channels is None and not self.crop and not self.mask_out

    @property
    def needs_mask(self) -> bool:
        """Whether the object mask is needed (to crop or to mask out)."""
        return self.crop or self.mask_out


def _label(source: Any, index: Any) -> str:
    """A sample as messages name it: its file, else its row label."""
    if isinstance(source, ChannelFiles):
        return str(source)
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return f"sample {index!r}"


def _has_mask(mask_src: Any) -> bool:
    return mask_src is not None and not (
        isinstance(mask_src, float) and np.isnan(mask_src)
    )


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


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """An ``(H, W, C)`` image of any dtype on the uint8 scale (see decode_images)."""
    if image.dtype == np.uint8:
        return image
    return np.clip(_float_scale(image) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _load_one(
    source, size: int, variant: InputVariant | None = None, mask_src=None, label=None
) -> tuple[np.ndarray, bool, bool]:
    """One image as uint8 ``(size, size, c)``, and two flags about it.

    The image keeps all its channels unless ``variant`` has a channel policy. The
    first flag says whether its last channel is a constant alpha (grey+alpha or
    RGBA with one alpha value; the named channels of a sample of one file per
    channel are stains, never an alpha channel); the second whether its object
    mask was empty although the variant needed it.
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
    if variant is None or variant.plain:
        if image.dtype == np.uint8:
            return _resize(np.ascontiguousarray(image), size), constant_alpha, False
        values = _resize(np.ascontiguousarray(_float_scale(image)), size)
        out = np.clip(values * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return out, constant_alpha, False
    return _prepared(source, image, size, variant, mask_src, label, constant_alpha)


def _float_scale(image: np.ndarray) -> np.ndarray:
    """float32 on [0, 1]: to_float, and floats outside [0, 1] min-max scaled."""
    values = to_float(image)
    if image.dtype.kind == "f":
        lo, hi = float(values.min()), float(values.max())
        if lo < 0.0 or hi > 1.0:  # arbitrary float range: min-max scale this image
            values = (values - lo) / (hi - lo if hi > lo else 1.0)
    return values


def _prepared(source, image, size, variant, mask_src, label, constant_alpha):
    """:func:`_load_one` for an input variant: the features' own preparation.

    :func:`featcls.data.prepare_sample` crops and masks out with the sample's mask
    (the automatic one without) and resizes to ``size`` (area interpolation when
    shrinking, bilinear when enlarging, as ``FeatureExtractor(size=...)``); a
    channel policy then goes through :func:`featcls.data.split_channels` on the
    0-1 scale, and the result is put back on the uint8 scale.
    """
    names = source.names if isinstance(source, ChannelFiles) else None
    label = label if label is not None else _label(source, None)
    mask = None
    if variant.needs_mask and _has_mask(mask_src):
        mask = read_mask(
            mask_src,
            name=None if not isinstance(mask_src, np.ndarray) else f"mask of {label}",
            shape=image.shape[:2],
            image_name=label,
        )
    plane = image[:, :, 0] if image.shape[2] == 1 else image
    prepared = prepare_sample(
        plane,
        mask,
        names=names,
        size=(size, size),
        crop=variant.crop,
        margin=variant.margin,
        mask_out=variant.mask_out,
    )
    if variant.channels is None:
        out = prepared.image
        out = out[:, :, None] if out.ndim == 2 else out
        return _to_uint8(np.ascontiguousarray(out)), constant_alpha, prepared.empty_mask
    try:
        planes, _ = split_channels(
            to_float(prepared.image, name=label), variant.channels, names=names
        )
    except SettingError:
        # Say it of the image as it is (its own shape), not of the resized one.
        try:
            split_channels(to_float(plane, name=label), variant.channels, names=names)
        except SettingError as exc:
            raise SettingError(f"Image {label!r}: ", *exc.parts) from exc
        raise
    out = np.stack(planes, axis=2)
    out = np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out, False, prepared.empty_mask


def _load_chunk(
    items: list[tuple], size: int, variant: InputVariant | None = None
) -> list[tuple[np.ndarray, bool, bool]]:
    return [_load_one(s, size, variant, m, label) for s, m, label in items]


def _drop_alpha(
    loaded: list[tuple[np.ndarray, bool, bool]], channels: int | None
) -> list[np.ndarray]:
    """Drop the last channel of images whose alpha is constant; warn with the count.

    A constant alpha carries nothing. The channel is kept when the model takes that
    many channels.
    """
    images, dropped = [], 0
    for image, constant_alpha, _ in loaded:
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


def _warn_empty_masks(loaded: list[tuple], variant: InputVariant, owner: str) -> None:
    """One :class:`DataWarning` with the number of images whose mask was empty."""
    empty = sum(1 for _, _, e in loaded if e)
    if not empty:
        return
    what = []
    if variant.crop:
        what.append("there is nothing to crop to, so the whole image is kept")
    if variant.mask_out:
        what.append("mask_out sets every pixel to 0")
    warnings.warn(
        f"{owner}: {empty} of {len(loaded)} images have an empty object mask: "
        f"{' and '.join(what)}; check the masks (or drop the mask column to let "
        "featcls segment the objects).",
        DataWarning,
        stacklevel=4,
    )


def decode_images(
    table: pd.DataFrame,
    size: int,
    *,
    channels: int | None = None,
    n_jobs: int | None = None,
    select: tuple[str, ...] | None = None,
    variant: InputVariant | None = None,
    owner: str = "CNNClassifier",
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
    1-pixel image becomes a constant one). Masks are not used by a plain variant.

    With an input ``variant`` that is not plain, each image is first prepared as
    the hand-crafted features prepare it (:func:`featcls.data.prepare_sample`):
    cropped to its object and/or masked out with the table's ``mask`` where the
    sample has one, else the automatic mask, and resized to ``size × size`` by
    that function's rule (area interpolation when shrinking, bilinear when
    enlarging); a channel policy is then applied by
    :func:`featcls.data.split_channels` (``"gray"``: one channel; ``"rgb"``,
    ``"hsv"``: three; ``"channels"``: every channel, an alpha one included), on
    the 0–1 scale, and put back on the uint8 scale (``round(255 x)``). Images
    whose mask is empty are counted in one
    :class:`~featcls.exceptions.DataWarning`.

    Parameters
    ----------
    table : DataFrame
        Sample table with an ``image`` column (and optionally ``mask``).
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
    variant : InputVariant, optional
        How each image is prepared (None: as decoded).
    owner : str, default="CNNClassifier"
        The estimator named in warnings.

    Returns
    -------
    ndarray of uint8, shape (N, C, size, size)

    Raises
    ------
    ValueError
        If ``select`` names a channel a sample lacks, or a sample has no named
        channels while ``select`` is given; if the variant's channel policy does
        not fit an image (``"rgb"`` of a grey image), naming the image.
    """
    sources = table["image"].tolist()
    labels = [_label(s, i) for s, i in zip(sources, table.index, strict=True)]
    if select is not None:
        sources = [
            channel_view(s, select, label)
            for s, label in zip(sources, labels, strict=True)
        ]
    masks = [None] * len(sources)
    if variant is not None and variant.needs_mask and "mask" in table.columns:
        masks = table["mask"].tolist()
    items = list(zip(sources, masks, labels, strict=True))
    chunks = [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]
    workers = n_jobs if n_jobs is not None else min(4, os.cpu_count() or 1)
    if workers == 1 or len(chunks) == 1:
        loaded = [im for chunk in chunks for im in _load_chunk(chunk, size, variant)]
    else:
        done = Parallel(n_jobs=workers, prefer="threads")(
            delayed(_load_chunk)(chunk, size, variant) for chunk in chunks
        )
        loaded = [im for chunk in done for im in chunk]
    if variant is not None and variant.needs_mask:
        _warn_empty_masks(loaded, variant, owner)
    images = _drop_alpha(loaded, channels)
    if channels is None:
        channels = _target_channels({im.shape[2] for im in images})
    out = np.empty((len(images), channels, size, size), dtype=np.uint8)
    for i, image in enumerate(images):
        out[i] = _convert(image, channels).transpose(2, 0, 1)
    return out
