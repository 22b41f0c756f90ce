"""The fast exact LBP comparison gives the bits of the slower one it replaced.

:func:`featcls.features._lbp.lbp_codes` decides every neighbour within a rounding
margin of its centre exactly. It first recognises the exact ties (four pixels equal
to the centre; two pixels of equal weight adding up to twice the centre while the
other two equal it) in float32 arithmetic and sends only the others through the
float64/rational machinery. ``_previous_lbp_codes`` below is the implementation it
replaced (every near pair through :func:`_exact_ge`), kept verbatim as the
reference: the codes must be the same bits on every kind of picture.
"""

from fractions import Fraction

import cv2
import numpy as np
import pytest

from featcls.data import to_float
from featcls.features import LBPFeatures, _lbp
from featcls.features._context import ImageContext, MaskGeometry
from featcls.features._lbp import (
    _CORNERS,
    _bilinear_weights,
    _exact_ge,
    _lbp_offsets,
    _pair_ties,
    lbp_codes,
)

from .conftest import textured

# ---------------------------------------------------------------------------
# The reference: the previous implementation, unchanged but for its names.


def _previous_settle_ties(bits, near, padded, origin, width, offsets):
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


def _previous_lbp_codes(image, points, radius, *, box=None, padded=None, where=None):
    h, w = image.shape
    pad = int(np.ceil(radius)) + 1
    if padded is None:
        padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    else:
        pad = (padded.shape[0] - h) // 2
    r0, c0, r1, c1 = (0, 0, h, w) if box is None else box
    bh, bw = r1 - r0, c1 - c0
    offsets = _lbp_offsets(points, float(radius))

    def view(y, x, rows=bh):
        top, left = pad + r0 + y, pad + c0 + x
        return padded[top : top + rows, left : left + bw]

    rows_needed = {}
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
    margin = _lbp._TIE_MARGIN * max(abs(low), abs(high))
    bits, near, close = [], {}, None
    for p, (y0, x0, fy, fx) in enumerate(offsets):
        if fx == 0 and fy == 0:
            bits.append(cv2.compare(view(y0, x0), centre, cv2.CMP_GE))
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
            at = np.flatnonzero(close)
            shares = [(p, at[is_near.ravel()[at] != 0]) for p, is_near in near.items()]
            shares = [(p, idx) for p, idx in shares if idx.size]
            _previous_settle_ties(
                bits, shares, padded, (pad + r0, pad + c0), bw, offsets
            )
    dtype = np.uint8 if points <= 8 else np.uint16
    code = np.zeros((bh, bw), dtype)
    for ge in bits[::-1]:
        np.add(code, code, out=code)
        if dtype is np.uint8:
            np.subtract(code, ge, out=code)
        else:
            code |= ge & np.uint8(1)
    return code


# ---------------------------------------------------------------------------
# Pictures: ramps, constant patches, few grey levels, from 8-bit, 16-bit and float
# sources, where the ties (and the near-ties next to them) are.


