"""Large images region by region: the options of ``predict --tile`` and ``train``.

``featcls predict MODEL --data DIR --tile 64`` classifies overlapping windows of
each image (:func:`featcls.models.predict_tiles`) into a CSV, and ``--maps DIR``
draws them (:func:`featcls.models.save_tile_maps`). The confidence threshold of
the maps is fitted by ``featcls train`` (:func:`featcls.models.confidence_threshold`,
``--threshold-folds``) and stored in the model file.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from featcls.cli._common import echo_skipped, fail

__all__ = [
    "BatchSizeOpt",
    "ConfidenceOpt",
    "MapsOpt",
    "StrideOpt",
    "ThresholdFoldsOpt",
    "TileOpt",
    "TileOptions",
    "fit_threshold",
]

#: Folds of the threshold fit of a feature model when --threshold-folds is not
#: given (CNN and fusion models: none, see the option's help).
DEFAULT_THRESHOLD_FOLDS = 5
_PANEL = "Large images, region by region"

TileOpt = Annotated[
    int | None,
    typer.Option(
        "--tile",
        help="Classify square windows of this many pixels of each image instead of "
        "whole images: one CSV row per window (path, x, y, width, height, "
        "prediction, p_<class>). The last row and column of windows are aligned to "
        "the image's border, so no pixel is missed. An image smaller than the tile "
        "is an unusable file (see --on-error).",
        rich_help_panel=_PANEL,
    ),
]
StrideOpt = Annotated[
    int | None,
    typer.Option(
        "--stride",
        help="Pixels between windows (with --tile). Default: half the tile.",
        rich_help_panel=_PANEL,
    ),
]
BatchSizeOpt = Annotated[
    int,
    typer.Option(
        "--batch-size",
        help="Windows classified at once (with --tile); bounds the memory used, "
        "does not change the results.",
        rich_help_panel=_PANEL,
    ),
]
MapsOpt = Annotated[
    Path | None,
    typer.Option(
        "--maps",
        help="Folder for one PNG map per image (with --tile): the image in grey, "
        "each region in its class's colour, uncertain regions (confidence under "
        "the threshold) faded in white; legend.json gives the colours.",
        rich_help_panel=_PANEL,
    ),
]
ConfidenceOpt = Annotated[
    float | None,
    typer.Option(
        "--confidence",
        help="Confidence (largest class probability, 0-1) under which a region of "
        "--maps is uncertain. Default: the threshold 'featcls train' stored in the "
        "model file (Youden's J on out-of-fold predictions, see --threshold-folds).",
        rich_help_panel=_PANEL,
    ),
]


def _check_folds(value: int | None) -> int | None:
    """Stop at once (one line, exit 1) on a --threshold-folds that cannot work."""
    if value is not None and value != 0 and value < 2:
        fail(f"--threshold-folds must be 0 (none) or 2 or more. Got {value}.")
    return value


ThresholdFoldsOpt = Annotated[
    int | None,
    typer.Option(
        "--threshold-folds",
        callback=_check_folds,
        help="Cross-validation folds on the training data that fit the confidence "
        "threshold of 'featcls predict --maps' (Youden's J separating right from "
        "wrong out-of-fold calls); stored in the model file. Each fold fits the "
        f"model again. Default: {DEFAULT_THRESHOLD_FOLDS} for feature models (the "
        "features are extracted once more), 0 (none) for CNN and fusion models, "
        "where K folds multiply the training time by K+1. 0 skips it.",
    ),
]


@dataclass(frozen=True)
class TileOptions:
    """The checked ``--tile`` options of one ``predict`` run."""

    tile: int
    stride: int | None
    batch_size: int
    maps: Path | None
    confidence: float | None

    @classmethod
    def check(
        cls,
        tile: int | None,
        stride: int | None,
        batch_size: int,
        maps: Path | None,
        confidence: float | None,
    ) -> TileOptions | None:
        """The options, or None without ``--tile``; one line and exit 1 if bad."""
        if tile is None:
            for name, value in (
                ("--stride", stride),
                ("--maps", maps),
                ("--confidence", confidence),
            ):
                if value is not None:
                    fail(f"{name} applies to windows of large images: give --tile.")
            return None
        for name, value in (
            ("--tile", tile),
            ("--stride", stride),
            ("--batch-size", batch_size),
        ):
            if value is not None and value < 1:
                fail(f"{name} must be 1 or more. Got {value}.")
        if confidence is not None:
            if maps is None:
                fail("--confidence applies to --maps: give --maps DIR.")
            if not 0 <= confidence <= 1:
                fail(f"--confidence must be between 0 and 1. Got {confidence}.")
        if maps is not None and maps.exists() and not maps.is_dir():
            fail(f"--maps '{maps}' is a file; give a folder name.")
        return cls(tile, stride, batch_size, maps, confidence)

    def threshold(self, meta: dict, model: Path) -> tuple[float, str] | None:
        """The maps' threshold and where it comes from; None without ``--maps``."""
        if self.maps is None:
            return None
        if self.confidence is not None:
            return self.confidence, "--confidence"
        stored = meta.get("confidence")
        if not isinstance(stored, dict) or "threshold" not in stored:
            fail(
                f"'{model}' stores no confidence threshold (trained with "
                "--threshold-folds 0, as CNNs are by default, or by an older "
                "featcls): give --confidence, e.g. --confidence 0.7, or train again "
                "with --threshold-folds 5."
            )
        folds = stored.get("folds", "?")
        return float(stored["threshold"]), (
            f"the model file (Youden's J on {folds}-fold out-of-fold predictions)"
        )

    def run(
        self, pipe: Any, meta: dict, ds: Any, *, model: Path, out: Path, on_error: str
    ) -> None:
        """Classify the windows of ``ds``'s images; write the CSV and the maps."""
        import pandas as pd

        from featcls._files import atomic_path
        from featcls.exceptions import DataWarning
        from featcls.models import predict_tiles, save_tile_maps

        threshold = self.threshold(meta, model)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)  # listed below instead
            tiles = predict_tiles(
                pipe,
                ds.X,
                tile=self.tile,
                stride=self.stride,
                batch_size=self.batch_size,
                on_error=on_error,
            )
        skipped = tiles.attrs.get("skipped", [])
        with atomic_path(out) as part:
            tiles.to_csv(part, index=False)
        n_images = tiles["path"].nunique()
        typer.echo(
            f"{len(tiles)} windows of {n_images} images classified with "
            f"{meta.get('model', 'model')} → {out}"
        )
        if threshold is not None:
            written = save_tile_maps(
                ds.X,
                tiles,
                self.maps,
                threshold=threshold[0],
                about={"threshold_from": threshold[1], "model": str(model)},
            )
            typer.echo(
                f"{len(written)} maps → {self.maps} (uncertain under confidence "
                f"{threshold[0]:.3f}, from {threshold[1]})"
            )
        records = ds.skipped.to_dict("records") + list(skipped)
        echo_skipped(pd.DataFrame(records, columns=["path", "reason"]))


