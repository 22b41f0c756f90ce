"""Local binary patterns (Ojala et al. 2002), with ties decided exactly."""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import cv2
import numpy as np

from featcls.features._base import FeatureFamily, check_int, check_int_tuple
from featcls.features._reduce import rowdot

__all__ = ["LBPFeatures", "lbp_codes", "lbp_features"]

#: The float32 interpolation (two ``addWeighted`` passes with float32 weights) is
#: within about 6 float32 rounding units of the image's largest magnitude of the
#: exact bilinear value; a neighbour closer than this margin to its centre, 2**-20 of
#: that magnitude (16 units, with room for the rounding of the margin itself), is
#: decided by :func:`_exact_ge` instead.
_TIE_MARGIN = 2.0**-20

#: Relative error bound of the float64 sums in :func:`_exact_ge` (a few units of
#: 2**-53 for the differences, products and sums; taken generously).
_SUM_MARGIN = 2.0**-44

#: Distillation passes of :func:`_exact_sign` before rational arithmetic takes over.
_PASSES = 4


@lru_cache(maxsize=8)
def _uniform_lut(points: int) -> np.ndarray:
    """Map an LBP code to its rotation-invariant uniform label (Ojala et al. 2002).

    A code with at most two 0/1 transitions around the circle maps to its number of
    set bits (0..P); every other code to P + 1.
    """
    codes = np.arange(2**points, dtype=np.int64)
    rotated = (codes >> 1) | ((codes & 1) << (points - 1))
    transitions = np.array([bin(v).count("1") for v in (codes ^ rotated)])
    ones = np.array([bin(v).count("1") for v in codes])
    return np.where(transitions <= 2, ones, points + 1).astype(np.uint8)


@lru_cache(maxsize=32)
def _lbp_offsets(points: int, radius: float) -> tuple[tuple[int, int, float, float]]:
    """Integer offset and bilinear fractions ``(y0, x0, fy, fx)`` of every neighbour."""
    out = []
    for p in range(points):
        angle = 2.0 * np.pi * p / points
        dy, dx = round(-radius * np.sin(angle), 9), round(radius * np.cos(angle), 9)
        y0, x0 = int(np.floor(dy)), int(np.floor(dx))
        out.append((y0, x0, dy - y0, dx - x0))
    return tuple(out)


