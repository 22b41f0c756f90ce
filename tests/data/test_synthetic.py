"""make_synthetic and the built-in registry."""

import numpy as np
import pytest

from featcls.data import BUILTIN_DATASETS, load_builtin, make_synthetic


@pytest.fixture(scope="module")
def data():
    return make_synthetic()


def _arrays(dataset, column="image"):
    return np.stack(dataset.X[column].tolist())


def test_shapes_dtypes_and_classes(data):
    assert len(data) == 300 and data.name == "synthetic"
    assert data.classes == ["multilamellar", "uncertain", "unilamellar"]
    assert list(data.X.columns) == ["image", "mask"]
    images, masks = _arrays(data), _arrays(data, "mask")
    assert images.shape == (300, 96, 96) and images.dtype == np.uint8
    assert masks.shape == (300, 96, 96) and masks.dtype == bool
    assert data.y.dtype.kind == "U" and data.groups is None
    assert data.meta["loader"] == "make_synthetic" and data.meta["random_state"] == 0


def test_exact_class_counts(data):
    assert data.class_counts().to_dict() == {
        "multilamellar": 36,
        "uncertain": 9,
        "unilamellar": 255,
    }
    small = make_synthetic(30, image_size=32)
    assert small.class_counts().to_dict() == {
        "multilamellar": 4,
        "uncertain": 2,
        "unilamellar": 24,
    }


def test_masks_are_particles_inside_the_image(data):
    masks = _arrays(data, "mask")
    areas = masks.sum(axis=(1, 2)) / 96**2
    # Major semi-axis 20-40 % of the size, aspect >= 0.72, capped by the margin.
    assert areas.min() > np.pi * 0.2 * 0.2 * 0.7 and areas.max() < np.pi * 0.38**2
    border = (
        masks[:, 0].any(1)
        | masks[:, -1].any(1)
        | masks[:, :, 0].any(1)
        | masks[:, :, -1].any(1)
    )
    assert not border.any()


def test_particles_are_visible(data):
    # The membrane makes the inside of the mask's boundary darker than the far
    # background on average (a learnable signal, not pure noise).
    images, masks = _arrays(data).astype(float), _arrays(data, "mask")
    inside = np.array([im[m].mean() for im, m in zip(images, masks, strict=True)])
    outside = np.array([im[~m].mean() for im, m in zip(images, masks, strict=True)])
    assert np.median(outside - inside) > 1
    assert images.std(axis=(1, 2)).min() > 2  # noisy, never flat


def test_deterministic(data):
    again = make_synthetic()
    np.testing.assert_array_equal(_arrays(again), _arrays(data))
    np.testing.assert_array_equal(_arrays(again, "mask"), _arrays(data, "mask"))
    np.testing.assert_array_equal(again.y, data.y)
    other = make_synthetic(random_state=1)
    assert not np.array_equal(_arrays(other), _arrays(data))


def test_sample_depends_on_seed_and_index_only():
    a = make_synthetic(40, image_size=32, random_state=7)
    b = make_synthetic(60, image_size=32, random_state=7)
    same = np.flatnonzero(a.y == b.y[:40])
    assert len(same) > 10
    for i in same:
        np.testing.assert_array_equal(a.X["image"].iloc[i], b.X["image"].iloc[i])


def test_large_images():
    big = make_synthetic(6, image_size=300, random_state=2)
    assert big.X["image"].iloc[0].shape == (300, 300)
    assert all(m.any() for m in big.X["mask"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"weights": (0.5, 0.3, 0.1)},
            "weights must be three non-negative class proportions",
        ),
        ({"weights": (0.5, 0.5)}, "that sum to 1. Got"),
        ({"n_samples": 0}, "n_samples must be an int >= 1. Got 0"),
        ({"image_size": 8}, "image_size must be an int >= 16. Got 8"),
        ({"noise": (0.3, 0.1)}, "noise must be a positive float or a"),
        ({"margin": -1}, r"margin must be in \[0, 1.5\]"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_synthetic(**kwargs)


def test_registry():
    assert set(BUILTIN_DATASETS) == {"synthetic", "elpv"}
    data = load_builtin("synthetic", n_samples=30, image_size=24, random_state=4)
    np.testing.assert_array_equal(
        _arrays(data),
        _arrays(make_synthetic(30, image_size=24, random_state=4)),
    )
    with pytest.raises(
        ValueError,
        match="Unknown built-in data set 'mnist'; available: 'synthetic', 'elpv'",
    ):
        load_builtin("mnist")
