"""Can the RBF SVM choose, inside the training folds, how much the codebook counts?

The learned codebook (``vlad``, 8,192 columns) lifts the SVM on ELPV's textured
cells, but on the built-in synthetic objects, which differ by shape and intensity,
its columns swamp the RBF kernel's distances and the SVM collapses (0.574 → 0.306
macro-F1 at 1,000 images). That keeps it out of the default feature set. Here the
codebook's block of columns is weighted by ``w`` in the squared distance,
``d² = d²(other families) + w · d²(codebook)``, with

- ``w=0``: the nine default families alone; ``w=1``: every column alike (what the
  SVM does today); ``balanced``: the codebook weighted as one family of ten;
- ``inner``: ``w`` among those three chosen by an inner stratified 3-fold CV
  (macro-F1) of each outer training fold, then refitted on the whole fold;
- ``alpha=<a>`` and ``inner-alpha``: a rule without a special family, every
  family ``f`` of ``n_f`` live columns weighted by ``(n / (k · n_f)) ** alpha``
  (``k`` families, ``n`` columns: ``alpha=0`` is every column alike, ``alpha=1``
  every family alike), ``alpha`` fixed at each of ``--alphas`` (default 0, 0.5,
  1) or chosen among them by the same inner CV;
- with ``--cs``, ``alpha=<a>,C=<c>`` for every pair and ``inner-alpha-C``, both
  chosen together by the same inner CV.

Each on the same 5 stratified outer folds (seed 0, as ``featcls.compare``), the
codebook, the imputation and the scaling fitted on the outer training fold only;
the RBF SVM of featcls (C=3, class weights, ``gamma="scale"`` on the weighted
columns) on a precomputed kernel:

    python experiments/codebook_weight.py --dataset synthetic --n-samples 1000
    python experiments/codebook_weight.py --dataset elpv --cache-dir /tmp/elpvcache
    python experiments/codebook_weight.py --dataset elpv --alphas 0,0.25,0.5,0.75,1
    python experiments/codebook_weight.py --dataset elpv --cs 1,3,10

Prints the fold-mean macro-F1 of each variant and the weights ``inner`` chose.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from joblib import Parallel, delayed
from sklearn.metrics import f1_score
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import SVC

from featcls import FeatureExtractor, load_builtin

ALPHAS = (0.0, 0.5, 1.0)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("synthetic", "elpv"), default="synthetic")
    parser.add_argument("--n-samples", type=int, default=1000, help="synthetic only")
    parser.add_argument("--target", default="defective", help="elpv only")
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="JSON file of the scores")
    parser.add_argument(
        "--alphas",
        default=",".join(f"{a:g}" for a in ALPHAS),
        help="the alphas inner-alpha chooses from (default 0,0.5,1)",
    )
    parser.add_argument(
        "--cs",
        default="",
        help="values of C: adds alpha × C variants and inner-alpha-C, which "
        "chooses both by the inner CV (default: C=3 only)",
    )
    args = parser.parse_args(argv)
    args.alphas = tuple(float(a) for a in args.alphas.split(","))
    args.cs = tuple(float(c) for c in args.cs.split(",") if c)
    return args


def standardised(X, train):
    """Median-imputed columns standardised on ``train``; which are not constant."""
    X = np.asarray(X, np.float64)
    median = np.nanmedian(X[train], axis=0)
    median = np.where(np.isnan(median), 0.0, median)
    X = np.where(np.isnan(X), median, X)
    mean, std = X[train].mean(axis=0), X[train].std(axis=0)
    live = std > 0
    X = (X - mean) / np.where(live, std, 1.0)
    X[:, ~live] = 0.0
    return X, live


def svm_f1(dist, weights, live, y, fit, test, seed, C=3.0) -> float:
    """Macro-F1 on ``test`` of the RBF SVM fitted on ``fit``, families weighted.

    ``dist`` and ``live`` hold each family's squared distances and live columns.
    """
    # gamma="scale": 1 / (n_features * X.var()); on standardised columns weighted
    # by sqrt(w), n_features * X.var() is the weighted number of live columns.
    d2 = sum(w * dist[f] for f, w in weights.items() if w)
    gamma = 1.0 / max(sum(w * live[f] for f, w in weights.items()), 1e-12)
    kernel = np.exp(-gamma * d2)
    svc = SVC(C=C, kernel="precomputed", class_weight="balanced", random_state=seed)
    svc.fit(kernel[np.ix_(fit, fit)], y[fit])
    pred = svc.predict(kernel[np.ix_(test, fit)])
    return f1_score(y[test], pred, average="macro")


def family_weights(live: dict, alpha: float) -> dict:
    """``(n / (k · n_f)) ** alpha`` for each family of ``n_f`` live columns."""
    n, k = sum(live.values()), len(live)
    return {f: (n / (k * m)) ** alpha if m else 0.0 for f, m in live.items()}


def outer_fold(data, train, test, seed, cache_dir, alphas, cs=()):
    y = np.asarray(data.y).astype(str)
    fx = FeatureExtractor(
        families="default,vlad", mask=data.mask_policy, cache_dir=cache_dir
    ).fit(data.X.iloc[train])
    family = np.array([n.split("__")[0] for n in fx.get_feature_names_out()])
    X, live_cols = standardised(fx.transform(data.X), train)
    dist = {
        f: euclidean_distances(X[:, family == f], squared=True)
        for f in dict.fromkeys(family)
    }
    live = {f: int(live_cols[family == f].sum()) for f in dist}
    others = {f: 1.0 for f in dist if f != "vlad"}
    n_base, n_code = sum(live[f] for f in others), live["vlad"]
    candidates = {
        "w=0": {**others, "vlad": 0.0},
        "balanced": {**others, "vlad": n_base / n_code / 10},
        "w=1": {**others, "vlad": 1.0},
        **{f"alpha={a:g}": family_weights(live, a) for a in alphas},
    }
    # (weights, C) of each variant: C=3 unless --cs adds alpha × C pairs.
    variants = {v: (w, 3.0) for v, w in candidates.items()}
    variants.update(
        {
            f"alpha={a:g},C={c:g}": (family_weights(live, a), c)
            for a in alphas
            for c in cs
        }
    )
    scores = {
        v: svm_f1(dist, w, live, y, train, test, seed, c)
        for v, (w, c) in variants.items()
    }
    inner = StratifiedKFold(3, shuffle=True, random_state=seed)
    inner_f1 = {v: [] for v in variants}
    for fit, held in inner.split(train, y[train]):
        for v, (w, c) in variants.items():
            f1 = svm_f1(dist, w, live, y, train[fit], train[held], seed, c)
            inner_f1[v].append(f1)
    chosen = {}
    pools = [
        ("inner", ("w=0", "balanced", "w=1")),
        ("inner-alpha", tuple(f"alpha={a:g}" for a in alphas)),
    ]
    if cs:
        pools.append(
            ("inner-alpha-C", tuple(f"alpha={a:g},C={c:g}" for a in alphas for c in cs))
        )
    for name, pool in pools:
        chosen[name] = max(pool, key=lambda v: np.mean(inner_f1[v]))
        scores[name] = scores[chosen[name]]
    return scores, chosen


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.dataset == "synthetic":
        data = load_builtin("synthetic", n_samples=args.n_samples)
    else:
        data = load_builtin("elpv", target=args.target)
    y = np.asarray(data.y).astype(str)
    start = time.perf_counter()
    folds = StratifiedKFold(5, shuffle=True, random_state=args.seed)
    results = Parallel(n_jobs=args.n_jobs)(
        delayed(outer_fold)(
            data, train, test, args.seed, args.cache_dir, args.alphas, args.cs
        )
        for train, test in folds.split(np.zeros(len(y)), y)
    )
    table = {v: [r[0][v] for r in results] for v in results[0][0]}
    chosen = [r[1] for r in results]
    print(f"{args.dataset} ({len(y)} images), 5-fold CV, seed {args.seed}:")
    for v, values in table.items():
        print(f"  {v:9s} macro-F1 {np.mean(values):.4f} (folds {np.round(values, 3)})")
    for name in chosen[0]:
        print(f"  {name} chose: {[c[name] for c in chosen]}")
    print(f"  {time.perf_counter() - start:.0f} s")
    if args.out:
        summary = {
            "dataset": args.dataset,
            "n_images": len(y),
            "command": "python experiments/codebook_weight.py "
            + " ".join(sys.argv[1:] if argv is None else argv),
            "f1_macro": {v: float(np.mean(s)) for v, s in table.items()},
            "folds": table,
            "chosen": chosen,
        }
        with open(args.out, "w") as fh:
            json.dump(summary, fh, indent=2)


if __name__ == "__main__":
    main()
