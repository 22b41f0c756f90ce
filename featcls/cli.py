"""The ``featcls`` command line: thin Typer commands over the library.

Each command parses its options, loads the data, calls the library and writes its
output. Failures exit with status 1 and one clear line on stderr.
"""

from __future__ import annotations

import sys
import warnings
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="featcls",
    help="Hand-crafted image features, classical models and CNNs compared on the same "
    "folds: is a CNN really better than a well-built classical baseline on your "
    "images?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class OnError(str, Enum):
    raise_ = "raise"
    skip = "skip"


class MaskPolicy(str, Enum):
    auto = "auto"
    full = "full"


class Channels(str, Enum):
    gray = "gray"
    rgb = "rgb"
    hsv = "hsv"
    channels = "channels"


# -- shared options ------------------------------------------------------------------
DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Folder with one sub-folder of images per class.",
        rich_help_panel="Dataset",
    ),
]
MasksOpt = Annotated[
    Path | None,
    typer.Option(
        "--masks",
        help="Folder of object masks with the same relative file names as --data.",
        rich_help_panel="Dataset",
    ),
]
ManifestOpt = Annotated[
    Path | None,
    typer.Option(
        "--manifest",
        help="CSV with one row per image (see --image-col, --label-col, "
        "--mask-col, --group-col).",
        rich_help_panel="Dataset",
    ),
]
ImageColOpt = Annotated[
    str,
    typer.Option(
        "--image-col",
        help="Manifest column of image paths (relative to the CSV's folder).",
        rich_help_panel="Dataset",
    ),
]
LabelColOpt = Annotated[
    str,
    typer.Option(
        "--label-col",
        help="Manifest column of class labels.",
        rich_help_panel="Dataset",
    ),
]
MaskColOpt = Annotated[
    str | None,
    typer.Option(
        "--mask-col", help="Manifest column of mask paths.", rich_help_panel="Dataset"
    ),
]
GroupColOpt = Annotated[
    str | None,
    typer.Option(
        "--group-col",
        "--groups",
        help="Manifest column of groups (sample, patient, plate ...): folds never "
        "split a "
        "group.",
        rich_help_panel="Dataset",
    ),
]
DatasetOpt = Annotated[
    str | None,
    typer.Option(
        "--dataset",
        help="Built-in dataset: 'synthetic' (generated, the default) or 'elpv' "
        "(needs pip install 'featcls[elpv]').",
        rich_help_panel="Dataset",
    ),
]
TargetOpt = Annotated[
    str | None,
    typer.Option(
        "--target",
        help="Target of a built-in dataset, e.g. 'defective', 'defect_level' or "
        "'cell_type' for elpv.",
        rich_help_panel="Dataset",
    ),
]
SamplesOpt = Annotated[
    int,
    typer.Option(
        "--n-samples",
        help="Number of images of the synthetic dataset.",
        rich_help_panel="Dataset",
    ),
]
SizeOpt = Annotated[
    int,
    typer.Option(
        "--image-size",
        help="Side in pixels of the synthetic images.",
        rich_help_panel="Dataset",
    ),
]
SeedOpt = Annotated[
    int, typer.Option("--seed", help="Random seed (data generation, folds, models).")
]
OnErrorOpt = Annotated[
    OnError,
    typer.Option(
        "--on-error",
        help="On an unreadable image or mask: stop with an error naming the "
        "file, or skip it (listed in the output) and keep the rest.",
        rich_help_panel="Dataset",
    ),
]
NJobsOpt = Annotated[
    int, typer.Option("--n-jobs", help="Worker processes (-1: all cores).")
]
FeaturesOpt = Annotated[
    str | None,
    typer.Option(
        "--features",
        help="Comma-separated feature families (default: all). See "
        "'featcls datasets --features'.",
        rich_help_panel="Features",
    ),
]
CacheOpt = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        help="Folder of the feature cache: a re-run or a resumed run "
        "recomputes nothing already done.",
        rich_help_panel="Features",
    ),
]
MaskPolicyOpt = Annotated[
    MaskPolicy,
    typer.Option(
        "--mask",
        help="Object mask: the dataset's masks where given, else automatic "
        "segmentation ('auto'); or the whole image ('full').",
        rich_help_panel="Features",
    ),
]
ChannelsOpt = Annotated[
    Channels,
    typer.Option(
        "--channels",
        help="Channel policy: features on the grey image, or per channel.",
        rich_help_panel="Features",
    ),
]


def fail(message: str) -> None:
    """Print one line to stderr and exit with status 1."""
    typer.echo(f"featcls: error: {message}", err=True)
    raise typer.Exit(code=1)


