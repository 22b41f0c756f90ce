"""``featcls compare``: every model on the same folds, with an HTML report."""

from __future__ import annotations

import dataclasses
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from featcls._policies import AGGREGATIONS
from featcls.cli._common import (
    check_options,
    check_out_dir,
    check_scheduler,
    command_line,
    echo_skipped,
    fail,
    mask_policy,
    run_guarded,
)
from featcls.cli._config import apply_config
from featcls.cli._options import (
    DATASET,
    MODELS_HELP,
    CacheOpt,
    ChannelFilesOpt,
    ChannelNamesOpt,
    Channels,
    ChannelsOpt,
    ClassOrderOpt,
    CnnBackboneLrOpt,
    CnnEpochsOpt,
    CnnFreezeEpochsOpt,
    CnnModuleOpt,
    CnnSizeOpt,
    CnnWeightsOpt,
    CropOpt,
    DataOpt,
    DatasetOpt,
    DatasetOptions,
    EmbeddingArchitecture,
    EmbeddingArchitectureOpt,
    EmbeddingLayerOpt,
    EmbeddingModuleOpt,
    EmbeddingWeightsOpt,
    FeaturesOpt,
    FoldColOpt,
    GroupColOpt,
    ImageColOpt,
    Imbalance,
    InputOptions,
    InputSizeOpt,
    LabelColOpt,
    LabelNamesOpt,
    LabelSepOpt,
    ManifestOpt,
    MarginOpt,
    MaskColOpt,
    MaskOutOpt,
    MaskPolicy,
    MaskPolicyOpt,
    MasksOpt,
    NJobsOpt,
    OnErrorOpt,
    PretrainAugmentOpt,
    PretrainEpochsOpt,
    PretrainOpt,
    SamplesOpt,
    SchedulerOpt,
    SeedOpt,
    SizeOpt,
    TargetOpt,
    check_class_order,
    class_counts,
    default_families,
    feature_families,
    image_models,
    imbalance_option,
    parse_class_order,
)
from featcls.cli._resume import Checkpoint, FreshOpt

__all__ = ["compare"]

