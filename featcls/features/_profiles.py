"""Radial density profile and edge density profile in rings around the object centre."""

from __future__ import annotations

import cv2
import numpy as np

from featcls.features._base import FeatureFamily, check_int, check_number, check_option

__all__ = ["EdgeProfile", "RadialProfile", "edge_profile", "radial_profile"]


class _RingFamily(FeatureFamily):
    """Shared ring geometry of :class:`RadialProfile` and :class:`EdgeProfile`."""

    def _check_rings(self) -> int:
        n = check_int(self, "n_rings", self.n_rings)
        check_option(self, "region", self.region, ("object", "image"))
        if self.ring_width is None:
            check_number(self, "extent", self.extent)
        else:
            check_number(self, "ring_width", self.ring_width)
        return n

    def _rings(self, geometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ring index of the region's pixels, their flat positions, pixels per ring.

        Cached on the shared mask geometry, so the radial and edge profiles of all
        channels reuse one computation when their ring settings agree.
        """
        key = ("rings", self.n_rings, self.region, self.extent, self.ring_width)
        cache = geometry.__dict__.setdefault("_ring_cache", {})
        if key not in cache:
            n = int(self.n_rings)
            if self.ring_width is None:
                width = float(self.extent) * geometry.max_radius / n
            else:
                width = float(self.ring_width)
            dist = geometry.distance.ravel()
            if self.region == "object":
                pos = geometry.flat_index
                ring = (dist[pos] * np.float32(1.0 / width)).astype(np.int64)
            else:
                ring = (dist * np.float32(1.0 / width)).astype(np.int64)
                pos = None
            inside = ring < n
            if pos is None:
                pos = np.flatnonzero(inside)
            else:
                pos = pos[inside]
            ring = ring[inside]
            counts = np.bincount(ring, minlength=n).astype(np.float64)
            cache[key] = (ring, pos, counts)
        return cache[key]

    def _ring_means(self, values: np.ndarray, geometry, *, std: bool) -> list:
        ring, pos, counts = self._rings(geometry)
        v = values.ravel()[pos].astype(np.float64)
        n = int(self.n_rings)
        with np.errstate(invalid="ignore", divide="ignore"):
            s1 = np.bincount(ring, weights=v, minlength=n)
            mean = s1 / counts
            if not std:
                return [mean]
            s2 = np.bincount(ring, weights=v * v, minlength=n)
            var = np.maximum(s2 / counts - mean**2, 0.0)
        return [mean, np.sqrt(var)]

    def _ring_names(self, *stems: str) -> list[str]:
        n = self._check_rings()
        width = max(2, len(str(n - 1)))
        return [f"{stem}_{i:0{width}d}" for stem in stems for i in range(n)]


_RING_DOC = """
    Rings are concentric around the centroid of the object mask. By default their
    width is ``extent * R / n_rings`` where ``R`` is the largest distance from the
    centroid to an object pixel, so ring ``n_rings - 1`` reaches the object's rim
    whatever its size (radius normalised to object size); ``ring_width`` sets an
    absolute width in pixels instead. Ring ``k`` holds the pixel centres at distance
    ``[k w, (k + 1) w)``. With ``region="object"`` only object pixels count, so pixels
    outside the mask never matter; ``region="image"`` counts every pixel, which with
    ``extent > 1`` describes the surroundings of a particle. A ring with no pixel
    (for example one that lies outside the image) is NaN.

    Parameters
    ----------
    n_rings : int, default=16
    extent : float, default=1.0
        Outer radius of the last ring, in units of ``R`` (ignored with ``ring_width``).
    ring_width : float or None, default=None
        Absolute ring width in pixels.
    region : {"object", "image"}, default="object"
"""


class RadialProfile(_RingFamily):
    __doc__ = (
        "Radial density profile: mean and standard deviation of intensity per ring.\n"
        + _RING_DOC
        + """
    Features: ``mean_00 …`` then ``std_00 …`` (common 0–1 intensity scale).
    """
    )

    name = "radial"

    def __init__(
        self,
        *,
        n_rings: int = 16,
        extent: float = 1.0,
        ring_width: float | None = None,
        region: str = "object",
    ):
        self.n_rings = n_rings
        self.extent = extent
        self.ring_width = ring_width
        self.region = region

    def feature_names(self) -> list[str]:
        return self._ring_names("mean", "std")

    def compute(self, ctx) -> np.ndarray:
        return np.concatenate(self._ring_means(ctx.image, ctx.geometry, std=True))


class EdgeProfile(_RingFamily):
    __doc__ = (
        "Edge density profile: edge strength and edge fraction per ring.\n"
        + _RING_DOC
        + """
    Features: ``sobel_00 …`` is the mean Sobel gradient magnitude in the ring
    (intensity units per pixel, 3×3 kernel normalised to a unit step); ``canny_00 …``
    the fraction of the ring's pixels that are Canny edges (OpenCV on the 8-bit version
    of the image after a 3×3 Gaussian blur, hysteresis thresholds ``canny_low`` and
    ``canny_high`` in 8-bit Sobel units). With ``region="object"`` pixels outside the
    mask are replaced by the object mean before filtering, so they cannot create or
    remove edges; with ``region="image"`` the image is filtered as it is.

    canny_low, canny_high : float, default=50, 150
    """
    )

    name = "edges"

    def __init__(
        self,
        *,
        n_rings: int = 16,
        extent: float = 1.0,
        ring_width: float | None = None,
        region: str = "object",
        canny_low: float = 50.0,
        canny_high: float = 150.0,
    ):
        self.n_rings = n_rings
        self.extent = extent
        self.ring_width = ring_width
        self.region = region
        self.canny_low = canny_low
        self.canny_high = canny_high

    def feature_names(self) -> list[str]:
        low = check_number(self, "canny_low", self.canny_low)
        high = check_number(self, "canny_high", self.canny_high)
        if high < low:
            raise ValueError(
                "The 'canny_high' parameter of EdgeProfile must be >= 'canny_low'. "
                f"Got canny_low={low!r}, canny_high={high!r} instead."
            )
        return self._ring_names("sobel", "canny")

    def compute(self, ctx) -> np.ndarray:
        # Only the object's pixels may shape its edges, unless the rings are meant to
        # describe the surroundings too.
        image = ctx.filled if self.region == "object" else ctx.image
        gx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
        gy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
        magnitude = cv2.magnitude(gx, gy)
        u8 = cv2.convertScaleAbs(np.clip(image, 0.0, 1.0), alpha=255.0)
        blurred = cv2.GaussianBlur(u8, (3, 3), 0)
        edges = cv2.Canny(blurred, float(self.canny_low), float(self.canny_high))
        (sobel,) = self._ring_means(magnitude, ctx.geometry, std=False)
        (canny,) = self._ring_means(edges > 0, ctx.geometry, std=False)
        return np.concatenate([sobel, canny])


def radial_profile(image, mask=None, **params) -> dict[str, float]:
    """Radial intensity profile of ``image``; see :class:`RadialProfile`."""
    from featcls.features._extract import compute_family

    return compute_family(RadialProfile(**params), image, mask)


def edge_profile(image, mask=None, **params) -> dict[str, float]:
    """Edge density profile of ``image``; see :class:`EdgeProfile`."""
    from featcls.features._extract import compute_family

    return compute_family(EdgeProfile(**params), image, mask)
