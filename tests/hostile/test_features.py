"""Hostile inputs to featcls.features, generated in tmp_path.

The corpus below makes images whose features are NaN for a documented reason (a
ring-shaped object, a one-pixel line, a full mask, a black object, a masked-out
background, an object too small for the VLAD grid) and damaged or foreign files in
the feature cache (truncated, pickled, misshapen descriptors; foreign part files;
unknown notes); nothing binary is committed. Each test pins the behaviour issue 13
asks for: every NaN is announced by a FeatureWarning naming the sample, a feature
NaN for every sample says so once, a damaged cache file is recomputed and never
trusted or unpickled, and a run killed while writing leaves no half-written file.
"""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from featcls import FeatureExtractor
from featcls.exceptions import FeatureWarning
from tests.hostile.corpus import textured

# --------------------------------------------------------------------------------------
# The generated corpus


def _ring(size: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """A ring-shaped object: its centroid is in the hole, so inner rings are empty."""
    yy, xx = np.mgrid[:size, :size]
    r2 = (yy - size / 2) ** 2 + (xx - size / 2) ** 2
    mask = (r2 <= (size / 2.5) ** 2) & (r2 >= (size / 4) ** 2)
    return textured(1, size), mask


def _line(size: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """A one-pixel-high object: no vertical or diagonal pixel pairs at all."""
    mask = np.zeros((size, size), bool)
    mask[size // 2, 5:-5] = True
    return textured(2, size), mask


def _black_object(size: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """An object whose pixels are all 0: intensity moments are undefined."""
    image = textured(3, size)
    mask = np.zeros((size, size), bool)
    mask[10:30, 12:34] = True
    image[mask] = 0
    return image, mask


def _speck(size: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """A 3×3 object between the VLAD grid points: no keypoint inside it."""
    mask = np.zeros((size, size), bool)
    mask[1:4, 1:4] = True
    return textured(4, size), mask


def _small_vlad():
    from featcls.features import VLADFeatures

    # A codebook (and projection) that a few small images can fit.
    return VLADFeatures(n_words=4, pca_components=8)


def _table(samples) -> pd.DataFrame:
    images, masks = zip(*samples, strict=True)
    return pd.DataFrame({"image": list(images), "mask": list(masks)})


def _warnings(record) -> list[FeatureWarning]:
    return [w.message for w in record if issubclass(w.category, FeatureWarning)]


def _messages(record) -> list[str]:
    return [str(w) for w in _warnings(record)]


def _extract(fx, table):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        values = fx.fit(table).transform(table)
    return values, _messages(record)


# --------------------------------------------------------------------------------------
# Every NaN is announced, naming the sample


def test_empty_inner_rings_warn_and_name_the_sample():
    table = _table([(textured(0), None), _ring()])
    fx = FeatureExtractor(families=["radial", "edges"])
    values, messages = _extract(fx, table)
    assert np.isnan(values[1]).any() and not np.isnan(values[0]).any()
    (message,) = [m for m in messages if "rings" in m]
    pattern = r"1 sample\(s\): some rings .* hold no pixel .*'sample 1'"
    assert re.search(pattern, message)


def test_no_pixel_pairs_at_a_haralick_distance_warn():
    fx = FeatureExtractor(families=["haralick"])
    values, messages = _extract(fx, _table([_line(), _ring()]))
    assert np.isnan(values[0]).any()
    (message,) = [m for m in messages if "pixel pair" in m]
    assert "'sample 0'" in message and "'sample 1'" not in message


def test_full_mask_background_statistics_warn_and_say_they_are_always_nan():
    images = [textured(seed) for seed in range(3)]
    fx = FeatureExtractor(families=["intensity", "snr"], mask="full")
    values, messages = _extract(fx, images)
    names = list(fx.get_feature_names_out())
    bg = [i for i, n in enumerate(names) if n.startswith("intensity__bg_")]
    assert np.isnan(values[:, bg]).all()
    (full,) = [m for m in messages if "fills the whole image" in m]
    assert full.startswith("3 sample(s)") and "'sample 2'" in full
    (dead,) = [m for m in messages if "NaN for every one of the 3 samples" in m]
    assert "'intensity__bg_mean'" in dead and "'snr__snr'" in dead
    assert dead.startswith("15 feature(s)")  # 12 bg_* and snr, cnr, contrast


def test_black_object_and_masked_out_background_warn():
    table = _table([_black_object(), (textured(5), None)])
    fx = FeatureExtractor(families=["moments", "intensity"], mask_out=True)
    values, messages = _extract(fx, table)
    assert np.isnan(values[0]).any()
    assert any("add up to zero" in m and "'sample 0'" in m for m in messages)
    # mask_out sets the background to 0: a single intensity, no skewness.
    assert any("background has a single intensity" in m for m in messages)


def test_vlad_without_keypoints_in_the_object_warns():
    table = _table([(textured(s), None) for s in range(3)] + [_speck()])
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        fx = FeatureExtractor(families=[_small_vlad()]).fit(table.iloc[:3])
        values = fx.transform(table)
    assert np.isnan(values[3]).all() and not np.isnan(values[:3]).any()
    messages = _messages(record)
    assert any("no VLAD keypoint" in m and "'sample 3'" in m for m in messages)


def test_every_nan_in_a_hostile_corpus_is_announced():
    """Whatever the reason, a sample with a NaN feature is named by some warning."""
    samples = [
        (textured(0), None),
        _ring(),
        _line(),
        _black_object(),
        _speck(),
        (np.full((48, 48), 128, np.uint8), None),  # constant
        (np.zeros((2, 9), np.uint8), None),  # too small
        (textured(6), np.zeros((48, 48), bool)),  # empty mask
    ]
    table = _table(samples)
    for settings in ({}, {"mask": "full"}, {"mask_out": True}):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            fx = FeatureExtractor(**settings).fit(table)
            values = fx.transform(table)
        named = set()
        for warning in _warnings(record):
            named.update(getattr(warning, "samples", ()))
        for i, row in enumerate(values):
            if np.isnan(row).any():
                assert f"sample {i}" in named, (settings, i)
        dead = [w for w in _warnings(record) if getattr(w, "kind", "") == "all_nan"]
        all_nan = np.isnan(values).all(axis=0)
        expected = list(fx.get_feature_names_out()[all_nan])
        assert [list(w.features) for w in dead] == ([expected] if expected else [])


# --------------------------------------------------------------------------------------
# The feature cache: damaged or foreign files are recomputed, never trusted


def _vlad_run(cache, images):
    fx = FeatureExtractor(families=[_small_vlad()], cache_dir=cache)
    return fx.fit(images).transform(images), fx


def _descriptor_files(cache: Path) -> list[Path]:
    return sorted(cache.glob("descriptors-*/*.npy"))


class _Touch:
    """Unpickling this creates a file: the proof that a cache file ran code."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


@pytest.mark.parametrize("damage", ["truncated", "pickle", "shape", "garbage"])
def test_damaged_descriptor_files_are_recomputed_not_trusted(tmp_path, damage):
    images = np.stack([textured(seed) for seed in range(4)])
    cache = tmp_path / "cache"
    clean, _ = _vlad_run(cache, images)
    victim = _descriptor_files(cache)[0]
    marker = tmp_path / "code-ran"
    if damage == "truncated":
        victim.write_bytes(victim.read_bytes()[:100])
    elif damage == "pickle":
        np.save(victim, np.array([_Touch(marker)], dtype=object), allow_pickle=True)
    elif damage == "shape":
        np.save(victim, np.ones((3, 5), np.float16))
    else:
        victim.write_bytes(b"\x93NUMPY not really")
    again, _ = _vlad_run(cache, images)
    assert not marker.exists()
    assert again.tobytes() == clean.tobytes()
    assert np.load(victim).dtype == np.float16  # recomputed and replaced


def _part_files(cache: Path) -> list[Path]:
    return sorted(cache.glob("*/part-*.parquet"))


def test_foreign_and_damaged_part_files_are_ignored(tmp_path):
    images = np.stack([textured(seed) for seed in range(4)])
    cache = tmp_path / "cache"
    fx = FeatureExtractor(families=["shape"], cache_dir=cache, chunk_size=2)
    clean = fx.fit(images).transform(images)
    folder = _part_files(cache)[0].parent
    (folder / "part-garbage.parquet").write_bytes(b"PAR1 not a parquet file")
    pq.write_table(pa.table({"x": [1, 2]}), folder / "part-foreign.parquet")
    again = FeatureExtractor(families=["shape"], cache_dir=cache).fit(images)
    assert again.transform(images).tobytes() == clean.tobytes()
    assert again.n_computed_ == 0


def test_unknown_note_in_a_part_file_still_warns_instead_of_crashing(tmp_path):
    images = np.stack([textured(seed) for seed in range(2)])
    cache = tmp_path / "cache"
    fx = FeatureExtractor(families=["shape"], cache_dir=cache)
    fx.fit(images).transform(images)
    (part,) = _part_files(cache)
    table = pq.read_table(part)
    notes = pa.array(["made_up_note", ""])
    table = table.set_column(table.column_names.index("__notes__"), "__notes__", notes)
    pq.write_table(table, part)
    with pytest.warns(FeatureWarning, match=r"1 sample\(s\): .*undefined.*sample 0"):
        FeatureExtractor(families=["shape"], cache_dir=cache).fit(images).transform(
            images
        )


def test_writers_sharing_a_cache_use_unique_temporary_names(tmp_path, monkeypatch):
    """Two runs that both miss the cache never write the same temporary file."""
    images = np.stack([textured(seed) for seed in range(3)])
    cache = tmp_path / "cache"
    written = []
    save, write_table = np.save, pq.write_table

    def spy_save(path, *args, **kwargs):
        written.append(Path(path))
        return save(path, *args, **kwargs)

    def spy_write_table(table, path, *args, **kwargs):
        written.append(Path(path))
        return write_table(table, path, *args, **kwargs)

    monkeypatch.setattr(np, "save", spy_save)
    monkeypatch.setattr(pq, "write_table", spy_write_table)
    for _ in range(2):  # the second run as a concurrent writer that saw nothing yet
        for path in _descriptor_files(cache) + _part_files(cache):
            path.unlink()
        FeatureExtractor(families=["shape", _small_vlad()], cache_dir=cache).fit(
            images
        ).transform(images)
    assert len(written) == 2 * (3 + 1)  # 3 descriptor files and 1 part per run
    assert len(set(written)) == len(written)
    for path in written:
        assert path.name.startswith(".") and ".tmp" in path.name
        assert not path.exists()  # renamed into place
    assert sorted(p.name for p in cache.rglob(".*")) == []  # no temporary left


_SLOW_WRITER = textwrap.dedent(
    """
    import pathlib, sys, time
    import numpy as np
    from featcls import FeatureExtractor

    write_text = pathlib.Path.write_text

    def slow_write_text(self, data, *args, **kwargs):  # half, then a stall
        write_text(self, data[: len(data) // 2], *args, **kwargs)
        print("writing", flush=True)
        time.sleep(60)

    pathlib.Path.write_text = slow_write_text
    images = np.stack([np.eye(24, dtype=np.uint8) * 200 + 20] * 2)
    FeatureExtractor(families=["shape"], cache_dir=sys.argv[1]).fit(images).transform(
        images
    )
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
def test_run_killed_while_writing_the_cache_config_leaves_no_half_file(tmp_path):
    cache = tmp_path / "cache"
    child = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, str(cache)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        line = child.stdout.readline()
        assert line == b"writing\n", child.stderr.read().decode()
        time.sleep(0.1)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.communicate(timeout=60)
    for config in cache.glob("*/config.json"):
        json.loads(config.read_text())  # absent or complete, never half
    assert not list(cache.glob("*/part-*.parquet"))
    images = np.stack([np.eye(24, dtype=np.uint8) * 200 + 20] * 2)
    fx = FeatureExtractor(families=["shape"], cache_dir=cache).fit(images)
    fx.transform(images)
    (config,) = cache.glob("*/config.json")
    assert json.loads(config.read_text())["families"][0][0] == "shape"
