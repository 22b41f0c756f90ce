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
    run_guarded,
)
from featcls.cli._options import (
    DATASET,
    CacheOpt,
    Channels,
    ChannelsOpt,
    DataOpt,
    DatasetOpt,
    DatasetOptions,
    FeaturesOpt,
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
from featcls.models._registry import MODEL_SPECS

__all__ = ["predict", "train"]

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
    features: FeaturesOpt = None,
    mask: MaskPolicyOpt = MaskPolicy["auto"],
    channels: ChannelsOpt = Channels["gray"],
    imbalance: ImbalanceOpt = Imbalance["class_weight"],
    seed: SeedOpt = DATASET.seed,
    n_jobs: NJobsOpt = 1,
    cache_dir: CacheOpt = None,
    on_error: OnErrorOpt = DATASET.on_error,
) -> None:
    """Fit feature extraction + a model on all images and save it for 'predict'."""
    from featcls.models import check_model_path

    if model not in MODEL_SPECS:
        fail(f"Unknown model {model!r}. Known models: {', '.join(MODEL_SPECS)}.")
    # Image models are saved as torch weights.
    torch_model = MODEL_SPECS[model].consumes == "images"
    out = out or Path("model.pt" if torch_model else "model.skops")
    check_options(ctx.params)
    # The file format follows the model: refuse a mismatched suffix before fitting.
    run_guarded(lambda: check_model_path(out, torch_model=torch_model))
    check_out_file(out)

    def work():
        from featcls.features import FeatureExtractor
        from featcls.models import build_model, feature_pipeline, save_model

        ds = DatasetOptions.of(ctx.params).load()
        if ds.y is None:
            fail("the dataset has no labels; give --label-col.")
        extractor = FeatureExtractor(
            families=features,
            channels=channels.value,
            mask=mask.value,
            n_jobs=n_jobs,
            cache_dir=cache_dir,
        )
        estimator = build_model(
            model, imbalance=imbalance.value, random_state=seed, features=extractor
        )
        if torch_model:  # torch weights, loaded with weights_only=True
            estimator.fit(ds.X, ds.y)
            estimator.save(out)
        else:
            pipe = feature_pipeline(extractor, estimator)
            pipe.fit(ds.X, ds.y)
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
                },
            )
        typer.echo(f"{model} fitted on {len(ds)} images of {ds.name} → {out}")

    run_guarded(work)


def predict(
    model: Annotated[
        Path, typer.Argument(help="Model file written by 'featcls train'.")
    ],
    data: Annotated[
        Path,
        typer.Option(
            "--data", help="Folder of images to classify (any nesting, no labels)."
        ),
    ],
    masks: MasksOpt = None,
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="CSV of predictions and class probabilities."),
    ] = Path("predictions.csv"),
    n_jobs: NJobsOpt = 1,
    on_error: OnErrorOpt = DATASET.on_error,
) -> None:
    """Classify an unlabelled folder of images with a saved model."""
    import pandas as pd

    from featcls._files import atomic_path

    check_options({"n_jobs": n_jobs})
    check_out_file(out)

    def work():
        from featcls.data import load_images
        from featcls.exceptions import DataWarning
        from featcls.models import load_model

        pipe, meta = load_model(model)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            ds = load_images(data, masks=masks, on_error=on_error.value)
        if "features__n_jobs" in pipe.get_params():
            pipe.set_params(features__n_jobs=n_jobs)
        proba = pipe.predict_proba(ds.X)
        classes = [str(c) for c in pipe.classes_]
        table = pd.DataFrame(
            {"path": ds.X["relpath"], "prediction": pipe.predict(ds.X)}
        )
        for j, c in enumerate(classes):
            table[f"p_{c}"] = proba[:, j]
        with atomic_path(out) as part:
            table.to_csv(part, index=False)
        typer.echo(
            f"{len(table)} images classified with {meta.get('model', 'model')} → {out}"
        )
        echo_skipped(ds.skipped)

    run_guarded(work)
