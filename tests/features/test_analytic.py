"""Feature values checked against fixtures whose answer is known in advance."""

import warnings

import numpy as np
import pytest

from featcls.exceptions import FeatureWarning
from featcls.features import (
    edge_profile,
    haralick_features,
    intensity_features,
    lbp_features,
    moment_features,
    radial_profile,
    shape_features,
)

from .conftest import disk


@pytest.mark.parametrize("radius", [8, 15, 30])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_disk_diameter_and_eccentricity(radius, dtype):
    image, mask = disk(size=96, radius=radius)
    if dtype is not np.float32:
        image = (image * np.iinfo(dtype).max).astype(dtype)
    f = shape_features(image, mask)
    assert f["diameter"] == pytest.approx(2 * radius + 1, abs=1.5)
    assert f["max_width"] == pytest.approx(2 * radius + 1, abs=1.5)
    assert f["equivalent_diameter"] == pytest.approx(2 * radius, rel=0.05)
    assert f["eccentricity"] < 0.1
    assert f["area"] == mask.sum()
    assert 0.85 < f["circularity"] <= 1.0
    # Convex area counted in pixels, as scikit-image does (a digital disk is not
    # digitally convex, so small disks have solidity a little below 1).
    from skimage.measure import regionprops

    ref = regionprops(mask.astype(np.uint8))[0]
    assert f["solidity"] == pytest.approx(ref.solidity, abs=0.015)
    assert f["length"] == pytest.approx(ref.axis_major_length, rel=0.01)
    assert f["extent"] == pytest.approx(ref.extent, rel=1e-9)


def test_disk_from_automatic_mask_matches_given_mask(disk_image):
    image, mask = disk_image
    given = shape_features(image, mask)
    auto = shape_features(image)  # Otsu finds the disk
    assert auto["area"] == pytest.approx(given["area"], rel=0.02)
    assert auto["diameter"] == pytest.approx(given["diameter"], abs=1.0)


@pytest.mark.parametrize("angle", [0, 30, 75])
def test_ellipse_axis_ratio(angle):
    yy, xx = np.mgrid[:160, :160].astype(float) - 80
    t = np.deg2rad(angle)
    u, v = xx * np.cos(t) + yy * np.sin(t), -xx * np.sin(t) + yy * np.cos(t)
    mask = (u / 50) ** 2 + (v / 20) ** 2 <= 1
    f = shape_features(mask.astype(float), mask)
    assert f["length"] / f["minor_axis"] == pytest.approx(2.5, rel=0.03)
    assert f["length"] == pytest.approx(100, rel=0.03)
    assert f["diameter"] / f["max_width"] == pytest.approx(101 / 41, rel=0.05)
    assert f["eccentricity"] == pytest.approx(np.sqrt(1 - (20 / 50) ** 2), abs=0.01)


def test_pixel_size_scales_lengths(disk_image):
    image, mask = disk_image
    f1 = shape_features(image, mask)
    f2 = shape_features(image, mask, pixel_size=2.0)
    assert f2["diameter"] == pytest.approx(2 * f1["diameter"])
    assert f2["area"] == pytest.approx(4 * f1["area"])
    assert f2["eccentricity"] == pytest.approx(f1["eccentricity"])


def test_bright_ring_peaks_in_the_right_ring():
    size, n_rings = 128, 16
    yy, xx = np.mgrid[:size, :size]
    r = np.hypot(yy - 64, xx - 64)
    mask = r <= 48
    image = np.where((r >= 30) & (r < 33), 1.0, 0.2).astype(np.float32)
    f = radial_profile(image, mask, n_rings=n_rings)
    means = np.array([f[f"mean_{k:02d}"] for k in range(n_rings)])
    # Ring width is R/16 with R ≈ 48 px: the ring at 30–33 px lies in ring 10.
    expected = int(31.5 / (48 / n_rings))
    assert int(np.argmax(means)) == expected
    edges = edge_profile(image, mask, n_rings=n_rings)
    sobel = np.array([edges[f"sobel_{k:02d}"] for k in range(n_rings)])
    assert abs(int(np.argmax(sobel)) - expected) <= 1


def test_rings_outside_the_image_are_nan():
    image, mask = disk(size=64, radius=10)
    with pytest.warns(FeatureWarning, match=r"some rings .* hold no pixel.*'image'"):
        f = radial_profile(image, None, ring_width=8, n_rings=8, region="image")
    assert np.isfinite(f["mean_00"])
    # Rings 5..7 start at 40 px or more from the centre (32, 32): beyond every pixel
    # of a 64×64 image except the corners (45 px); ring 6 and 7 are empty.
    assert np.isnan(f["mean_06"]) and np.isnan(f["mean_07"])
    assert np.isnan(f["std_07"])


def test_hu_moments_invariant_to_90_degree_rotation(textured_image):
    image, mask = textured_image
    image, mask = image[:, 5:], mask[:, 5:]  # not symmetric about the diagonal
    a = moment_features(image, mask)
    b = moment_features(np.rot90(image).copy(), np.rot90(mask).copy())
    for i in range(7):
        assert b[f"hu_{i}"] == pytest.approx(a[f"hu_{i}"], rel=1e-6, abs=1e-9)
    za = np.array([v for k, v in a.items() if k.startswith("zernike")])
    zb = np.array([v for k, v in b.items() if k.startswith("zernike")])
    np.testing.assert_allclose(za, zb, rtol=0.05, atol=1e-3)
    # The raw second-order central moments swap under a 90° rotation.
    assert b["mu20"] == pytest.approx(a["mu02"], rel=1e-6)


