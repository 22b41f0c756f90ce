"""Self-supervised pretraining on ELPV, inside the folds: does it help the CNN arm?

The benchmark's CNNs (``run.py``) start from random weights. Here the same LipNet,
on the same 5 folds as ``run.py`` (stratified, seed ``--seed``) and with the same
training settings, is first pretrained without labels by VICReg on each fold's
training images only (``CNNClassifier(pretrain=...)``, what ``compare(...,
pretrain="fold")`` sets), then fine-tuned on the labels (the backbone frozen for
``--freeze-epochs``, then at ``--backbone-lr`` times the head's rate); and the
pooled activations of a LipNet pretrained the same way on each training fold (the
``embedding`` family, pretrained per fold by ``compare(..., pretrain=...)``) feed
the RBF SVM next to the nine default feature families. No
test image is ever seen by a pretraining (the report's "Self-supervised
pretraining" section counts them):

    python experiments/elpv/self_supervised.py --out reports/elpv/ssl/cnn
    python experiments/elpv/self_supervised.py --models svm-embedding-ssl \
        --out reports/elpv/ssl/embedding

Outputs in ``--out`` (default ``reports/elpv/ssl/cnn``): ``report.html``,
``results.json`` and ``summary.md`` (the table the benchmark docs copy, with the
command, hardware and wall time).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shlex
import sys
import time
from pathlib import Path

from featcls import FeatureExtractor, compare, load_builtin
from featcls.features import EmbeddingFeatures
from featcls.models import CNNClassifier, build_model, threads_per_model
from featcls.report import write_outputs

_spec = importlib.util.spec_from_file_location(
    "elpv_run", Path(__file__).with_name("run.py")
)
run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run)

MODELS = ("cnn-lipnet", "cnn-lipnet-ssl", "svm-embedding-ssl")
#: The default run: the two CNNs (the embedding's SVM runs on its own, see below).
CNN_MODELS = ("cnn-lipnet", "cnn-lipnet-ssl")
#: The views of the pretraining. Crops and the dihedral group as in featcls's
#: defaults; milder photometric changes, since on electroluminescence images the
#: darkness of a region is the defect.
SSL_AUGMENT = {"brightness": 0.1, "contrast": 0.2, "noise": 0.02}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]),
    )
    parser.add_argument(
        "--models",
        default=",".join(CNN_MODELS),
        help="cnn-lipnet and/or cnn-lipnet-ssl; or svm-embedding-ssl alone",
    )
    parser.add_argument("--target", default="defective", choices=run.TARGETS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--cnn-size", type=int, default=64)
    parser.add_argument("--cnn-epochs", type=int, default=30)
    parser.add_argument("--cnn-patience", type=int, default=8)
    parser.add_argument("--pretrain-epochs", type=int, default=100)
    parser.add_argument(
        "--freeze-epochs",
        type=int,
        default=2,
        help="fine-tuning of the pretrained CNN: epochs with the backbone frozen",
    )
    parser.add_argument(
        "--backbone-lr",
        type=float,
        default=0.3,
        help="fine-tuning of the pretrained CNN: the backbone's learning rate as a "
        "multiple of the head's",
    )
    parser.add_argument("--cache-dir", default=".featcls-cache")
    parser.add_argument("--out", type=Path, default=Path("reports/elpv/ssl/cnn"))
    args = parser.parse_args(argv)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(args.models) - set(MODELS))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {list(MODELS)}")
    if "svm-embedding-ssl" in args.models and len(args.models) > 1:
        # compare(pretrain=...) would pretrain the from-scratch CNN as well.
        parser.error("run svm-embedding-ssl on its own (--models svm-embedding-ssl)")
    args.quick = False
    return args


def pretrain_settings(args) -> dict:
    """VICReg's settings, for the CNN's and for the embedding's pretraining."""
    return {"epochs": args.pretrain_epochs, "augment": dict(SSL_AUGMENT)}


def build(args) -> tuple[dict, FeatureExtractor]:
    """The models and the extractor of the feature model."""
    cnn = run.cnn_params(args)
    models = {}
    if "cnn-lipnet" in args.models:
        models["cnn-lipnet"] = CNNClassifier(
            architecture="lipnet", random_state=args.seed, **cnn
        )
    if "cnn-lipnet-ssl" in args.models:
        models["cnn-lipnet-ssl"] = CNNClassifier(
            architecture="lipnet",
            random_state=args.seed,
            pretrain=pretrain_settings(args),
            freeze_epochs=args.freeze_epochs,
            backbone_lr=args.backbone_lr,
            **cnn,
        )
    features = None
    if "svm-embedding-ssl" in args.models:
        # No weights: compare(pretrain=...) pretrains this network on each
        # training fold (on the main process's torch threads) before that fold's
        # features are extracted.
        embedding = EmbeddingFeatures(
            architecture="lipnet", input_size=args.cnn_size, device="cpu"
        )
        features = FeatureExtractor(
            families=["default", embedding],
            mask="full",
            cache_dir=args.cache_dir,
            n_jobs=args.n_jobs,
        )
        models["svm-embedding-ssl"] = build_model(
            "svm", random_state=args.seed, n_jobs=threads_per_model(args.n_jobs)
        )
    return models, features


def main(argv=None) -> None:
    args = parse_args(argv)
    command = "python experiments/elpv/self_supervised.py " + shlex.join(
        sys.argv[1:] if argv is None else argv
    )
    start = time.perf_counter()
    data = load_builtin("elpv", target=args.target)
    models, features = build(args)
    print(f"{len(data)} cells, {args.folds}-fold CV: {list(models)}", flush=True)
    result = compare(
        models,
        data.X,
        data.y,
        cv=args.folds,
        features=features,
        n_jobs=args.n_jobs,
        random_state=args.seed,
        dataset=data,
        command=command,
        progress=sys.stderr.isatty(),
        importance=False,
        pretrain=pretrain_settings(args) if features is not None else None,
    )
    wall = time.perf_counter() - start
    print(result.summary(), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    write_outputs(result, args.out)
    board = result.leaderboard()
    rows = [
        f"| {m} | {board.loc[m, 'f1_macro']:.3f} | "
        f"{run.scores_of(result, m)['f1_macro']:.3f} |"
        for m in board.index
    ]
    summary = {
        "command": command,
        "hardware": run.hardware(result),
        "wall_s": round(wall, 1),
        "pretrain": pretrain_settings(args),
        "fine_tuning": {
            "freeze_epochs": args.freeze_epochs,
            "backbone_lr": args.backbone_lr,
        },
        "pretrained_on": result.settings.get("pretrained_on"),
    }
    (args.out / "summary.md").write_text(
        f"`{command}` — {args.target}, {args.folds}-fold CV, {wall / 60:.0f} min\n\n"
        "| model | macro-F1 (fold mean) | macro-F1 (pooled) |\n|---|---|---|\n"
        + "\n".join(rows)
        + "\n\n```json\n"
        + json.dumps(summary, indent=2, default=str)
        + "\n```\n"
    )
    print((args.out / "summary.md").read_text(), flush=True)


if __name__ == "__main__":
    main()
