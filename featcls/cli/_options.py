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

from featcls._policies import (
    ARCHITECTURES,
    CHANNEL_POLICIES,
    MASK_POLICIES,
    ON_ERROR,
    PRECISIONS,
    PRETRAIN_MODES,
)
from featcls.cli._common import fail

# The model table imports no heavy library: the options below derive from it.
from featcls.models._registry import IMBALANCE_STRATEGIES, MODEL_SPECS

__all__ = [
    "DATASET",
    "MODELS_HELP",
    "CacheOpt",
    "ChannelChoice",
    "ChannelFilesOpt",
    "ChannelNamesOpt",
    "LabelNamesOpt",
    "LabelSepOpt",
    "Channels",
    "ChannelsOpt",
    "DataOpt",
    "DatasetOpt",
    "DatasetOptions",
    "class_counts",
    "default_families",
    "EmbeddingArchitecture",
    "EmbeddingArchitectureOpt",
    "EmbeddingLayerOpt",
    "EmbeddingModuleOpt",
    "EmbeddingWeightsOpt",
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
    "Precision",
    "PretrainAugmentOpt",
    "PretrainEpochsOpt",
    "PretrainMode",
    "PretrainOpt",
    "SamplesOpt",
    "SchedulerOpt",
    "SeedOpt",
    "SizeOpt",
    "TargetOpt",
    "image_models",
    "feature_families",
    "imbalance_option",
    "CnnBackboneLrOpt",
    "CnnEpochsOpt",
    "CnnFreezeEpochsOpt",
    "CnnModuleOpt",
    "CnnSizeOpt",
    "CnnWeightsOpt",
    "CropOpt",
    "InputOptions",
    "InputSizeOpt",
    "MarginOpt",
    "MaskOutOpt",
]


def _choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    """A str enum whose members are the library's own ``values``."""
    return Enum(name, [(v, v) for v in values], type=str)


#: --on-error: the loaders' policies for an unusable file.
OnError = _choices("OnError", ON_ERROR)
#: --precision: the compute precisions of a network.
Precision = _choices("Precision", PRECISIONS)
#: --mask: FeatureExtractor's mask policies.
MaskPolicy = _choices("MaskPolicy", MASK_POLICIES)
#: --channels: the channel policies of featcls.data (or channel names, see
#: :class:`ChannelChoice`).
Channels = _choices("Channels", CHANNEL_POLICIES)


class ChannelChoice(str):
    """The value of ``--channels``: a channel policy, or channel names.

    ``"gray"``, ``"rgb"``, ``"hsv"``, ``"channels"`` (:data:`Channels`), or the
    names of a dataset's channels, ``"green"`` or ``"green,blue"`` (a channel view
    of samples of one file per channel). ``value`` is the text, as for the enum
    the option took before, so the commands read ``channels.value`` either way.
    """

    __slots__ = ()

    @property
    def value(self) -> str:
        """The option's text: the policy or the names separated by commas."""
        return str(self)

    @property
    def names(self) -> tuple[str, ...] | None:
        """The channel names of a channel view; None for a policy."""
        if self in CHANNEL_POLICIES:
            return None
        return tuple(self.split(","))


def parse_channels_option(value) -> ChannelChoice:
    """``--channels`` text (or its default, a :data:`Channels` member) → choice."""
    text = value.value if isinstance(value, Enum) else str(value)
    if text in CHANNEL_POLICIES:
        return ChannelChoice(text)
    names = [n.strip() for n in text.split(",")]
    if not text.strip() or not all(names) or len(set(names)) != len(names):
        raise typer.BadParameter(
            f"give a channel policy ({', '.join(CHANNEL_POLICIES)}) or distinct "
            "channel names separated by commas (e.g. green,blue)."
        )
    return ChannelChoice(",".join(names))


#: --imbalance: the library's remedies for imbalanced classes.
Imbalance = _choices("Imbalance", IMBALANCE_STRATEGIES)


