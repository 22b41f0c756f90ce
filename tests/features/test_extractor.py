"""FeatureExtractor: scikit-learn conventions, naming, channels, cache, parallelism."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_param_validation,
    check_parameters_default_constructible,
    check_set_params,
)

from featcls import FeatureExtractor
from featcls.exceptions import DataWarning, FeatureWarning
from featcls.features import (
    DEFAULT_FAMILIES,
    FEATURE_FAMILIES,
    HaralickFeatures,
    ShapeFeatures,
)
from featcls.features import _engine as extractor_module

from .conftest import runnable

ESTIMATORS = [FeatureExtractor()] + [cls() for cls in FEATURE_FAMILIES.values()]
#: The same, each able to run (the embedding family with a network of its own).
RUNNABLE = [FeatureExtractor()] + [runnable(c) for c in FEATURE_FAMILIES.values()]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize(
    "check",
    [
        check_no_attributes_set_in_init,
        check_get_params_invariance,
        check_set_params,
        check_parameters_default_constructible,
        check_param_validation,
    ],
    ids=lambda c: c.__name__,
)
def test_sklearn_data_free_checks(estimator, check):
    # Image transformers declare that they do not take 2-D tabular input, so
    # scikit-learn's data-driven common checks do not apply; these do (parameters
    # are validated before the data is read).
    check(type(estimator).__name__, estimator)


@pytest.mark.parametrize("estimator", RUNNABLE, ids=lambda e: type(e).__name__)
def test_fit_returns_self_and_width_matches_names(estimator, small_stack):
    est = clone(estimator)
    assert est.fit(small_stack) is est
    out = est.transform(small_stack)
    assert out.shape == (len(small_stack), len(est.get_feature_names_out()))
    assert np.isfinite(out).mean() > 0.9


def test_default_extractor_covers_every_family_with_enough_features(small_stack):
    fx = FeatureExtractor().fit(small_stack)
    names = fx.get_feature_names_out()
    assert len(names) >= 150
    assert {n.split("__")[0] for n in names} == set(DEFAULT_FAMILIES)
    assert set(FEATURE_FAMILIES) - set(DEFAULT_FAMILIES) == {"vlad", "embedding"}
    assert len(set(names)) == len(names)


def test_set_output_pandas_columns_equal_names(small_stack):
    table = pd.DataFrame(
        {"image": list(small_stack)}, index=[f"s{i}" for i in range(8)]
    )
    fx = FeatureExtractor(families=["shape", "haralick"]).set_output(transform="pandas")
    out = fx.fit_transform(table)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(fx.get_feature_names_out())
    assert list(out.index) == list(table.index)
    assert "haralick__contrast_d1_mean" in out.columns


def test_clone_and_pickle_round_trip(small_stack):
    fx = FeatureExtractor(families={"haralick": {"levels": 16}}, n_jobs=1).fit(
        small_stack
    )
    expected = fx.transform(small_stack)
    again = pickle.loads(pickle.dumps(fx))
    np.testing.assert_array_equal(again.transform(small_stack), expected)
    fresh = clone(fx)
    assert not hasattr(fresh, "feature_names_out_")
    np.testing.assert_array_equal(fresh.fit_transform(small_stack), expected)


def test_family_instances_and_dict_configuration(small_stack):
    a = FeatureExtractor(families=[HaralickFeatures(levels=8, distances=(1,))])
    b = FeatureExtractor(families={"haralick": {"levels": 8, "distances": (1,)}})
    np.testing.assert_array_equal(
        a.fit_transform(small_stack), b.fit_transform(small_stack)
    )
    assert len(a.get_feature_names_out()) == 26


def test_in_pipeline_cross_validate_and_grid_search(small_stack):
    X = np.concatenate([small_stack, small_stack[:, ::-1]])
    y = np.array(["small"] * 4 + ["large"] * 4 + ["small"] * 4 + ["large"] * 4)
    pipe = make_pipeline(
        FeatureExtractor(families=["shape", "intensity"]), StandardScaler(), SVC()
    )
    scores = cross_validate(pipe, X, y, cv=2)
    assert scores["test_score"].mean() > 0.9  # size separates the classes
    grid = GridSearchCV(
        pipe, {"featureextractor__families": [["shape"], ["lbp"]]}, cv=2
    ).fit(X, y)
    assert grid.best_params_["featureextractor__families"] == ["shape"]


def test_parallel_equals_serial(small_stack):
    serial = FeatureExtractor(chunk_size=3).fit(small_stack).transform(small_stack)
    parallel = FeatureExtractor(chunk_size=3, n_jobs=2).fit(small_stack)
    # Bit for bit: no kernel depends on the threads of the process that runs it.
    assert parallel.transform(small_stack).tobytes() == serial.tobytes()


def test_rgb_channels_prefix_names_and_shape_once(small_stack):
    rgb = np.stack([small_stack, small_stack // 2, 255 - small_stack], axis=-1)
    fx = FeatureExtractor(families=["shape", "intensity"], channels="rgb").fit(rgb)
    names = list(fx.get_feature_names_out())
    assert "shape__area" in names and "shape__r_area" not in names
    assert {"intensity__r_mean", "intensity__g_mean", "intensity__b_mean"} <= set(names)
    out = fx.transform(rgb)
    assert out[:, names.index("intensity__g_mean")] == pytest.approx(
        out[:, names.index("intensity__r_mean")] / 2, rel=0.01
    )


def test_multichannel_policy_reads_channel_count(tmp_path):
    images = np.random.default_rng(0).integers(0, 255, (4, 32, 32, 5), dtype=np.uint8)
    fx = FeatureExtractor(families=["intensity"], channels="channels").fit(images)
    assert fx.channel_names_ == ("c0", "c1", "c2", "c3", "c4")
    assert fx.transform(images).shape[1] == 5 * len(
        FEATURE_FAMILIES["intensity"]().feature_names()
    )
    with pytest.raises(ValueError, match="has channels .* fitted on images with"):
        fx.transform(images[..., :3])


def test_masks_in_the_table_are_used(small_stack):
    masks = [np.zeros(im.shape, bool) for im in small_stack]
    for m in masks:
        m[10:30, 10:40] = True
    table = pd.DataFrame({"image": list(small_stack), "mask": masks})
    fx = FeatureExtractor(families=["shape"]).fit(table)
    frame = fx.extract(table)
    assert (frame["mask_source"] == "user").all()
    assert (frame["shape__area"] == 600).all()
    with pytest.warns(DataWarning, match="fitted on the table's own object masks"):
        auto = fx.extract(small_stack)
    assert (auto["mask_source"] == "auto").all()
    full = FeatureExtractor(families=["shape"], mask="full").fit(table).extract(table)
    assert (full["shape__area"] == 64 * 64).all() and (
        full["mask_source"] == "full"
    ).all()


def test_bad_parameters_have_clear_messages(small_stack):
    with pytest.raises(ValueError, match="Unknown feature family 'texture'. Known"):
        FeatureExtractor(families=["texture"]).fit(small_stack)
    with pytest.raises(ValueError, match="'levels' parameter of HaralickFeatures must"):
        FeatureExtractor(families={"haralick": {"levels": 1}}).fit(small_stack)
    with pytest.raises(ValueError, match="'channels' parameter of FeatureExtractor"):
        FeatureExtractor(channels="bgr").fit(small_stack)
    with pytest.raises(
        ValueError,
        match=r"'n_rings' parameter of RadialProfile must be "
        r"an int in the range \[1, inf\). Got 0 instead.",
    ):
        FeatureExtractor(families={"radial": {"n_rings": 0}}).fit(small_stack)
    with pytest.raises(ValueError, match="'radii' parameter of LBPFeatures"):
        FeatureExtractor(families={"lbp": {"radii": ()}}).fit(small_stack)


def test_warnings_are_collected_from_workers_and_name_the_samples(small_stack):
    images = list(small_stack[:4]) + [np.full((64, 64), 7, np.uint8)]
    fx = FeatureExtractor(families=["intensity"], n_jobs=2, chunk_size=2).fit(images)
    with (
        pytest.warns(
            FeatureWarning, match=r"1 sample\(s\): the object fills the whole"
        ),
        pytest.warns(
            FeatureWarning,
            match=r"1 sample\(s\): the image is constant.*"
            r"sample 4",
        ),
    ):
        fx.transform(images)


def test_a_reason_two_families_share_is_not_also_called_unexplained(small_stack):
    # intensity and snr both lose their background under mask='full'; that is one
    # reason, said once, and no "undefined" warning besides.
    fx = FeatureExtractor(families=["intensity", "snr"], mask="full")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fx.fit_transform(small_stack[:3])
    kinds = [getattr(w.message, "kind", None) for w in caught]
    assert kinds.count("no_background") == 1
    assert "undefined" not in kinds


def test_cache_second_run_hits_every_image(small_stack, tmp_path):
    fx = FeatureExtractor(families=["shape", "lbp"], cache_dir=tmp_path, chunk_size=3)
    first = fx.fit_transform(small_stack)
    assert fx.n_computed_ == 8
    parts = list(tmp_path.glob("*/part-*.parquet"))
    assert len(parts) == 3  # one per chunk
    second = clone(fx).fit(small_stack)
    np.testing.assert_array_equal(second.transform(small_stack), first)
    assert second.n_computed_ == 0
    # A different configuration does not reuse those rows.
    other = FeatureExtractor(
        families=["shape", "lbp"], cache_dir=tmp_path, chunk_size=3, mask="full"
    ).fit(small_stack)
    other.transform(small_stack)
    assert other.n_computed_ == 8


def test_cache_keys_on_content_not_position(small_stack, tmp_path):
    fx = FeatureExtractor(families=["intensity"], cache_dir=tmp_path).fit(small_stack)
    expected = fx.transform(small_stack)
    shuffled = small_stack[::-1]
    np.testing.assert_array_equal(fx.transform(shuffled), expected[::-1])
    assert fx.n_computed_ == 0
    changed = small_stack.copy()
    changed[0, 0, 0] ^= 1
    fx.transform(changed)
    assert fx.n_computed_ == 1


def test_interrupted_run_resumes(small_stack, tmp_path, monkeypatch):
    calls = []
    original = extractor_module.extract_chunk

    def failing(chunk, config):
        if len(calls) == 2:
            raise KeyboardInterrupt  # the run is killed during the third chunk
        calls.append(len(chunk))
        return original(chunk, config)

    monkeypatch.setattr(extractor_module, "extract_chunk", failing)
    fx = FeatureExtractor(families=["shape"], cache_dir=tmp_path, chunk_size=2)
    with pytest.raises(KeyboardInterrupt):
        fx.fit_transform(small_stack)
    monkeypatch.setattr(extractor_module, "extract_chunk", original)
    resumed = clone(fx).fit(small_stack)
    out = resumed.transform(small_stack)
    assert resumed.n_computed_ == 4  # the two finished chunks were kept
    reference = FeatureExtractor(families=["shape"]).fit_transform(small_stack)
    np.testing.assert_array_equal(out, reference)


def test_unreadable_file_names_the_file(tmp_path):
    from featcls.exceptions import ImageReadError

    bad = tmp_path / "broken.png"
    bad.write_bytes(b"hello world, not a png")
    fx = FeatureExtractor(families=["shape"]).fit(np.zeros((1, 8, 8), np.uint8))
    with pytest.raises(ImageReadError, match="broken.png"):
        fx.transform([str(bad)])


def test_family_transformer_alone(small_stack):
    shape = ShapeFeatures().fit(small_stack)
    out = shape.transform(small_stack)
    assert list(shape.get_feature_names_out())[:2] == ["area", "perimeter"]
    assert out.shape == (8, 11)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ShapeFeatures().fit_transform(small_stack)
