"""The command line's options, each declared once, and the dataset they name.

The choices derive from the library's own constants (:mod:`featcls._policies`,
the model table), which import nothing heavy, so ``featcls --help`` stays light.
Every command that reads a dataset takes the options of :class:`DatasetOptions`
and loads it with :meth:`DatasetOptions.load`.
"""

from __future__ import annotations

import dataclasses
import warnings
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from featcls._policies import CHANNEL_POLICIES, MASK_POLICIES, ON_ERROR
from featcls.cli._common import fail

# The model table imports no heavy library: the options below derive from it.
from featcls.models._registry import IMBALANCE_STRATEGIES, MODEL_SPECS

__all__ = [
    "DATASET",
    "MODELS_HELP",
    "CacheOpt",
    "Channels",
    "ChannelsOpt",
    "DataOpt",
    "DatasetOpt",
    "DatasetOptions",
    "FeaturesOpt",
    "FoldColOpt",
    "GroupColOpt",
    "ImageColOpt",
    "Imbalance",
    "LabelColOpt",
    "ManifestOpt",
    "MaskColOpt",
    "MaskPolicy",
    "MaskPolicyOpt",
    "MasksOpt",
    "NJobsOpt",
    "OnError",
    "OnErrorOpt",
    "SamplesOpt",
    "SeedOpt",
    "SizeOpt",
    "TargetOpt",
    "imbalance_option",
]


def _choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    """A str enum whose members are the library's own ``values``."""
    return Enum(name, [(v, v) for v in values], type=str)


#: --on-error: the loaders' policies for an unusable file.
OnError = _choices("OnError", ON_ERROR)
#: --mask: FeatureExtractor's mask policies.
MaskPolicy = _choices("MaskPolicy", MASK_POLICIES)
#: --channels: the channel policies of featcls.data.
Channels = _choices("Channels", CHANNEL_POLICIES)
#: --imbalance: the library's remedies for imbalanced classes.
Imbalance = _choices("Imbalance", IMBALANCE_STRATEGIES)


def _models_on(consumes: str) -> str:
    return ", ".join(n for n, spec in MODEL_SPECS.items() if spec.consumes == consumes)


#: The --models help, from the model table.
MODELS_HELP = (
    f"Comma-separated models. On hand-crafted features: {_models_on('features')}. "
    f"On pixels (needs torch): {_models_on('images')}. 'featcls datasets --models' "
    "describes each."
)


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


def imbalance_option(help: str, panel: str | None = None):
    """The --imbalance option, with the help (and panel) that fits its command."""
    return Annotated[
        Imbalance,
        typer.Option("--imbalance", help=help, rich_help_panel=panel),
    ]


@dataclasses.dataclass(frozen=True)
class DatasetOptions:
    """The dataset options of a command.

    Exactly one of --data, --manifest and --dataset names the dataset (none: the
    synthetic one).

    The defaults here are the options' defaults (:data:`DATASET`).
    """

    data: Path | None = None
    masks: Path | None = None
    manifest: Path | None = None
    image_col: str = "image"
    label_col: str = "label"
    mask_col: str | None = None
    group_col: str | None = None
    dataset: str | None = None
    target: str | None = None
    n_samples: int = 300
    image_size: int = 96
    seed: int = 0
    on_error: OnError = OnError["raise"]

    @classmethod
    def of(cls, params) -> DatasetOptions:
        """The dataset options among a command's parameters (a dict or namespace)."""
        if not isinstance(params, dict):
            params = vars(params)
        return cls(**{f.name: params[f.name] for f in dataclasses.fields(cls)})

    def load(self):
        """Load the dataset these options name (a :class:`featcls.data.Dataset`)."""
        from featcls.data import load_builtin, load_folder, load_manifest
        from featcls.exceptions import DataWarning

        self.check()
        on_error = self.on_error.value
        with warnings.catch_warnings():
            # Skipped files are listed by the command itself, one per line.
            warnings.simplefilter("ignore", DataWarning)
            if self.data is not None:
                return load_folder(self.data, masks=self.masks, on_error=on_error)
            if self.manifest is not None:
                return load_manifest(
                    self.manifest,
                    image_col=self.image_col,
                    label_col=self.label_col,
                    mask_col=self.mask_col,
                    group_col=self.group_col,
                    on_error=on_error,
                )
        name = self.dataset or "synthetic"
        kwargs = {}
        if name == "synthetic":
            kwargs = {
                "n_samples": self.n_samples,
                "image_size": self.image_size,
                "random_state": self.seed,
            }
        if self.target is not None:
            kwargs["target"] = self.target
        return load_builtin(name, **kwargs)

    def check(self) -> None:
        """Stop with one line if the options do not name one usable dataset."""
        import inspect

        from featcls.data import BUILTIN_DATASETS

        data, manifest, dataset, target = (
            self.data,
            self.manifest,
            self.dataset,
            self.target,
        )
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
                "--target applies to a built-in --dataset "
                f"({', '.join(with_targets)}); "
                f"with {given[0]} the labels come from "
                + ("the class folders." if data is not None else "--label-col.")
            )
        name = dataset or "synthetic"
        if name not in with_targets:
            fail(
                f"--target does not apply to --dataset {name}, which has one target; "
                "built-in datasets with a choice of targets: "
                f"{', '.join(with_targets)}."
            )


#: The dataset options' defaults, for the commands' signatures.
DATASET = DatasetOptions()
