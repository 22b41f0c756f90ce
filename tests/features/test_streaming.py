"""FeatureExtractor.iter_extract: the table a chunk at a time, equal to extract()."""

import warnings

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sklearn.base import clone

from featcls import FeatureExtractor
from featcls.exceptions import DataWarning, FeatureWarning, ImageReadError
from featcls.features import VLADFeatures
from featcls.features import _engine as extractor_module

from .conftest import textured


def _table(n: int = 11) -> pd.DataFrame:
    """Textured disks, one constant image and one with an empty mask (notes, NaN)."""
    images, masks = [], []
    for seed in range(n):
        image, mask = textured(size=40, seed=seed)
        images.append((image * 255).astype(np.uint8))
        masks.append(mask)
    images[3] = np.full((40, 40), 90, np.uint8)  # constant
    masks[5] = np.zeros((40, 40), bool)  # empty mask
    # A non-default index: the frames carry the table's own labels, and the
    # warnings name the samples by it.
    return pd.DataFrame({"image": images, "mask": masks}, index=np.arange(n) * 10 + 7)


FEATCLS_WARNINGS = (FeatureWarning, DataWarning)


def _recorded(func):
    """``func()`` and featcls's warnings, in order (not joblib's about its workers)."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        out = func()
    ours = [w for w in record if issubclass(w.category, FEATCLS_WARNINGS)]
    return out, [(w.category, str(w.message)) for w in ours]


FAMILIES = ["shape", "intensity", "lbp"]


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("cached", [False, True])
def test_frames_concatenate_to_extract_bit_for_bit(tmp_path, n_jobs, cached):
    table = _table()
    params = {"families": FAMILIES, "chunk_size": 3, "n_jobs": n_jobs}
    if cached:
        params["cache_dir"] = tmp_path
    fx = FeatureExtractor(**params).fit(table)
    frames, streamed = _recorded(lambda: list(fx.iter_extract(table)))
    assert [len(f) for f in frames] == [3, 3, 3, 2]
    reference, expected = _recorded(
        lambda: FeatureExtractor(families=FAMILIES).fit(table).extract(table)
    )
    joined = pd.concat(frames)
    pd.testing.assert_frame_equal(joined, reference)
    assert joined.drop(columns="mask_source").to_numpy().tobytes() == (
        reference.drop(columns="mask_source").to_numpy().tobytes()
    )
    # The same warnings, once each, after the last frame.
    assert streamed == expected and len(expected) >= 2
    assert "'sample 37'" in str(expected) and "'sample 57'" in str(expected)
    if cached:  # and again from the cache, part file by part file
        again = clone(fx).fit(table)
        frames, warned = _recorded(lambda: list(again.iter_extract(table)))
        assert again.n_computed_ == 0 and warned == expected
        pd.testing.assert_frame_equal(pd.concat(frames), reference)


def test_a_partly_cached_table_mixes_cached_and_computed_rows(tmp_path):
    table = _table(13)
    fx = FeatureExtractor(families=FAMILIES, chunk_size=2, cache_dir=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FeatureWarning)
        fx.fit(table).transform(table.iloc[::3])  # every third sample is cached
        reference = FeatureExtractor(families=FAMILIES).fit(table).extract(table)
        again = clone(fx).fit(table)
        frames = list(again.iter_extract(table))
    assert again.n_computed_ == 13 - 5
    pd.testing.assert_frame_equal(pd.concat(frames), reference)


def test_a_stateful_family_streams_too(tmp_path):
    table = _table(9)
    families = ["shape", VLADFeatures(n_words=4, pca_components=8)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FeatureWarning)
        fx = FeatureExtractor(families=families, chunk_size=4, cache_dir=tmp_path)
        fx.fit(table)
        frames = list(fx.iter_extract(table))
        reference = FeatureExtractor(families=families).fit(table).extract(table)
    pd.testing.assert_frame_equal(pd.concat(frames), reference)


def test_chunks_are_computed_as_the_frames_are_taken(monkeypatch):
    calls = []
    original = extractor_module.extract_chunk

    def counted(chunk, config):
        calls.append(len(chunk))
        return original(chunk, config)

    monkeypatch.setattr(extractor_module, "extract_chunk", counted)
    table = _table(8)
    fx = FeatureExtractor(families=["shape"], chunk_size=2).fit(table)
    frames = fx.iter_extract(table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FeatureWarning)
        next(frames)
        assert calls == [2]  # one chunk, not the table
        next(frames)
        assert calls == [2, 2]
        frames.close()  # abandoning the stream computes nothing more
    assert calls == [2, 2]


def test_a_failing_chunk_stops_the_stream_after_the_frames_before_it(tmp_path):
    table = _table(8)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png at all")
    table["image"] = table["image"].astype(object)
    table.loc[table.index[5], "image"] = str(bad)
    table = table.drop(columns="mask")
    cache = tmp_path / "cache"
    fx = FeatureExtractor(families=["shape"], chunk_size=2, cache_dir=cache)
    fx.fit(table.iloc[:2])
    taken = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FeatureWarning)
        with pytest.raises(ImageReadError, match="broken.png"):
            for frame in fx.iter_extract(table):
                taken.append(frame)
    assert [len(f) for f in taken] == [2, 2]  # the two chunks before the bad one
    assert len(list(cache.glob("*/part-*.parquet"))) == 2  # and they are cached


def _spy_reads(monkeypatch) -> list[tuple[str, int]]:
    """Every Parquet file read whole (the cache's rows): its name and rows."""
    reads = []
    read_table = pq.read_table

    def spy(path, *args, **kwargs):
        table = read_table(path, *args, **kwargs)
        reads.append((str(path), table.num_rows))
        return table

    monkeypatch.setattr(pq, "read_table", spy)
    return reads


@pytest.mark.filterwarnings("ignore::featcls.exceptions.FeatureWarning")
def test_the_cache_reads_only_the_parts_a_chunk_needs(tmp_path, monkeypatch):
    table = _table(8).drop(columns="mask")
    fx = FeatureExtractor(families=["shape"], chunk_size=2, cache_dir=tmp_path)
    full = fx.fit(table).transform(table)
    parts = sorted(tmp_path.glob("*/part-*.parquet"))
    assert len(parts) == 4
    reads = _spy_reads(monkeypatch)
    again = clone(fx).fit(table)
    frames = again.iter_extract(table)
    first = next(frames)
    assert len(reads) == 1 and reads[0][1] == 2  # one part file of two rows
    np.testing.assert_array_equal(first.to_numpy()[:, 1:].astype(float), full[:2])
    rest = list(frames)
    assert len(reads) == 4 and sum(rows for _, rows in reads) == 8
    assert sorted(path for path, _ in reads) == [str(p) for p in parts]
    assert again.n_computed_ == 0 and sum(map(len, rest)) == 6
    # Two samples of one chunk: only the part that holds them is read.
    reads.clear()
    np.testing.assert_array_equal(clone(fx).fit(table).transform(table[4:6]), full[4:6])
    assert len(reads) == 1 and reads[0][1] == 2