def _models_on(consumes: str) -> str:
    return ", ".join(n for n, spec in MODEL_SPECS.items() if spec.consumes == consumes)


#: The --models help, from the model table.
MODELS_HELP = (
    f"Comma-separated models. On hand-crafted features: {_models_on('features')} "
    "(the *-ordinal ones for ordered classes, with --class-order). "
    f"On pixels (needs torch): {_models_on('images')}. 'featcls datasets --models' "
    "describes each."
)

ClassOrderOpt = Annotated[
    str | None,
    typer.Option(
        "--class-order",
        help="The order of the classes for the *-ordinal models (defect levels, "
        "grades): 'sorted' when the labels sort in their order (p0.00 < p0.33 < "
        "...), or the classes from lowest to highest, e.g. low,mid,high. Each "
        "ordinal model is one binary model per threshold between neighbours.",
        rich_help_panel="Models",
    ),
]


def parse_class_order(value: str | None, models: str | list[str]):
    """``--class-order`` as the models take it: ``"sorted"``, a list, or None.

    Stops with one line when an ordinal model has no order, or an order is given
    without an ordinal model to use it.
    """
    names = (
        [m.strip() for m in models.split(",")] if isinstance(models, str) else models
    )
    ordinal = [m for m in names if m in MODEL_SPECS and MODEL_SPECS[m].ordinal]
    if value is None:
        if ordinal:
            fail(
                f"{ordinal[0]} learns ordered classes: give their order, "
                "--class-order sorted (labels that sort in their order) or "
                "--class-order lowest,...,highest."
            )
        return None
    if not ordinal:
        known = ", ".join(n for n, spec in MODEL_SPECS.items() if spec.ordinal)
        fail(
            f"--class-order applies to the ordinal models ({known}); add one to "
            "--models."
        )
    if value.strip() == "sorted":
        return "sorted"
    order = [c.strip() for c in value.split(",") if c.strip()]
    if len(order) < 2 or len(set(order)) != len(order):
        fail(
            "--class-order lists every class once, from lowest to highest "
            f"(at least two), or is 'sorted'; got {value!r}."
        )
    return order


def check_class_order(order, labels):
    """``--class-order`` in the labels' own values (a list), or as given.

    Stops when a listed order misses a class of the labels or names one they do
    not have, or when ``sorted`` would sort numbers as text (1 < 10 < 2).
    """
    import numpy as np

    from featcls.models._ordinal import numbers_sorted_as_text

    if order == "sorted":
        numeric = numbers_sorted_as_text(labels)
        if numeric is not None:
            fail(
                "--class-order sorted would sort these labels as text, not as the "
                "numbers they are; give the order: --class-order "
                f"{','.join(map(str, numeric))}."
            )
    if order is None or isinstance(order, str):
        return order
    values = {str(v): v for v in np.unique(np.asarray(labels))}
    missing = sorted(set(values) - set(order))
    if missing:
        fail(
            "--class-order does not list the class(es) "
            f"{', '.join(map(repr, missing))} of the labels; list every class once, "
            f"lowest first (given: {','.join(order)})."
        )
    unknown = [c for c in order if c not in values]
    if unknown:
        fail(
            f"--class-order names {', '.join(map(repr, unknown))}, not a class of the "
            f"labels ({', '.join(map(repr, values))})."
        )
    return [values[c] for c in order]


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
ChannelFilesOpt = Annotated[
    str | None,
    typer.Option(
        "--channel-files",
        metavar="PATTERN",
        help="One grey file per channel for each manifest row: a path pattern "
        "relative to the CSV's folder, where {channel} is each of "
        "--channel-names and {COLUMN} the row's cell, e.g. "
        "'train/{Id}_{channel}.png' (with --image-col Id). The files are stacked "
        "into one multichannel image per row.",
        rich_help_panel="Dataset",
    ),
]
ChannelNamesOpt = Annotated[
    str | None,
    typer.Option(
        "--channel-names",
        metavar="NAMES",
        help="Names of the channels of --channel-files in stacking order, "
        "separated by commas, e.g. red,green,blue,yellow. They name the feature "
        "columns (intensity__green_mean) and may be chosen with --channels.",
        rich_help_panel="Dataset",
    ),
]
LabelSepOpt = Annotated[
    str | None,
    typer.Option(
        "--label-sep",
        metavar="SEP",
        help="Multi-label targets: the --label-col cell lists a sample's labels "
        'separated by SEP, e.g. --label-sep " " for "16 0" (an empty cell: no '
        "label). Folds are iteratively stratified and feature models fitted per "
        "label.",
        rich_help_panel="Dataset",
    ),
]
LabelNamesOpt = Annotated[
    str | None,
    typer.Option(
        "--label-names",
        metavar="NAMES",
        help="With --label-sep: every label there is, separated by commas; a row "
        "naming another label is a bad row (see --on-error).",
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
        "'vlad' codebook and the deep 'embedding'; compare and train add 'vlad' "
        "when every class keeps at least 30 training images in each fit. "
        "'default,vlad' adds one, 'default,embedding' with --embedding-weights "
        "the other). See 'featcls datasets --features'.",
        rich_help_panel="Features",
    ),
]


