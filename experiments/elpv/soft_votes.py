"""Does a soft vote of the feature models beat the SVM on ELPV?

Each vote averages the class probabilities of its members (equal weights), every
member fitted on its own inside the training folds. On the benchmark's 5 folds
(seed 0, as ``featcls.compare``), with the benchmark's features (the nine default
families and the default codebook ``VLADFeatures()``, fitted on each training
fold, ``mask="full"``):

- ``defective``: ``ensemble`` (svm, xgboost and logreg by name) and svm + xgboost;
- ``defect_level``: the ordinal models, svm-, xgboost- and logreg-ordinal, and
  svm- + xgboost-ordinal.

    python experiments/elpv/soft_votes.py --target defective --cache-dir .cache
    python experiments/elpv/soft_votes.py --target defect_level --cache-dir .cache

Prints the leaderboard. The benchmark's best single models on the same folds:
``svm`` 0.819 (defective) and ``svm-ordinal`` 0.574 (defect_level).
"""

from __future__ import annotations

import argparse
import time
import warnings

from sklearn.ensemble import VotingClassifier

from featcls import FeatureExtractor, load_builtin
from featcls.evaluation import compare
from featcls.exceptions import FeatureWarning
from featcls.features import DEFAULT_FAMILIES, VLADFeatures
from featcls.models import build_models


def votes(target: str) -> dict:
    """The soft votes compared on ``target``, by name."""
    if target == "defective":
        members = build_models(["svm", "xgboost"])
        return {
            **build_models(["ensemble"]),
            "svm+xgboost": VotingClassifier(list(members.items()), voting="soft"),
        }
    members = build_models(
        ["svm-ordinal", "xgboost-ordinal", "logreg-ordinal"], order="sorted"
    )
    two = [(name, members[name]) for name in ("svm-ordinal", "xgboost-ordinal")]
    return {
        "ordinal vote of 3": VotingClassifier(list(members.items()), voting="soft"),
        "svm-ordinal+xgboost-ordinal": VotingClassifier(two, voting="soft"),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--target", choices=("defective", "defect_level"), required=True
    )
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    data = load_builtin("elpv", target=args.target)
    features = FeatureExtractor(
        families=[*DEFAULT_FAMILIES, VLADFeatures()],
        mask="full",
        cache_dir=args.cache_dir,
        n_jobs=args.n_jobs,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        # mask="full": the background columns are NaN by design.
        warnings.simplefilter("ignore", FeatureWarning)
        result = compare(
            votes(args.target),
            data.X,
            data.y,
            features=features,
            n_jobs=args.n_jobs,
            random_state=args.seed,
            importance=False,
            progress=False,
        )
    print(f"{args.target}: {time.perf_counter() - start:.0f} s")
    print(result.summary())


if __name__ == "__main__":
    main()