#: --aggregate: how image probabilities become a group's score.
Aggregate = Enum("Aggregate", [(v, v) for v in AGGREGATIONS], type=str)

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
    channel_files: ChannelFilesOpt = DATASET.channel_files,
    channel_names: ChannelNamesOpt = DATASET.channel_names,
    label_sep: LabelSepOpt = DATASET.label_sep,
    label_names: LabelNamesOpt = DATASET.label_names,
    models: Annotated[
        str,
        typer.Option(
            "--models",
            help=MODELS_HELP,
            rich_help_panel="Models",
        ),
    ] = "svm,xgboost",
    features: FeaturesOpt = None,
    embedding_weights: EmbeddingWeightsOpt = None,
    embedding_module: EmbeddingModuleOpt = None,
    embedding_architecture: EmbeddingArchitectureOpt = EmbeddingArchitecture["lipnet"],
    embedding_layer: EmbeddingLayerOpt = None,
    mask: MaskPolicyOpt = MaskPolicy["auto"],
    channels: ChannelsOpt = Channels["gray"],
    crop: CropOpt = False,
    margin: MarginOpt = None,
    mask_out: MaskOutOpt = False,
    size: InputSizeOpt = None,
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
    holdout: Annotated[
        float | None,
        typer.Option(
            "--holdout",
            help="One stratified (with --group-col or --aggregate-by: grouped) "
            "train/test split instead of k-fold CV, with this share of the images "
            "in the test part, e.g. 0.2. No intervals or paired tests (one split).",
            rich_help_panel="Models",
        ),
    ] = None,
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
    cnn_epochs: CnnEpochsOpt = 30,
    cnn_size: CnnSizeOpt = None,
    cnn_module: CnnModuleOpt = None,
    cnn_weights: CnnWeightsOpt = None,
    cnn_freeze_epochs: CnnFreezeEpochsOpt = 0,
    cnn_backbone_lr: CnnBackboneLrOpt = 1.0,
    pretrain: PretrainOpt = None,
    pretrain_epochs: PretrainEpochsOpt = None,
    pretrain_augment: PretrainAugmentOpt = None,
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
    threshold: Annotated[
        str | None,
        typer.Option(
            "--threshold",
            help="Two classes: how each fit's decision threshold is chosen, inside "
            "its training folds (inner 3-fold CV): youden (Youden's J), f1 (F1 of "
            "the positive class) or sensitivity:0.95 (the highest threshold with at "
            "least that sensitivity). Also chooses the group threshold with "
            "--aggregate-by. Default: the class with the higher probability (0.5).",
            rich_help_panel="Decisions",
        ),
    ] = None,
    pos_label: Annotated[
        str | None,
        typer.Option(
            "--pos-label",
            help="The positive class for --threshold and --aggregate-by (default: "
            "the obvious one of 0/1, negative/positive ..., else the rarer class).",
            rich_help_panel="Decisions",
        ),
    ] = None,
    aggregate_by: Annotated[
        str | None,
        typer.Option(
            "--aggregate-by",
            help="Manifest column (patient, slide ...) to answer per group as well "
            "as per image: folds are grouped by it and each group's images' "
            "probabilities aggregated (--aggregate). Two classes.",
            rich_help_panel="Decisions",
        ),
    ] = None,
    aggregate_with: Annotated[
        Aggregate,
        typer.Option(
            "--aggregate",
            help="A group's score: mean or max of its images' probabilities, or the "
            "fraction of its images called positive.",
            rich_help_panel="Decisions",
        ),
    ] = Aggregate["mean"],
    group_label_col: Annotated[
        str | None,
        typer.Option(
            "--group-label-col",
            help="Manifest column with the truth per group (the same for all its "
            "images). Default: a group is positive when any of its images is.",
            rich_help_panel="Decisions",
        ),
    ] = None,
    class_order: ClassOrderOpt = None,
    seed: SeedOpt = DATASET.seed,
    n_jobs: NJobsOpt = 1,
    scheduler: SchedulerOpt = None,
    cache_dir: CacheOpt = None,
    fresh: FreshOpt = False,
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
    families = feature_families(v.features, v)
    order = parse_class_order(v.class_order, v.models)
    check_out_dir(v.out)
    sizes = parse_train_sizes(v.train_sizes)
    inputs = InputOptions.of(v, ctx)
    check_scheduler(v.scheduler)
    if v.group_label_col is not None and v.aggregate_by is None:
        fail("--group-label-col needs --aggregate-by (the groups it labels).")
    if v.aggregate_by is None and (
        _given(ctx, "aggregate_with") or v.aggregate_with.value != "mean"
    ):
        fail("--aggregate needs --aggregate-by (the groups whose images it pools).")
    pretrain = _pretrain_setting(v)

    def work():
        from featcls.evaluation import HoldOut, predefined_splits, pretraining_notes
        from featcls.evaluation import compare as run_compare
        from featcls.evaluation._decision import parse_threshold

        try:
            parse_threshold(v.threshold)
        except ValueError as exc:
            fail(f"--threshold: {exc}")
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
        if v.holdout is not None:
            clash = [
                option
                for option, given in (
                    ("--fold-col", v.fold_col is not None),
                    ("--repeats", v.repeats != 1),
                    ("--drop-rare", v.drop_rare),
                    ("--folds", _given(ctx, "folds") or v.folds != 5),
                )
                if given
            ]
            if clash:
                fail(f"--holdout is one split: it does not combine with {clash[0]}.")
            if not 0 < v.holdout <= 0.5:
                fail(
                    "--holdout is the test part's share of the images, in (0, 0.5] "
                    f"(e.g. 0.2); got {v.holdout}."
                )
        texts = _text_columns(v)
        ds = dataclasses.replace(DatasetOptions.of(v), text_cols=texts).load()
        if ds.y is None:
            fail("the dataset has no labels; give --label-col.")
        checkpoint = Checkpoint(v.out / "checkpoint", fresh=v.fresh)
        cv, cv_text = v.folds, f"{v.folds}-fold CV × {v.repeats}"
        if v.fold_col is not None:
            cv = predefined_splits(ds.X, v.fold_col, name="--fold-col")
            cv_text = f"{len(cv)} predefined folds ('{v.fold_col}')"
        if v.holdout is not None:
            cv = HoldOut(v.holdout, random_state=v.seed)
            cv_text = f"one hold-out split ({v.holdout:.0%} test)"
        chosen, features_note = default_families(
            families, v.models, _training_counts(ds, v, cv, sizes)
        )
        extractor = FeatureExtractor(
            families=chosen,
            channels=v.channels.value,
            mask=mask_policy(ctx, ds),
            **inputs.features(),
            n_jobs=v.n_jobs,
            # Without a cache of the user's, finished chunks of features are kept
            # with the checkpoint, so a killed run does not extract them again.
            cache_dir=v.cache_dir or checkpoint.features,
            progress=v.progress,
        )
        command = command_line(ctx, vars(v))
        pixels = image_models(v.models)
        _check_cnn_channels(inputs, pixels, ds)
        if order is not None and ds.multilabel:
            fail(
                "--class-order orders the classes of one label per sample; "
                "these samples have several labels."
            )
        models = build_models(
            v.models,
            order=check_class_order(order, ds.y),
            imbalance=v.imbalance.value,
            search=v.search,
            random_state=v.seed,
            # --n-jobs processes fit side by side: the CPUs are shared out.
            n_jobs=threads_per_model(v.n_jobs),
            features=extractor,
            cnn_params={
                "max_epochs": v.cnn_epochs,
                **inputs.cnn(v.cnn_size, pixels),
                "module": v.cnn_module,
                "weights": None if v.cnn_weights is None else str(v.cnn_weights),
                "freeze_epochs": v.cnn_freeze_epochs,
                "backbone_lr": v.cnn_backbone_lr,
            },
        )
        answers = group_labels = None
        if v.aggregate_by is not None:
            answers = _column(ds, v.aggregate_by, v.group_col, "--aggregate-by")
        if v.group_label_col is not None:
            group_labels = _column(
                ds, v.group_label_col, v.group_col, "--group-label-col"
            )
        result = run_compare(
            models,
            ds.X,
            ds.targets,
            groups=ds.groups,
            threshold=v.threshold,
            pos_label=v.pos_label,
            aggregate_by=answers,
            aggregate_with=v.aggregate_with.value,
            group_labels=group_labels,
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
            scheduler=v.scheduler,
            checkpoint=checkpoint.folder,
            pretrain=pretrain,
        )
        # The manifest's column names, not "given values": the values came from them.
        for key, column in (
            ("aggregate_by", v.aggregate_by),
            ("group_labels", v.group_label_col),
        ):
            if column is not None:
                result.settings[key] = column
        lost = _groups_without_images(v, ds)
        if lost:
            result.settings["groups_without_images"] = lost
        paths = write_outputs(result, v.out)
        checkpoint.done()
        typer.echo(
            f"{ds.name}: {len(result.y)} images, {len(result.classes)} "
            f"{'labels (multi-label)' if result.multilabel else 'classes'}, "
            f"{cv_text} (seed {v.seed}), "
            f"{result.timing['total']:.1f} s"
        )
        if features_note:
            typer.echo(features_note)
        if result.settings.get("dropped_classes"):
            dropped = ", ".join(f"'{c}'" for c in result.settings["dropped_classes"])
            typer.echo(f"left out rare classes (--drop-rare): {dropped}")
        typer.echo(result.summary())
        for note in pretraining_notes(result.settings):
            typer.echo(f"pretraining: {note}")
        if result.multilabel and v.threshold is not None:
            typer.echo(
                f"thresholds: {result.settings['threshold']}, chosen per label "
                "inside each training fold"
            )
        elif v.threshold is not None or v.aggregate_by is not None:
            typer.echo(decision_lines(result, v.aggregate_by))
        echo_skipped(ds.skipped)
        if lost:
            shown = ", ".join(lost[:10]) + (" ..." if len(lost) > 10 else "")
            typer.echo(
                f"featcls: warning: {len(lost)} {v.aggregate_by} group(s) have no "
                f"usable image (every one was skipped), so no answer: {shown}.",
                err=True,
            )
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


