"""Shape features of the object mask: size, Feret diameters, axes and compactness."""

from __future__ import annotations

import math
from numbers import Real

import cv2
import numpy as np

from featcls._validation import NumberInterval
from featcls.features._base import FeatureFamily

__all__ = ["ShapeFeatures", "shape_features"]

_NAMES = (
    "area",
    "perimeter",
    "equivalent_diameter",
    "diameter",
    "max_width",
    "length",
    "minor_axis",
    "eccentricity",
    "circularity",
    "solidity",
    "extent",
)


def _feret(points: np.ndarray) -> tuple[float, float]:
    """Maximum and minimum Feret diameter of a convex polygon (rotating calipers).

    ``points`` are the hull vertices (n, 2) in order. The maximum is the largest
    vertex-to-vertex distance; the minimum is, over the hull edges, the smallest of
    the largest vertex distances to the edge's supporting line (Toussaint 1983).
    Pixel centres are the vertices, so one pixel is added to both (a one-pixel-wide
    object is one pixel wide, not zero).
    """
    n = len(points)
    if n == 1:
        return 1.0, 1.0
    diff = points[:, None, :] - points[None, :, :]
    dmax = float(np.sqrt((diff**2).sum(-1).max()))
    if n == 2:
        return dmax + 1.0, 1.0
    edges = np.concatenate((points[1:], points[:1])) - points
    lengths = np.hypot(edges[:, 0], edges[:, 1])
    keep = lengths > 0
    edges, lengths, starts = edges[keep], lengths[keep], points[keep]
    rel = points[None, :, :] - starts[:, None, :]
    cross = np.abs(edges[:, None, 0] * rel[:, :, 1] - edges[:, None, 1] * rel[:, :, 0])
    dmin = float((cross.max(axis=1) / lengths).min())
    return dmax + 1.0, dmin + 1.0


class ShapeFeatures(FeatureFamily):
    """Size and shape of the object mask.

    Computed from the mask only (the user's, or the automatic Otsu mask), so the
    intensities never matter and the family is computed once per image, not per
    channel. Lengths are in pixels times ``pixel_size`` and areas in its square.

    Features
    --------
    area
        Number of object pixels.
    perimeter
        Length of the outer contour of the largest connected part: OpenCV's Teh–Chin
        polygon through the boundary pixel centres, plus π for the half pixel
        outside them (about 2πr for a disk of radius r).
    equivalent_diameter
        Diameter of the disk with the same area, ``sqrt(4 area / pi)``.
    diameter
        Maximum Feret diameter: largest distance between two hull vertices, + 1 px.
    max_width
        Minimum Feret diameter (the object's maximum width seen across its narrowest
        direction), by rotating calipers on the convex hull, + 1 px.
    length, minor_axis
        Major and minor axis lengths of the ellipse with the same second moments,
        ``4 sqrt(lambda)`` of the eigenvalues of the pixel covariance. Each pixel
        counts as a unit square, not a point: 1/12 px² is added to each variance
        (the variance of a unit square), so a single pixel has length and minor
        axis ``4 sqrt(1/12) ≈ 1.15`` instead of 0 and the values approach the
        continuous shape's. scikit-image's ``regionprops`` treats pixels as points
        (its ``axis_major_length`` is smaller, by about ``2 / (3 length)`` px for a
        long object).
    eccentricity
        ``sqrt(1 - lambda_2 / lambda_1)``: 0 for a disk, towards 1 for a line.
    circularity
        ``4 pi area / perimeter**2``: about 1 for a disk, lower for ragged outlines.
    solidity
        Area over the area of the convex hull (both in pixels).
    extent
        Area over the area of the axis-aligned bounding box.

    Parameters
    ----------
    pixel_size : float, default=1.0
        Physical size of one pixel (e.g. nm); lengths are multiplied by it.

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[:64, :64]
    >>> disk = (yy - 32) ** 2 + (xx - 32) ** 2 <= 20 ** 2
    >>> f = shape_features(disk.astype(float), disk)
    >>> round(f["diameter"]), round(f["eccentricity"], 2)
    (41, 0.0)
    """

    name = "shape"
    per_channel = False
    _parameter_constraints: dict = {
        "pixel_size": [NumberInterval(Real, 0, None, closed="neither")],
    }

    def __init__(self, *, pixel_size: float = 1.0):
        self.pixel_size = pixel_size

    def feature_names(self) -> list[str]:
        self.validate()
        return list(_NAMES)

    def compute(self, ctx) -> np.ndarray:
        g = ctx.geometry
        s = float(self.pixel_size)
        area = g.area
        # Contours are traced on the bounding box with a one-pixel frame (where the
        # image has one): the same contours as on the whole mask, for less scanning.
        r0, c0, r1, c1 = g.bbox
        h, w = g.mask.shape
        y0, x0 = max(r0 - 1, 0), max(c0 - 1, 0)
        box = g.mask_u8[y0 : min(r1 + 1, h), x0 : min(c1 + 1, w)]
        # Teh–Chin's approximation removes most of the staircase bias of pixel contours.
        contours, _ = cv2.findContours(
            box, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_TC89_L1, offset=(x0, y0)
        )
        largest = max(contours, key=cv2.contourArea)
        perimeter = cv2.arcLength(largest, True) if len(largest) > 1 else 0.0
        # The contour runs through boundary pixel centres; the object's outline lies
        # half a pixel further out, which adds 2π·0.5 (Steiner's formula).
        perimeter = perimeter + math.pi
        # The hull of the contour points: the ends of straight runs (SIMPLE) are
        # enough, a hull vertex is never inside a straight run.
        outline, _ = cv2.findContours(
            box, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE, offset=(x0, y0)
        )
        hull = cv2.convexHull(np.concatenate(outline)).reshape(-1, 2).astype(np.float64)
        diameter, width = _feret(hull)
        # Convex area as a pixel count of the rasterised hull, like the object's area
        # (scikit-image's ``convex_area``), so a digital disk has solidity 1.
        canvas = np.zeros((r1 - r0, c1 - c0), np.uint8)
        cv2.fillConvexPoly(canvas, (hull - (c0, r0)).astype(np.int32), 1)
        hull_area = max(int(np.count_nonzero(canvas)), area)

        m = g.moments  # binary moments, shared with the centroid
        cov = np.array([[m["mu20"], m["mu11"]], [m["mu11"], m["mu02"]]]) / area
        cov += np.eye(2) / 12.0  # a pixel is a unit square, not a point
        lam = np.sort(np.linalg.eigvalsh(cov))[::-1]
        length, minor = 4.0 * np.sqrt(np.maximum(lam, 0.0))
        ecc = math.sqrt(max(0.0, 1.0 - lam[1] / lam[0])) if lam[0] > 0 else 0.0

        return np.array(
            [
                area * s * s,
                perimeter * s,
                math.sqrt(4.0 * area / math.pi) * s,
                diameter * s,
                width * s,
                length * s,
                minor * s,
                ecc,
                min(4.0 * math.pi * area / perimeter**2, 1.0),
                min(area / hull_area, 1.0),
                area / ((r1 - r0) * (c1 - c0)),
            ]
        )


def shape_features(image, mask=None, **params) -> dict[str, float]:
    """Shape features of ``mask`` (or of the automatic mask of ``image``).

    See :class:`ShapeFeatures` for the features and parameters.
    """
    from featcls.features._extract import compute_family

    return compute_family(ShapeFeatures(**params), image, mask)
