"""Speed of featcls's default FeatureExtractor against a straightforward composition.

Measured in one run, on the same 300×300 grey images, with no caching:

* featcls: ``FeatureExtractor()`` — every family, its default settings;
* baseline: the same families computed the obvious way with scikit-image, mahotas,
  SciPy and NumPy calls (regionprops, moments_hu, mahotas Haralick on the 8-bit image,
  skimage's local_binary_pattern, boolean masks per ring, ndimage convolutions ...).

Both run in one process and with ``n_jobs`` processes (joblib over images); the script
prints ms per image (wall), ms per image per core and the ratio. featcls's time is the
best of three runs (the run least disturbed by other processes); the baseline, ten
times slower, is timed once, which if anything flatters it. featcls keeps OpenCV on one
thread per process while it extracts (parallelism is over images), so its 1-process
time is one core's work. Images: the built-in synthetic set at 300×300 and, when
``elpv-dataset`` is installed, ELPV cells. The load average is printed at the start
and the end: other processes on the cores inflate every figure.

    python benchmarks/extract_speed.py [--n-images 200] [--n-jobs 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np
from joblib import Parallel, delayed
from scipy import ndimage, stats

from featcls import FeatureExtractor, load_builtin, read_image
from featcls.data import auto_mask, to_float


def naive_features(image: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The families of the default extractor, computed the straightforward way."""
    import mahotas
    from skimage import feature, filters, measure

    img = to_float(image)
    if mask is None:
        mask = auto_mask(img)
    out: list[float] = []
    # shape
    props = measure.regionprops(mask.astype(np.uint8))[0]
    out += [
        props.area,
        props.perimeter,
        props.equivalent_diameter_area,
        props.feret_diameter_max,
        props.axis_major_length,
        props.axis_minor_length,
        props.eccentricity,
        props.solidity,
        props.extent,
    ]
    # moments
    obj = img * mask
    mu = measure.moments_central(obj, order=3)
    nu = measure.moments_normalized(mu, order=3)
    out += list(mu.ravel()) + list(nu.ravel()) + list(measure.moments_hu(nu))
    cy, cx = ndimage.center_of_mass(mask)
    radius = np.hypot(*(np.argwhere(mask) - (cy, cx)).T).max()
    out += list(mahotas.features.zernike_moments(obj, radius, degree=8, cm=(cy, cx)))
    # intensity + snr
    for values in (img[mask], img[~mask]):
        if values.size == 0:
            out += [np.nan] * 44
            continue
        hist, _ = np.histogram(values, bins=32, range=(0, 1))
        p = hist / values.size
        out += list(p) + [
            values.mean(),
            values.std(),
            stats.skew(values),
            stats.kurtosis(values),
            values.min(),
            values.max(),
            *np.percentile(values, [5, 25, 50, 75, 95]),
            stats.entropy(p[p > 0], base=2),
        ]
    # radial + edge profiles, one boolean mask per ring
    yy, xx = np.mgrid[: img.shape[0], : img.shape[1]]
    r = np.hypot(yy - cy, xx - cx)
    sobel = filters.sobel(img)
    canny = feature.canny(img, sigma=1.0)
    for k in range(16):
        ring = mask & (r >= k * radius / 16) & (r < (k + 1) * radius / 16)
        for values in (img[ring], sobel[ring], canny[ring]):
            out += [values.mean() if values.size else np.nan]
        out += [img[ring].std() if ring.any() else np.nan]
    # Haralick on the 8-bit image, distances 1 and 2
    u8 = (img * 255).astype(np.uint8)
    for d in (1, 2):
        out += list(mahotas.features.haralick(u8, distance=d, return_mean_ptp=True))
    # LBP, uniform, radii 1-3
    for radius_lbp in (1, 2, 3):
        codes = feature.local_binary_pattern(u8, 8, radius_lbp, "uniform")
        out += list(np.bincount(codes[mask].astype(int), minlength=10) / mask.sum())
    # Laws' energies
    vecs = [
        np.array(v, float)
        for v in (
            [1, 4, 6, 4, 1],
            [-1, -2, 0, 2, 1],
            [-1, 0, 2, 0, -1],
            [1, -4, 6, -4, 1],
        )
    ]
    flat = img - ndimage.uniform_filter(img, 15)
    for a in vecs:
        for b in vecs:
            resp = ndimage.convolve(flat, np.outer(a, b))
            out.append(np.abs(resp[mask]).mean())
    return np.asarray(out, dtype=float)