def _pictures(seed, shape=(37, 45)):
    rng = np.random.default_rng(seed)
    h, w = shape
    yy, xx = np.mgrid[:h, :w]
    u8 = lambda a: to_float(np.asarray(a % 256, np.uint8))  # noqa: E731
    u16 = lambda a: to_float(np.asarray(a % 65536, np.uint16))  # noqa: E731
    out = {
        "u8 levels": u8(rng.integers(0, 4, shape) * 60),
        "u8 noise": u8(rng.integers(0, 256, shape)),
        "u8 ramp x": u8(xx * 3 + 17),
        "u8 ramp y": u8(yy * 5),
        "u8 ramp diagonal": u8(xx + yy),
        "u8 ramp antidiagonal": u8(xx - yy + 100),
        "u8 ramp steep": u8((xx * 7 + yy * 2) % 256),
        "u8 constant": u8(np.full(shape, int(rng.integers(0, 256)))),
        "u16 levels": u16(rng.integers(0, 3, shape) * 20000 + 7),
        "u16 ramp diagonal": u16(xx * 257 + yy * 257),
        "u16 ramp": u16(xx * 1001 + yy * 3),
        "u16 noise": u16(rng.integers(0, 65536, shape)),
    }
    # Piecewise-constant blocks, some with a ramp across them.
    blocks = np.kron(rng.integers(0, 6, (h // 6 + 1, w // 6 + 1)), np.ones((6, 6)))
    blocks = blocks[:h, :w] * 40
    ramp = np.where(rng.random(shape) < 0.3, xx + yy, 0)
    out["u8 blocks"] = u8(blocks)
    out["u8 blocks and ramps"] = u8(blocks + (blocks > 100) * ramp)
    # Float sources: ramps whose float32 steps are not exact (a + b == 2c only
    # approximately), a few random levels, and levels of very different magnitudes
    # (tiny, subnormal, zero), where float64 differences are not exact.
    out["float ramp"] = ((xx + yy) * np.float32(0.1) / (h + w)).astype(np.float32)
    out["float ramp third"] = (
        (xx * np.float32(1 / 3) + yy * np.float32(1 / 7)) / 30
    ).astype(np.float32)
    levels = rng.random(5).astype(np.float32)
    out["float levels"] = levels[rng.integers(0, 5, shape)]
    magnitudes = np.array([0, 1e-38, 1e-42, 3e-9, 1e-30, 0.5, 1.0], np.float32)
    out["float magnitudes"] = magnitudes[rng.integers(0, len(magnitudes), shape)]
    near_one = np.nextafter(np.float32(1), np.float32(0), dtype=np.float32)
    odd = np.array([1.0, near_one, 0.5, 0.5 + 2.0**-24, 0.25, 0.75], np.float32)
    out["float rounding"] = odd[rng.integers(0, len(odd), shape)]
    out["float signed"] = (
        (rng.integers(-2, 3, shape) * np.float32(0.3)) + (xx - yy) * np.float32(0.01)
    ).astype(np.float32)
    return out


def _wheres(shape, seed):
    rng = np.random.default_rng(seed)
    h, w = shape
    yy, xx = np.mgrid[:h, :w]
    disk = (yy - h / 2) ** 2 + (xx - w / 2) ** 2 <= (min(h, w) / 3) ** 2
    return [None, disk.astype(np.uint8), (rng.random(shape) < 0.5).astype(np.uint8)]


@pytest.mark.parametrize("points", [8, 16])
@pytest.mark.parametrize("radius", [1, 2, 3])
def test_lbp_codes_are_the_bits_of_the_previous_exact_comparison(points, radius):
    compared = 0
    for seed in range(2):
        for name, image in _pictures(seed * 10 + radius).items():
            h, w = image.shape
            box = (3, 2, h - 4, w - 1)
            pad = 4
            padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REFLECT)
            shape = (box[2] - box[0], box[3] - box[1])
            for where in _wheres(shape, seed):
                ours = lbp_codes(
                    image, points, radius, box=box, padded=padded, where=where
                )
                ref = _previous_lbp_codes(
                    image, points, radius, box=box, padded=padded, where=where
                )
                np.testing.assert_array_equal(ours, ref, err_msg=name)
                compared += 1
            np.testing.assert_array_equal(
                lbp_codes(image, points, radius),
                _previous_lbp_codes(image, points, radius),
                err_msg=name,
            )
    assert compared == 2 * len(_pictures(0)) * 3


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_lbp_codes_of_pictures_with_infinities_are_the_previous_bits():
    """inf - inf is NaN in both: such a pair's bit is 0, as it was."""
    rng = np.random.default_rng(7)
    image = to_float(rng.integers(0, 3, (30, 31)).astype(np.uint8) * 100)
    image[rng.random(image.shape) < 0.05] = np.inf
    for points in (8, 16):
        for radius in (1, 2):
            np.testing.assert_array_equal(
                lbp_codes(image, points, radius),
                _previous_lbp_codes(image, points, radius),
            )


@pytest.mark.parametrize("points", [4, 6, 12])
def test_lbp_codes_with_other_point_counts_are_the_previous_bits(points):
    for name, image in _pictures(3, (29, 33)).items():
        for radius in (1, 2, 3):
            np.testing.assert_array_equal(
                lbp_codes(image, points, radius),
                _previous_lbp_codes(image, points, radius),
                err_msg=f"{name} r={radius}",
            )


def test_all_radii_at_once_are_each_radius_alone():
    for name, image in _pictures(4, (40, 50)).items():
        box = (5, 3, 33, 47)
        mask = np.zeros((28, 44), np.uint8)
        mask[4:20, 2:40] = 1
        padded = cv2.copyMakeBorder(image, 4, 4, 4, 4, cv2.BORDER_REFLECT)
        for points in (8, 16):
            radii = (3, 1, 2)
            together = _lbp._lbp_codes(
                image, points, radii, box=box, padded=padded, where=mask
            )
            for radius, codes in zip(radii, together, strict=True):
                alone = _previous_lbp_codes(
                    image, points, radius, box=box, padded=padded, where=mask
                )
                np.testing.assert_array_equal(codes, alone, err_msg=name)


def test_radii_in_batches_and_unkept_buffers_give_the_same_codes(monkeypatch):
    image = _pictures(5, (40, 50))["u8 blocks and ramps"]
    mask = (np.random.default_rng(5).random((40, 50)) < 0.7).astype(np.uint8)
    radii = (1, 2, 3)
    expected = [_previous_lbp_codes(image, 8, r, where=mask) for r in radii]
    for batch, limit in ((1, 2**24), (2**23, 0)):
        monkeypatch.setattr(_lbp, "_BATCH_BYTES", batch)  # one radius per batch
        monkeypatch.setattr(_lbp, "_SCRATCH_LIMIT", limit)  # no buffer kept
        ours = _lbp._lbp_codes(image, 8, radii, where=mask)
        for a, b in zip(ours, expected, strict=True):
            np.testing.assert_array_equal(a, b)


def test_threads_have_their_own_work_buffers():
    from concurrent.futures import ThreadPoolExecutor

    pictures = list(_pictures(6, (48, 52)).values()) * 3
    expected = [_previous_lbp_codes(image, 16, 2) for image in pictures]
    with ThreadPoolExecutor(4) as pool:
        ours = list(pool.map(lambda image: lbp_codes(image, 16, 2), pictures))
    for a, b in zip(ours, expected, strict=True):
        np.testing.assert_array_equal(a, b)


def test_lbp_features_are_those_of_the_previous_codes(monkeypatch):
    contexts = []
    for seed in range(3):
        image, mask = textured(70, seed=seed)
        contexts.append(ImageContext(image, MaskGeometry(mask)))
        # The same picture quantised to a few levels: ties everywhere.
        levels = to_float((image * 4).round().astype(np.uint8) * 60)
        contexts.append(ImageContext(levels, MaskGeometry(mask)))
    for points in (8, 16):
        family = LBPFeatures(points=points, radii=(1, 2, 3))
        ours = [family.compute(ctx) for ctx in contexts]

        def previous(image, points, radii, **kwargs):
            return [_previous_lbp_codes(image, points, r, **kwargs) for r in radii]

        with monkeypatch.context() as m:
            m.setattr(_lbp, "_lbp_codes", previous)
            ref = [family.compute(ctx) for ctx in contexts]
        for a, b in zip(ours, ref, strict=True):
            np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------
# The tie test itself.


def test_pair_ties_are_exact_ties_of_a_plus_b_and_twice_c():
    one = np.float32(1)
    up = np.nextafter(one, np.float32(2), dtype=np.float32)  # 1 + 2**-23
    down = np.nextafter(one, np.float32(0), dtype=np.float32)  # 1 - 2**-24
    big = np.finfo(np.float32).max
    tiny = np.float32(1e-45)  # the smallest subnormal
    rows = [
        (0.25, 0.75, 0.5),  # a ramp: a tie
        (one, one, one),  # a constant patch
        (up, down, one),  # a + b rounds to 2 in float32, but is 2 + 2**-24
        (down, up, one),
        (one, np.float32(2**-30), np.float32(0.5)),  # a + b rounds to 1 = 2c
        (np.float32(2**-30), one, np.float32(0.5)),
        (big, big, big),  # a + b overflows; 2c too: a tie all the same
        (big, np.nextafter(big, np.float32(0), dtype=np.float32), big),
        (tiny, tiny, tiny),
        (tiny, 0.0, tiny),
        (0.0, -0.0, 0.0),
        (np.float32(0.1), np.float32(0.3), np.float32(0.2)),  # not exactly
        (-0.5, 1.5, 0.5),
    ]
    a, b, c = (np.array(col, np.float32) for col in zip(*rows, strict=True))

    def exact(x, y, z):
        """A tie whose sum float32 holds (an overflowed one is left undecided)."""
        total = Fraction(float(x)) + Fraction(float(y))
        return total == 2 * Fraction(float(z)) and abs(total) <= Fraction(float(big))

    expected = [exact(*row) for row in zip(a, b, c, strict=True)]
    assert expected[6] is False  # big + big: a tie, but beyond float32
    assert _pair_ties(a, b, c).tolist() == expected
    assert expected.count(True) not in (0, len(expected))
    # Random triples at and next to a tie: b is 2c - a rounded to float32, or one
    # of its float32 neighbours; 2c - a is not always a float32 number.
    rng = np.random.default_rng(11)
    for scale in (1.0, 2.0**-20, 2.0**60, 1e-40):
        c = (rng.random(3000) * scale).astype(np.float32)
        a = (c * rng.uniform(0.0, 2.0, 3000) ** rng.integers(1, 20, 3000)).astype(
            np.float32
        )
        b = (2 * c.astype(np.float64) - a).astype(np.float32)
        step = rng.integers(-1, 2, 3000)
        b = np.where(step < 0, np.nextafter(b, np.float32(-np.inf)), b)
        b = np.where(step > 0, np.nextafter(b, np.float32(np.inf)), b)
        expected = [exact(*row) for row in zip(a, b, c, strict=True)]
        assert 0 < sum(expected) < len(expected)
        assert _pair_ties(a, b, c).tolist() == expected
