"""``featcls compare``: every model on the same folds, with an HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from featcls.cli._common import (
    check_options,
    check_out_dir,
    command_line,
    echo_skipped,
    fail,
    run_guarded,
)
from featcls.cli._config import apply_config
from featcls.cli._options import (
    DATASET,
    MODELS_HELP,
    CacheOpt,
    Channels,
    ChannelsOpt,
    DataOpt,
    DatasetOpt,
    DatasetOptions,
    FeaturesOpt,
    FoldColOpt,
    GroupColOpt,
    ImageColOpt,
    Imbalance,
    LabelColOpt,
    ManifestOpt,
    MaskColOpt,
    MaskPolicy,
    MaskPolicyOpt,
    MasksOpt,
    NJobsOpt,
    OnErrorOpt,
    SamplesOpt,
    SeedOpt,
    SizeOpt,
    TargetOpt,
    imbalance_option,
)

__all__ = ["compare"]

ImbalanceOpt = imbalance_option(
    "Remedy for imbalanced classes (resampling happens inside the training folds "
    "only).",
    panel="Models",
)


def compare(
    ctx: typer.Context,
    data: DataOpt = DATASET.data,
    masks: MasksOpt = DATASET.masks,
    manifest: ManifestOpt = DATASET.manifest,
    image_col: ImageColOpt = DATASET.image_col,
    label_col: LabelColOpt = DATASET.label_col,
    mask_col: MaskColOpt = DATASET.mask_col,
    group_col: GroupColOpt = DATASET.group_col,
    fold_col: FoldColOpt = None,
    dataset: DatasetOpt = DATASET.dataset,
    target: TargetOpt = DATASET.target,
    n_samples: SamplesOpt = DATASET.n_samples,
    image_size: SizeOpt = DATASET.image_size,
    models: Annotated[
        str,
        typer.Option(
            "--models",
            help=MODELS_HELP,
            rich_help_panel="Models",
        ),
    ] = "svm,xgboost",
    features: FeaturesOpt = None,
    mask: MaskPolicyOpt = MaskPolicy["auto"],
    channels: ChannelsOpt = Channels["gray"],
    folds: Annotated[
        int,
        typer.Option(
            "--folds", help="Outer cross-validation folds.", rich_help_panel="Models"
        ),
    ] = 5,
    repeats: Annotated[
        int,
        typer.Option(
            "--repeats",
            help="Repetitions of the k-fold split.",
            rich_help_panel="Models",
        ),
    ] = 1,
    imbalance: ImbalanceOpt = Imbalance["class_weight"],
    search: Annotated[
        bool,
        typer.Option(
            "--search/--no-search",
            help="Inner grid search of hyper-parameters (nested CV).",
            rich_help_panel="Models",
        ),
    ] = False,
    drop_rare: Annotated[
        bool,
        typer.Option(
            "--drop-rare",
            help="Leave out classes with fewer images than folds instead of stopping.",
            rich_help_panel="Models",
        ),
    ] = False,
    cnn_epochs: Annotated[
        int,
        typer.Option(
            "--cnn-epochs",
            help="Maximum training epochs of the CNN and "
            "fusion models (early stopping may end sooner).",
            rich_help_panel="Models",
        ),
    ] = 30,
    cnn_size: Annotated[
        int,
        typer.Option(
            "--cnn-size",
            help="Input size in pixels of the CNN and fusion "
            "models (images are resized to it).",
            rich_help_panel="Models",
        ),
    ] = 96,
    train_sizes: Annotated[
        str | None,
        typer.Option(
            "--train-sizes",
            help="Learning curves: fractions of each fold's training part, e.g. "
            "0.1,0.25,0.5,1. Every model is also trained on nested, stratified "
            "subsets of each fold's training images and tested on the same test "
            "fold (costs one more fit per size).",
            rich_help_panel="Models",
        ),
    ] = None,
    seed: SeedOpt = DATASET.seed,
    n_jobs: NJobsOpt = 1,
    cache_dir: CacheOpt = None,
    on_error: OnErrorOpt = DATASET.on_error,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Output folder: report.html, results.json, fold_scores.csv, "
            "leaderboard.csv.",
        ),
    ] = Path("featcls-out"),
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help='TOML file with the same settings (e.g. models = ["svm"], '
            "folds = 5); command-line options win.",
        ),
    ] = None,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress", help="Progress bars (default: on a terminal)."
        ),
    ] = None,
) -> None:
    """Cross-validated comparison of models on one dataset, with an HTML report.

    Every model runs on the same stratified (or grouped, or --fold-col predefined)
    folds; the leaderboard of macro-F1 is printed and report.html, results.json and
    CSVs are written to --out. With no dataset option it runs on the built-in
    synthetic dataset. A model that fails on every fold makes the run exit with
    status 1, once the report (with the tracebacks) is written.
    """
    from types import SimpleNamespace

    v = SimpleNamespace(**apply_config(ctx, config, dict(ctx.params)))
    check_options(vars(v))
    check_out_dir(v.out)
    sizes = parse_train_sizes(v.train_sizes)

    def work():
        from featcls.evaluation import compare as run_compare
        from featcls.evaluation import predefined_splits
        from featcls.features import FeatureExtractor
        from featcls.models import build_models, threads_per_model
        from featcls.report import write_outputs

        if v.fold_col is not None and v.repeats != 1:
            fail("--repeats does not apply with --fold-col (one fixed split).")
        if v.fold_col is not None and v.drop_rare:
            fail(
                "--drop-rare applies to k-fold CV only; with --fold-col, leave rare "
                "classes out of the manifest."
            )
        ds = DatasetOptions.of(v).load()
        if ds.y is None:
            fail("the dataset has no labels; give --label-col.")
        extractor = FeatureExtractor(
            families=v.features,
            channels=v.channels.value,
            mask=v.mask.value,
            n_jobs=v.n_jobs,
            cache_dir=v.cache_dir,
            progress=v.progress,
        )
        command = command_line(ctx, vars(v))
        cv, cv_text = v.folds, f"{v.folds}-fold CV × {v.repeats}"
        if v.fold_col is not None:
            cv = predefined_splits(ds.X, v.fold_col, name="--fold-col")
            cv_text = f"{len(cv)} predefined folds ('{v.fold_col}')"
        models = build_models(
            v.models,
            imbalance=v.imbalance.value,
            search=v.search,
            random_state=v.seed,
            # --n-jobs processes fit side by side: the CPUs are shared out.
            n_jobs=threads_per_model(v.n_jobs),
            features=extractor,
            cnn_params={"max_epochs": v.cnn_epochs, "input_size": v.cnn_size},
        )
        result = run_compare(
            models,
            ds.X,
            ds.y,
            groups=ds.groups,
            cv=cv,
            repeats=v.repeats,
            random_state=v.seed,
            n_jobs=v.n_jobs,
            features=extractor,
            drop_rare_classes=v.drop_rare,
            train_sizes=sizes,
            dataset=ds,
            progress=v.progress,
            command=command,
        )
        paths = write_outputs(result, v.out)
        typer.echo(
            f"{ds.name}: {len(result.y)} images, {len(result.classes)} classes, "
            f"{cv_text} (seed {v.seed}), "
            f"{result.timing['total']:.1f} s"
        )
        if result.settings.get("dropped_classes"):
            dropped = ", ".join(f"'{c}'" for c in result.settings["dropped_classes"])
            typer.echo(f"left out rare classes (--drop-rare): {dropped}")
        typer.echo(result.summary())
        echo_skipped(ds.skipped)
        failed = result.errors()
        if len(failed):
            typer.echo(
                f"{len(failed)} fit(s) failed; tracebacks in the report.", err=True
            )
        typer.echo(f"report: {paths['report']}")
        try:
            typer.echo(result.verdict())
        except Exception as exc:  # a summary: the outputs are written, go on
            typer.echo(
                f"featcls: warning: no verdict ({type(exc).__name__}: {exc}).",
                err=True,
            )
        fail_if_a_model_failed_everywhere(result, paths["report"])

    run_guarded(work)


def parse_train_sizes(value) -> list[float] | None:
    """``--train-sizes`` (``"0.1,0.25,1"``, or a list from --config) as fractions.

    One line and exit 1 for anything else, before any work.
    """
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else value
    try:
        sizes = [float(item) for item in items if not isinstance(item, bool)]
    except (TypeError, ValueError):
        sizes = []
    if isinstance(items, list) and len(sizes) != len(items):
        sizes = []  # a bool in a --config list
    if not sizes or not all(0 < s <= 1 for s in sizes):
        fail(
            "--train-sizes must be fractions of each fold's training part in (0, 1], "
            f"separated by commas (e.g. 0.1,0.25,0.5,1). Got {value!r}."
        )
    return sizes


def fail_if_a_model_failed_everywhere(result, report: Path) -> None:
    """Exit 1, with one line per model, if a model failed on every fold.

    Called once the outputs are written, so the report holds the tracebacks. A
    model that failed on some folds only is reported, not fatal.
    """
    errors = result.errors()
    errors = errors[errors["fraction"] == 1]  # the learning curves' fits aside
    failed_everywhere = [
        m
        for m in result.models
        if result.folds and (errors["model"] == m).sum() == len(result.folds)
    ]
    for model in failed_everywhere:
        first = errors.loc[errors["model"] == model, "error"].iloc[0] or ""
        last_line = (first.strip().splitlines() or ["unknown error"])[-1]
        typer.echo(
            f"featcls: error: {model} failed on every fold ({last_line}); the "
            f"tracebacks are in {report}.",
            err=True,
        )
    if failed_everywhere:
        raise typer.Exit(code=1)