def test_same_picture_in_8_and_16_bit_gives_same_intensity_features(textured_image):
    image, mask = textured_image
    u8 = (image * 255).round().astype(np.uint8)
    u16 = u8.astype(np.uint16) * 257  # the same picture stored in 16 bit
    a = intensity_features(u8, mask)
    b = intensity_features(u16, mask)
    assert a.keys() == b.keys()
    np.testing.assert_allclose(list(a.values()), list(b.values()), rtol=1e-5, atol=1e-7)
    hist = np.array([a[f"hist_{i:02d}"] for i in range(32)])
    assert hist.sum() == pytest.approx(1.0)
    # Bins have a fixed meaning: the object's 0.8 ± noise lands around bin 25.
    assert 22 <= int(np.argmax(hist)) <= 28


def test_percentiles_match_numpy(textured_image):
    image, mask = textured_image
    f = intensity_features(image, mask)
    expected = np.percentile(image[mask], [5, 25, 50, 75, 95])
    got = [f[k] for k in ("p05", "p25", "p50", "p75", "p95")]
    np.testing.assert_allclose(got, expected, atol=2e-5)
    assert f["mean"] == pytest.approx(image[mask].mean(), rel=1e-5)
    assert f["bg_mean"] == pytest.approx(image[~mask].mean(), rel=1e-5)


def test_haralick_matches_mahotas(textured_image):
    mahotas = pytest.importorskip("mahotas")
    from featcls.features._texture import HARALICK_NAMES, quantize

    image, mask = textured_image
    obj = image[mask]
    levels = quantize(image, mask, 32, float(obj.min()), float(obj.max()))
    f = haralick_features(image, mask, distances=(1, 2), levels=32)
    for d in (1, 2):
        ref = mahotas.features.haralick(
            levels,
            distance=d,
            ignore_zeros=True,
            use_x_minus_y_variance=True,
            return_mean_ptp=True,
        )
        ours = [
            f[f"{n}_d{d}_{agg}"] for agg in ("mean", "range") for n in HARALICK_NAMES
        ]
        np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)


def test_lbp_matches_scikit_image(textured_image):
    from skimage.feature import local_binary_pattern

    image, mask = textured_image
    full = np.ones_like(mask)
    f = lbp_features(image, full, radii=(1, 2), points=8)
    for r in (1, 2):
        ref = local_binary_pattern((image * 255).astype(np.uint8), 8, r, "uniform")
        ref_hist = np.bincount(ref.astype(int).ravel(), minlength=10) / ref.size
        ours = np.array([f[f"r{r}_{k:02d}"] for k in range(10)])
        # Same definition; the float image and the border handling differ slightly.
        np.testing.assert_allclose(ours, ref_hist, atol=0.02)
        assert ours.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("points", [8, 16])
def test_lbp_of_a_constant_picture_is_all_ties_at_every_level(points):
    """Every neighbour equals its centre: every pixel has the uniform pattern P.

    The ties are decided exactly: before, the float32 interpolation made some
    neighbours of a constant k/255 picture smaller than their centre (67 of the 256
    levels at radius 3), which gave every pixel a wrong code.
    """
    expected = {
        f"r{r}_{label:02d}": float(label == points)
        for r in (1, 2, 3)
        for label in range(points + 2)
    }
    for k in range(256):
        image = np.full((16, 16), k, np.uint8)
        with pytest.warns(FeatureWarning, match="constant"):
            f = lbp_features(image, np.ones((16, 16), bool), points=points)
        assert f == expected, k


def test_constant_image_gives_finite_or_nan_and_a_warning():
    from featcls.features import FEATURE_FAMILIES

    image = np.full((40, 40), 0.5, np.float32)
    for family in FEATURE_FAMILIES.values():
        if family.stateful or family.batched:
            continue  # tested in test_codebook.py and test_embedding.py
        from featcls.features._extract import compute_family

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            values = compute_family(family(), image)
        # "constant" names the reason; the background statistics of intensity and
        # snr add their own (the mask is the whole image).
        assert all(issubclass(w.category, FeatureWarning) for w in caught)
        assert any("constant" in str(w.message) for w in caught), family.name
        arr = np.array(list(values.values()))
        assert not np.isinf(arr).any(), family.name


def test_empty_mask_gives_nan_and_names_the_sample(disk_image):
    image, _ = disk_image
    with pytest.warns(FeatureWarning, match="object mask is empty"):
        f = shape_features(image, np.zeros(image.shape, bool))
    assert all(np.isnan(v) for v in f.values())


@pytest.mark.parametrize("shape", [(1, 1), (2, 7)])
def test_tiny_image_gives_nan_and_a_warning(shape):
    with pytest.warns(FeatureWarning, match="smaller than"):
        f = intensity_features(np.ones(shape, np.uint8))
    assert all(np.isnan(v) for v in f.values())


def test_dark_and_bright_objects_are_segmented_alike():
    bright, mask = disk(radius=18, value=0.9, background=0.1)
    dark = 1.0 - bright
    assert shape_features(dark)["area"] == pytest.approx(mask.sum(), rel=0.02)
    assert shape_features(bright)["area"] == pytest.approx(mask.sum(), rel=0.02)


def test_zernike_basis_matches_mahotas():
    mahotas = pytest.importorskip("mahotas")
    from featcls.features._moments import _zernike_basis

    image = np.random.default_rng(0).random((32, 32))
    basis, inside = _zernike_basis(32, 8)
    values = image.ravel()
    ours = np.abs((values / values[inside].sum()) @ basis)
    ref = mahotas.features.zernike_moments(image, 16, degree=8, cm=(15.5, 15.5))
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)