def _bilinear_weights(fy: float, fx: float) -> tuple[float, float, float, float]:
    """Weights of the pixels (0, 0), (0, 1), (1, 0), (1, 1) from the offset's origin.

    Products in float64: the exact comparisons use these very numbers.
    """
    return ((1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx)


_CORNERS = ((0, 0), (0, 1), (1, 0), (1, 1))


def _two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``s, e`` with ``s = fl(a + b)`` and ``a + b = s + e`` exactly (Knuth)."""
    s = a + b
    b_virtual = s - a
    a_virtual = s - b_virtual
    return s, (a - a_virtual) + (b - b_virtual)


def _split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``a = hi + lo`` with both halves of 26 bits (Veltkamp)."""
    c = 134217729.0 * a  # 2**27 + 1
    hi = c - (c - a)
    return hi, a - hi


def _two_product(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``p, e`` with ``p = fl(a b)`` and ``a b = p + e`` exactly (Dekker)."""
    p = a * b
    a_hi, a_lo = _split(a)
    b_hi, b_lo = _split(b)
    e = a_lo * b_lo - (((p - a_hi * b_hi) - a_lo * b_hi) - a_hi * b_lo)
    return p, e


def _exact_sign(terms: np.ndarray) -> np.ndarray:
    """Sign (-1, 0 or 1) of the exact sum of each row of ``terms`` (float64).

    Each pass adds the terms up pairwise with error-free two-sums, which leaves the
    exact sum unchanged as the rounded sum ``s`` plus the rounding errors; once
    ``|s|`` exceeds the sum of the errors' magnitudes, ``s`` has the exact sum's sign
    (and a row of zeros sums to zero). Rows still undecided after a few passes are
    summed in rational arithmetic.
    """
    sign = np.zeros(len(terms), np.int8)
    todo = np.arange(len(terms))
    for _ in range(_PASSES):
        errors, level = [], terms
        while level.shape[1] > 1:
            if level.shape[1] % 2:
                level = np.concatenate([level, np.zeros((len(level), 1))], axis=1)
            half = level.shape[1] // 2
            level, error = _two_sum(level[:, :half], level[:, half:])
            errors.append(error)
        s = level[:, 0]
        errors = np.concatenate(errors, axis=1)
        bound = np.abs(errors).sum(axis=1) * (1 + 2.0**-40)  # covers its own rounding
        done = np.abs(s) > bound
        sign[todo[done]] = np.sign(s[done])
        # bound == 0 and s == 0: every term was zero, the sum is exactly zero.
        done |= (s == 0) & (bound == 0)
        todo, terms = todo[~done], np.concatenate([errors, s[:, None]], axis=1)[~done]
        if not todo.size:
            return sign
    for row, i in zip(terms, todo, strict=True):  # hardly ever reached
        total = sum(Fraction(float(t)) for t in row)
        sign[i] = (total > 0) - (total < 0)
    return sign


def _exact_ge(
    values: np.ndarray, centre: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Rows where ``sum_k w_k (v_k - c) >= 0`` exactly: the neighbour is >= its centre.

    ``values`` (n, 4) are the four pixels around each neighbour (float32 values in
    float64), ``centre`` (n,) the centres and ``weights`` (n, 4) their bilinear
    weights (:func:`_bilinear_weights`). The differences ``v_k - c`` are split
    exactly into a rounded part and its error (two-sum; the error is 0 unless two
    values lie more than 2**28 apart), and the two pixels of a pair with equal
    weights (the diagonal ones of a diagonal neighbour) are added before weighting,
    again exactly, so that a ramp across the neighbour cancels to an exact 0. A
    float64 evaluation then decides most rows: it is exactly 0 when every term is 0
    (a tie: the bit is set), and otherwise has the exact sum's sign unless it lies
    within a few rounding units of 0. Those rows are evaluated without rounding:
    every product is split exactly (two-product) and :func:`_exact_sign` adds the
    parts up.
    """
    diffs, errors = _two_sum(values, -centre[:, None])
    for a, b in ((0, 3), (1, 2)):
        same = weights[:, a] == weights[:, b]
        if same.any():
            pair_sum, pair_error = _two_sum(diffs[:, a], diffs[:, b])
            diffs[:, a] = np.where(same, pair_sum, diffs[:, a])
            diffs[:, b] = np.where(same, pair_error, diffs[:, b])
    if errors.any():
        diffs = np.concatenate([diffs, errors], axis=1)
        weights = np.concatenate([weights, weights], axis=1)
    total = rowdot(diffs, weights)
    spread = rowdot(np.abs(diffs), weights)
    ge = (total > 0) | (spread == 0)
    unsure = np.flatnonzero((spread > 0) & (np.abs(total) <= _SUM_MARGIN * spread))
    if unsure.size:
        terms = _two_product(weights[unsure], diffs[unsure])
        ge[unsure] = _exact_sign(np.concatenate(terms, axis=1)) >= 0
    return ge


def _settle_ties(
    bits: list[np.ndarray],
    near: list[tuple[int, np.ndarray]],
    padded: np.ndarray,
    origin: tuple[int, int],
    width: int,
    offsets: tuple,
) -> None:
    """Decide again, exactly, the bits of the pixels ``near`` their centre.

    ``near`` lists ``(p, flat indices into the box)`` per interpolated neighbour; the
    box's pixel (0, 0) is ``padded[origin]`` and the box is ``width`` pixels wide.
    All of them are settled in one call of :func:`_exact_ge`.
    """
    flat, stride = padded.ravel(), padded.shape[1]
    at = np.concatenate([idx for _, idx in near])
    rows, cols = np.divmod(at, width)
    centres = (rows + origin[0]) * stride + cols + origin[1]
    shifts = np.empty((at.size, 4), np.intp)
    weights = np.empty((at.size, 4))
    start = 0
    for p, idx in near:
        y0, x0, fy, fx = offsets[p]
        part = slice(start, start + idx.size)
        shifts[part] = [(y0 + dy) * stride + x0 + dx for dy, dx in _CORNERS]
        weights[part] = _bilinear_weights(fy, fx)
        start += idx.size
    values = flat.take(centres[:, None] + shifts).astype(np.float64)
    ge = _exact_ge(values, flat.take(centres).astype(np.float64), weights)
    start = 0
    for p, idx in near:
        bits[p].ravel()[idx] = np.where(ge[start : start + idx.size], 255, 0)
        start += idx.size


def lbp_codes(
    image: np.ndarray,
    points: int,
    radius: float,
    *,
    box: tuple[int, int, int, int] | None = None,
    padded: np.ndarray | None = None,
    where: np.ndarray | None = None,
) -> np.ndarray:
    """Raw LBP codes of a float32 image: bit p set when neighbour p >= centre.

    Neighbour p sits at angle ``2 pi p / points`` on a circle of ``radius`` pixels and
    is bilinearly interpolated (as scikit-image's ``local_binary_pattern``) from
    the four pixels around it. The comparison is exact: the bit is set when
    ``sum_k w_k (v_k - c) >= 0`` in exact arithmetic (``w_k`` the float64 bilinear
    weights, ``v_k`` the four float32 pixels, ``c`` the centre), so a neighbour
    equal to its centre (a constant patch) always sets its bit, whatever rounding
    the interpolation would do (in float32, ``0.4 * v + 0.6 * v`` is not always
    ``v``), and the result is the same on every machine.

    The work is vectorised over the image: the interpolation runs in float32 on
    shifted views of a border-reflected copy with OpenCV's ``addWeighted`` (the
    horizontal pass shared by the neighbours with the same column offset), and only
    the pixels where some float32 neighbour lies within a rounding margin of its
    centre (ties and near-ties) are decided again by :func:`_exact_ge`.

    ``box = (row0, col0, row1, col1)`` restricts the codes to that part of the image
    (the neighbours still come from the whole image); ``padded`` is the image
    reflected by at least ``ceil(radius) + 1`` pixels on every side, when the caller
    has it already (the same copy serves every radius). ``where`` (0/1 uint8, the
    shape of the box) limits the exact comparisons to the pixels whose codes will
    be used; elsewhere a code may differ where a neighbour ties its centre.
    """
    h, w = image.shape
    pad = int(np.ceil(radius)) + 1
    if padded is None:
        padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    else:
        pad = (padded.shape[0] - h) // 2
    r0, c0, r1, c1 = (0, 0, h, w) if box is None else box
    bh, bw = r1 - r0, c1 - c0
    offsets = _lbp_offsets(points, float(radius))

    def view(y: int, x: int, rows: int = bh) -> np.ndarray:
        top, left = pad + r0 + y, pad + c0 + x
        return padded[top : top + rows, left : left + bw]

    # One horizontal interpolation per (column offset, fraction), over every row that
    # the neighbours sharing it need.
    rows_needed: dict[tuple[int, float], list[int]] = {}
    for y0, x0, fy, fx in offsets:
        if fx != 0 or fy != 0:
            rows_needed.setdefault((x0, fx), []).extend([y0, y0 + 1] if fy else [y0])
    horizontal = {}
    for (x0, fx), ys in rows_needed.items():
        top, bottom = min(ys), max(ys)
        rows = bottom - top + bh
        left, right = view(top, x0, rows), view(top, x0 + 1, rows)
        horizontal[x0, fx] = top, cv2.addWeighted(left, 1 - fx, right, fx, 0.0)
    centre = image[r0:r1, c0:c1]
    low, high, _, _ = cv2.minMaxLoc(padded)
    margin = _TIE_MARGIN * max(abs(low), abs(high))
    bits, near, close = [], {}, None
    for p, (y0, x0, fy, fx) in enumerate(offsets):
        if fx == 0 and fy == 0:
            bits.append(cv2.compare(view(y0, x0), centre, cv2.CMP_GE))  # 0 or 255
            continue
        top, rows = horizontal[x0, fx]
        neighbour = rows[y0 - top : y0 - top + bh]
        if fy != 0:
            lower = rows[y0 + 1 - top : y0 + 1 - top + bh]
            neighbour = cv2.addWeighted(neighbour, 1 - fy, lower, fy, 0.0)
        bits.append(cv2.compare(neighbour, centre, cv2.CMP_GE))
        near[p] = cv2.compare(cv2.absdiff(neighbour, centre), margin, cv2.CMP_LE)
        close = near[p].copy() if close is None else cv2.bitwise_or(close, near[p])
    if close is not None:
        if where is not None:
            close &= where
        if cv2.countNonZero(close):
            # One scan for the pixels near a tie, then each neighbour's share of them.
            at = np.flatnonzero(close)
            shares = [(p, at[is_near.ravel()[at] != 0]) for p, is_near in near.items()]
            shares = [(p, idx) for p, idx in shares if idx.size]
            _settle_ties(bits, shares, padded, (pad + r0, pad + c0), bw, offsets)
    dtype = np.uint8 if points <= 8 else np.uint16
    code = np.zeros((bh, bw), dtype)
    # Horner's scheme from the last neighbour down: code = 2 code + bit.
    for ge in bits[::-1]:
        np.add(code, code, out=code)
        if dtype is np.uint8:
            np.subtract(code, ge, out=code)  # - 255 ≡ + 1 (mod 256)
        else:
            code |= ge & np.uint8(1)
    return code


class LBPFeatures(FeatureFamily):
    """Histograms of rotation-invariant uniform local binary patterns (Ojala 2002).

    For each radius, every object pixel gets the label of its ``points``-neighbour
    pattern (0..P for uniform patterns: the number of neighbours at least as bright as
    the centre; P + 1 for all non-uniform ones), and the family returns the fraction of
    object pixels with each label: ``r<R>_<label>``. Pixels outside the mask are
    replaced by the object mean first, so they cannot change a pattern.

    "At least as bright" is decided exactly (see :func:`lbp_codes`): a neighbour
    equal to its centre always counts, so a constant patch has label P whatever its
    grey level, and the labels are the same bits on every machine and every run.

    Parameters
    ----------
    radii : tuple of int, default=(1, 2, 3)
        Circle radii in pixels (a multi-resolution LBP).
    points : int, default=8
        Neighbours per circle (at most 16).

    References
    ----------
    T. Ojala, M. Pietikäinen, T. Mäenpää, "Multiresolution gray-scale and rotation
    invariant texture classification with local binary patterns", IEEE TPAMI 24 (2002).
    """

    name = "lbp"

    def __init__(self, *, radii: tuple[int, ...] = (1, 2, 3), points: int = 8):
        self.radii = radii
        self.points = points

    def feature_names(self) -> list[str]:
        radii = check_int_tuple(self, "radii", self.radii)
        points = check_int(self, "points", self.points, low=4)
        if points > 16:
            raise ValueError(
                "The 'points' parameter of LBPFeatures must be an int in "
                f"[4, 16]. Got {self.points!r} instead."
            )
        return [f"r{r}_{label:02d}" for r in radii for label in range(points + 2)]

    def compute(self, ctx) -> np.ndarray:
        points = int(self.points)
        lut = _uniform_lut(points)
        image = ctx.filled
        g = ctx.geometry
        radii = check_int_tuple(self, "radii", self.radii)
        # Codes are needed on the object only: compute them on its bounding box, with
        # neighbours from one reflected copy of the whole image shared by all radii.
        box = g.bbox
        r0, c0, r1, c1 = box
        mask = g.mask_u8[r0:r1, c0:c1]
        pad = max(radii) + 1
        padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REFLECT)
        area = max(g.area, 1)
        out = []
        for radius in radii:
            codes = lbp_codes(image, points, radius, box=box, padded=padded, where=mask)
            if points <= 8:  # count the 8-bit codes, then merge them into labels
                counts = cv2.calcHist([codes], [0], mask, [256], [0, 256]).ravel()
                counts = counts[: lut.size]
                hist = np.bincount(lut, weights=counts, minlength=points + 2)
                hist = hist.astype(np.float32)  # as calcHist's own counts
            else:
                labels = lut[codes]
                hist = cv2.calcHist([labels], [0], mask, [points + 2], [0, points + 2])
            out.append(hist.ravel() / area)
        return np.concatenate(out)


def lbp_features(image, mask=None, **params) -> dict[str, float]:
    """LBP histograms of ``image``; see :class:`LBPFeatures`."""
    from featcls.features._extract import compute_family

    return compute_family(LBPFeatures(**params), image, mask)
