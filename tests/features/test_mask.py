"""Every family honours the mask: pixels outside it do not change the result."""

import numpy as np
import pytest

from featcls.features import FEATURE_FAMILIES
from featcls.features._extract import compute_family

from .conftest import textured

# Features that compare the object with its background read the pixels outside the
# mask by definition (documented in IntensityFeatures and SNRFeatures).
READS_BACKGROUND = {
    "intensity": lambda name: name.startswith("bg_"),
    "snr": lambda name: name != "object_snr",
}


# The families with a single-image form: not the learned codebook nor the network's
# embedding (which sees the whole image; see test_embedding.py for its mask_out).
@pytest.mark.parametrize(
    "family",
    [n for n, f in FEATURE_FAMILIES.items() if not (f.stateful or f.batched)],
)
def test_pixels_outside_the_mask_do_not_matter(family):
    image, mask = textured(size=80, seed=3)
    rng = np.random.default_rng(7)
    other = image.copy()
    other[~mask] = rng.random(int((~mask).sum()), dtype=np.float32)
    a = compute_family(FEATURE_FAMILIES[family](), image, mask)
    b = compute_family(FEATURE_FAMILIES[family](), other, mask)
    reads = READS_BACKGROUND.get(family, lambda name: False)
    own = [k for k in a if not reads(k)]
    assert own, "every family has features of the object itself"
    np.testing.assert_allclose(
        [b[k] for k in own], [a[k] for k in own], rtol=1e-6, atol=1e-9, equal_nan=True
    )
    context = [k for k in a if reads(k)]
    if context:  # and the documented exceptions really do read the background
        assert any(not np.isclose(a[k], b[k]) for k in context)


@pytest.mark.parametrize("family", ["radial", "edges"])
def test_image_region_profiles_read_the_surroundings(family):
    image, mask = textured(size=80, seed=3)
    other = image.copy()
    other[~mask] = 1.0
    kw = {"region": "image", "extent": 1.5}
    a = compute_family(FEATURE_FAMILIES[family](**kw), image, mask)
    b = compute_family(FEATURE_FAMILIES[family](**kw), other, mask)
    assert any(not np.isclose(a[k], b[k]) for k in a)
