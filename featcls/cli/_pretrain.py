"""``featcls pretrain``: a backbone pretrained without labels on your own images."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from featcls.cli._common import check_out_file, echo_skipped, fail, run_guarded
from featcls.cli._options import (
    DATASET,
    ChannelFilesOpt,
    ChannelNamesOpt,
    DatasetOpt,
    DatasetOptions,
    EmbeddingArchitecture,
    ImageColOpt,
    MaskColOpt,
    MasksOpt,
    OnErrorOpt,
    Precision,
    SamplesOpt,
    SeedOpt,
    SizeOpt,
    TargetOpt,
)
from featcls.cli._resume import FreshOpt

__all__ = ["parse_augment", "pretrain"]

#: Suffixes of a backbone file (a torch.save payload).
_SUFFIXES = (".pt", ".pth")


def parse_augment(text: str | None, option: str = "--augment") -> bool | dict:
    """``--augment`` (``brightness=0,crop_scale=0.5:1,dihedral=false``) as a dict.

    Values are numbers, ``LOW:HIGH`` ranges or ``true``/``false``; None: True
    (the defaults). One line naming ``option`` and exit 1 for anything else.
    """
    if text is None:
        return True
    from featcls.models._cnn_augment import AUGMENT_OPTIONS

    options = {}
    for item in (part.strip() for part in text.split(",")):
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or key not in AUGMENT_OPTIONS:
            fail(
                f"{option} takes KEY=VALUE pairs separated by commas, KEY one of "
                f"{', '.join(AUGMENT_OPTIONS)} (e.g. brightness=0,crop_scale=0.5:1); "
                f"got {item!r}."
            )
        try:
            if value.lower() in ("true", "false"):
                options[key] = value.lower() == "true"
            elif ":" in value:
                low, high = (float(v) for v in value.split(":"))
                options[key] = (low, high)
            else:
                options[key] = float(value)
        except ValueError:
            fail(
                f"{option} {key}={value!r}: give a number, a LOW:HIGH range or "
                "true/false."
            )
    return options


def _check_numbers(epochs: int, batch_size: int, input_size: int, lr: float) -> None:
    """One line and exit 1 for a number out of range, before any work.

    The minimums are the library's own (pretrain's and the CNN's constraints).
    """
    from featcls.models._cnn_params import CNN_CONSTRAINTS, lowest
    from featcls.models._pretrain_params import PRETRAIN_CONSTRAINTS

    for option, value, low in (
        ("--epochs", epochs, lowest(PRETRAIN_CONSTRAINTS, "epochs")),
        ("--batch-size", batch_size, lowest(PRETRAIN_CONSTRAINTS, "batch_size")),
        ("--input-size", input_size, lowest(CNN_CONSTRAINTS, "input_size")),
    ):
        if value < low:
            fail(f"{option} must be {low} or more. Got {value}.")
    if not lr > 0:
        fail(f"--lr must be more than 0. Got {lr}.")


def _images(params: dict):
    """The images: --data (any nesting), --manifest or a built-in --dataset."""
    from featcls.cli._train import load_unlabelled

    given = [
        o
        for o, k in (("--data", "data"), ("--manifest", "manifest"))
        if params[k] is not None
    ]
    if params["dataset"] is not None:
        if given:
            fail(f"give one dataset, not {given[0]} and --dataset.")
        keys = ("dataset", "target", "n_samples", "image_size", "seed", "on_error")
        return DatasetOptions(**{k: params[k] for k in keys}).load()
    if not given:
        fail(
            "give the images: --data DIR (a folder of images, any nesting; class "
            "folders are fine, their names are not used), --manifest CSV or "
            "--dataset NAME."
        )
    return load_unlabelled(params)


def pretrain(
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Folder of images, any nesting (class sub-folders are fine: "
            "labels are not used); or give --manifest or --dataset.",
            rich_help_panel="Dataset",
        ),
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Backbone file (.pt, read with torch.load(weights_only=True)): "
            "the weights without a classifier head, the architecture, input size, "
            "normalisation, method, augmentation and the content key of every "
            "image seen. Use it as --cnn-weights or --embedding-weights.",
        ),
    ] = Path("backbone.pt"),
    masks: MasksOpt = None,
    manifest: Annotated[
        Path | None,
        typer.Option(
            "--manifest",
            help="CSV with one row per image (see --image-col, --channel-files); "
            "a label column is ignored.",
            rich_help_panel="Dataset",
        ),
    ] = None,
    image_col: ImageColOpt = DATASET.image_col,
    mask_col: MaskColOpt = DATASET.mask_col,
    channel_files: ChannelFilesOpt = DATASET.channel_files,
    channel_names: ChannelNamesOpt = DATASET.channel_names,
    dataset: DatasetOpt = DATASET.dataset,
    target: TargetOpt = DATASET.target,
    n_samples: SamplesOpt = DATASET.n_samples,
    image_size: SizeOpt = DATASET.image_size,
    architecture: Annotated[
        EmbeddingArchitecture,
        typer.Option(
            "--architecture",
            help="The built-in network to pretrain (fine-tune it later as the "
            "model cnn-NAME, e.g. cnn-lipnet).",
            rich_help_panel="Network",
        ),
    ] = EmbeddingArchitecture["lipnet"],
    module: Annotated[
        str | None,
        typer.Option(
            "--module",
            metavar="PACKAGE.MODULE:FACTORY",
            help="Your own network instead: a factory(in_channels, n_classes) "
            "returning a torch.nn.Module (or a module), imported from "
            "PACKAGE.MODULE; its final Linear layer (the classifier) is not part "
            "of the backbone. Give it again as --cnn-module or --embedding-module "
            "when you use the backbone.",
            rich_help_panel="Network",
        ),
    ] = None,
    input_size: Annotated[
        int,
        typer.Option(
            "--input-size",
            help="Side of the square network input in pixels (images are resized "
            "to it). Fine-tune at the same size (--cnn-size).",
            rich_help_panel="Network",
        ),
    ] = 96,
    epochs: Annotated[
        int,
        typer.Option(
            "--epochs",
            help="Epochs of VICReg (every image twice per epoch, as two "
            "augmented views).",
            rich_help_panel="Training",
        ),
    ] = 30,
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size",
            help="Images per step (each gives two views), at least 2.",
            rich_help_panel="Training",
        ),
    ] = 64,
    lr: Annotated[
        float,
        typer.Option(
            "--lr",
            help="Peak learning rate of AdamW (linear warm-up over the first 10 % "
            "of the steps, then cosine decay).",
            rich_help_panel="Training",
        ),
    ] = 1e-3,
    augment: Annotated[
        str | None,
        typer.Option(
            "--augment",
            metavar="KEY=VALUE,...",
            help="Change the views' augmentation (default: crops of 40-100 % of "
            "the side, flips and 90° rotations, brightness ±0.3, contrast ±40 %, "
            "noise σ ≤ 0.05), e.g. brightness=0,contrast=0 where brightness "
            "carries the label, or crop_scale=0.6:1. Keys: dihedral, crop_scale, "
            "aspect_ratio, brightness, contrast, noise.",
            rich_help_panel="Training",
        ),
    ] = None,
    precision: Annotated[
        Precision,
        typer.Option(
            "--precision",
            help="Compute precision: bfloat16 where the device computes it "
            "natively (auto), or float32.",
            rich_help_panel="Training",
        ),
    ] = Precision["auto"],
    seed: SeedOpt = DATASET.seed,
    fresh: FreshOpt = False,
    on_error: OnErrorOpt = DATASET.on_error,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress", help="Progress bar (default: on a terminal)."
        ),
    ] = None,
) -> None:
    """Pretrain a network on images without labels (self-supervised, VICReg).

    The network learns what two augmented views of the same image share, from
    the images alone: use all you have, labelled or not. The backbone file
    initialises a CNN (compare or train --cnn-weights) or feeds the embedding
    features (--features default,embedding --embedding-weights). After every
    epoch its state is kept beside --out: the same command again after a kill
    resumes there and ends with the same weights (--fresh starts afresh).
    'featcls compare' states how many of the images it evaluates the backbone
    saw; 'featcls compare --pretrain fold' pretrains inside each training fold
    instead.
    """
    params = dict(locals())
    if out.suffix not in _SUFFIXES:
        fail(
            f"--out '{out}': a backbone is a torch file; give a name ending in .pt "
            "(or .pth)."
        )
    check_out_file(out)
    _check_numbers(epochs, batch_size, input_size, lr)
    if module is not None:
        from featcls.models._cnn_params import check_module_spec

        try:
            check_module_spec(module)
        except ValueError as exc:
            fail(f"--module: {exc}")
    options = parse_augment(augment)
    partial = out.parent / f".{out.name}.partial"
    if fresh:
        partial.unlink(missing_ok=True)
    elif partial.exists():
        typer.echo(
            f"featcls: resuming from '{partial}', left by an earlier run that was "
            "killed, where its settings and images are the same (--fresh starts "
            "afresh).",
            err=True,
        )

    def work():
        from featcls.models import pretrain as run_pretrain

        ds = _images(params)
        backbone = run_pretrain(
            ds.X,
            out=out,
            architecture=architecture.value,
            module=module,
            epochs=epochs,
            batch_size=batch_size,
            input_size=input_size,
            lr=lr,
            augment=options,
            precision=precision.value,
            random_state=seed,
            progress=progress,
        )
        history = backbone.history
        network = module or architecture.value
        typer.echo(
            f"{network} pretrained without labels (VICReg, {epochs} epochs) on "
            f"{len(ds)} images of {ds.name}: loss {history[0]['loss']:.4g} → "
            f"{history[-1]['loss']:.4g} → {out}"
        )
        echo_skipped(ds.skipped)

    run_guarded(work)