# -- the 'embedding' feature family: a network's pooled activations -----------------
#: --embedding-architecture: the built-in networks.
EmbeddingArchitecture = _choices("EmbeddingArchitecture", ARCHITECTURES)


def _embedding_weights_file(value: Path | None) -> Path | None:
    """``--embedding-weights``: stop with one line unless it is a file.

    Resolved to an absolute path, so that a saved model finds it again from
    another working directory.
    """
    if value is not None and not value.is_file():
        fail(f"--embedding-weights '{value}' is not a file.")
    return None if value is None else value.resolve()


def _embedding_module_spec(value: str | None) -> str | None:
    """``--embedding-module``: stop with one line unless it spells a network spec."""
    if value is None:
        return None
    from featcls.models._cnn_params import check_module_spec

    try:
        return check_module_spec(value)
    except ValueError as exc:
        fail(f"--embedding-module: {exc}")


EmbeddingWeightsOpt = Annotated[
    Path | None,
    typer.Option(
        "--embedding-weights",
        metavar="PATH",
        callback=_embedding_weights_file,
        help="The network of the 'embedding' features (add 'embedding' to "
        "--features): a model file of 'featcls train' (a CNN), a backbone of "
        "'featcls pretrain', or a state dict "
        "(.pt/.pth read with torch.load(weights_only=True), or .safetensors) of "
        "--embedding-architecture or --embedding-module. No code in the file runs.",
        rich_help_panel="Features",
    ),
]
EmbeddingModuleOpt = Annotated[
    str | None,
    typer.Option(
        "--embedding-module",
        metavar="PACKAGE.MODULE:FACTORY",
        callback=_embedding_module_spec,
        help="Your own network for the 'embedding' features: a factory("
        "in_channels, n_classes) returning a torch.nn.Module (or a module), "
        "imported from PACKAGE.MODULE, or timm:NAME; its classifier layer is "
        "dropped. With --embedding-weights, the weights loaded into it.",
        rich_help_panel="Features",
    ),
]
EmbeddingArchitectureOpt = Annotated[
    EmbeddingArchitecture,
    typer.Option(
        "--embedding-architecture",
        help="The built-in network a plain state dict (--embedding-weights) is "
        "loaded into, without --embedding-module.",
        rich_help_panel="Features",
    ),
]
EmbeddingLayerOpt = Annotated[
    str | None,
    typer.Option(
        "--embedding-layer",
        metavar="NAME",
        help="Pool this layer of the network (its name in named_modules(), e.g. "
        "trunk.8) instead of the input of its classifier.",
        rich_help_panel="Features",
    ),
]


