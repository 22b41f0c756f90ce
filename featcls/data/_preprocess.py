"""Input variants of an image of a single object: whole, cropped, cropped and masked."""

from __future__ import annotations

import warnings
from typing import NamedTuple

import cv2
import numpy as np

from featcls.data._image import check_image, read_mask, split_channels, to_float
from featcls.data._segment import auto_mask
from featcls.exceptions import DataWarning

__all__ = ["PreparedSample", "grey_of", "prepare_image", "prepare_sample"]

# dtypes cv2.resize handles natively; others go through float64.
_CV2_RESIZE_DTYPES = {
    np.dtype(t) for t in ("uint8", "uint16", "int16", "float32", "float64")
}


def _target_size(size: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (int(size), int(size))
    try:
        h, w = (int(s) for s in size)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"size must be an int or a (height, width) pair of ints >= 1. "
            f"Got {size!r} instead."
        ) from exc
    if h < 1 or w < 1:
        raise ValueError(
            f"size must be an int or a (height, width) pair of ints >= 1. "
            f"Got {size!r} instead."
        )
    return h, w


def _resize(image: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    h, w = hw
    if image.shape[:2] == (h, w):
        return image
    shrink = h <= image.shape[0] and w <= image.shape[1]
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    dtype = image.dtype
    work = image if dtype in _CV2_RESIZE_DTYPES else image.astype(np.float64)
    if work.ndim == 3 and work.shape[2] > 4:
        # Resize channel by channel: OpenCV limits the channel count of some paths.
        out = np.stack(
            [
                cv2.resize(
                    np.ascontiguousarray(work[:, :, c]),
                    (w, h),
                    interpolation=interpolation,
                )
                for c in range(work.shape[2])
            ],
            axis=2,
        )
    else:
        out = cv2.resize(work, (w, h), interpolation=interpolation)
        if work.ndim == 3 and out.ndim == 2:
            out = out[:, :, None]
    if out.dtype != dtype:
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            out = np.clip(np.rint(out), info.min, info.max)
        out = out.astype(dtype)
    return out


def _resize_mask(mask: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    h, w = hw
    if mask.shape == (h, w):
        return mask
    out = cv2.resize(
        mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST_EXACT
    )
    return out.astype(bool)


def prepare_image(
    image: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    size: int | tuple[int, int] | None = None,
    crop: bool = False,
    margin: float = 0.1,
    mask_out: bool = False,
    fill: float = 0,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Make one of the input variants of an image of a single object.

    The three variants compared for EM particles are: the particle *with its
    surrounding* (the default: the image unchanged), *cropped* to the object's bounding
    box plus a margin (``crop=True``), and *cropped and masked* (``crop=True,
    mask_out=True``: pixels outside the mask set to ``fill``). The object is given by
    ``mask`` or, when it is None, by :func:`auto_mask` of the grey image.

    Parameters
    ----------
    image : ndarray
        ``(H, W)`` or ``(H, W, C)`` image of any dtype.
    mask : ndarray of bool, shape (H, W), optional
        Object mask. Needed only for ``crop`` or ``mask_out``; computed when None.
    size : int or (int, int), optional
        Output ``(height, width)`` (an int means square). Images are resized with
        area interpolation when shrinking and bilinear otherwise; masks with nearest
        neighbour.
    crop : bool, default=False
        Crop to the object's bounding box plus ``margin``.
    margin : float, default=0.1
        Margin added on each side, as a fraction of the box's height (top and bottom)
        and width (left and right); the crop is clipped to the image.
    mask_out : bool, default=False
        Set pixels outside the mask to ``fill``.
    fill : float, default=0
        Value of masked-out pixels, cast to the image dtype.

    Returns
    -------
    image : ndarray
        The variant, same dtype as the input.
    mask : ndarray of bool or None
        The mask cropped and resized like the image; None when no mask was given and
        none was needed.

    Warns
    -----
    DataWarning
        If cropping is asked but the mask is empty; the whole image is kept.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((40, 40), dtype=np.uint8)
    >>> image[10:20, 10:30] = 200
    >>> cropped, mask = prepare_image(image, crop=True, margin=0.1)
    >>> cropped.shape
    (12, 24)
    """
    image, mask, empty = _variant(
        image,
        mask,
        size=size,
        crop=crop,
        margin=margin,
        mask_out=mask_out,
        fill=fill,
        name="prepare_image",
    )
    if empty and crop:
        warnings.warn(
            "prepare_image: the object mask is empty, so there is nothing to crop "
            "to; the whole image is kept.",
            DataWarning,
            stacklevel=2,
        )
    return image, mask


class PreparedSample(NamedTuple):
    """One sample prepared as the features and the CNN see it (:func:`prepare_sample`).

    Attributes
    ----------
    image : ndarray
        The variant (cropped, masked out and/or resized), same dtype as the input.
    mask : ndarray of bool or None
        The object mask cropped and resized like the image; None when no mask was
        given and none was needed.
    mask_source : {"user", "auto"} or None
        Where the mask came from: the one given, or :func:`auto_mask`; None
        without a mask.
    empty_mask : bool
        Whether the object mask is empty while ``crop`` or ``mask_out`` needed it
        (nothing was cropped; ``mask_out`` set every pixel to the fill value).
    """

    image: np.ndarray
    mask: np.ndarray | None
    mask_source: str | None
    empty_mask: bool


def grey_of(image: np.ndarray, names: tuple[str, ...] | None = None) -> np.ndarray:
    """The grey float32 image the automatic mask is computed on (``"gray"`` policy)."""
    return split_channels(to_float(image), "gray", names=names)[0][0]


def prepare_sample(
    image: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    names: tuple[str, ...] | None = None,
    size: int | tuple[int, int] | None = None,
    crop: bool = False,
    margin: float = 0.1,
    mask_out: bool = False,
) -> PreparedSample:
    """Prepare one decoded sample: the input variant the features and the CNN share.

    The one place where :class:`~featcls.features.FeatureExtractor` and
    :class:`~featcls.models.CNNClassifier` turn an image and its mask into the
    pixels they compute on, so both see the same ones: without ``mask``, the
    object mask needed by ``crop`` or ``mask_out`` is :func:`auto_mask` of the
    grey image (for named channels, the mean of the channels, as the ``"gray"``
    policy of :func:`split_channels` has it), computed on the whole image before
    cropping; then :func:`prepare_image` crops, masks out and resizes. It never
    warns: ``empty_mask`` says that an empty mask left nothing to crop to, and the
    caller reports it once for all its samples. The channel policy is applied
    afterwards with :func:`split_channels` on ``to_float(result.image)``.

    Parameters
    ----------
    image : ndarray
        ``(H, W)`` or ``(H, W, C)`` decoded image of any dtype.
    mask : ndarray of bool, shape (H, W), optional
        The sample's object mask (a dataset's mask column).
    names : tuple of str, optional
        The names of the image's channels (a sample of one file per channel).
    size, crop, margin, mask_out
        As in :func:`prepare_image`.

    Returns
    -------
    PreparedSample
        ``(image, mask, mask_source, empty_mask)``.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((40, 40), dtype=np.uint8)
    >>> image[10:20, 10:30] = 200
    >>> prepared = prepare_sample(image, crop=True, margin=0, size=16)
    >>> prepared.image.shape, prepared.mask_source, prepared.empty_mask
    ((16, 16), 'auto', False)
    """
    source = None if mask is None else "user"
    if mask is None and (crop or mask_out):
        mask, source = auto_mask(grey_of(check_image(image), names)), "auto"
    empty = False
    if size is not None or crop or mask_out:
        image, mask, empty = _variant(
            image,
            mask,
            size=size,
            crop=crop,
            margin=margin,
            mask_out=mask_out,
            name="prepare_sample",
        )
    return PreparedSample(image, mask, source, empty and (crop or mask_out))


def _variant(
    image: np.ndarray,
    mask: np.ndarray | None,
    *,
    size,
    crop: bool,
    margin: float,
    mask_out: bool,
    fill: float = 0,
    name: str,
) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """:func:`prepare_image` without its warning; also whether the mask is empty."""
    image = check_image(image, name=f"{name} input")
    if margin < 0:
        raise ValueError(f"margin must be >= 0. Got {margin!r} instead.")
    hw = None if size is None else _target_size(size)
    if mask is not None:
        mask = read_mask(mask, name=f"{name} mask", shape=image.shape)
    elif crop or mask_out:
        mask = auto_mask(grey_of(image))
    empty = False
    if crop:
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        if rows.size == 0:
            empty = True
        else:
            top, bottom = rows[0], rows[-1] + 1
            left, right = cols[0], cols[-1] + 1
            dy = int(np.ceil(margin * (bottom - top)))
            dx = int(np.ceil(margin * (right - left)))
            top, bottom = max(top - dy, 0), min(bottom + dy, image.shape[0])
            left, right = max(left - dx, 0), min(right + dx, image.shape[1])
            image = image[top:bottom, left:right]
            mask = mask[top:bottom, left:right]
    if mask_out:
        empty = empty or not mask.any()
        image = image.copy()
        image[~mask] = np.asarray(fill).astype(image.dtype)
    if hw is not None:
        image = _resize(image, hw)
        if mask is not None:
            mask = _resize_mask(mask, hw)
    return image, mask, empty
