"""The same images and settings give the same feature bits: on every call, whatever
the memory layout, the threads, ``n_jobs``, the chunks, the cache, or a run killed
and resumed.

Equality here is of the float64 bytes (``tobytes()``), not ``allclose``.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import cv2
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import featcls
from featcls import FeatureExtractor
from featcls.data import to_float
from featcls.features import DEFAULT_FAMILIES, MomentFeatures, VLADFeatures
from featcls.features._context import MaskGeometry

from .alignment import misaligned, moving_buffers


def _corner_cut(image, mask, shift):
    """The particle cut by the image's top-left corner, as in a tight crop."""
    rows, cols = np.nonzero(mask)
    r0, c0 = rows.min() + shift, cols.min() + shift
    return image[r0:, c0:], mask[r0:, c0:]


@pytest.fixture(scope="module")
def corpus():
    """Six real-looking samples: synthetic vesicles, three of them cut by a corner.

    A cut particle's farthest pixel from its centroid can be the image's first
    pixel, where a kernel that depends on memory alignment differs first.
    """
    data = featcls.load_builtin("synthetic", n_samples=6, random_state=3)
    images, masks = list(data.X["image"]), list(data.X["mask"])
    for i, shift in ((0, 8), (1, 6), (5, 12)):
        images[i], masks[i] = _corner_cut(images[i], masks[i], shift)
    return images, masks


def _table(images, masks):
    import pandas as pd

    return pd.DataFrame({"image": images, "mask": masks})


def _families():
    return list(DEFAULT_FAMILIES)


def test_distances_to_the_centroid_are_correctly_rounded_and_layout_free(corpus):
    _, masks = corpus
    for mask in masks:
        geometry = MaskGeometry(mask)
        cy, cx = geometry.centroid
        h, w = mask.shape
        dy = (np.arange(h, dtype=np.float32) - np.float32(cy))[:, None]
        dx = (np.arange(w, dtype=np.float32) - np.float32(cx))[None, :]
        squares = dx * dx + dy * dy  # float32, each operation correctly rounded
        # sqrt in float64 then rounded to float32 is the correctly rounded sqrt.
        expected = np.sqrt(squares.astype(np.float64)).astype(np.float32)
        assert geometry.distance.tobytes() == expected.tobytes()
        for seed in range(8):
            with moving_buffers(seed):
                moved = MaskGeometry(misaligned(mask, seed * 7 % 64))
                assert moved.distance.tobytes() == expected.tobytes()
                assert moved.max_radius == geometry.max_radius


def test_fifty_extractions_are_bit_identical_whatever_the_memory_layout(corpus):
    images, masks = corpus
    floats = [to_float(im) for im in images]
    fx = FeatureExtractor(families=_families()).fit(_table(images, masks))
    reference = {
        "u8": fx.transform(_table(images, masks)).tobytes(),
        "float": fx.transform(_table(floats, masks)).tobytes(),
    }
    for rep in range(50):
        # Inputs at any byte offset (float32 ones then unaligned), and every OpenCV
        # call of the feature path with its buffers at random offsets.
        offset = rep % 64
        source = images if rep % 2 == 0 else floats
        moved = [misaligned(im, offset) for im in source]
        moved_masks = [misaligned(m, (offset * 5) % 64) for m in masks]
        with moving_buffers(seed=rep):
            got = fx.transform(_table(moved, moved_masks))
        assert got.tobytes() == reference["u8" if rep % 2 == 0 else "float"], rep


def _wide_moments():
    # A 128 px Zernike grid: its moments are 16384-term dot products, which BLAS
    # splits over threads.
    return MomentFeatures(zernike_size=128)


#: The learned codebook at its defaults (PCA-whitened descriptors), a vocabulary
#: that the corpus's descriptors can fit.
_VLAD = VLADFeatures(n_words=16)


def test_threads_do_not_change_a_bit(corpus):
    images, masks = corpus
    table = _table(images, masks)
    families = [*_families()[:1], _wide_moments(), *_families()[2:], _VLAD]
    runs = []
    for blas, opencv in ((1, 1), (2, 4), (None, 2)):
        previous = cv2.getNumThreads()
        cv2.setNumThreads(opencv)
        try:
            with threadpool_limits(blas):
                fx = FeatureExtractor(families=families).fit(table)
                runs.append(fx.transform(table).tobytes())
        finally:
            cv2.setNumThreads(previous)
    assert runs[1] == runs[0]
    assert runs[2] == runs[0]


def test_n_jobs_and_chunks_do_not_change_a_bit(corpus):
    images, masks = corpus
    table = _table(images, masks)
    families = [*_families()[:1], _wide_moments(), *_families()[2:], _VLAD]
    serial = FeatureExtractor(families=families, n_jobs=1, chunk_size=1).fit(table)
    parallel = FeatureExtractor(families=families, n_jobs=2, chunk_size=4).fit(table)
    a, b = serial.transform(table), parallel.transform(table)
    assert a.tobytes() == b.tobytes()
    codebooks = [fx.families_[-1].codebook_ for fx in (serial, parallel)]
    assert codebooks[0].tobytes() == codebooks[1].tobytes()