def feature_families(features: str | None, params) -> str | list | None:
    """``--features``, with its ``embedding`` family configured by --embedding-*.

    ``params`` holds the command's values (a dict or namespace). Stops with one line
    when an --embedding-* option is given without ``embedding`` in --features, or
    ``embedding`` without a network.
    """
    if not isinstance(params, dict):
        params = vars(params)
    weights, module = params.get("embedding_weights"), params.get("embedding_module")
    architecture = params.get("embedding_architecture")
    architecture = getattr(architecture, "value", architecture) or ARCHITECTURES[0]
    layer = params.get("embedding_layer")
    names = [f.strip() for f in (features or "").split(",") if f.strip()]
    if "embedding" not in names:
        given = [
            option
            for option, value in (
                ("--embedding-weights", weights),
                ("--embedding-module", module),
                ("--embedding-layer", layer),
                (
                    "--embedding-architecture",
                    None if architecture == ARCHITECTURES[0] else architecture,
                ),
            )
            if value is not None
        ]
        if given:
            fail(
                f"{given[0]} configures the 'embedding' feature family; add it to "
                "--features (e.g. --features default,embedding)."
            )
        return features
    pretrain = params.get("pretrain")
    if weights is None and module is None and pretrain is None:
        fail(
            "--features embedding needs a network: give --embedding-weights PATH (a "
            "model file of 'featcls train', or a state dict with "
            "--embedding-architecture or --embedding-module) or --embedding-module "
            "PACKAGE.MODULE:FACTORY; with featcls compare, --pretrain fold "
            "pretrains --embedding-architecture inside each training fold."
        )
    from featcls.features import EmbeddingFeatures

    family = EmbeddingFeatures(
        weights=None if weights is None else str(weights),
        module=module,
        architecture=architecture,
        layer=layer,
    )
    return [family if name == "embedding" else name for name in names]


def default_families(features, models, train_counts) -> tuple:
    """``(families, note)``: the default features of compare and train, and why.

    With --features given, ``(features, None)``. Otherwise the default families,
    and the learned codebook (``vlad``) with them when some model reads features
    and every class keeps at least :data:`~featcls.models._svm.MIN_CLASS_FOR_ALPHA`
    images in the training part of each fit (``train_counts``: class → its fewest
    training images in any fit, see :func:`class_counts`): then the SVM chooses
    inside each fit how much the codebook's thousands of columns count. With
    fewer, it cannot, and they would drown the other families' distances, so the
    codebook stays out. ``note`` is the line that says which, for the user.
    """
    from featcls.models._svm import MIN_CLASS_FOR_ALPHA

    if features is not None:
        return features, None
    names = [m.strip() for m in str(models).split(",")]
    if not train_counts or not any(
        m not in MODEL_SPECS or m == "fusion" or MODEL_SPECS[m].consumes == "features"
        for m in names
    ):
        return None, None  # no model reads the features
    smallest = min(train_counts, key=train_counts.get)
    fewest = train_counts[smallest]
    if fewest >= MIN_CLASS_FOR_ALPHA:
        return "default,vlad", (
            "features: the default families and the learned codebook 'vlad' (every "
            f"class keeps ≥ {MIN_CLASS_FOR_ALPHA} training images in each fit, so "
            "the SVM weighs the codebook inside each fit; --features default "
            "leaves it out)"
        )
    return None, (
        "features: the default families; the learned codebook 'vlad' joins them "
        f"when every class keeps ≥ {MIN_CLASS_FOR_ALPHA} training images in each "
        f"fit ('{smallest}' keeps {fewest}); --features default,vlad adds it anyway"
    )


