"""The ``featcls`` command line: thin Typer commands over the library.

Each command parses its options, loads the data, calls the library and writes its
output. Failures exit with status 1 and one clear line on stderr.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

# The model table imports no heavy library: the options below derive from it.
from featcls.models._registry import IMBALANCE_STRATEGIES, MODEL_SPECS

app = typer.Typer(
    name="featcls",
    help="Hand-crafted image features, classical models and CNNs compared on the same "
    "folds: is a CNN really better than a well-built classical baseline on your "
    "images?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from featcls import __version__

        typer.echo(f"featcls {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Hand-crafted image features, classical models and CNNs compared on the same
    folds: is a CNN really better than a well-built classical baseline on your
    images?"""


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
FoldColOpt = Annotated[
    str | None,
    typer.Option(
        "--fold-col",
        help="Manifest column of predefined test folds (integers; -1: always in "
        "training): one split per fold number, instead of --folds.",
        rich_help_panel="Dataset",
    ),
]
DatasetOpt = Annotated[
    str | None,
    typer.Option(
        "--dataset",
        help="Built-in dataset: 'synthetic' (generated, the default) or 'elpv' "
        "(needs pip install 'featcls\\[elpv]').",
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
        help="Comma-separated feature families (default: all but the learned "
        "'vlad' codebook; 'default,vlad' adds it). See 'featcls datasets --features'.",
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


def option_name(name: str) -> str:
    """The command-line option of a parameter name: ``n_jobs`` → ``--n-jobs``."""
    return "--" + name.replace("_", "-")


#: Library parameters that messages name (featcls.exceptions.Setting) → the option
#: that sets them here, where the two names differ.
_OPTION_OF_PARAMETER = {"drop_rare_classes": "drop_rare", "cv": "folds"}


def cli_spelling(setting) -> str:
    """A library setting as the command line spells it.

    ``on_error='skip'`` → ``--on-error skip``, ``drop_rare_classes=True`` →
    ``--drop-rare``, ``cv=2`` → ``--folds 2``.
    """
    option = option_name(_OPTION_OF_PARAMETER.get(setting.name, setting.name))
    if isinstance(setting.value, bool):
        return option if setting.value else f"no {option}"
    return f"{option} {setting.value}"


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print a warning as one line, ``featcls: warning: ...``.

    Python's format (``file.py:319: FeatureWarning`` and a line of featcls's
    source) means nothing to a user of the command line. Warnings of other
    libraries keep their category's name at the end.
    """
    from featcls.exceptions import DataWarning, FeatureWarning

    text = " ".join(str(message).split())
    if not issubclass(category, (DataWarning, FeatureWarning)):
        text = f"{text} ({category.__name__})"
    typer.echo(f"featcls: warning: {text}", err=True)


@contextlib.contextmanager
def warnings_as_lines():
    """Show every warning raised in the body as one ``featcls: warning:`` line."""
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        yield


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

    check_dataset_options(data=data, manifest=manifest, dataset=dataset, target=target)
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


def check_dataset_options(*, data, manifest, dataset, target) -> None:
    """Stop with one line if the dataset options do not name one usable dataset."""
    import inspect

    from featcls.data import BUILTIN_DATASETS

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
    if dataset is not None and dataset not in BUILTIN_DATASETS:
        fail(
            f"--dataset {dataset!r} is not a built-in dataset; choose one of "
            f"{', '.join(BUILTIN_DATASETS)} (see 'featcls datasets')."
        )
    if target is None:
        return
    with_targets = [
        name
        for name, loader in BUILTIN_DATASETS.items()
        if "target" in inspect.signature(loader).parameters
    ]
    if data is not None or manifest is not None:
        fail(
            f"--target applies to a built-in --dataset ({', '.join(with_targets)}); "
            f"with {given[0]} the labels come from "
            + ("the class folders." if data is not None else "--label-col.")
        )
    name = dataset or "synthetic"
    if name not in with_targets:
        fail(
            f"--target does not apply to --dataset {name}, which has one target; "
            f"built-in datasets with a choice of targets: {', '.join(with_targets)}."
        )


_DATASET_KEYS = (
    "data",
    "masks",
    "manifest",
    "image_col",
    "label_col",
    "mask_col",
    "group_col",
    "dataset",
    "target",
    "n_samples",
    "image_size",
    "seed",
    "on_error",
)


def dataset_from(params) -> object:
    """:func:`load_dataset` with the dataset options of a command's parameters."""
    if not isinstance(params, dict):
        params = vars(params)
    return load_dataset(**{k: params[k] for k in _DATASET_KEYS})


def command_line(ctx: typer.Context, values: dict) -> str:
    """The command that reproduces this run: every setting that is not the default.

    Built from the resolved values (so settings read from --config appear
    explicitly), not from ``sys.argv``.
    """
    import shlex

    parts = ["featcls", ctx.info_name or ""]
    for param in ctx.command.params:
        if param.name in ("config", "progress") or not param.opts:
            continue
        value = values.get(param.name)
        if isinstance(value, Enum):
            value = value.value
        default = (
            param.default.value if isinstance(param.default, Enum) else param.default
        )
        if (
            value is None
            or value == default
            or (isinstance(default, Path) and str(value) == str(default))
        ):
            continue
        if isinstance(value, bool):
            flag = param.opts[0] if value else (param.secondary_opts or [None])[0]
            if flag:
                parts.append(flag)
            continue
        parts += [param.opts[0], str(value)]
    return shlex.join(parts)


def run_guarded(func):
    """Call ``func``; turn the errors a user can fix into one line and exit 1.

    Settings named in featcls's messages are spelt as options (``--on-error
    skip``), and warnings are shown as one line each.
    """
    from featcls.exceptions import ImageReadError, spell_message
    from featcls.models._cnn_setup import reuse_freed_memory

    # featcls is the whole process here: let glibc reuse freed CNN activations
    # (CPU training speed; the library itself never changes the process heap).
    reuse_freed_memory()
    try:
        with warnings_as_lines():
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
        text = spell_message(exc, cli_spelling)
        fail(text.splitlines()[0] if text else type(exc).__name__)


#: Smallest value of each integer option, checked before any work (also for
#: values read from --config). image_size: the synthetic generator's minimum;
#: cnn_size: the CNN's smallest input (both check it again themselves).
_AT_LEAST = {
    "n_samples": 1,
    "image_size": 16,
    "folds": 2,
    "repeats": 1,
    "cnn_epochs": 1,
    "cnn_size": 8,
}


def check_options(values: dict) -> None:
    """Stop with one line on an option value that cannot work, before any work.

    Covers the integer options of :data:`_AT_LEAST` and ``--n-jobs`` (a number of
    workers >= 1, or -1 for all cores), for whichever of them ``values`` holds.
    """
    for name, low in _AT_LEAST.items():
        value = values.get(name)
        if value is not None and value < low:
            fail(f"{option_name(name)} must be {low} or more. Got {value}.")
    n_jobs = values.get("n_jobs")
    if n_jobs is not None and n_jobs < 1 and n_jobs != -1:
        fail(
            "--n-jobs must be a number of worker processes (1 or more), or -1 for "
            f"all cores. Got {n_jobs}."
        )


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_out_file(out: Path) -> None:
    """Stop with one line, before any work, if ``--out`` cannot be a file."""
    if out.is_dir():
        fail(f"--out '{out}' is a folder; give a file name.")
    ancestor = _existing_ancestor(out.parent)
    if not ancestor.is_dir():
        fail(f"--out '{out}': '{ancestor}' is a file, not a folder.")


def check_out_dir(out: Path) -> None:
    """Stop with one line, before any work, if ``--out`` cannot be a folder."""
    ancestor = _existing_ancestor(out)
    if ancestor.is_dir():
        return
    if ancestor == out.absolute():
        fail(
            f"--out '{out}' is a file; the results go into a folder (report.html, "
            "results.json, CSVs): give a folder name."
        )
    fail(f"--out '{out}': '{ancestor}' is a file, so the folder cannot be made.")


def echo_skipped(skipped) -> None:
    """List the files a dataset skipped (``--on-error skip``), one per line."""
    if len(skipped):
        typer.echo(f"{len(skipped)} file(s) skipped:", err=True)
        for row in skipped.itertuples():
            typer.echo(f"  {row.path}: {row.reason}", err=True)


# -- commands -------------------------------------------------------------------------
@app.command()
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

    from featcls._files import atomic_path
    from featcls.features import FeatureExtractor

    if out.suffix.lower() not in (".parquet", ".csv"):
        fail(f"--out must end in .parquet or .csv, got {out.name!r}.")
    check_out_file(out)
    check_options(ctx.params)

    def work():
        start = time.perf_counter()
        ds = dataset_from(ctx.params)
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
        with atomic_path(out) as part:  # a killed run leaves no half-written table
            if out.suffix.lower() == ".csv":
                result.to_csv(part, index=False)
            else:
                result.to_parquet(part, index=False)
        seconds = time.perf_counter() - start
        n_features = len(fx.get_feature_names_out())
        typer.echo(
            f"{len(result)} images × {n_features} features → {out} ({seconds:.1f} s)",
            err=True,
        )
        echo_skipped(ds.skipped)

    run_guarded(work)


#: The library's remedies for imbalanced classes, as the choices of --imbalance.
Imbalance = Enum("Imbalance", [(s, s) for s in IMBALANCE_STRATEGIES], type=str)


def _models_on(consumes: str) -> str:
    return ", ".join(n for n, spec in MODEL_SPECS.items() if spec.consumes == consumes)


#: The --models help, from the model table.
MODELS_HELP = (
    f"Comma-separated models. On hand-crafted features: {_models_on('features')}. "
    f"On pixels (needs torch): {_models_on('images')}. 'featcls datasets --models' "
    "describes each."
)


def predefined_splits(table, column: str) -> list[tuple]:
    """``(train, test)`` positions per fold number of ``table[column]``, ascending.

    scikit-learn's ``PredefinedSplit``: fold -1 is never tested (always in
    training). A missing column or a value that is not an integer >= -1
    stops with an error naming it.
    """
    import numpy as np
    import pandas as pd
    from sklearn.model_selection import PredefinedSplit

    if column not in table.columns:
        others = [c for c in table.columns if c not in ("image", "mask", "relpath")]
        fail(
            f"--fold-col: no column {column!r} in the dataset; its columns are "
            f"{others}. Predefined folds need a --manifest with that column."
        )
    values = pd.to_numeric(table[column], errors="coerce")
    bad = values.isna() | (values % 1 != 0) | (values < -1)
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        fail(
            f"--fold-col {column!r}: fold numbers must be integers >= -1 (-1: always "
            f"in training); got '{table[column].iloc[first]}' for "
            f"'{table['image'].iloc[first]}'."
        )
    splits = list(PredefinedSplit(values.to_numpy(dtype=int)).split())
    if len(splits) < 2:
        fail(
            f"--fold-col {column!r} names {len(splits)} test fold(s); give at "
            "least 2 fold numbers (>= 0)."
        )
    return splits


def _apply_config(ctx: typer.Context, config: Path | None, values: dict) -> dict:
    """Settings from a TOML file, for every option not given on the command line.

    Each value is converted and checked as the option's own value would be, so a
    bad value (``imbalance = "smoot"``, ``folds = "three"``) stops with one line
    naming the setting and the file, before any work.
    """
    if config is None:
        return values
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    try:
        settings = tomllib.loads(config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"config file '{config}' does not exist.")
    except IsADirectoryError:
        fail(f"--config '{config}' is a folder; give a TOML file.")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read config file '{config}': {exc}")
    except tomllib.TOMLDecodeError as exc:
        fail(f"config file '{config}' is not valid TOML: {exc}")
    settings = settings.get("compare", settings)
    if not isinstance(settings, dict):
        fail(f"config file '{config}': [compare] must be a table of settings.")
    params = {p.name: p for p in ctx.command.params}
    out = dict(values)
    for key, value in settings.items():
        name = key.replace("-", "_")
        if name not in values or name == "config":
            fail(
                f"unknown setting {key!r} in '{config}'; settings are the options of "
                "'featcls compare' (e.g. models, folds, seed)."
            )
        source = ctx.get_parameter_source(name)
        if getattr(source, "name", None) == "COMMANDLINE":
            continue  # the command line wins
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, dict):
            fail(f"setting {key!r} in '{config}' is a table; give a single value.")
        current = values[name]
        choices = [e.value for e in type(current)] if isinstance(current, Enum) else []
        if choices and value not in choices:
            fail(
                f"setting {key!r} in '{config}' must be one of {', '.join(choices)}; "
                f"got {value!r}."
            )
        try:  # the option's own conversion: type, choices (enums), paths
            out[name] = params[name].process_value(ctx, str(value))
        except typer.BadParameter as exc:
            fail(f"setting {key!r} in '{config}': {exc.message} (got {value!r}).")
    return out