def test_cache_hits_give_the_computed_bits(corpus, tmp_path):
    images, masks = corpus
    table = _table(images, masks)
    plain = FeatureExtractor(families=[*_families(), _VLAD]).fit(table)
    cached = FeatureExtractor(families=[*_families(), _VLAD], cache_dir=tmp_path)
    first = cached.fit(table).transform(table)
    second = cached.transform(table)
    assert cached.n_computed_ == 0
    expected = plain.transform(table).tobytes()
    assert first.tobytes() == expected
    assert second.tobytes() == expected


def test_vlad_encoding_is_exact_so_descriptor_order_does_not_matter():
    rng = np.random.default_rng(0)
    raw = rng.dirichlet(np.ones(128) * 0.3, 400)
    descriptors = np.sqrt(raw).astype(np.float16)  # RootSIFT as the cache holds it
    family = VLADFeatures(n_words=8).fit_codebook([descriptors.astype(np.float32)])
    centres = family.codebook_.astype(np.float64)
    assert np.array_equal(np.round(centres * 2**20), centres * 2**20)  # on the grid
    encoded = family.encode(descriptors)
    for seed in range(5):
        order = np.random.default_rng(seed).permutation(len(descriptors))
        assert family.encode(descriptors[order]).tobytes() == encoded.tobytes()


def test_vlad_codebook_does_not_depend_on_the_threads():
    rng = np.random.default_rng(1)
    raw = np.sqrt(rng.dirichlet(np.ones(128) * 0.3, 3000)).astype(np.float32)
    books = []
    for limit in (1, 2, None):
        with threadpool_limits(limit):
            books.append(VLADFeatures(n_words=16).fit_codebook([raw]).codebook_)
    assert books[0].tobytes() == books[1].tobytes() == books[2].tobytes()


_CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import featcls
    from featcls import FeatureExtractor
    from featcls.features import _cache

    store = _cache.FeatureCache.store

    def slow_store(self, *args, **kwargs):  # a slow disk: time to be killed
        store(self, *args, **kwargs)
        time.sleep(0.4)

    _cache.FeatureCache.store = slow_store
    data = featcls.load_builtin("synthetic", n_samples=24, random_state=5)
    fx = FeatureExtractor(cache_dir=sys.argv[1], chunk_size=2)
    fx.fit(data.X).transform(data.X)
    print("finished")
    """
)


def _wait_for(predicate, timeout=60.0):
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError("timed out")
        time.sleep(0.02)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
def test_run_killed_with_sigkill_resumes_to_the_clean_bits(tmp_path):
    cache = tmp_path / "cache"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(cache)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(lambda: len(list(cache.glob("*/part-*.parquet"))) >= 3)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        out, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, err.decode()
    assert b"finished" not in out
    parts = list(cache.glob("*/part-*.parquet"))
    assert 3 <= len(parts) < 12  # killed part-way: some chunks done, not all
    (config,) = cache.glob("*/config.json")
    json.loads(config.read_text())  # complete, not half-written

    data = featcls.load_builtin("synthetic", n_samples=24, random_state=5)
    resumed = FeatureExtractor(cache_dir=cache, chunk_size=2).fit(data.X)
    values = resumed.transform(data.X)
    assert 0 < resumed.n_computed_ < 24  # the finished chunks were kept
    clean = FeatureExtractor(chunk_size=2).fit(data.X).transform(data.X)
    assert values.tobytes() == clean.tobytes()


def test_whitened_vlad_is_exact_so_order_and_threads_do_not_matter():
    rng = np.random.default_rng(2)
    raw = np.sqrt(rng.dirichlet(np.ones(256) * 0.3, 3000))  # two sizes side by side
    raw = np.hstack([raw[:, :128], raw[:, 128:]]) / np.sqrt(2)
    descriptors = raw.astype(np.float16)
    fitted = []
    for limit in (1, 2, None):
        with threadpool_limits(limit):
            family = VLADFeatures(n_words=8, size=(16, 24), pca_components=32)
            fitted.append(family.fit_codebook([descriptors.astype(np.float32)]))
    for attr in ("codebook_", "projection_", "offset_"):
        values = [getattr(f, attr).tobytes() for f in fitted]
        assert values[0] == values[1] == values[2]
    family = fitted[0]
    assert np.array_equal(
        np.round(family.projection_ * 2**12), family.projection_ * 2**12
    )
    encoded = family.encode(descriptors[:400])
    for seed in range(5):
        order = np.random.default_rng(seed).permutation(400)
        assert family.encode(descriptors[:400][order]).tobytes() == encoded.tobytes()