def class_counts(targets, classes) -> dict:
    """Images per class.

    For a label matrix, the fewer of each label's positives and negatives (each
    label is a two-class problem of its own).
    """
    import numpy as np

    targets = np.asarray(targets)
    if targets.ndim == 2:
        positives = targets.sum(axis=0).astype(int)
        return {
            str(c): int(min(p, len(targets) - p))
            for c, p in zip(classes, positives, strict=True)
        }
    names, sizes = np.unique(targets, return_counts=True)
    return {str(c): int(n) for c, n in zip(names, sizes, strict=True)}


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
        "segmentation ('auto'); or the whole image ('full'). Not given: 'auto', "
        "or what the dataset declares ('full' for --dataset elpv, whose images "
        "are whole cells).",
        rich_help_panel="Features",
    ),
]
ChannelsOpt = Annotated[
    ChannelChoice,
    typer.Option(
        "--channels",
        parser=parse_channels_option,
        metavar="[" + "|".join(CHANNEL_POLICIES) + "|NAMES]",
        help="Channel policy: features on the grey image, or per channel. Or a "
        "channel view of a dataset of one file per channel (--channel-names): "
        "its channels to keep, e.g. 'green' or 'green,blue', for the features "
        "and the CNNs alike.",
        rich_help_panel="Features",
    ),
]


# -- the input variant (compare, extract, train): features and CNNs alike -----------
def _margin(value: float | None) -> float | None:
    """``--margin``: stop with one line unless it is 0 or more."""
    if value is not None and not value >= 0:
        fail(
            "--margin must be 0 or more (a fraction of the object's box added on "
            f"each side, e.g. 0.1). Got {value}."
        )
    return value


def _size(value: int | None) -> int | None:
    """``--size``: stop with one line unless it is 1 or more."""
    if value is not None and value < 1:
        fail(f"--size must be 1 or more (pixels a side). Got {value}.")
    return value


CropOpt = Annotated[
    bool,
    typer.Option(
        "--crop",
        help="Crop every image to its object's bounding box plus --margin (the "
        "dataset's mask where given, else the automatic one), for the features "
        "and the CNN and fusion models alike.",
        rich_help_panel="Input",
    ),
]
MarginOpt = Annotated[
    float | None,
    typer.Option(
        "--margin",
        metavar="FLOAT",
        callback=_margin,
        help="With --crop: the margin added on each side, as a fraction of the "
        "object's box (height for top and bottom, width for left and right). "
        "Default: 0.1.",
        rich_help_panel="Input",
    ),
]
MaskOutOpt = Annotated[
    bool,
    typer.Option(
        "--mask-out",
        help="Set the pixels outside the object mask (the dataset's, else the "
        "automatic one) to 0, for the features and the CNN and fusion models "
        "alike.",
        rich_help_panel="Input",
    ),
]
InputSizeOpt = Annotated[
    int | None,
    typer.Option(
        "--size",
        metavar="N",
        callback=_size,
        help="Resize every (prepared) image to N×N pixels: the feature "
        "extractor's size, and the input size of the CNN and fusion models "
        "unless --cnn-size is given. Default: features on the image's own size.",
        rich_help_panel="Input",
    ),
]