def _naive_one(image, mask):
    if isinstance(image, str):
        image = read_image(image)
    return naive_features(image, mask)


def run_naive(images, masks, n_jobs):
    if n_jobs == 1:
        return [_naive_one(i, m) for i, m in zip(images, masks, strict=True)]
    return Parallel(n_jobs=n_jobs)(
        delayed(_naive_one)(i, m) for i, m in zip(images, masks, strict=True)
    )


def timed(func, repeats: int = 3) -> float:
    """Best wall time of ``repeats`` runs (the least disturbed by other processes)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def bench(name, table, n_jobs):
    images = table["image"].tolist()
    masks = table["mask"].tolist() if "mask" in table else [None] * len(images)
    n = len(images)
    fx = FeatureExtractor(progress=False).fit(table)
    n_features = len(fx.get_feature_names_out())
    # Warm up both paths (imports, first-call costs) and start the worker pool, which
    # joblib keeps alive between calls, so that neither side pays process start-up.
    FeatureExtractor(progress=False).fit(table).transform(table.iloc[:4])
    FeatureExtractor(progress=False, n_jobs=n_jobs, chunk_size=2).fit(table).transform(
        table.iloc[: 2 * n_jobs]
    )
    run_naive(images[:2], masks[:2], 1)
    run_naive(images[: 2 * n_jobs], masks[: 2 * n_jobs], n_jobs)
    rows = []
    for jobs in (1, n_jobs):
        fx = FeatureExtractor(progress=False, n_jobs=jobs).fit(table)
        ours = timed(lambda fx=fx: fx.transform(table))
        base = timed(lambda jobs=jobs: run_naive(images, masks, jobs), repeats=1)
        rows.append((jobs, ours, base))
    print(f"\n{name}: {n} images, featcls default extractor = {n_features} features")
    print(
        f"{'processes':>9} | {'featcls ms/img':>14} | {'per core':>8} | "
        f"{'baseline ms/img':>15} | {'per core':>8} | {'speed-up':>8}"
    )
    for jobs, ours, base in rows:
        print(
            f"{jobs:>9} | {ours / n * 1e3:>14.1f} | {ours / n * 1e3 * jobs:>8.1f} | "
            f"{base / n * 1e3:>15.1f} | {base / n * 1e3 * jobs:>8.1f} | "
            f"{base / ours:>7.1f}×"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=200)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(
        f"machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{_load()}"
    )
    synthetic = load_builtin("synthetic", n_samples=args.n_images, image_size=300)
    bench("synthetic 300×300 (with masks)", synthetic.X, args.n_jobs)
    try:
        elpv = load_builtin("elpv")
    except ImportError:
        print("\nELPV: not installed (pip install 'featcls[elpv]'), skipped.")
        return
    idx = np.random.default_rng(0).choice(len(elpv), args.n_images, replace=False)
    bench(
        "ELPV 300×300 PNG (decoded from disk, automatic mask)",
        elpv.X.iloc[np.sort(idx)][["image"]].reset_index(drop=True),
        args.n_jobs,
    )
    print(f"\nat the end: {_load()}")


def _load() -> str:
    """The load average: other processes on the cores inflate every timing."""
    try:
        one, five, _ = os.getloadavg()
    except OSError:  # not available on this platform
        return "load average unknown"
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min)"


if __name__ == "__main__":
    main()
