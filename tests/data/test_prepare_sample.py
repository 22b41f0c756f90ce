"""prepare_sample: the one preparation the features and the CNN share."""

import numpy as np
import pandas as pd
import pytest

from featcls.data import prepare_image, prepare_sample
from featcls.exceptions import FeatureWarning
from featcls.features import FeatureExtractor


def _object(shape=(40, 40), seed=0):
    image = np.random.default_rng(seed).integers(0, 30, shape).astype(np.uint8)
    image[8:20, 12:30] += 170
    return image


def test_it_is_prepare_image_with_the_mask_source():
    image = _object()
    prepared = prepare_sample(image, crop=True, margin=0.2, size=16)
    expected, mask = prepare_image(image, crop=True, margin=0.2, size=16)
    np.testing.assert_array_equal(prepared.image, expected)
    np.testing.assert_array_equal(prepared.mask, mask)
    assert prepared.mask_source == "auto" and not prepared.empty_mask
    given = np.zeros(image.shape, bool)
    given[0:5, 0:5] = True
    by_user = prepare_sample(image, given, crop=True, margin=0)
    assert by_user.mask_source == "user" and by_user.image.shape == (5, 5)


def test_without_crop_or_mask_out_no_mask_is_made():
    prepared = prepare_sample(_object(), size=20)
    assert prepared.image.shape == (20, 20)
    assert prepared.mask is None and prepared.mask_source is None


@pytest.mark.parametrize("variant", [{"crop": True}, {"mask_out": True}])
def test_an_empty_mask_is_said_not_warned(variant):
    image = _object()
    # (pytest turns any warning into an error)
    prepared = prepare_sample(image, np.zeros(image.shape, bool), **variant)
    assert prepared.empty_mask
    assert prepared.image.shape == image.shape
    if variant.get("mask_out"):
        assert not prepared.image.any()


def test_the_automatic_mask_of_named_channels_is_their_mean():
    # Two named stains: the first is blank, the second shows the object. Unnamed,
    # the image would be grey + alpha and its grey (the first channel) constant.
    image = np.zeros((40, 40, 2), np.uint8)
    image[8:20, 12:30, 1] = 200
    named = prepare_sample(image, names=("dapi", "actin"), crop=True, margin=0)
    assert named.image.shape == (12, 18, 2)
    unnamed = prepare_sample(image, crop=True, margin=0)
    assert unnamed.image.shape == (40, 40, 2)


def test_features_of_a_crop_by_the_automatic_mask_say_auto():
    X = np.stack([_object(seed=0), _object(seed=1)])
    fx = FeatureExtractor(["intensity"], crop=True).fit(X)
    assert (fx.extract(X)["mask_source"] == "auto").all()
    masks = np.zeros((2, 40, 40), bool)
    masks[:, 8:20, 12:30] = True
    table = pd.DataFrame(
        {
            "image": pd.Series(list(X), dtype=object),
            "mask": pd.Series(list(masks), dtype=object),
        }
    )
    assert (fx.extract(table)["mask_source"] == "user").all()


def test_features_of_an_empty_mask_warn_once_as_features():
    X = np.stack([_object(), _object()])
    table = pd.DataFrame(
        {
            "image": pd.Series(list(X), dtype=object),
            "mask": pd.Series([np.zeros((40, 40), bool)] * 2, dtype=object),
        }
    )
    fx = FeatureExtractor(["intensity"], crop=True).fit(table)
    # A DataWarning of the preparation (once per image) would fail the test here.
    with pytest.warns(FeatureWarning) as record:
        values = fx.transform(table)
    assert np.isnan(values).all()
    empty = [w for w in record if "the object mask is empty" in str(w.message)]
    assert len(empty) == 1 and "2 sample(s)" in str(empty[0].message)
