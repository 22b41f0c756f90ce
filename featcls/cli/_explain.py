"""``featcls explain``: Grad-CAM or saliency overlays of a saved CNN's predictions."""

from __future__ import annotations

from enum import Enum
from pathlib import Path, PurePosixPath
from typing import Annotated

import typer

from featcls.cli._common import check_out_dir, echo_skipped, run_guarded
from featcls.cli._options import (
    DATASET,
    ChannelFilesOpt,
    ChannelNamesOpt,
    CnnModuleOpt,
    ImageColOpt,
    MaskColOpt,
    MasksOpt,
    OnErrorOpt,
)
from featcls.cli._train import load_unlabelled, sample_names
from featcls.models._explain import EXPLAIN_METHODS

__all__ = ["INDEX_NAME", "Method", "explain"]

#: --method: the library's explanation methods.
Method = Enum("Method", [(m, m) for m in EXPLAIN_METHODS], type=str)
#: The index of the overlays written into --out.
INDEX_NAME = "explanations.csv"
#: Images explained at once: bounds the memory used, not the results.
_CHUNK = 64


def _overlay_name(written: str, method: str, used: set[str]) -> str:
    """The overlay's file name under --out: the sample's path, ``_<method>.png``.

    The sample's relative path keeps its folders (``a/x.png`` →
    ``a/x_gradcam.png``); anchors and ``..`` are dropped so that every file lands
    inside --out, and a name already used gets a number.
    """
    parts = [
        p
        for p in PurePosixPath(written.replace("\\", "/")).parts
        if p not in ("/", "..", ".")
    ]
    stem = PurePosixPath(*parts) if parts else PurePosixPath("image")
    stem = stem.with_suffix("") if stem.suffix else stem
    name, k = f"{stem}_{method}.png", 1
    while name in used:
        k += 1
        name = f"{stem}_{method}_{k}.png"
    used.add(name)
    return name


def explain(
    model: Annotated[
        Path,
        typer.Argument(
            help="CNN or fusion model file (.pt) written by 'featcls train'."
        ),
    ],
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Folder of the images to explain (any nesting, no labels); or "
            "give --manifest.",
            rich_help_panel="Dataset",
        ),
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Folder for one PNG overlay per image (the image as the network "
            f"saw it, in grey, under the heat map) and {INDEX_NAME}: path, "
            "prediction, probability, overlay (its file under --out).",
        ),
    ] = Path("explanations"),
    method: Annotated[
        Method,
        typer.Option(
            "--method",
            help="gradcam: the regions of the last convolutional maps that raised "
            "the predicted class (coarse); saliency: the gradient of the class "
            "with respect to each pixel (fine, noisier).",
        ),
    ] = Method["gradcam"],
    masks: MasksOpt = None,
    manifest: Annotated[
        Path | None,
        typer.Option(
            "--manifest",
            help="CSV with one row per image to explain (see --image-col, "
            "--channel-files), instead of --data.",
            rich_help_panel="Dataset",
        ),
    ] = None,
    image_col: ImageColOpt = DATASET.image_col,
    mask_col: MaskColOpt = DATASET.mask_col,
    channel_files: ChannelFilesOpt = DATASET.channel_files,
    channel_names: ChannelNamesOpt = DATASET.channel_names,
    on_error: OnErrorOpt = DATASET.on_error,
    cnn_module: CnnModuleOpt = None,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress", help="Progress bar (default: on a terminal)."
        ),
    ] = None,
) -> None:
    """Show where a saved CNN (or fusion model) looked: one overlay per image.

    Models on hand-crafted features have no pixel gradients and are refused.
    """
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
    check_out_dir(out)

    def work():
        import cv2
        import pandas as pd
        from tqdm.auto import tqdm

        from featcls._files import atomic_path, write_bytes_atomic
        from featcls.models import explain as explain_images
        from featcls.models import load_model

        pipe, meta = load_model(model, module=cnn_module)
        ds = load_unlabelled(params)
        shown = sample_names(ds)
        written = ds.X["relpath"].astype(str).tolist()
        rows, used = [], set()
        with tqdm(
            total=len(ds),
            unit="image",
            desc="explain",
            disable=None if progress is None else not progress,
        ) as bar:
            for start in range(0, len(ds), _CHUNK):
                part = ds.X.iloc[start : start + _CHUNK]
                found = explain_images(pipe, part, method=method.value)
                for i, item in enumerate(found, start=start):
                    name = _overlay_name(written[i], method.value, used)
                    ok, png = cv2.imencode(".png", item.overlay[:, :, ::-1])
                    if not ok:
                        raise OSError(f"Cannot encode the overlay of {shown[i]!r}.")
                    write_bytes_atomic(out / name, png.tobytes())
                    rows.append(
                        {
                            "path": shown[i],
                            "prediction": item.prediction,
                            "probability": item.probability,
                            "overlay": name,
                        }
                    )
                bar.update(len(part))
        with atomic_path(out / INDEX_NAME) as tmp:
            pd.DataFrame(rows).to_csv(tmp, index=False)
        typer.echo(
            f"{len(rows)} images explained ({method.value}) with "
            f"{meta.get('model', 'model')} → {out} (index: {INDEX_NAME})"
        )
        echo_skipped(ds.skipped)

    run_guarded(work)