def _training_counts(ds, v, cv, sizes) -> dict:
    """Class → the fewest training images it keeps in any fit of the run.

    From the class counts and the folds (k-fold: ``n - ceil(n / k)``; a hold-out
    split: ``n - ceil(n · test share)``; --fold-col: counted in each predefined
    training part), times the smallest --train-sizes fraction. Grouped folds are
    not even, so this is an estimate there. Classes that --drop-rare leaves out
    are not counted.
    """
    import math

    import numpy as np

    counts = class_counts(ds.targets, ds.classes)
    if isinstance(cv, list):  # predefined folds: counted in each training part
        targets = np.asarray(ds.targets)
        parts = [class_counts(targets[train], ds.classes) for train, _ in cv]
        counts = {c: min(part.get(c, 0) for part in parts) for c in counts}
    else:
        k = v.folds
        if v.drop_rare and not ds.multilabel:
            counts = {c: n for c, n in counts.items() if n >= k}
        share = v.holdout if v.holdout is not None else 1 / k
        counts = {c: n - math.ceil(n * share) for c, n in counts.items()}
    smallest = min(sizes) if sizes else 1.0
    return {c: int(math.floor(n * smallest)) for c, n in counts.items()}


def _pretrain_setting(v):
    """The ``pretrain`` of compare: None, ``"fold"`` or a dict of settings."""
    from featcls.cli._pretrain import parse_augment

    mode = getattr(v.pretrain, "value", v.pretrain)
    if mode is None:
        for option, value in (
            ("--pretrain-epochs", v.pretrain_epochs),
            ("--pretrain-augment", v.pretrain_augment),
        ):
            if value is not None:
                fail(f"{option} needs --pretrain fold (the pretraining it sets).")
        return None
    embedding = "embedding" in [f.strip() for f in (v.features or "").split(",")]
    if not image_models(v.models) and not embedding:
        fail(
            f"--pretrain {mode} pretrains the CNN and fusion models and the network "
            f"of the embedding features; --models {v.models} has no CNN or fusion "
            "model and --features no embedding."
        )
    settings = {}
    if v.pretrain_epochs is not None:
        settings["epochs"] = v.pretrain_epochs
    if v.pretrain_augment is not None:
        settings["augment"] = parse_augment(v.pretrain_augment, "--pretrain-augment")
    return settings or mode