def load_dataset(
    *,
    data,
    masks,
    manifest,
    image_col,
    label_col,
    mask_col,
    group_col,
    dataset,
    target,
    n_samples,
    image_size,
    seed,
    on_error,
):
    """Load the dataset named by exactly one of --data, --manifest and --dataset."""
    from featcls.data import load_builtin, load_folder, load_manifest
    from featcls.exceptions import DataWarning

    given = [
        opt
        for opt, v in (
            ("--data", data),
            ("--manifest", manifest),
            ("--dataset", dataset),
        )
        if v is not None
    ]
    if len(given) > 1:
        fail(f"give one dataset, not {' and '.join(given)}.")
    on_error = on_error.value
    with warnings.catch_warnings():
        # Skipped files are listed by the command itself, one per line.
        warnings.simplefilter("ignore", DataWarning)
        if data is not None:
            return load_folder(data, masks=masks, on_error=on_error)
        if manifest is not None:
            return load_manifest(
                manifest,
                image_col=image_col,
                label_col=label_col,
                mask_col=mask_col,
                group_col=group_col,
                on_error=on_error,
            )
    name = dataset or "synthetic"
    kwargs = {}
    if name == "synthetic":
        kwargs = {
            "n_samples": n_samples,
            "image_size": image_size,
            "random_state": seed,
        }
    if target is not None:
        kwargs["target"] = target
    return load_builtin(name, **kwargs)


def run_guarded(func):
    """Call ``func``; turn the errors a user can fix into one line and exit 1."""
    from featcls.exceptions import ImageReadError

    try:
        return func()
    except typer.Exit:
        raise
    except (
        ImageReadError,
        ValueError,
        FileNotFoundError,
        ImportError,
        TypeError,
        OSError,
    ) as exc:
        fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


# -- commands -------------------------------------------------------------------------
@app.command()
def extract(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Output table: .parquet or .csv (by suffix). Columns: path, "
            "label, group, mask_source, then one per feature.",
        ),
    ] = Path("features.parquet"),
    data: DataOpt = None,
    masks: MasksOpt = None,
    manifest: ManifestOpt = None,
    image_col: ImageColOpt = "image",
    label_col: LabelColOpt = "label",
    mask_col: MaskColOpt = None,
    group_col: GroupColOpt = None,
    dataset: DatasetOpt = None,
    target: TargetOpt = None,
    n_samples: SamplesOpt = 300,
    image_size: SizeOpt = 96,
    seed: SeedOpt = 0,
    features: FeaturesOpt = None,
    mask: MaskPolicyOpt = MaskPolicy.auto,
    channels: ChannelsOpt = Channels.gray,
    cache_dir: CacheOpt = None,
    n_jobs: NJobsOpt = 1,
    on_error: OnErrorOpt = OnError.raise_,
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
    import time

    import pandas as pd

    from featcls.features import FeatureExtractor

    if out.suffix.lower() not in (".parquet", ".csv"):
        fail(f"--out must end in .parquet or .csv, got {out.name!r}.")

    def work():
        start = time.perf_counter()
        ds = load_dataset(
            data=data,
            masks=masks,
            manifest=manifest,
            image_col=image_col,
            label_col=label_col,
            mask_col=mask_col,
            group_col=group_col,
            dataset=dataset,
            target=target,
            n_samples=n_samples,
            image_size=image_size,
            seed=seed,
            on_error=on_error,
        )
        fx = FeatureExtractor(
            families=features,
            channels=channels.value,
            mask=mask.value,
            n_jobs=n_jobs,
            cache_dir=cache_dir,
            progress=progress,
        )
        table = fx.fit(ds.X).extract(ds.X)
        images = ds.X["image"]
        paths = [
            p if isinstance(p, str) else f"{ds.name}:{i}"
            for i, p in zip(range(len(images)), images, strict=True)
        ]
        front = pd.DataFrame({"path": paths}, index=table.index)
        if ds.y is not None:
            front["label"] = ds.y
        if ds.groups is not None:
            front["group"] = ds.groups
        result = pd.concat([front, table], axis=1)
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".csv":
            result.to_csv(out, index=False)
        else:
            result.to_parquet(out, index=False)
        seconds = time.perf_counter() - start
        n_features = len(fx.get_feature_names_out())
        typer.echo(
            f"{len(result)} images × {n_features} features → {out} ({seconds:.1f} s)",
            err=True,
        )
        if len(ds.skipped):
            typer.echo(f"{len(ds.skipped)} file(s) skipped:", err=True)
            for row in ds.skipped.itertuples():
                typer.echo(f"  {row.path}: {row.reason}", err=True)

    run_guarded(work)


@app.command()
def datasets(
    features: Annotated[
        bool, typer.Option("--features", help="List the feature families instead.")
    ] = False,
) -> None:
    """List the built-in datasets (and, with --features, the feature families)."""
    from featcls.data import BUILTIN_DATASETS
    from featcls.features import FEATURE_FAMILIES

    if features:
        for name, cls in FEATURE_FAMILIES.items():
            n = len(cls().feature_names())
            first = (cls.__doc__ or "").strip().splitlines()[0]
            typer.echo(f"{name:<10} {n:>4} features  {first}")
        return
    for name, loader in BUILTIN_DATASETS.items():
        first = (loader.__doc__ or "").strip().splitlines()[0]
        typer.echo(f"{name:<10} {first}")


def main() -> None:
    """Entry point of the ``featcls`` console script."""
    app(prog_name="featcls")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