@app.command()
def compare(
    ctx: typer.Context,
    data: DataOpt = None,
    masks: MasksOpt = None,
    manifest: ManifestOpt = None,
    image_col: ImageColOpt = "image",
    label_col: LabelColOpt = "label",
    mask_col: MaskColOpt = None,
    group_col: GroupColOpt = None,
    fold_col: FoldColOpt = None,
    dataset: DatasetOpt = None,
    target: TargetOpt = None,
    n_samples: SamplesOpt = 300,
    image_size: SizeOpt = 96,
    models: Annotated[
        str,
        typer.Option(
            "--models",
            help=MODELS_HELP,
            rich_help_panel="Models",
        ),
    ] = "svm,xgboost",
    features: FeaturesOpt = None,
    mask: MaskPolicyOpt = MaskPolicy.auto,
    channels: ChannelsOpt = Channels.gray,
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
    imbalance: Annotated[
        Imbalance,
        typer.Option(
            "--imbalance",
            help="Remedy for imbalanced classes (resampling happens inside "
            "the training folds only).",
            rich_help_panel="Models",
        ),
    ] = Imbalance.class_weight,
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
    seed: SeedOpt = 0,
    n_jobs: NJobsOpt = 1,
    cache_dir: CacheOpt = None,
    on_error: OnErrorOpt = OnError.raise_,
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

    v = SimpleNamespace(**_apply_config(ctx, config, dict(ctx.params)))
    check_options(vars(v))
    check_out_dir(v.out)

    def work():
        from featcls.evaluation import compare as run_compare
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
        ds = dataset_from(v)
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
            cv = predefined_splits(ds.X, v.fold_col)
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
                f"{len(failed)} fold(s) failed; tracebacks in the report.", err=True
            )
        typer.echo(f"report: {paths['report']}")
        fail_if_a_model_failed_everywhere(result, paths["report"])

    run_guarded(work)


