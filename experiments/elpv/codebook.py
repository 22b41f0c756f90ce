"""Which changes to the learned codebook move the SVM on ELPV ``defective``?

The ablations of ``run.py`` say that of all feature families only the codebook
(``vlad``) moves the score. This tries its usual improvements one at a time, each on
the same 5 stratified folds (seed ``--seed``, as ``featcls.compare``), the codebook
and every scaling fitted on the training folds only, the RBF SVM of featcls
(class weights) on the nine default families next to it:

- ``baseline``: dense RootSIFT every 12 px, 16 px support, 64 words, power 0.5;
- ``intra``: VLAD intra-normalised (each word's residual sum L2-normalised before
  the power and global normalisation; Arandjelović & Zisserman 2013);
- ``multiscale``: descriptors at 16, 24 and 32 px support on the same grid;
- ``words128`` / ``words256``: a larger vocabulary;
- ``pca64``: descriptors PCA-whitened to 64 dimensions (fitted on the training
  descriptors) before the codebook (Jégou & Chum 2012);
- the combinations named in ``--variants`` (``+``-joined), and ``search``: the
  SVM's C and γ chosen by an inner grid search inside each training fold;
- ``balanced``: the codebook's columns weighted as one family of ten in the RBF
  kernel (an RBF SVM on the standardised columns, the same class weights), instead
  of the 8,192 of ~8,300 columns they are;
- ``ordinal`` (for ``--target defect_level``): the four defect levels as ordered
  classes, one SVM per threshold ``P(level > k)`` (Frank & Hall 2001) instead of
  the SVM's one-against-one multi-class scheme.

    python experiments/elpv/codebook.py --cache /tmp/elpv-descriptors
    python experiments/elpv/codebook.py --variants baseline,intra+multiscale
    python experiments/elpv/codebook.py --target defect_level --variants ordinal

Prints fold-mean macro-F1 per variant and writes them as JSON to ``--out``.
Descriptors are computed once per support size and kept in ``--cache``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
from joblib import Parallel, delayed
from sklearn.cluster import MiniBatchKMeans
from sklearn.decomposition import PCA
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import SVC

from featcls import FeatureExtractor, load_builtin
from featcls.data import read_image
from featcls.features import DEFAULT_FAMILIES
from featcls.models import OrdinalClassifier, build_model

VARIANTS = (
    "baseline",
    "intra",
    "multiscale",
    "words128",
    "words256",
    "pca64",
    "search",
    "balanced",
    "ordinal",
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]),
    )
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument(
        "--target", choices=("defective", "defect_level"), default="defective"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=Path(".featcls-cache/codebook"))
    parser.add_argument(
        "--out", type=Path, default=Path("featcls-out/elpv-codebook.json")
    )
    args = parser.parse_args(argv)
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    return args


def _dense_rootsift(path: str, size: float, step: int = 12) -> np.ndarray:
    image = read_image(path)
    u8 = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    h, w = u8.shape
    ys, xs = np.mgrid[step // 2 : h : step, step // 2 : w : step]
    points = [
        cv2.KeyPoint(float(x), float(y), float(size))
        for y, x in zip(ys.ravel(), xs.ravel(), strict=True)
    ]
    _, desc = cv2.SIFT_create().compute(u8, points)
    desc = desc.astype(np.float32)
    desc /= np.maximum(desc.sum(axis=1, keepdims=True), 1e-12)
    return np.sqrt(desc).astype(np.float16)


def descriptors(paths, size: float, cache: Path, n_jobs: int) -> list[np.ndarray]:
    """Dense RootSIFT of every image at one support size (cached, float16)."""
    file = cache / f"rootsift-{size:g}.npz"
    if file.is_file():
        stored = np.load(file)
        return np.split(stored["desc"], stored["offsets"][1:-1])
    out = Parallel(n_jobs=n_jobs, batch_size=64)(
        delayed(_dense_rootsift)(p, size) for p in paths
    )
    cache.mkdir(parents=True, exist_ok=True)
    offsets = np.cumsum([0] + [len(d) for d in out])
    np.savez(file, desc=np.concatenate(out), offsets=offsets)
    return out


def vlad(
    desc: list[np.ndarray], centres: np.ndarray, intra: bool, power: float = 0.5
) -> np.ndarray:
    """VLAD of every image against ``centres`` (signed power, L2)."""
    k, dim = centres.shape
    c2 = (centres * centres).sum(1)
    out = np.zeros((len(desc), k * dim), np.float32)
    for i, d in enumerate(desc):
        d = d.astype(np.float32)
        nearest = (c2[None, :] - 2.0 * d @ centres.T).argmin(1)
        v = np.zeros((k, dim), np.float32)
        np.add.at(v, nearest, d - centres[nearest])
        if intra:
            v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        v = np.sign(v) * np.abs(v) ** power
        out[i] = (v / max(np.linalg.norm(v), 1e-12)).ravel()
    return out


def encode_fold(per_scale, train, parts: set[str], seed: int) -> np.ndarray:
    """The codebook features of every image for one training fold."""
    n_words = 256 if "words256" in parts else 128 if "words128" in parts else 64
    blocks = []
    rng = np.random.default_rng(seed)
    for desc in per_scale:
        pool = np.concatenate([desc[i] for i in train]).astype(np.float32)
        pool = pool[rng.choice(len(pool), min(len(pool), 100_000), replace=False)]
        project = None
        if "pca64" in parts:
            project = PCA(64, whiten=True, random_state=seed).fit(pool)
            pool = project.transform(pool).astype(np.float32)
            desc = [project.transform(d.astype(np.float32)) for d in desc]
        km = MiniBatchKMeans(n_words, random_state=seed, n_init=3, batch_size=4096)
        centres = km.fit(pool).cluster_centers_.astype(np.float32)
        blocks.append(vlad(desc, centres, intra="intra" in parts))
    return np.hstack(blocks)


def balance(base, codes, train, n_families) -> np.ndarray:
    """Standardised columns, the codebook's block weighted as one family of all.

    Each column is standardised on the training rows; the codebook's columns are
    then multiplied by √(base columns / (codebook columns × base families)), so that
    its share of the RBF kernel's squared distance is that of one family of
    ``n_families + 1`` instead of its share of the columns.
    """
    X = np.hstack([base, codes]).astype(np.float64)
    mean, std = X[train].mean(axis=0), X[train].std(axis=0)
    X = (X - mean) / np.where(std > 0, std, 1.0)
    X[:, base.shape[1] :] *= np.sqrt(base.shape[1] / codes.shape[1] / n_families)
    return X


def fold_score(variant, per_scale, base, y, train, test, seed) -> float:
    parts = set(variant.split("+"))
    codes = encode_fold(per_scale, train, parts, seed)
    if "ordinal" in parts:
        X = np.hstack([base, codes])
        model = OrdinalClassifier(
            build_model("svm", random_state=seed, n_jobs=1), order="sorted"
        )
    elif "balanced" in parts:
        X = balance(base, codes, train, len(DEFAULT_FAMILIES))
        model = SVC(C=3.0, class_weight="balanced", random_state=seed)
    else:
        X = np.hstack([base, codes])
        model = build_model(
            "svm", search="search" in parts, random_state=seed, n_jobs=1
        )
    pred = model.fit(X[train], y[train]).predict(X[test])
    return f1_score(y[test], pred, average="macro")


def main(argv=None) -> None:
    args = parse_args(argv)
    data = load_builtin("elpv", target=args.target)
    paths = data.X["image"].tolist()
    y = np.asarray(data.y).astype(str)
    base = FeatureExtractor(
        mask="full", cache_dir=args.cache.parent, n_jobs=args.n_jobs
    ).fit_transform(data.X)
    base = np.nan_to_num(np.asarray(base, np.float32))
    sizes = {16.0}
    if any("multiscale" in v for v in args.variants):
        sizes |= {24.0, 32.0}
    scales = {s: descriptors(paths, s, args.cache, args.n_jobs) for s in sorted(sizes)}
    folds = list(
        StratifiedKFold(args.folds, shuffle=True, random_state=args.seed).split(
            np.arange(len(y)), y
        )
    )
    results = {}
    for variant in args.variants:
        start = time.perf_counter()
        used = (
            [scales[s] for s in sorted(scales)]
            if "multiscale" in variant
            else [scales[16.0]]
        )
        scores = Parallel(n_jobs=args.n_jobs)(
            delayed(fold_score)(variant, used, base, y, train, test, args.seed)
            for train, test in folds
        )
        results[variant] = {
            "f1_macro": float(np.mean(scores)),
            "folds": [round(float(s), 4) for s in scores],
            "seconds": round(time.perf_counter() - start, 1),
        }
        print(
            f"{variant:28s} macro-F1 {np.mean(scores):.4f} "
            f"(± {np.std(scores):.3f}, {results[variant]['seconds']:.0f} s)",
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
