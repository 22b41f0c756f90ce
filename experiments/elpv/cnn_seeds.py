"""One CNN setting on the ELPV 75/25 split, trained with several seeds.

Cross-validation (``run.py``) varies the data a model sees; this varies only the
seed of the network (initialisation, validation split, shuffling, augmentation,
dropout) on the fixed paper split of ``run.py`` (stratified 75/25 on defect
probability × cell type, split seed 0), to show how much of a CNN's score is luck:

    python experiments/elpv/cnn_seeds.py --seeds 0,1,2,3 --epochs 80 --patience 0

prints macro-F1 and accuracy per seed, their mean and standard deviation, and writes
them as JSON to ``--out`` (default ``featcls-out/elpv-cnn-seeds.json``). Seeds train
in parallel processes with one torch thread each (``--n-jobs``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

from featcls import load_builtin

_spec = importlib.util.spec_from_file_location(
    "elpv_run", Path(__file__).with_name("run.py")
)
run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]),
    )
    parser.add_argument("--seeds", default="0,1,2,3", help="network seeds")
    parser.add_argument("--model", default="cnn-lipnet")
    parser.add_argument("--target", default="defective", choices=run.TARGETS)
    parser.add_argument("--size", type=int, default=64, help="input size (px)")
    parser.add_argument("--epochs", type=int, default=80, help="max epochs")
    parser.add_argument(
        "--patience", type=int, default=0, help="early-stopping patience; 0: off"
    )
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument(
        "--out", type=Path, default=Path("featcls-out/elpv-cnn-seeds.json")
    )
    args = parser.parse_args(argv)
    args.seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    return args


def one_seed(data, split, args, seed: int) -> dict:
    settings = argparse.Namespace(
        n_jobs=args.n_jobs,
        cnn_size=args.size,
        cnn_epochs=args.epochs,
        cnn_patience=args.patience,
    )
    scores = run.split_scores(data, split, args.model, seed, run.cnn_params(settings))
    row = {"seed": seed, **scores, "seconds": round(scores["seconds"], 1)}
    print(json.dumps(row), flush=True)
    return row


def main(argv=None) -> dict:
    args = parse_args(argv)
    data = load_builtin("elpv", target=args.target)
    split = run.paper_split(data, args.split_seed)
    rows = Parallel(n_jobs=args.n_jobs)(
        delayed(one_seed)(data, split, args, seed) for seed in args.seeds
    )
    f1 = np.array([r["f1_macro"] for r in rows])
    acc = np.array([r["accuracy"] for r in rows])
    summary = {
        "command": "python experiments/elpv/cnn_seeds.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "target": args.target,
        "model": args.model,
        "train / test": f"{len(split[0])} / {len(split[1])}",
        "runs": rows,
        "f1_macro_mean": float(f1.mean()),
        "f1_macro_std": float(f1.std(ddof=1)) if len(f1) > 1 else float("nan"),
        "accuracy_mean": float(acc.mean()),
        "accuracy_std": float(acc.std(ddof=1)) if len(acc) > 1 else float("nan"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    print(
        f"{args.model} on {args.target}, {len(rows)} seeds: macro-F1 "
        f"{summary['f1_macro_mean']:.3f} ± {summary['f1_macro_std']:.3f}, accuracy "
        f"{summary['accuracy_mean']:.3f} ± {summary['accuracy_std']:.3f}"
    )
    return summary


if __name__ == "__main__":
    main()