def fail_if_a_model_failed_everywhere(result, report: Path) -> None:
    """Exit 1, with one line per model, if a model failed on every fold.

    Called once the outputs are written, so the report holds the tracebacks. A
    model that failed on some folds only is reported, not fatal.
    """
    errors = result.errors()
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


@app.command()
def report(
    results: Annotated[
        Path, typer.Argument(help="results.json written by 'featcls compare'.")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="HTML file to write (default: report.html next to the results).",
        ),
    ] = None,
) -> None:
    """Re-render the HTML report from results.json, without refitting anything."""
    if out is not None:
        check_out_file(out)

    def work():
        from featcls.evaluation import ComparisonResult
        from featcls.report import render_report

        result = ComparisonResult.from_json(results)
        target = out or results.with_name("report.html")
        render_report(result, target)
        typer.echo(f"report: {target}")

    run_guarded(work)


@app.command()
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
    features: FeaturesOpt = None,
    mask: MaskPolicyOpt = MaskPolicy.auto,
    channels: ChannelsOpt = Channels.gray,
    imbalance: Annotated[
        Imbalance, typer.Option("--imbalance", help="Remedy for imbalanced classes.")
    ] = Imbalance.class_weight,
    seed: SeedOpt = 0,
    n_jobs: NJobsOpt = 1,
    cache_dir: CacheOpt = None,
    on_error: OnErrorOpt = OnError.raise_,
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
        from imblearn.pipeline import Pipeline
        from sklearn.pipeline import Pipeline as SklearnPipeline

        from featcls.features import FeatureExtractor
        from featcls.models import build_model, save_model

        ds = dataset_from(ctx.params)
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
            # A pipeline's steps follow the extractor; any other estimator (the
            # ensemble's soft vote) is one step.
            steps = (
                estimator.steps
                if isinstance(estimator, SklearnPipeline)
                else [("model", estimator)]
            )
            pipe = Pipeline([("features", extractor), *steps])
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


@app.command()
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
    on_error: OnErrorOpt = OnError.raise_,
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


@app.command()
def datasets(
    features: Annotated[
        bool, typer.Option("--features", help="List the feature families instead.")
    ] = False,
    models: Annotated[
        bool,
        typer.Option(
            "--models", help="List the models of 'featcls compare --models' instead."
        ),
    ] = False,
) -> None:
    """List the built-in datasets (with --features, the feature families; with
    --models, the models)."""
    from featcls.data import BUILTIN_DATASETS
    from featcls.features import FEATURE_FAMILIES

    if models:
        width = max(map(len, MODEL_SPECS))
        for name, spec in MODEL_SPECS.items():
            typer.echo(f"{name:<{width}}  {spec.consumes:<8}  {spec.description}")
        return
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
