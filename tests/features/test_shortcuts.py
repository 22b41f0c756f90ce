"""The shortcuts of the feature families give the values of their plain definitions.

Each fast path (the 256-bin histogram of an 8-bit picture, ring sums over runs of
labels, LBP neighbours with shared interpolation, filtering a band of rows, OpenCV's
joint histogram for the co-occurrence matrices, mask moments from row and column
sums) is compared here with the straightforward computation it replaces.
"""

from fractions import Fraction

import cv2
import numpy as np
import pytest

from featcls.data import to_float
from featcls.features import DEFAULT_FAMILIES, FEATURE_FAMILIES, LBPFeatures
from featcls.features._context import U8_VALUES, ImageContext, MaskGeometry, Rings
from featcls.features._lbp import _uniform_lut, lbp_codes
from featcls.features._texture import glcm, quantize

from .conftest import disk, textured


class _General(ImageContext):
    """An image context that never takes the 8-bit shortcuts."""

    codes8 = None


def _picture_u8(seed=0, size=80):
    image, mask = textured(size, seed=seed)
    return (image * 255).round().astype(np.uint8), mask


def test_u8_values_are_what_to_float_makes_of_8_bit_pixels():
    codes = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(U8_VALUES, to_float(codes))


def test_codes8_recognises_exactly_the_8_bit_pictures():
    u8, mask = _picture_u8()
    geometry = MaskGeometry(mask)
    np.testing.assert_array_equal(ImageContext(to_float(u8), geometry).codes8, u8)
    # The same picture in 16 bit has the very same float values.
    u16 = u8.astype(np.uint16) * 257
    np.testing.assert_array_equal(ImageContext(to_float(u16), geometry).codes8, u8)
    off = to_float(u16)
    off[40, 40] += np.float32(0.5 / 255)  # one pixel between two 8-bit levels
    assert ImageContext(off, geometry).codes8 is None
    assert ImageContext(-to_float(u8) - 1, geometry).codes8 is None
    assert ImageContext(to_float(u8) * 2, geometry).codes8 is None


@pytest.mark.parametrize("name", DEFAULT_FAMILIES)
@pytest.mark.parametrize("full", [False, True])
def test_8_bit_shortcut_gives_the_general_values(name, full):
    u8, mask = _picture_u8(seed=3)
    if full:
        mask = np.ones_like(mask)
    image = to_float(u8)
    family = FEATURE_FAMILIES[name]()
    fast = ImageContext(image, MaskGeometry(mask))
    assert fast.codes8 is not None
    general = _General(image, MaskGeometry(mask))
    with np.errstate(all="ignore"):
        a, b = family.compute(fast), family.compute(general)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("params", [{}, {"quantization": "fixed"}, {"levels": 300}])
def test_haralick_8_bit_shortcut_with_other_settings(params):
    u8, mask = _picture_u8(seed=4)
    image = to_float(u8)
    family = FEATURE_FAMILIES["haralick"](**params)
    a = family.compute(ImageContext(image, MaskGeometry(mask)))
    b = family.compute(_General(image, MaskGeometry(mask)))
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("object_only", [False, True])
def test_ring_sums_equal_sums_over_boolean_rings(object_only):
    rng = np.random.default_rng(0)
    image, mask = textured(70, seed=1)
    geometry = MaskGeometry(mask)
    n, width = 9, geometry.max_radius / 9
    rings = geometry.rings(n, width, object_only=object_only)
    values = rng.random(image.shape)
    ring = (geometry.distance * np.float32(1.0 / width)).astype(np.int64)
    region = mask if object_only else np.ones_like(mask)
    for k in range(n):
        inside = region & (ring == k)
        assert rings.counts[k] == inside.sum()
        got = rings.sums(values[rings.rows])[k]
        assert got == pytest.approx(values[inside].sum(), rel=1e-12, abs=1e-12)


def test_rings_outside_the_counted_rows_have_no_pixels():
    _, mask = disk(size=60, radius=10)
    geometry = MaskGeometry(mask)
    rings = Rings(geometry.distance, 4, 3.0, mask, geometry.rows())
    assert rings.rows == slice(20, 41)
    assert rings.counts.sum() == np.count_nonzero(
        mask & (geometry.distance * np.float32(1 / 3.0) < 4)
    )


def test_mask_moments_are_opencvs():
    rng = np.random.default_rng(2)
    masks = [disk(size=50, radius=r)[1] for r in (1, 7, 20)]
    masks += [rng.random((37, 61)) > 0.6, np.ones((5, 9), bool)]
    for mask in masks:
        ours = MaskGeometry(mask).moments
        ref = cv2.moments(mask.astype(np.uint8), binaryImage=True)
        for key, value in ours.items():
            assert value == ref[key], key


