"""Local binary patterns (Ojala et al. 2002), with ties decided exactly."""

from __future__ import annotations

import math
import threading
from fractions import Fraction
from functools import lru_cache
from numbers import Integral

import cv2
import numpy as np

from featcls._validation import NumberInterval, distinct_ints
from featcls.features._base import FeatureFamily
from featcls.features._reduce import rowdot

__all__ = ["LBPFeatures", "lbp_codes", "lbp_features"]

#: The float32 interpolation (two ``addWeighted`` passes with float32 weights) is
#: within about 6 float32 rounding units of the image's largest magnitude of the
#: exact bilinear value; a neighbour closer than this margin to its centre, 2**-20 of
#: that magnitude (16 units, with room for the rounding of the margin itself), is
#: decided exactly instead (:func:`_settle_near`).
_TIE_MARGIN = 2.0**-20

#: Relative error bound of the float64 sums in :func:`_exact_ge` and
#: :func:`_decide_ge` (a few units of 2**-53 for the differences, products and
#: sums; taken generously).
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


_SCRATCH = threading.local()

#: Work buffers up to this size (bytes) are kept for the next call.
_SCRATCH_LIMIT = 2**24

#: The bit and tie planes (one byte per pixel each) that one batch of radii may take.
_BATCH_BYTES = 2**23


def _scratch(name: str, shape: tuple[int, ...], dtype=np.uint8) -> np.ndarray:
    """A work array of ``shape`` (contents undefined), reused between calls.

    The planes of a 300 x 300 image take a few MB: fresh ones are mapped from the
    system for each image (a page fault per 4 KiB written), which costs about as
    much as the work itself. One buffer per name and thread, grown as needed (up to
    ``_SCRATCH_LIMIT``; a larger one is not kept), is reused instead; nothing
    returned to the caller lives in it.
    """
    size = math.prod(shape)
    buffer = getattr(_SCRATCH, name, None)
    if buffer is None or buffer.size < size or buffer.dtype != dtype:
        buffer = np.empty(max(size, 1), dtype)
        if buffer.nbytes <= _SCRATCH_LIMIT:
            setattr(_SCRATCH, name, buffer)
    return buffer[:size].reshape(shape)


#: How :func:`_settle_near` reads a neighbour's four pixels, by the shape of its
#: weights: the pair of equal weights first and last (as :func:`_exact_ge` pairs
#: them). Kind ``"03"``: ``w00 == w11`` (a diagonal neighbour like 45 degrees),
#: ``"12"``: ``w01 == w10`` (135 degrees), ``""``: neither.
_ROLES = {"03": (0, 1, 2, 3), "": (0, 1, 2, 3), "12": (1, 0, 3, 2)}


@lru_cache(maxsize=32)
def _near_plan(points: int, radii: tuple[float, ...]) -> tuple:
    """The interpolated neighbours of every radius, and how to read their pixels.

    Returns ``planes`` (the neighbours as ``(radius index, p)``, sorted by kind in
    ``_ROLES`` order), ``split`` (the number of them of kinds ``"03"`` and ``""``,
    read in the order of ``_CORNERS``; the others, ``"12"``, in its mirror
    ``(0, 1), (0, 0), (1, 1), (1, 0)``), ``paired`` (Q,) (whether the first and last
    pixel read have equal weights), ``yx`` (Q, 2) (the offset of the neighbour's
    pixel (0, 0) from its centre) and ``weights`` (Q, 4) (the bilinear weights of
    the pixels in the order read).
    """
    found: dict[str, list] = {kind: [] for kind in _ROLES}
    for ri, radius in enumerate(radii):
        for p, (y0, x0, fy, fx) in enumerate(_lbp_offsets(points, radius)):
            if fx == 0 and fy == 0:
                continue
            w = _bilinear_weights(fy, fx)
            kind = "03" if w[0] == w[3] else "12" if w[1] == w[2] else ""
            found[kind].append(((ri, p), (y0, x0), [w[k] for k in _ROLES[kind]]))
    members = [m for kind in _ROLES for m in found[kind]]
    paired = [kind != "" for kind in _ROLES for _ in found[kind]]
    return (
        tuple(m[0] for m in members),
        len(found["03"]) + len(found[""]),
        np.array(paired, np.bool_),
        np.array([m[1] for m in members], np.intp).reshape(-1, 2),
        np.array([m[2] for m in members]).reshape(-1, 4),
    )


