"""``featcls train`` and ``featcls predict``: fit and save a model, then apply it."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer

from featcls.cli._common import (
    check_options,
    check_out_file,
    echo_skipped,
    fail,
    mask_policy,
    run_guarded,
)
from featcls.cli._options import (
    DATASET,
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
    SamplesOpt,
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
from featcls.cli._tiles import (
    BatchSizeOpt,
    ConfidenceOpt,
    MapsOpt,
    StrideOpt,
    ThresholdFoldsOpt,
    TileOpt,
    TileOptions,
    fit_threshold,
)
from featcls.models._registry import MODEL_SPECS

__all__ = ["load_unlabelled", "predict", "sample_names", "train"]

ImbalanceOpt = imbalance_option("Remedy for imbalanced classes.")


def train(
    ctx: typer.Context,
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="Model to fit (names as in 'featcls compare --models'); CNN and "
            "fusion models are saved as torch weights: give a .pt file name.",
        ),
    ] = "svm",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Model file; neither format executes code on loading. Default: "
            "model.skops, or model.pt for CNN and fusion models; a suffix that does "
            "not fit the model stops before training.",
        ),
    ] = None,
    data: DataOpt = DATASET.data,
    masks: MasksOpt = DATASET.masks,
    manifest: ManifestOpt = DATASET.manifest,
    image_col: ImageColOpt = DATASET.image_col,
    label_col: LabelColOpt = DATASET.label_col,
    mask_col: MaskColOpt = DATASET.mask_col,
    group_col: GroupColOpt = DATASET.group_col,
    dataset: DatasetOpt = DATASET.dataset,
    target: TargetOpt = DATASET.target,
    n_samples: SamplesOpt = DATASET.n_samples,
    image_size: SizeOpt = DATASET.image_size,
    channel_files: ChannelFilesOpt = DATASET.channel_files,
    channel_names: ChannelNamesOpt = DATASET.channel_names,
    label_sep: LabelSepOpt = DATASET.label_sep,
    label_names: LabelNamesOpt = DATASET.label_names,
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
    imbalance: ImbalanceOpt = Imbalance["class_weight"],
    class_order: ClassOrderOpt = None,
    cnn_epochs: CnnEpochsOpt = 30,
    cnn_size: CnnSizeOpt = None,
    cnn_module: CnnModuleOpt = None,
    cnn_weights: CnnWeightsOpt = None,
    cnn_freeze_epochs: CnnFreezeEpochsOpt = 0,
    cnn_backbone_lr: CnnBackboneLrOpt = 1.0,
    seed: SeedOpt = DATASET.seed,
    n_jobs: NJobsOpt = 1,
    cache_dir: CacheOpt = None,
    on_error: OnErrorOpt = DATASET.on_error,
    threshold_folds: ThresholdFoldsOpt = None,
) -> None:
    """Fit feature extraction + a model on all images and save it for 'predict'."""
    from featcls.models import check_model_path

    if model not in MODEL_SPECS:
        fail(f"Unknown model {model!r}. Known models: {', '.join(MODEL_SPECS)}.")
    # Image models are saved as torch weights.
    torch_model = MODEL_SPECS[model].consumes == "images"
    out = out or Path("model.pt" if torch_model else "model.skops")
    check_options(ctx.params)
    families = feature_families(features, ctx.params)
    order = parse_class_order(class_order, [model])
    inputs = InputOptions.of(ctx.params, ctx)
    cnn_params = {
        "max_epochs": cnn_epochs,
        **inputs.cnn(cnn_size, image_models(model)),
        "module": cnn_module,
        "weights": None if cnn_weights is None else str(cnn_weights),
        "freeze_epochs": cnn_freeze_epochs,
        "backbone_lr": cnn_backbone_lr,
    }
    if not torch_model and (cnn_module is not None or cnn_weights is not None):
        fail(
            f"--cnn-module and --cnn-weights apply to the CNN and fusion models; "
            f"--model {model} is fitted on hand-crafted features."
        )
    # The file format follows the model: refuse a mismatched suffix before fitting.
    run_guarded(lambda: check_model_path(out, torch_model=torch_model))
    check_out_file(out)

    def work():
        from featcls.features import FeatureExtractor
        from featcls.models import build_model, feature_pipeline, save_model

        ds = DatasetOptions.of(ctx.params).load()
        if ds.y is None:
            fail("the dataset has no labels; give --label-col.")
        if order is not None and ds.multilabel:
            fail(
                "--class-order orders the classes of one label per sample; these "
                "samples have several labels."
            )
        # The final fit sees every image: each class keeps all of its own.
        chosen, features_note = default_families(
            families, model, class_counts(ds.targets, ds.classes)
        )
        extractor = FeatureExtractor(
            families=chosen,
            channels=channels.value,
            mask=mask_policy(ctx, ds),
            **inputs.features(),
            n_jobs=n_jobs,
            cache_dir=cache_dir,
        )
        estimator = build_model(
            model,
            imbalance=imbalance.value,
            random_state=seed,
            features=extractor,
            cnn_params=cnn_params,
            order=check_class_order(order, ds.y),
        )
        estimator, targets, about = _targets(model, estimator, ds, seed)
        if torch_model:  # torch weights, loaded with weights_only=True
            estimator.fit(ds.X, targets)
            oof = fit_threshold(
                estimator, ds, threshold_folds, seed=seed, torch_model=True
            )
            save_model(estimator, out, metadata={"model": model, **about, **oof})
        else:
            pipe = feature_pipeline(extractor, estimator)
            pipe.fit(ds.X, targets)
            oof = fit_threshold(pipe, ds, threshold_folds, seed=seed, torch_model=False)
            pipe.set_params(features__n_jobs=1, features__cache_dir=None)
            save_model(
                pipe,
                out,
                metadata={
                    "model": model,
                    "classes": list(ds.classes),
                    "dataset": ds.name,
                    "n_samples": len(ds),
                    "imbalance": imbalance.value,
                    "seed": seed,
                    **about,
                    **oof,
                },
            )
        labels = f" ({len(ds.classes)} labels)" if ds.multilabel else ""
        typer.echo(f"{model} fitted on {len(ds)} images of {ds.name}{labels} → {out}")
        if features_note:
            typer.echo(features_note)

    run_guarded(work)


def _targets(name: str, estimator, ds, seed: int | None):
    """The estimator to fit, its targets and the model file's multi-label facts.

    Multi-label data: a feature model becomes one binary model per label
    (:class:`~featcls.models.PerLabelClassifier`, each label's threshold tuned for
    F1 on inner folds of the training data, as ``compare`` does); an image model
    must declare that it takes label matrices (``featcls_multilabel``).
    """
    if not ds.multilabel:
        return estimator, ds.y, {}
    from featcls.models import MODEL_SPECS, PerLabelClassifier

    labels = [str(c) for c in ds.classes]
    about = {"multilabel": True, "labels": labels}
    # Columns named by the labels (a CNN takes its classes_ from them).
    matrix = ds.label_matrix.astype(int)
    if MODEL_SPECS[name].consumes == "images":
        if not getattr(estimator, "featcls_multilabel", False):
            fail(
                f"--model {name} does not take multi-label targets (--label-sep); "
                "train a model on hand-crafted features (e.g. --model svm), which "
                "is fitted per label."
            )
        return estimator, matrix, about
    return (
        PerLabelClassifier(estimator, threshold="f1", random_state=seed),
        matrix,
        {
            **about,
            "label_threshold": "f1",
        },
    )


def load_unlabelled(params: dict, *, validate: bool = True):
    """The images to classify or explain: a ``--data`` folder or a ``--manifest``.

    ``params`` holds the command's ``data``, ``masks``, ``manifest``,
    ``image_col``, ``mask_col``, ``channel_files``, ``channel_names`` and
    ``on_error``. A folder is read with :func:`featcls.data.load_images` (any
    nesting, no labels); a manifest through :class:`DatasetOptions` without a
    label column, so a row may be one file per channel (``--channel-files``).
    Skipped files are not warned about here: the command lists them.
    """
    from featcls.data import load_images
    from featcls.exceptions import DataWarning

    data, manifest = params["data"], params["manifest"]
    if data is None and manifest is None:
        fail(
            "give the images: --data DIR (a folder of images, any nesting) or "
            "--manifest CSV (one row per image, see --image-col)."
        )
    if params["masks"] is not None and manifest is not None:
        fail("--masks goes with --data; with --manifest give --mask-col.")
    if params["mask_col"] is not None and manifest is None:
        fail("--mask-col names a column of --manifest; with --data give --masks.")
    options = DatasetOptions(
        data=data,
        manifest=manifest,
        image_col=params["image_col"],
        label_col=None,
        mask_col=params["mask_col"],
        channel_files=params["channel_files"],
        channel_names=params["channel_names"],
        on_error=params["on_error"],
    )
    options.check()
    if manifest is not None:
        return options.load()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return load_images(
            data,
            masks=params["masks"],
            on_error=params["on_error"].value,
            validate=validate,
        )


def sample_names(ds) -> list[str]:
    """Each sample as the output names it: its path, or its channel files.

    A path as found (relative to the folder) or as written in the manifest; a
    sample of one file per channel as :class:`~featcls.data.ChannelFiles` shows
    it (``train/s1_{red,green}.png``), relative to the manifest's folder.
    """
    import os

    from featcls.data import ChannelFiles

    root = ds.meta.get("root")
    names = []
    for i, (image, written) in enumerate(
        zip(ds.X["image"], ds.X.get("relpath", ds.X["image"]), strict=True)
    ):
        if isinstance(image, ChannelFiles):
            paths = image.paths
            if root is not None:
                paths = [os.path.relpath(p, root) for p in paths]
            names.append(str(ChannelFiles(paths, image.names)))
        elif isinstance(written, (str, os.PathLike)):
            names.append(os.fspath(written))
        else:
            names.append(f"{ds.name}:{i}")
    return names


def _multilabel(pipe, meta: dict) -> list[str] | None:
    """The label names of a multi-label model; None for a single-label one.

    Said by the model file (``featcls train``), or by the model itself (a file
    saved from Python): a :class:`~featcls.models.PerLabelClassifier` last step,
    or an estimator fitted on a label matrix (``multilabel_``).
    """
    from featcls.models import PerLabelClassifier

    final = pipe.steps[-1][1] if hasattr(pipe, "steps") else pipe
    if not (
        meta.get("multilabel")
        or isinstance(final, PerLabelClassifier)
        or getattr(final, "multilabel_", False)
    ):
        return None
    return [str(label) for label in meta.get("labels") or pipe.classes_]


def _prediction_table(pipe, meta: dict, ds):
    """``path, prediction, p_<class>...``; multi-label: ``path, labels, p_<label>``."""
    import numpy as np
    import pandas as pd

    proba = np.asarray(pipe.predict_proba(ds.X), dtype=float)
    pred = pipe.predict(ds.X)
    labels = _multilabel(pipe, meta)
    table = pd.DataFrame({"path": sample_names(ds)})
    if labels is None:
        names = [str(c) for c in pipe.classes_]
        table["prediction"] = pred
    else:
        names = labels
        on = np.asarray(pred).astype(bool)
        table["labels"] = [
            " ".join(label for label, hit in zip(labels, row, strict=True) if hit)
            for row in on
        ]
    for j, name in enumerate(names):
        table[f"p_{name}"] = proba[:, j]
    return table


def predict(
    model: Annotated[
        Path, typer.Argument(help="Model file written by 'featcls train'.")
    ],
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Folder of images to classify (any nesting, no labels); or give "
            "--manifest.",
            rich_help_panel="Dataset",
        ),
    ] = None,
    masks: MasksOpt = None,
    manifest: Annotated[
        Path | None,
        typer.Option(
            "--manifest",
            help="CSV with one row per image to classify (see --image-col, "
            "--mask-col, --channel-files), instead of --data; a label column is "
            "ignored.",
            rich_help_panel="Dataset",
        ),
    ] = None,
    image_col: ImageColOpt = DATASET.image_col,
    mask_col: MaskColOpt = DATASET.mask_col,
    channel_files: ChannelFilesOpt = DATASET.channel_files,
    channel_names: ChannelNamesOpt = DATASET.channel_names,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="CSV of predictions: path, prediction and p_<class> per class; for "
            "a multi-label model path, labels (the predicted labels separated by "
            "spaces) and p_<label> per label.",
        ),
    ] = Path("predictions.csv"),
    n_jobs: NJobsOpt = 1,
    on_error: OnErrorOpt = DATASET.on_error,
    tile: TileOpt = None,
    stride: StrideOpt = None,
    batch_size: BatchSizeOpt = 256,
    maps: MapsOpt = None,
    confidence: ConfidenceOpt = None,
    cnn_module: CnnModuleOpt = None,
) -> None:
    """Classify unlabelled images (a folder or a manifest) with a saved model.

    With --tile, classify overlapping windows of each (large) image instead, and
    with --maps draw them as one map per image.
    """
    from featcls._files import atomic_path

    params = {
        "data": data,
        "masks": masks,
        "manifest": manifest,
        "image_col": image_col,
        "mask_col": mask_col,
        "channel_files": channel_files,
        "channel_names": channel_names,
        "on_error": on_error,
    }
    check_options({"n_jobs": n_jobs})
    check_out_file(out)
    tiles = TileOptions.check(tile, stride, batch_size, maps, confidence)

    def work():
        from featcls.models import load_model

        pipe, meta = load_model(model, module=cnn_module)
        if tiles is not None and _multilabel(pipe, meta) is not None:
            fail(
                f"--tile classifies windows with a single-label model; '{model}' "
                "is multi-label."
            )
        # Windows: predict_tiles checks (decodes) every image itself.
        ds = load_unlabelled(params, validate=tiles is None)
        if "features__n_jobs" in pipe.get_params():
            pipe.set_params(features__n_jobs=n_jobs)
        if tiles is not None:
            tiles.run(pipe, meta, ds, model=model, out=out, on_error=on_error.value)
            return
        table = _prediction_table(pipe, meta, ds)
        with atomic_path(out) as part:
            table.to_csv(part, index=False)
        typer.echo(
            f"{len(table)} images classified with {meta.get('model', 'model')} → {out}"
        )
        echo_skipped(ds.skipped)

    run_guarded(work)
