"""``featcls extract``: hand-crafted features of a dataset into a table."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Annotated

import typer

from featcls.cli._common import (
    check_options,
    check_out_file,
    check_scheduler,
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
    InputOptions,
    InputSizeOpt,
    LabelColOpt,
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
    SchedulerOpt,
    SeedOpt,
    SizeOpt,
    TargetOpt,
    feature_families,
)
from featcls.cli._resume import Checkpoint, FreshOpt

__all__ = ["extract"]


def extract(
    ctx: typer.Context,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Output table: .parquet or .csv (by suffix). Columns: path, "
            "label, group, mask_source, then one per feature.",
        ),
    ] = Path("features.parquet"),
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
    seed: SeedOpt = DATASET.seed,
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
    cache_dir: CacheOpt = None,
    fresh: FreshOpt = False,
    n_jobs: NJobsOpt = 1,
    scheduler: SchedulerOpt = None,
    on_error: OnErrorOpt = DATASET.on_error,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress", help="Progress bar (default: on a terminal)."
        ),
    ] = None,
) -> None:
    """Extract hand-crafted features from a dataset into a table.

    With no dataset option it runs on the built-in synthetic dataset.
    """
    if out.suffix.lower() not in (".parquet", ".csv"):
        fail(f"--out must end in .parquet or .csv, got {out.name!r}.")
    check_out_file(out)
    check_options(ctx.params)
    families = feature_families(features, ctx.params)
    inputs = InputOptions.of(ctx.params)
    check_scheduler(scheduler)

    def work():
        import pandas as pd

        from featcls._scheduler import use_scheduler
        from featcls.cli._table import write_frames
        from featcls.data import ChannelFiles
        from featcls.features import FeatureExtractor

        start = time.perf_counter()
        ds = DatasetOptions.of(ctx.params).load()
        # Without a cache of the user's, finished chunks are kept beside the output
        # until it is written, so a killed run resumes where it was.
        checkpoint = Checkpoint(out.parent / f".{out.name}.partial", fresh=fresh)
        fx = FeatureExtractor(
            families=families,
            channels=channels.value,
            mask=mask_policy(ctx, ds),
            **inputs.features(),
            n_jobs=n_jobs,
            cache_dir=cache_dir or checkpoint.features,
            progress=progress,
        )
        images = ds.X["image"]

        def rows():
            """The output a chunk at a time: path, label, group, then the features."""
            at = 0
            for table in fx.iter_extract(ds.X):
                stop = at + len(table)
                paths = [
                    str(p if isinstance(p, (str, ChannelFiles)) else f"{ds.name}:{i}")
                    for i, p in zip(range(at, stop), images.iloc[at:stop], strict=True)
                ]  # one file per channel: a short label
                front = pd.DataFrame({"path": paths}, index=table.index)
                if ds.y is not None:
                    front["label"] = ds.y[at:stop]
                if ds.groups is not None:
                    front["group"] = ds.groups[at:stop]
                yield pd.concat([front, table], axis=1)
                at = stop

        with use_scheduler(scheduler), contextlib.closing(rows()) as frames:
            fx.fit(ds.X)
            # Written as the chunks finish, under a temporary name renamed at the
            # end: no table of every row is held, and a killed run leaves none.
            n_rows = write_frames(out, frames)
        checkpoint.done()
        seconds = time.perf_counter() - start
        n_features = len(fx.get_feature_names_out())
        typer.echo(
            f"{n_rows} images × {n_features} features → {out} ({seconds:.1f} s)",
            err=True,
        )
        echo_skipped(ds.skipped)

    run_guarded(work)
