"""Per-image context shared by the feature families.

Several families need the same derived quantities (the object's centroid and size, the
distance of every pixel to the centroid, the image with the background neutralised, the
Sobel magnitude ...). :class:`ImageContext` computes each of them once, on first use, so
that the union of all families costs little more than its most expensive member.
"""

from __future__ import annotations

from functools import cached_property

import cv2
import numpy as np

__all__ = ["ImageContext", "MaskGeometry"]


class MaskGeometry:
    """Geometry of an object mask, independent of the image channel.

    Parameters
    ----------
    mask : ndarray of bool, shape (H, W)
        The object mask. May be empty (all False); callers check :attr:`empty`.
    """

    def __init__(self, mask: np.ndarray):
        self.mask = np.ascontiguousarray(mask, dtype=bool)

    @cached_property
    def mask_u8(self) -> np.ndarray:
        return self.mask.view(np.uint8)

    @cached_property
    def area(self) -> int:
        return int(np.count_nonzero(self.mask))

    @property
    def empty(self) -> bool:
        return self.area == 0

    @cached_property
    def full(self) -> bool:
        return self.area == self.mask.size

    @cached_property
    def flat_index(self) -> np.ndarray:
        """Positions of the object pixels in the raveled image."""
        return np.flatnonzero(self.mask)

    @cached_property
    def background_index(self) -> np.ndarray:
        return np.flatnonzero(~self.mask)

    @cached_property
    def centroid(self) -> tuple[float, float]:
        """(row, column) centroid of the mask, in pixels."""
        m = cv2.moments(self.mask_u8, binaryImage=True)
        return m["m01"] / m["m00"], m["m10"] / m["m00"]

    @cached_property
    def distance(self) -> np.ndarray:
        """Euclidean distance (px) of every pixel centre to the centroid, float32."""
        h, w = self.mask.shape
        cy, cx = self.centroid
        dy = (np.arange(h, dtype=np.float32) - np.float32(cy))[:, None]
        dx = (np.arange(w, dtype=np.float32) - np.float32(cx))[None, :]
        return cv2.magnitude(
            np.broadcast_to(dx, (h, w)).copy(), np.broadcast_to(dy, (h, w)).copy()
        )

    @cached_property
    def max_radius(self) -> float:
        """Largest distance (px) from the centroid to an object pixel centre (≥ 0.5)."""
        return max(float(self.distance.ravel()[self.flat_index].max()), 0.5)

    @cached_property
    def bbox(self) -> tuple[int, int, int, int]:
        """Bounding box (row0, col0, row1, col1) of the mask, end-exclusive."""
        x, y, w, h = cv2.boundingRect(self.mask_u8)
        return y, x, y + h, x + w


class ImageContext:
    """One channel of one image with its object mask and cached derived quantities.

    Parameters
    ----------
    image : ndarray of float32, shape (H, W)
        Intensities on the common scale of :func:`featcls.data.to_float`
        (0–1 for integer images, so 8- and 16-bit versions of a picture agree).
    geometry : MaskGeometry
        The object mask and its geometry, shared between the channels of an image.
    name : str
        How the sample is called in warnings (its file name or table index).
    """

    def __init__(
        self, image: np.ndarray, geometry: MaskGeometry, name: str = "<array>"
    ):
        self.image = np.ascontiguousarray(image, dtype=np.float32)
        self.geometry = geometry
        self.name = name

    @property
    def mask(self) -> np.ndarray:
        return self.geometry.mask

    @cached_property
    def object_values(self) -> np.ndarray:
        """Intensities of the object pixels (1-D float32)."""
        return self.image.ravel()[self.geometry.flat_index]

    @cached_property
    def background_values(self) -> np.ndarray:
        """Intensities of the pixels outside the mask (1-D float32)."""
        return self.image.ravel()[self.geometry.background_index]

    @cached_property
    def object_mean(self) -> float:
        return float(self.object_values.mean())

    @cached_property
    def filled(self) -> np.ndarray:
        """The image with every pixel outside the mask replaced by the object mean.

        Filters (Sobel, Canny, LBP, Laws) run on this image, so that what lies outside
        the mask cannot change a result: the families honour the mask.
        """
        if self.geometry.full:
            return self.image
        out = np.full_like(self.image, self.object_mean)
        np.copyto(out, self.image, where=self.mask)
        return out