def _pair_ties(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Where ``a + b == 2 c`` exactly, in float32 arithmetic (float32 arrays).

    ``c + c`` is exact (or infinite). ``s = fl(a + b)`` is exact when both
    ``s - a == b`` and ``s - b == a``: subtracting the larger operand from ``s`` is
    exact (Dekker's Fast2Sum), so a rounded or overflowed ``s`` fails one of them.
    Every exact tie is found but those whose sum overflows float32 (beyond 3.4e38).
    """
    with np.errstate(over="ignore"):
        s = a + b
        tie = s == c + c
    tie &= s - a == b
    tie &= s - b == a
    return tie


def _decide_ge(
    values: np.ndarray, centre: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """:func:`_exact_ge` of float32 ``values`` (4, n) and ``centre`` (n,), faster.

    ``weights`` is (n, 4). A plain float64 evaluation has the exact sum's sign when
    it lies farther than ``_SUM_MARGIN`` of its spread from 0 (the rounding of the
    differences, products and sums is a few units of 2**-53 of the spread); the
    others, ties included, go to :func:`_exact_ge`.
    """
    terms = values.astype(np.float64)
    terms -= centre
    terms *= weights.T
    total = terms[0] + terms[1]
    total += terms[2]
    total += terms[3]
    np.abs(terms, out=terms)
    spread = terms[0] + terms[1]
    spread += terms[2]
    spread += terms[3]
    ge = total > 0
    spread *= _SUM_MARGIN
    unsure = (np.abs(total) <= spread).nonzero()[0]
    if unsure.size:
        ge[unsure] = _exact_ge(
            values[:, unsure].T.astype(np.float64),
            centre[unsure].astype(np.float64),
            weights[unsure],
        )
    return ge


def _settle_near(
    bits: np.ndarray,
    near: np.ndarray,
    padded: np.ndarray,
    origin: tuple[int, int],
    plan: tuple,
    finite: bool = True,
) -> None:
    """Decide again, exactly, the bits of the neighbours flagged in ``near``.

    ``bits`` (R, P, h, w) holds the float32 bit (0 or 255) of every neighbour of
    every radius on the box. ``near`` (Q, h + k, w), C-contiguous with ``(h + k) w``
    a multiple of 8, holds the interpolated neighbours of ``plan``
    (:func:`_near_plan`): non-zero where the bit must be decided exactly, 0
    elsewhere (and in the k rows of padding). The box's pixel (0, 0) is
    ``padded[origin]``.

    Nearly all of these pairs are exact ties, found without rounding: a neighbour
    whose four pixels equal the centre, or one with two pixels of equal weight that
    add up to twice the centre while the other two equal it (a ramp across a
    diagonal neighbour). Then ``sum_k w_k (v_k - c)`` is exactly 0 and the bit is
    set. The few others go to :func:`_decide_ge`, or all of them to
    :func:`_exact_ge` when ``finite`` is false (an image with infinities). The pairs
    of all the radii go through the same few array operations at once.
    """
    planes, split, paired, yx, weights = plan
    count, rows, width = near.shape
    plane = rows * width
    stride = padded.shape[1]
    # The flagged bytes: the 8-byte words holding any, then those words' bytes.
    words = near.reshape(-1).view(np.uint64)
    at = (words != 0).nonzero()[0]
    if not at.size:
        return
    inside = (words.take(at).view(np.uint8) != 0).nonzero()[0]
    hits = at.take(inside >> 3, mode="wrap")  # in range: "wrap" is the fast take
    hits <<= 3
    hits |= inside & 7  # q plane + row width + col
    bounds = hits.searchsorted(np.arange(count + 1) * plane)
    sizes = bounds[1:] - bounds[:-1]
    # Flat indices in padded: row stride + col is hits + (hits // width) (stride -
    # width) - q rows stride, plus the centre's or the pixel (0, 0)'s offset.
    q = np.arange(count)
    centre_at = origin[0] * stride + origin[1] - q * (rows * stride)
    step = hits // width
    step *= stride - width
    step += hits
    corner_at = step + (centre_at + yx[:, 0] * stride + yx[:, 1]).repeat(sizes)
    step += centre_at.repeat(sizes)
    flat = padded.ravel()
    values = _scratch("values", (5, hits.size), np.float32)
    flat.take(step, out=values[0], mode="wrap")
    mid = bounds[split]
    for part, order in (
        (slice(0, mid), (0, 1, 2, 3)),
        (slice(mid, None), (1, 0, 3, 2)),
    ):
        if part.start != part.stop:
            for k, corner in enumerate(order, start=1):
                dy, dx = _CORNERS[corner]
                view = flat[dy * stride + dx :]
                view.take(corner_at[part], out=values[k, part], mode="wrap")
    c, a, x, y, b = values
    if finite:
        ge = _pair_ties(a, b, c)
        ge &= x == c
        ge &= y == c
        if not paired.all():  # four equal pixels, where no two weights are equal
            ge &= (a == c) | paired.repeat(sizes)
        rest = (~ge).nonzero()[0]
    else:
        ge = np.zeros(hits.size, np.bool_)
        rest = np.arange(hits.size)
    if rest.size:
        which = bounds.searchsorted(rest, side="right") - 1
        corner_values = values[1:, rest]
        if finite:
            ge[rest] = _decide_ge(corner_values, c[rest], weights[which])
        else:  # as _exact_ge has it: inf - inf is NaN, such a bit 0
            ge[rest] = _exact_ge(
                corner_values.T.astype(np.float64),
                c[rest].astype(np.float64),
                weights[which],
            )
    into = np.array([ri * bits.shape[1] + p for ri, p in planes], np.intp)
    hits += (into * (bits.shape[2] * width) - q * plane).repeat(sizes)
    bits.reshape(-1)[hits] = ge.view(np.uint8) * np.uint8(255)


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
    the neighbours within a rounding margin of their centre (ties and near-ties)
    are decided again, all at once, by :func:`_settle_near`.

    ``box = (row0, col0, row1, col1)`` restricts the codes to that part of the image
    (the neighbours still come from the whole image); ``padded`` is the image
    reflected by at least ``ceil(radius) + 1`` pixels on every side, when the caller
    has it already (the same copy serves every radius). ``where`` (0/1 uint8, the
    shape of the box) limits the exact comparisons to the pixels whose codes will
    be used; elsewhere a code may differ where a neighbour ties its centre.
    """
    return _lbp_codes(image, points, (radius,), box=box, padded=padded, where=where)[0]


def _lbp_codes(
    image: np.ndarray,
    points: int,
    radii: tuple[float, ...],
    *,
    box: tuple[int, int, int, int] | None = None,
    padded: np.ndarray | None = None,
    where: np.ndarray | None = None,
) -> list[np.ndarray]:
    """:func:`lbp_codes` for several radii, their near pairs settled together.

    The radii go in batches of planes of at most ``_BATCH_BYTES`` (at least one
    radius each): one :func:`_settle_near` per batch.
    """
    h, w = image.shape
    radii = tuple(float(r) for r in radii)
    if padded is None:
        pad = int(np.ceil(max(radii))) + 1
        padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    else:
        pad = (padded.shape[0] - h) // 2
    r0, c0, r1, c1 = (0, 0, h, w) if box is None else box
    low, high, _, _ = cv2.minMaxLoc(padded)
    largest = max(abs(low), abs(high))
    area = max((r1 - r0) * (c1 - c0), 1)
    per_radius = max(1, _BATCH_BYTES // (2 * points * area))
    out = []
    for start in range(0, len(radii), per_radius):
        batch = radii[start : start + per_radius]
        out.extend(
            _lbp_batch(
                image, points, batch, (r0, c0, r1, c1), padded, pad, where, largest
            )
        )
    return out


def _lbp_batch(
    image: np.ndarray,
    points: int,
    radii: tuple[float, ...],
    box: tuple[int, int, int, int],
    padded: np.ndarray,
    pad: int,
    where: np.ndarray | None,
    largest: float,
) -> list[np.ndarray]:
    """The codes of ``radii`` (see :func:`_lbp_codes`); ``largest``: max |padded|."""
    r0, c0, r1, c1 = box
    bh, bw = r1 - r0, c1 - c0

    def view(y: int, x: int, rows: int = bh) -> np.ndarray:
        top, left = pad + r0 + y, pad + c0 + x
        return padded[top : top + rows, left : left + bw]

    centre = image[r0:r1, c0:c1]
    margin = _TIE_MARGIN * largest
    if bh * bw == 1:
        # OpenCV takes a 1×1 array for a scalar and refuses "scalar op scalar": a
        # one-pixel object compares with an array (the float32 it converts to).
        margin = np.full((1, 1), margin, np.float32)
    # The centres whose codes count, NaN elsewhere: no neighbour is near a NaN.
    if where is None:
        counted = centre
    else:
        counted = _scratch("counted", (bh, bw), np.float32)
        counted.fill(np.nan)
        cv2.copyTo(centre, np.asarray(where, np.uint8), counted)
    plan = _near_plan(points, radii)
    plane_of = {member: q for q, member in enumerate(plan[0])}
    # One plane per interpolated neighbour, with rows of zeros to whole 8-byte words.
    spare = next(k for k in range(8) if (bh + k) * bw % 8 == 0)
    near = _scratch("near", (len(plane_of), bh + spare, bw))
    near[:, bh:] = 0
    bits = _scratch("bits", (len(radii), points, bh, bw))  # 0 or 255
    vertical = _scratch("vertical", (bh, bw), np.float32)
    diff = _scratch("diff", (bh, bw), np.float32)
    for ri, radius in enumerate(radii):
        offsets = _lbp_offsets(points, radius)
        # One horizontal interpolation per (column offset, fraction), over every row
        # that the neighbours sharing it need.
        rows_needed: dict[tuple[int, float], list[int]] = {}
        for y0, x0, fy, fx in offsets:
            if fx != 0 or fy != 0:
                rows_needed.setdefault((x0, fx), []).extend(
                    [y0, y0 + 1] if fy else [y0]
                )
        horizontal = {}
        for k, ((x0, fx), ys) in enumerate(rows_needed.items()):
            top, bottom = min(ys), max(ys)
            rows = bottom - top + bh
            left, right = view(top, x0, rows), view(top, x0 + 1, rows)
            into = _scratch(f"horizontal{k}", (rows, bw), np.float32)
            cv2.addWeighted(left, 1 - fx, right, fx, 0.0, dst=into)
            horizontal[x0, fx] = top, into
        for p, (y0, x0, fy, fx) in enumerate(offsets):
            if fx == 0 and fy == 0:
                cv2.compare(view(y0, x0), centre, cv2.CMP_GE, dst=bits[ri, p])
                continue
            top, rows = horizontal[x0, fx]
            neighbour = rows[y0 - top : y0 - top + bh]
            if fy != 0:
                lower = rows[y0 + 1 - top : y0 + 1 - top + bh]
                cv2.addWeighted(neighbour, 1 - fy, lower, fy, 0.0, dst=vertical)
                neighbour = vertical
            cv2.compare(neighbour, centre, cv2.CMP_GE, dst=bits[ri, p])
            cv2.absdiff(neighbour, counted, dst=diff)
            cv2.compare(diff, margin, cv2.CMP_LE, dst=near[plane_of[ri, p], :bh])
    if plane_of and bh and bw:
        origin = (pad + r0, pad + c0)
        _settle_near(bits, near, padded, origin, plan, bool(np.isfinite(largest)))
    dtype = np.uint8 if points <= 8 else np.uint16
    out = []
    for radius_bits in bits:
        code = np.zeros((bh, bw), dtype)
        # Horner's scheme from the last neighbour down: code = 2 code + bit.
        for ge in radius_bits[::-1]:
            np.add(code, code, out=code)
            if dtype is np.uint8:
                np.subtract(code, ge, out=code)  # - 255 ≡ + 1 (mod 256)
            else:
                code |= ge & np.uint8(1)
        out.append(code)
    return out


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
    _parameter_constraints: dict = {
        # An int or an array-like here; distinct_ints checks the elements.
        "radii": [NumberInterval(Integral, 1, None, closed="left"), "array-like"],
        "points": [NumberInterval(Integral, 4, 16, closed="both")],
    }

    def __init__(self, *, radii: tuple[int, ...] = (1, 2, 3), points: int = 8):
        self.radii = radii
        self.points = points

    def _check_params(self) -> None:
        distinct_ints(self, "radii")

    def feature_names(self) -> list[str]:
        self.validate()
        labels = range(int(self.points) + 2)
        return [f"r{r}_{k:02d}" for r in distinct_ints(self, "radii") for k in labels]

    def compute(self, ctx) -> np.ndarray:
        points = int(self.points)
        lut = _uniform_lut(points)
        image = ctx.filled
        g = ctx.geometry
        radii = distinct_ints(self, "radii")
        # Codes are needed on the object only: compute them on its bounding box, with
        # neighbours from one reflected copy of the whole image shared by all radii.
        box = g.bbox
        r0, c0, r1, c1 = box
        mask = g.mask_u8[r0:r1, c0:c1]
        pad = max(radii) + 1
        padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REFLECT)
        area = max(g.area, 1)
        out = []
        all_codes = _lbp_codes(image, points, radii, box=box, padded=padded, where=mask)
        for codes in all_codes:
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