@dataclasses.dataclass(frozen=True)
class InputOptions:
    """--crop, --margin, --mask-out, --size and --channels: how images are prepared.

    The feature extractor and the CNN and fusion models get the same variant, so
    the arms of a comparison see the same pixels. ``channels`` is the
    --channels value and ``channels_given`` whether it was chosen (given on the
    command line, or another value than the default, e.g. from --config): only
    then does its policy apply to the CNNs, which otherwise take every channel of
    the images; a channel view (names) reaches them through the dataset.
    """

    crop: bool = False
    margin: float | None = None
    mask_out: bool = False
    size: int | None = None
    channels: ChannelChoice = ChannelChoice("gray")
    channels_given: bool = False

    @classmethod
    def of(cls, params, ctx: typer.Context | None = None) -> InputOptions:
        """The input options among a command's parameters (a dict or namespace).

        ``ctx`` tells whether --channels was given on the command line; a value
        other than the default counts as chosen either way (e.g. from --config).
        """
        if not isinstance(params, dict):
            params = vars(params)
        channels = parse_channels_option(params.get("channels", "gray"))
        source = None if ctx is None else ctx.get_parameter_source("channels")
        given = getattr(source, "name", None) == "COMMANDLINE" or channels != "gray"
        options = cls(
            crop=bool(params.get("crop", False)),
            margin=params.get("margin"),
            mask_out=bool(params.get("mask_out", False)),
            size=params.get("size"),
            channels=channels,
            channels_given=given,
        )
        options.check()
        return options

    def check(self) -> None:
        """Stop with one line on options that do not fit together."""
        if self.margin is not None and not self.crop:
            fail(
                "--margin is the margin of --crop; give --crop too (without it the "
                "image is not cropped and a margin has no effect)."
            )

    def features(self) -> dict:
        """FeatureExtractor's ``size``, ``crop``, ``margin`` and ``mask_out``."""
        return {
            "size": self.size,
            "crop": self.crop,
            "margin": 0.1 if self.margin is None else self.margin,
            "mask_out": self.mask_out,
        }

    @property
    def cnn_channels(self) -> str | None:
        """The CNNs' channel policy: the chosen --channels policy, else None."""
        if self.channels_given and self.channels.names is None:
            return self.channels.value
        return None

    def cnn(self, cnn_size: int | None, models: list[str]) -> dict:
        """CNNClassifier's parameters: the variant and ``input_size``.

        ``input_size`` is ``cnn_size`` (--cnn-size) when given, else --size, else
        96 (the CNN's default). ``models`` are the image models of the command
        (:func:`image_models`), for which a --size below the CNN's minimum stops
        with one line.
        """
        size = cnn_size if cnn_size is not None else self.size
        if models and cnn_size is None and self.size is not None:
            from featcls.models._cnn_params import CNN_CONSTRAINTS, lowest

            low = lowest(CNN_CONSTRAINTS, "input_size")
            if self.size < low:
                fail(
                    f"--size {self.size} is also the input size of "
                    f"{', '.join(models)}, which must be {low} or more; give "
                    f"--cnn-size {low} (or more) for the CNN and fusion models."
                )
        return {
            "input_size": 96 if size is None else size,
            "channels": self.cnn_channels,
            "crop": self.crop,
            "margin": 0.1 if self.margin is None else self.margin,
            "mask_out": self.mask_out,
        }