def _check_cnn_channels(inputs, models: list[str], ds) -> None:
    """Stop with one line if the CNNs cannot take the --channels policy.

    A chosen policy applies to the CNN and fusion models as to the features; an
    RGB or HSV policy of grey images would otherwise fail on every fold. The
    first image is tried.
    """
    policy = inputs.cnn_channels
    if policy not in ("rgb", "hsv") or not models or not len(ds):
        return
    from featcls.cli._common import cli_spelling
    from featcls.data import ChannelFiles, read_image, split_channels, to_float
    from featcls.exceptions import SettingError, spell_message

    source = ds.X["image"].iloc[0]
    names = source.names if isinstance(source, ChannelFiles) else None
    label = repr(str(source)) if isinstance(source, (str, ChannelFiles)) else "sample 0"
    try:
        split_channels(to_float(read_image(source)), policy, names=names)
    except SettingError as exc:
        fail(
            f"--channels {policy} applies to {', '.join(models)} as to the "
            f"features, but not to the first image, {label}: "
            + spell_message(exc, cli_spelling)
        )


def _text_columns(v) -> tuple[str, ...]:
    """The manifest columns of --aggregate-by and --group-label-col, read as text.

    Only those the manifest has: a missing one is reported by ``_column``.
    """
    wanted = [c for c in (v.aggregate_by, v.group_label_col) if c]
    if not wanted or v.manifest is None:
        return ()
    import pandas as pd

    try:
        header = set(pd.read_csv(v.manifest, nrows=0).columns)
    except (OSError, ValueError):
        return ()  # the dataset loader reports an unreadable manifest
    return tuple(c for c in wanted if c in header)


def _groups_without_images(v, ds) -> list[str]:
    """--aggregate-by groups of the manifest all of whose rows were skipped."""
    if v.aggregate_by is None or v.manifest is None or not len(ds.skipped):
        return []
    import pandas as pd

    listed = pd.read_csv(v.manifest, dtype=str, keep_default_na=False)
    if v.aggregate_by not in listed.columns:
        return []
    kept = {str(g).strip() for g in _column(ds, v.aggregate_by, v.group_col, "")}
    named = {g.strip() for g in listed[v.aggregate_by] if g.strip()}
    return sorted(named - kept)


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether option ``name`` was given on the command line."""
    source = ctx.get_parameter_source(name)
    return getattr(source, "name", None) == "COMMANDLINE"


def _column(ds, name: str, group_col: str | None, option: str):
    """A manifest column of the loaded dataset, by name, for ``option``."""
    if name == group_col:
        return ds.groups
    if name not in ds.X.columns:
        usable = [c for c in ds.X.columns if c not in ("image", "mask", "relpath")]
        fail(
            f"{option} {name!r} is not a column of the manifest (or it is the label "
            f"column); its other columns are {usable or 'none'}."
        )
    return ds.X[name].to_numpy(dtype=object)


def decision_lines(result, aggregate_by: str | None) -> str:
    """The image- and group-level scores of the positive class, as text."""
    summary = result.decision_summary()
    rule = result.settings.get("threshold") or "0.5"
    lines = [
        f"positive class: {result.settings.get('pos_label')}; threshold: {rule}"
        + (f"; groups: {aggregate_by}" if aggregate_by else "")
    ]
    lines.append(
        f"{'model':<18} {'level':<6} {'sens.':>6} {'spec.':>6} {'PPV':>6} "
        f"{'NPV':>6} {'F1':>6}"
    )

    def fmt(value) -> str:
        return f"{value:.3f}" if value == value else "-"

    for (model, level), row in summary.iterrows():
        lines.append(
            f"{model:<18} {level:<6} "
            + " ".join(
                f"{fmt(row[k]):>6}"
                for k in ("sensitivity", "specificity", "ppv", "npv", "f1")
            )
        )
    return "\n".join(lines)


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
