"""Per-image context shared by the feature families.

Several families need the same derived quantities (the object's centroid and size, the
distance of every pixel to the centroid, the ring of every pixel, the image with the
background neutralised, the histogram of an 8-bit picture ...). :class:`ImageContext`
computes each of them once, on first use, so that the union of all families costs
little more than its most expensive member.
"""

from __future__ import annotations

from functools import cached_property

import cv2
import numpy as np

__all__ = ["ImageContext", "MaskGeometry", "Rings", "U8_VALUES"]

#: ``k / 255`` in float32 for every 8-bit code ``k``: exactly what
#: :func:`featcls.data.to_float` makes of an 8-bit pixel.
U8_VALUES = np.arange(256, dtype=np.float32) / np.float32(255)
U8_VALUES.flags.writeable = False

#: OpenCV histograms count in float32, which is exact up to 2**24 per bin.
_EXACT_HIST_PIXELS = 2**24


class Rings:
    """Concentric rings as a label image, summed over runs of equal labels.

    Ring ``k`` holds the counted pixels whose distance ``d`` to the centroid satisfies
    ``k <= d / width < k + 1`` (``d / width`` in float32, as a product with
    ``float32(1 / width)``). Pixels beyond the last ring, or outside ``mask`` when one
    is given, get the label ``n`` and are not counted.

    Only the image rows :attr:`rows` can hold counted pixels (the rows of the mask's
    bounding box when only object pixels count); values passed to :meth:`sums` are
    those rows. Sums are computed without gathering pixels: the raveled label image
    is cut into runs of equal labels (a few thousand for a 300×300 image), each run is
    summed with ``np.add.reduceat`` and the run sums are added up per label.

    Parameters
    ----------
    distance : ndarray of float32, shape (H, W)
        Distance of every pixel centre to the centroid.
    n : int
        Number of rings.
    width : float
        Ring width in pixels.
    mask : ndarray of bool or None
        Pixels that may count (None: all).
    rows : slice or None, default=None
        Rows ``slice(start, stop)`` outside which no pixel counts (None: all rows).
    """

    def __init__(
        self,
        distance: np.ndarray,
        n: int,
        width: float,
        mask: np.ndarray | None,
        rows: slice | None = None,
    ):
        self.n = n
        #: The rows that may hold counted pixels, as ``slice(start, stop)``.
        self.rows = slice(0, distance.shape[0]) if rows is None else rows
        rows = self.rows
        scaled = distance[rows] * np.float32(1.0 / width)
        cv2.min(scaled, float(n), dst=scaled)  # label n: beyond the last ring
        labels = scaled.astype(np.uint8 if n < 255 else np.intp)  # truncation
        if mask is not None:
            if labels.dtype == np.uint8:
                outside = (~mask[rows]).view(np.uint8) * np.uint8(n)  # n or 0
                cv2.max(labels, outside, dst=labels)
            else:
                labels[~mask[rows]] = n
        flat = labels.ravel()
        change = np.empty(flat.size, dtype=bool)
        change[0] = True
        np.not_equal(flat[1:], flat[:-1], out=change[1:])
        self.starts = np.flatnonzero(change)
        self.run_labels = flat[self.starts].astype(np.intp)
        lengths = np.diff(self.starts, append=flat.size).astype(np.float64)
        #: Pixels per ring (float64).
        self.counts = self._per_label(lengths)

    def _per_label(self, run_values: np.ndarray) -> np.ndarray:
        sums = np.bincount(self.run_labels, weights=run_values, minlength=self.n + 1)
        return sums[: self.n]

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Sum over each ring of ``values`` (the rows :attr:`rows`), in float64."""
        flat = values.ravel()
        if flat.dtype != np.float64:
            flat = flat.astype(np.float64)
        return self._per_label(np.add.reduceat(flat, self.starts))


class MaskGeometry:
    """Geometry of an object mask, independent of the image channel.

    Parameters
    ----------
    mask : ndarray of bool, shape (H, W)
        The object mask. May be empty (all False); callers check :attr:`empty`.
    """

    def __init__(self, mask: np.ndarray):
        self.mask = np.ascontiguousarray(mask, dtype=bool)
        self._rings: dict[tuple, Rings] = {}

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
    def moments(self) -> dict[str, float]:
        """Moments of the binary mask up to order 2: ``m00 … m02`` and ``mu20 … mu02``.

        The same values as ``cv2.moments(mask, binaryImage=True)``, bit for bit, at a
        fraction of its cost: the raw moments are exact integer sums of the row and
        column counts, and the central ones use OpenCV's formulas.
        """
        h, w = self.mask.shape
        rows = cv2.reduce(self.mask_u8, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel()
        cols = cv2.reduce(self.mask_u8, 0, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel()
        y, x = np.arange(h, dtype=np.int64), np.arange(w, dtype=np.int64)
        rows, cols = rows.astype(np.int64), cols.astype(np.int64)
        # Sum of x per row: exact in float32 while it stays below 2**24.
        if w * w < 2**24:
            row_x = self.mask_u8.astype(np.float32) @ x.astype(np.float32)
            row_x = row_x.astype(np.int64)
        else:
            row_x = self.mask_u8.astype(np.int64) @ x
        m00, m10, m01 = int(rows.sum()), int(cols @ x), int(rows @ y)
        m20, m11, m02 = int(cols @ (x * x)), int(row_x @ y), int(rows @ (y * y))
        inv = 1.0 / m00 if m00 else 0.0
        cx, cy = m10 * inv, m01 * inv
        return {
            "m00": float(m00),
            "m10": float(m10),
            "m01": float(m01),
            "m20": float(m20),
            "m11": float(m11),
            "m02": float(m02),
            "mu20": m20 - m10 * cx,
            "mu11": m11 - m10 * cy,
            "mu02": m02 - m01 * cy,
        }

    @cached_property
    def centroid(self) -> tuple[float, float]:
        """(row, column) centroid of the mask, in pixels."""
        m = self.moments
        return m["m01"] / m["m00"], m["m10"] / m["m00"]

    @cached_property
    def distance(self) -> np.ndarray:
        """Euclidean distance (px) of every pixel centre to the centroid, float32.

        ``sqrt(dx² + dy²)`` with every operation correctly rounded in float32, so
        the same mask gives the same bits on every call. (``cv2.magnitude`` does not:
        its vectorised path is not correctly rounded and the elements before the
        first 64-byte boundary of its output take another path, so its last bit
        depended on where the output happened to lie in memory.)
        """
        h, w = self.mask.shape
        cy, cx = self.centroid
        dy = (np.arange(h, dtype=np.float32) - np.float32(cy))[:, None]
        dx = (np.arange(w, dtype=np.float32) - np.float32(cx))[None, :]
        out = np.add(dx * dx, dy * dy)  # (H, W) by broadcasting
        return np.sqrt(out, out=out)

    @cached_property
    def max_radius(self) -> float:
        """Largest distance (px) from the centroid to an object pixel centre (≥ 0.5)."""
        return max(cv2.minMaxLoc(self.distance, self.mask_u8)[1], 0.5)

    @cached_property
    def bbox(self) -> tuple[int, int, int, int]:
        """Bounding box (row0, col0, row1, col1) of the mask, end-exclusive."""
        x, y, w, h = cv2.boundingRect(self.mask_u8)
        return y, x, y + h, x + w

    def rows(self, margin: int = 0) -> slice:
        """The rows of the bounding box, widened by ``margin`` (within the image).

        Filters whose result is needed on object pixels only run on these rows, a
        band of whole rows: OpenCV's filters give bit-identical results on it, and
        ``margin`` rows above and below make up for the filter's reach.
        """
        r0, _, r1, _ = self.bbox
        return slice(max(r0 - margin, 0), min(r1 + margin, self.mask.shape[0]))

    def rings(self, n: int, width: float, *, object_only: bool) -> Rings:
        """:class:`Rings` of ``width`` px around the centroid, cached per setting.

        With ``object_only`` only object pixels count (and only the rows of the
        bounding box are labelled). The radial and edge profiles of all channels share
        one computation when their ring settings agree.
        """
        key = (n, width, object_only)
        if key not in self._rings:
            if object_only and not self.full:
                rings = Rings(self.distance, n, width, self.mask, self.rows())
            else:
                rings = Rings(self.distance, n, width, None)
            self._rings[key] = rings
        return self._rings[key]


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
    notes : set of str or None
        Where families record why a feature is NaN (:meth:`note`); channels of one
        image share one set. None starts an empty one.
    """

    def __init__(
        self,
        image: np.ndarray,
        geometry: MaskGeometry,
        name: str = "<array>",
        notes: set[str] | None = None,
    ):
        self.image = np.ascontiguousarray(image, dtype=np.float32)
        self.geometry = geometry
        self.name = name
        self.notes = set() if notes is None else notes
        #: How many notes this context was given (a note already in ``notes``,
        #: from another family, counts too).
        self.n_notes = 0

    def note(self, kind: str) -> None:
        """Record that a feature is NaN for the documented reason ``kind``.

        The kinds are the keys of ``featcls.features._extract.NOTE_MESSAGES``; the
        extractor turns them into one :class:`~featcls.exceptions.FeatureWarning`
        per kind naming the samples.
        """
        self.notes.add(kind)
        self.n_notes += 1

    @property
    def mask(self) -> np.ndarray:
        return self.geometry.mask

    @cached_property
    def object_values(self) -> np.ndarray:
        """Intensities of the object pixels in raster order (1-D float32)."""
        return self.image[self.mask]

    @cached_property
    def background_values(self) -> np.ndarray:
        """Intensities of the pixels outside the mask in raster order (1-D float32)."""
        return self.image[~self.mask]

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
        cv2.copyTo(self.image, self.geometry.mask_u8, out)
        return out

    @cached_property
    def filled_u8(self) -> np.ndarray:
        """:attr:`filled` as an 8-bit image: ``round(255 x)``, clipped to 0–255."""
        # Zero what is negative; convertScaleAbs saturates what exceeds 255.
        _, positive = cv2.threshold(self.filled, 0.0, 0.0, cv2.THRESH_TOZERO)
        return cv2.convertScaleAbs(positive, alpha=255.0)

    @cached_property
    def codes8(self) -> np.ndarray | None:
        """The 8-bit codes ``k`` of an 8-bit picture (``image == k / 255`` exactly).

        None when the image is not exactly such a picture (16-bit, float, colour
        mixed to grey ...). Families use the codes for exact shortcuts: a 256-bin
        histogram holds everything about the intensity distribution.
        """
        image = self.image
        if image.size >= _EXACT_HIST_PIXELS:
            return None
        codes = cv2.convertScaleAbs(image, alpha=255.0)  # round(|255 x|), saturated
        # Most other images fail on the first row already.
        if not np.array_equal(U8_VALUES[codes[0]], image[0]):
            return None
        if not np.array_equal(cv2.LUT(codes, U8_VALUES), image):
            return None
        return codes

    @cached_property
    def code_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """How often each 8-bit code occurs inside and outside the mask.

        Two float64 arrays of 256 exact counts; needs :attr:`codes8`.
        """
        hist = cv2.calcHist(
            [self.geometry.mask_u8, self.codes8], [0, 1], None, [2, 256], [0, 2, 0, 256]
        ).astype(np.float64)
        return hist[1], hist[0]