def image_models(models: str) -> list[str]:
    """The models on pixels (CNN and fusion) among comma-separated model names."""
    names = [m.strip() for m in str(models).split(",")]
    return [
        m for m in names if m in MODEL_SPECS and MODEL_SPECS[m].consumes == "images"
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
    channel_files: str | None = None
    channel_names: str | None = None
    label_sep: str | None = None
    label_names: str | None = None
    seed: int = 0
    on_error: OnError = OnError["raise"]
    #: --channels, a Features option: channel names make a channel view of the
    #: dataset, so the features and the CNNs see the same channels.
    channels: ChannelChoice = ChannelChoice("gray")
    #: Manifest columns read verbatim as text besides the image, label, mask and
    #: group columns (e.g. compare's --aggregate-by): patient "007" stays "007".
    text_cols: tuple[str, ...] = ()

    @classmethod
    def of(cls, params) -> DatasetOptions:
        """The dataset options among a command's parameters (a dict or namespace).

        ``channels`` may be absent (a command without --channels).
        """
        if not isinstance(params, dict):
            params = vars(params)
        optional = ("channels", "label_sep", "label_names", "text_cols")
        values = {
            f.name: params[f.name]
            for f in dataclasses.fields(cls)
            if f.name in params or f.name not in optional
        }
        if "channels" in values:
            values["channels"] = parse_channels_option(values["channels"])
        return cls(**values)

    def _load_manifest(self, on_error: str):
        from featcls.data import load_manifest

        channels = {}
        if self.channel_files is not None:
            channels = {
                "channel_files": self.channel_files,
                "channel_names": self.channel_names,
                # Only the channels in view are checked and read.
                "channels": self.channels.names,
            }
        return load_manifest(
            self.manifest,
            image_col=self.image_col,
            label_col=self.label_col,
            mask_col=self.mask_col,
            group_col=self.group_col,
            label_sep=self.label_sep,
            label_names=self.label_names,
            text_cols=self.text_cols,
            on_error=on_error,
            **channels,
        )

    def load(self):
        """Load the dataset these options name (a :class:`featcls.data.Dataset`)."""
        from featcls.data import load_builtin, load_folder
        from featcls.exceptions import DataWarning

        self.check()
        on_error = self.on_error.value
        with warnings.catch_warnings():
            # Skipped files are listed by the command itself, one per line.
            warnings.simplefilter("ignore", DataWarning)
            if self.data is not None:
                return load_folder(self.data, masks=self.masks, on_error=on_error)
            if self.manifest is not None:
                return self._load_manifest(on_error)
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
        self._check_channels(manifest is not None)
        if (self.label_sep is not None or self.label_names is not None) and (
            manifest is None
        ):
            fail("--label-sep and --label-names read a --manifest's label column.")
        if self.label_names is not None and self.label_sep is None:
            fail("--label-names needs --label-sep (it lists the labels of a set).")
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

    def _check_channels(self, manifest: bool) -> None:
        """Stop with one line if the channel options do not fit together."""
        if self.channel_files is None:
            if self.channel_names is not None:
                fail(
                    "--channel-names names the channels of --channel-files; give "
                    "--channel-files too (e.g. 'train/{Id}_{channel}.png')."
                )
            if self.channels.names is not None:
                fail(
                    f"--channels {self.channels} names channels, but the dataset "
                    "has none: give a channel policy "
                    f"({', '.join(CHANNEL_POLICIES)}), or a --manifest with "
                    "--channel-files and --channel-names."
                )
            return
        if not manifest:
            fail(
                "--channel-files reads one file per channel for each row of a "
                "--manifest; give --manifest (with --image-col naming the column "
                "the pattern uses)."
            )
        if self.channel_names is None:
            fail(
                "--channel-files needs --channel-names, the names that fill "
                "{channel} in stacking order (e.g. red,green,blue,yellow)."
            )


#: The dataset options' defaults, for the commands' signatures.
DATASET = DatasetOptions()


# -- the CNN's network and fine-tuning (compare, train; --cnn-module also predict) --
def _cnn_module_spec(value: str | None) -> str | None:
    """``--cnn-module``: stop with one line unless it spells a network spec."""
    if value is None:
        return None
    from featcls.models._cnn_params import check_module_spec

    try:
        return check_module_spec(value)
    except ValueError as exc:
        fail(f"--cnn-module: {exc}")


def _cnn_weights_file(value: Path | None) -> Path | None:
    """``--cnn-weights``: stop with one line unless it is a file."""
    if value is not None and not value.is_file():
        fail(f"--cnn-weights '{value}' is not a file.")
    return value


def _cnn_freeze_epochs(value: int) -> int:
    """``--cnn-freeze-epochs``: stop with one line unless it is 0 or more."""
    if value < 0:
        fail(f"--cnn-freeze-epochs must be 0 or more. Got {value}.")
    return value


def _cnn_backbone_lr(value: float) -> float:
    """``--cnn-backbone-lr``: stop with one line unless it is positive."""
    if not value > 0:
        fail(
            "--cnn-backbone-lr must be more than 0 (a multiple of the head's "
            f"learning rate). Got {value}."
        )
    return value


CnnEpochsOpt = Annotated[
    int,
    typer.Option(
        "--cnn-epochs",
        help="Maximum training epochs of the CNN and fusion models (early stopping "
        "may end sooner).",
        rich_help_panel="Models",
    ),
]
CnnSizeOpt = Annotated[
    int | None,
    typer.Option(
        "--cnn-size",
        help="Input size in pixels of the CNN and fusion models (images are "
        "resized to it). Default: --size when given, else 96.",
        rich_help_panel="Models",
    ),
]
CnnModuleOpt = Annotated[
    str | None,
    typer.Option(
        "--cnn-module",
        metavar="PACKAGE.MODULE:FACTORY",
        callback=_cnn_module_spec,
        help="Your own network for the CNN and fusion models, instead of the "
        "built-in architecture: a factory(in_channels, n_classes) returning a "
        "torch.nn.Module (or a module), imported from PACKAGE.MODULE; or "
        "timm:NAME (needs timm; its pretrained weights unless --cnn-weights). "
        "For predict: the network the model was trained on (model files hold "
        "weights, never code).",
        rich_help_panel="Models",
    ),
]
CnnWeightsOpt = Annotated[
    Path | None,
    typer.Option(
        "--cnn-weights",
        metavar="PATH",
        callback=_cnn_weights_file,
        help="Initialise the CNN from a state dict (.pt/.pth, read with "
        "torch.load(weights_only=True), or .safetensors) or a backbone of "
        "'featcls pretrain' (compare then states how many evaluated images it "
        "saw); what does not fit is reported, the classifier head is new.",
        rich_help_panel="Models",
    ),
]
CnnFreezeEpochsOpt = Annotated[
    int,
    typer.Option(
        "--cnn-freeze-epochs",
        callback=_cnn_freeze_epochs,
        help="First epochs in which only the CNN's classifier head trains "
        "(the backbone frozen).",
        rich_help_panel="Models",
    ),
]
CnnBackboneLrOpt = Annotated[
    float,
    typer.Option(
        "--cnn-backbone-lr",
        callback=_cnn_backbone_lr,
        help="Learning rate of the CNN's backbone (all but the head), as a "
        "multiple of the head's (e.g. 0.1).",
        rich_help_panel="Models",
    ),
]

#: --pretrain: where compare pretrains the CNNs without labels.
PretrainMode = _choices("PretrainMode", PRETRAIN_MODES)


def _pretrain_epochs(value: int | None) -> int | None:
    """``--pretrain-epochs``: stop with one line unless it is 1 or more."""
    if value is not None and value < 1:
        fail(f"--pretrain-epochs must be 1 or more. Got {value}.")
    return value


PretrainOpt = Annotated[
    PretrainMode | None,
    typer.Option(
        "--pretrain",
        help="fold: pretrain the network of the CNN and fusion models without "
        "labels (VICReg, as 'featcls pretrain') inside each fit, on that "
        "fold's training images only, then train it on the labels; and the "
        "network of the embedding features (--embedding-architecture or "
        "--embedding-module, without --embedding-weights) before each fold's "
        "features are extracted: no test image is ever seen.",
        rich_help_panel="Models",
    ),
]
PretrainEpochsOpt = Annotated[
    int | None,
    typer.Option(
        "--pretrain-epochs",
        callback=_pretrain_epochs,
        help="With --pretrain fold: epochs of each fit's pretraining (default: "
        "30, as 'featcls pretrain').",
        rich_help_panel="Models",
    ),
]
PretrainAugmentOpt = Annotated[
    str | None,
    typer.Option(
        "--pretrain-augment",
        metavar="KEY=VALUE,...",
        help="With --pretrain fold: change the views' augmentation of each fit's "
        "pretraining, as 'featcls pretrain --augment' does (e.g. "
        "brightness=0,contrast=0 where brightness carries the label).",
        rich_help_panel="Models",
    ),
]

#: --scheduler: run extraction and fits on a Dask cluster.
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="ADDRESS",
        help="Run on a Dask cluster: tcp://HOST:PORT of a running scheduler ('dask "
        "scheduler', then 'dask worker tcp://HOST:PORT' on each machine), or "
        "local:N for N local worker processes. Images and --cache-dir must be "
        "reachable from every worker. Results are those of a local run; --n-jobs "
        "does not apply.",
    ),
]
