"""Radial density profile and edge density profile in rings around the object centre."""

from __future__ import annotations

from numbers import Integral, Real

import cv2
import numpy as np
from sklearn.utils._param_validation import StrOptions

from featcls._validation import NumberInterval, invalid
from featcls.features._base import FeatureFamily

__all__ = ["EdgeProfile", "RadialProfile", "edge_profile", "radial_profile"]


#: Rows around the object's bounding box that the edge filters need: the 3×3 blur and
#: Canny's 3×3 Sobel reach 2 rows out of the box, plus one for safety.
_EDGE_MARGIN = 4


class _RingFamily(FeatureFamily):
    """Shared ring geometry of :class:`RadialProfile` and :class:`EdgeProfile`."""

    _parameter_constraints: dict = {
        "n_rings": [NumberInterval(Integral, 1, None, closed="left")],
        # Checked in _check_params: it is ignored (any value) with ring_width.
        "extent": "no_validation",
        "ring_width": [NumberInterval(Real, 0, None, closed="neither"), None],
        "region": [StrOptions({"object", "image"})],
    }
    _EXTENT = NumberInterval(Real, 0, None, closed="neither")

    def _check_params(self) -> None:
        if self.ring_width is None and not self._EXTENT.is_satisfied_by(self.extent):
            raise invalid(self, "extent", f"{self._EXTENT} (or set ring_width)")

    def _rings(self, geometry):
        """The :class:`~featcls.features._context.Rings` of these settings.

        Cached on the shared mask geometry, so the radial and edge profiles of all
        channels reuse one computation when their ring settings agree.
        """
        n = int(self.n_rings)
        if self.ring_width is None:
            width = float(self.extent) * geometry.max_radius / n
        else:
            width = float(self.ring_width)
        return geometry.rings(n, width, object_only=self.region == "object")

    def _note_empty_rings(self, ctx):
        """The rings of ``ctx``; notes when some hold no pixel (their features: NaN)."""
        rings = self._rings(ctx.geometry)
        if not rings.counts.all():
            ctx.note("empty_rings")
        return rings

    def _ring_means(self, values: np.ndarray, geometry, *, std: bool) -> list:
        rings = self._rings(geometry)
        v = values[rings.rows].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = rings.sums(v) / rings.counts
            if not std:
                return [mean]
            var = np.maximum(rings.sums(v * v) / rings.counts - mean**2, 0.0)
        return [mean, np.sqrt(var)]

    def _ring_names(self, *stems: str) -> list[str]:
        self.validate()
        n = int(self.n_rings)
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
    (for example one that lies outside the image, or the inner rings of a ring-shaped
    object, whose centroid lies in its hole) is NaN, and a
    :class:`~featcls.exceptions.FeatureWarning` names the sample.

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
        self._note_empty_rings(ctx)
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
    _parameter_constraints: dict = {
        **_RingFamily._parameter_constraints,
        "canny_low": [NumberInterval(Real, 0, None, closed="neither")],
        "canny_high": [NumberInterval(Real, 0, None, closed="neither")],
    }

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

    def _check_params(self) -> None:
        super()._check_params()
        if self.canny_high < self.canny_low:
            raise invalid(self, "canny_high", f">= 'canny_low' ({self.canny_low!r})")

    def feature_names(self) -> list[str]:
        return self._ring_names("sobel", "canny")

    def compute(self, ctx) -> np.ndarray:
        # Only the object's pixels may shape its edges, unless the rings are meant to
        # describe the surroundings too.
        rings = self._note_empty_rings(ctx)
        if self.region == "object":
            # Outside the mask the filled image is constant, so gradients vanish 3
            # rows beyond the bounding box: filter a band of rows with that margin
            # (OpenCV's filters give the same values on whole rows of an image).
            band = ctx.geometry.rows(margin=_EDGE_MARGIN)
            image, u8 = ctx.filled[band], ctx.filled_u8[band]
        else:
            band = slice(0, ctx.image.shape[0])
            image = ctx.image
            u8 = cv2.convertScaleAbs(np.clip(image, 0.0, 1.0), alpha=255.0)
        inner = slice(rings.rows.start - band.start, rings.rows.stop - band.start)
        gx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
        gy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
        # sqrt(gx² + gy²) with NumPy: cv2.magnitude's last bit depends on where the
        # arrays happen to lie in memory, which made the features vary between runs.
        magnitude = np.multiply(gx, gx, out=gx)
        magnitude += np.multiply(gy, gy, out=gy)
        np.sqrt(magnitude, out=magnitude)
        blurred = cv2.GaussianBlur(u8, (3, 3), 0)
        edges = cv2.Canny(blurred, float(self.canny_low), float(self.canny_high))
        with np.errstate(invalid="ignore", divide="ignore"):
            sobel = rings.sums(magnitude[inner]) / rings.counts
            # Canny's edges are 0 or 255.
            canny = rings.sums(edges[inner]) / 255.0 / rings.counts
        return np.concatenate([sobel, canny])


def radial_profile(image, mask=None, **params) -> dict[str, float]:
    """Radial intensity profile of ``image``; see :class:`RadialProfile`."""
    from featcls.features._extract import compute_family

    return compute_family(RadialProfile(**params), image, mask)


def edge_profile(image, mask=None, **params) -> dict[str, float]:
    """Edge density profile of ``image``; see :class:`EdgeProfile`."""
    from featcls.features._extract import compute_family

    return compute_family(EdgeProfile(**params), image, mask)