def fit_threshold(
    estimator: Any, ds: Any, folds: int | None, *, seed: int, torch_model: bool
) -> dict:
    """``{"confidence": ...}`` for the model file's metadata; ``{}`` when skipped.

    Skipped, with a note, for multi-label data. The folds are reduced to the
    smallest class (and the number of groups) when there are fewer, and said so.
    """
    import numpy as np

    from featcls.models import confidence_threshold

    if folds is None:
        folds = 0 if torch_model else DEFAULT_THRESHOLD_FOLDS
    if folds == 0:
        return {}
    if getattr(ds, "multilabel", False):
        typer.echo(
            "no confidence threshold: --threshold-folds is for single-label models "
            "(a multi-label model's labels each have their own decision threshold); "
            "'predict --maps' does not apply to it."
        )
        return {}
    smallest = int(np.unique(ds.y, return_counts=True)[1].min())
    n_groups = len(set(ds.groups.tolist())) if ds.groups is not None else smallest
    k = min(folds, smallest, n_groups)
    if k < 2:
        typer.echo(
            "no confidence threshold: a class (or the set of groups) is too small "
            "for 2 folds; 'predict --maps' will need --confidence."
        )
        return {}
    found = confidence_threshold(
        estimator, ds.X, ds.y, groups=ds.groups, cv=k, random_state=seed
    )
    fewer = f" (not {folds}: too few images of a class or groups)" if k < folds else ""
    typer.echo(
        f"confidence threshold {found['threshold']:.3f}: Youden's J "
        f"{found['youden_j']:.2f} on {k}-fold out-of-fold predictions{fewer}"
    )
    return {"confidence": found}
