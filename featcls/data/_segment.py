"""Automatic object mask for images of a single object."""

from __future__ import annotations

import cv2
import numpy as np

from featcls.data._image import check_image, to_float

__all__ = ["auto_mask"]


def _border_count(binary: np.ndarray) -> int:
    """Number of True pixels on the one-pixel image border."""
    if binary.shape[0] <= 2 or binary.shape[1] <= 2:
        return int(binary.sum())
    return int(
        binary[0].sum()
        + binary[-1].sum()
        + binary[1:-1, 0].sum()
        + binary[1:-1, -1].sum()
    )


def _fill_holes(binary: np.ndarray) -> np.ndarray:
    """Fill holes of a uint8 0/1 image: background not 4-connected to the border.

    Same result as :func:`scipy.ndimage.binary_fill_holes` (default structure), by a
    flood fill of the background from outside the image, which is several times faster.
    """
    padded = cv2.copyMakeBorder(binary, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    cv2.floodFill(padded, None, (0, 0), 2, flags=4)
    return padded[1:-1, 1:-1] != 2


def auto_mask(gray: np.ndarray, *, sigma: float = 1.0) -> np.ndarray:
    """Compute the automatic object mask of a grey image of a single object.

    The steps are:

    1. smooth with a Gaussian of standard deviation ``sigma`` pixels (against noise),
    2. Otsu's threshold (Otsu 1979) on a uint8 version stretched to the image's range,
    3. polarity: the object is whichever class (above or below the threshold) has fewer
       pixels on the image border, so bright objects on a dark background and dark
       objects on a bright background are both found,
    4. the largest 8-connected component of that class,
    5. its holes filled (so a ring becomes a disk).

    An image without contrast (constant) gives an all-True mask. It takes well under a
    millisecond for a 300×300 image.

    Parameters
    ----------
    gray : ndarray, shape (H, W)
        Grey image, any numeric dtype and scale (the threshold is found on the
        image's own range).
    sigma : float, default=1.0
        Standard deviation in pixels of the Gaussian pre-smoothing; 0 disables it.

    Returns
    -------
    mask : ndarray of bool, shape (H, W)

    Raises
    ------
    ImageReadError
        If ``gray`` is not a valid 2-D image.

    References
    ----------
    N. Otsu, "A threshold selection method from gray-level histograms", IEEE Trans.
    Systems, Man, and Cybernetics 9(1), 62-66, 1979.

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[:32, :32]
    >>> disk = ((yy - 16) ** 2 + (xx - 16) ** 2 < 64).astype(np.float32)
    >>> mask = auto_mask(disk)
    >>> int(mask.sum()), bool(mask[16, 16]), bool(mask[0, 0])
    (193, True, False)
    """
    image = check_image(gray, name="auto_mask input")
    if image.ndim != 2:
        raise ValueError(
            f"auto_mask expects a 2-D grey image, got shape {image.shape}. "
            "Use split_channels(image, 'gray') first."
        )
    # Otsu runs on the image's own range, so any scale will do: floats outside
    # [0, 1] and wide integers (which to_float refuses) are only cast.
    if image.dtype.kind == "f" or image.dtype.itemsize > 2:
        image = image.astype(np.float32)
    else:
        image = to_float(image)
    lo, hi = cv2.minMaxLoc(image)[:2]
    if not hi > lo:
        return np.ones(image.shape, dtype=bool)
    if sigma > 0:
        image = cv2.GaussianBlur(image, (0, 0), sigma)
        lo, hi = cv2.minMaxLoc(image)[:2]
        if not hi > lo:
            return np.ones(image.shape, dtype=bool)
    scaled = cv2.convertScaleAbs(
        image, alpha=255.0 / (hi - lo), beta=-lo * 255.0 / (hi - lo)
    )
    _, fg = cv2.threshold(scaled, 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    n_border = 2 * (image.shape[0] + image.shape[1]) - 4
    fg_border = _border_count(fg)
    if fg_border > max(n_border, 1) - fg_border:
        fg = 1 - fg
    # connectedComponents + a histogram of the labels: same areas as
    # connectedComponentsWithStats, several times faster on noisy images with many
    # small components. OpenCV counts 16-bit labels about twice as fast as
    # np.bincount (exactly: float32 counts are exact below 2**24 pixels).
    n_labels, labels = cv2.connectedComponents(fg, connectivity=8)
    if n_labels <= 1:
        return np.ones(image.shape, dtype=bool)
    if n_labels <= 65536 and labels.size < 2**24:
        areas = cv2.calcHist(
            [labels.astype(np.uint16)], [0], None, [n_labels], [0, n_labels]
        ).ravel()
    else:
        areas = np.bincount(labels.ravel(), minlength=n_labels)
    largest = 1 + int(np.argmax(areas[1:]))
    component = (labels == largest).astype(np.uint8)
    return _fill_holes(component)