def _exact_lbp_codes(image, points, radius):
    """The LBP definition, one neighbour at a time, with exact comparisons.

    Bit p is set when the bilinear neighbour ``sum_i w_i v_i`` is at least the centre
    ``c``, i.e. when ``sum_i w_i (v_i - c) >= 0``: evaluated in extended precision and,
    where that is within a rounding margin of 0 (ties), in rational arithmetic.
    """
    h, w = image.shape
    pad = int(np.ceil(radius)) + 1
    padded = np.pad(image, pad, mode="symmetric")  # = cv2.BORDER_REFLECT
    centre = image.astype(np.longdouble)

    def view(y, x):
        return padded[pad + y : pad + y + h, pad + x : pad + x + w]

    code = np.zeros((h, w), np.int64)
    for p in range(points):
        angle = 2.0 * np.pi * p / points
        dy = round(-radius * np.sin(angle), 9)
        dx = round(radius * np.cos(angle), 9)
        y0, x0 = int(np.floor(dy)), int(np.floor(dx))
        fy, fx = Fraction(dy - y0), Fraction(dx - x0)
        weights = [(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx]
        corners = [view(y0 + a, x0 + b) for a, b in ((0, 0), (0, 1), (1, 0), (1, 1))]
        total = np.zeros((h, w), np.longdouble)
        spread = np.zeros((h, w), np.longdouble)
        for weight, corner in zip(weights, corners, strict=True):
            diff = corner.astype(np.longdouble) - centre
            total += np.longdouble(float(weight)) * diff
            spread += np.longdouble(float(weight)) * np.abs(diff)
        bit = total > 0
        for i, j in np.argwhere(np.abs(total) <= 1e-12 * spread):
            c = Fraction(float(image[i, j]))
            exact = sum(
                wt * (Fraction(float(v[i, j])) - c)
                for wt, v in zip(weights, corners, strict=True)
            )
            bit[i, j] = exact >= 0
        code |= bit.astype(np.int64) << p
    return code


def test_lbp_ties_are_decided_exactly_on_constant_images():
    """A constant patch has every neighbour equal to its centre: all bits set.

    Before, the float32 interpolation decided these ties: 0.4 v + 0.6 v rounded below
    v for 67 of the 256 8-bit levels at radius 3, so every pixel got a wrong code.
    """
    levels = np.arange(256, dtype=np.uint8)
    for k in levels:
        image = to_float(np.full((12, 12), k, np.uint8))
        for radius in (1, 2, 3):
            for points in (8, 16):
                codes = lbp_codes(image, points, radius)
                assert (codes == 2**points - 1).all(), (int(k), radius, points)


def _rational_sign(row, centre=0.0, weights=None):
    c = Fraction(float(centre))
    weights = [1.0] * len(row) if weights is None else weights
    total = sum(
        Fraction(float(w)) * (Fraction(float(v)) - c)
        for v, w in zip(row, weights, strict=True)
    )
    return (total > 0) - (total < 0)


def test_exact_sign_is_the_sign_of_the_rational_sum():
    from featcls.features._lbp import _exact_sign

    rng = np.random.default_rng(3)
    rows = []
    for _ in range(300):
        x = rng.standard_normal(8) * 10.0 ** rng.integers(-20, 20, 8)
        rows.append(np.append(x, -x.sum()))  # the exact sum: what rounding dropped
    rows.append([1e16, 1.0, -1e16, 0, 0, 0, 0, 0, 0])  # float64 sum: 0, exact: 1
    rows.append([1e16, 1.0, -1e16, -1.0, 0, 0, 0, 0, 0])  # exactly 0
    rows.append([0.0] * 9)
    rows = np.array(rows)
    expected = [_rational_sign(row) for row in rows]
    assert 0 < expected.count(0) < len(rows)
    assert _exact_sign(rows).tolist() == expected


def test_lbp_exact_comparison_settles_ties_and_cancellations():
    from featcls.features._lbp import _exact_ge

    c, d = np.float32(0.5), np.float32(0.3)
    w, w_low = 0.1, np.nextafter(0.1, 0.0)  # weights one float64 unit apart
    values = np.array(
        [
            [c - d, c + d, 0.0, 0.0],  # halfway between c - d and c + d: a tie
            [c + d, c - d, 0.0, 0.0],  # w d - w_low d > 0: just above the centre
            [c - d, c + d, 0.0, 0.0],  # - w d + w_low d < 0: just below
            [c, c, c, c],  # a constant patch
        ]
    )
    weights = np.array(
        [[0.5, 0.5, 0, 0], [w, w_low, 0, 0], [w, w_low, 0, 0], [0.25, 0.25, 0.25, 0.25]]
    )
    centre = np.full(4, c, np.float64)
    expected = [
        _rational_sign(v, c, wt) >= 0 for v, wt in zip(values, weights, strict=True)
    ]
    assert expected == [True, True, False, True]
    assert _exact_ge(values, centre, weights).tolist() == expected


@pytest.mark.parametrize("points", [4, 6, 8, 12, 16])
@pytest.mark.parametrize("radius", [1, 2, 3])
def test_lbp_codes_match_the_plain_bilinear_definition(points, radius):
    rng = np.random.default_rng(points * 10 + radius)
    # Few grey levels: many neighbours equal their centre, where rounding matters.
    image = (rng.integers(0, 5, (41, 53)) / 4).astype(np.float32)
    expected = _exact_lbp_codes(image, points, radius)
    np.testing.assert_array_equal(lbp_codes(image, points, radius), expected)
    box = (5, 7, 30, 50)
    np.testing.assert_array_equal(
        lbp_codes(image, points, radius, box=box), expected[5:30, 7:50]
    )


@pytest.mark.parametrize("points", [4, 5, 8])
def test_lbp_with_few_points_counts_uniform_labels(points):
    image, mask = textured(60, seed=5)
    f = LBPFeatures(points=points, radii=(1, 2)).compute(
        ImageContext(image, MaskGeometry(mask))
    )
    ctx = ImageContext(image, MaskGeometry(mask))
    lut = _uniform_lut(points)
    expected = []
    for radius in (1, 2):
        labels = lut[_exact_lbp_codes(ctx.filled, points, radius)]
        counts = np.bincount(labels[mask], minlength=points + 2)
        expected.append(counts / mask.sum())
    np.testing.assert_allclose(f, np.concatenate(expected), rtol=1e-6)


def test_glcm_joint_histogram_equals_bincount_counting():
    image, mask = textured(64, seed=6)
    levels = quantize(image, mask, 32, 0.0, 1.0)
    for d in (1, 2, 5):
        np.testing.assert_array_equal(
            glcm(levels, 32, d), glcm(levels.astype(np.uint16), 32, d)
        )


def _off_centre_object():
    """A small textured object near the top: a band of rows much shorter than H."""
    image, _ = textured(96, seed=7)
    _, mask = disk(size=96, radius=12, centre=(20, 60))
    return image, mask


def test_laws_on_a_band_of_rows_equals_laws_on_the_whole_image():
    from featcls.features._texture import _LAWS_PAIRS, _LAWS_VECTORS

    image, mask = _off_centre_object()
    ctx = ImageContext(image, MaskGeometry(mask))
    got = FEATURE_FAMILIES["laws"]().compute(ctx)
    full, reflect = ctx.filled, cv2.BORDER_REFLECT
    flat = full - cv2.blur(full, (15, 15), borderType=reflect)
    mask_u8 = mask.astype(np.uint8)
    expected = []
    for a, b in _LAWS_PAIRS:
        energy = 0.0
        for u, v in ((a, b), (b, a)):
            rows = cv2.filter2D(flat, -1, _LAWS_VECTORS[v][None, :], borderType=reflect)
            resp = cv2.filter2D(rows, -1, _LAWS_VECTORS[u][:, None], borderType=reflect)
            energy += cv2.norm(resp, cv2.NORM_L1, mask_u8)
        expected.append(energy / (2 * mask.sum()))
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_edges_on_a_band_of_rows_equal_edges_on_the_whole_image():
    image, mask = _off_centre_object()
    ctx = ImageContext(image, MaskGeometry(mask))
    family = FEATURE_FAMILIES["edges"]()
    with np.errstate(all="ignore"):
        got = family.compute(ctx)
    full = ctx.filled
    u8 = cv2.convertScaleAbs(np.clip(full, 0.0, 1.0), alpha=255.0)
    edges = cv2.Canny(cv2.GaussianBlur(u8, (3, 3), 0), 50.0, 150.0) > 0
    magnitude = np.hypot(
        cv2.Sobel(full, cv2.CV_32F, 1, 0, ksize=3, scale=0.125),
        cv2.Sobel(full, cv2.CV_32F, 0, 1, ksize=3, scale=0.125),
    )
    g = ctx.geometry
    ring = (g.distance * np.float32(16 / g.max_radius)).astype(np.int64)
    sobel, canny = [], []
    for k in range(16):
        inside = mask & (ring == k)
        sobel.append(magnitude[inside].mean() if inside.any() else np.nan)
        canny.append(edges[inside].mean() if inside.any() else np.nan)
    assert np.array_equal(got[16:], canny, equal_nan=True)  # edge counts: exact
    np.testing.assert_allclose(got[:16], sobel, rtol=1e-6)
