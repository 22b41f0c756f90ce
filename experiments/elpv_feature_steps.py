"""The first rows of the README's ELPV table: the default features alone.

Same folds as `featcls compare` (5-fold stratified, seed 0), target `defective`, SVM and
XGBoost on the nine default families, with the automatic Otsu mask and with the whole
cell as the object. Prints the fold-mean macro-F1 of each. Needs `featcls[elpv]`.

    python experiments/elpv_feature_steps.py [--cache-dir .featcls-cache] [--n-jobs 2]
"""

import argparse

from featcls import FeatureExtractor, compare, load_builtin


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", default=".featcls-cache")
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()
    data = load_builtin("elpv")
    for mask in ("auto", "full"):
        features = FeatureExtractor(
            mask=mask, cache_dir=args.cache_dir, n_jobs=args.n_jobs
        )
        result = compare(
            ["svm", "xgboost"],
            data.X,
            data.y,
            features=features,
            n_jobs=args.n_jobs,
            importance=False,
            dataset=data,
        )
        board = result.leaderboard()
        print(
            f"mask={mask}: "
            + ", ".join(f"{m} {board.loc[m, 'f1_macro']:.3f}" for m in result.models),
            flush=True,
        )


if __name__ == "__main__":
    main()
