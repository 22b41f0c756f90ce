"""Maps of tile predictions: the image in grey, each region in its class's colour.

A region is the part of the image nearest to one window's centre (a ``stride`` ×
``stride`` cell inside the image, wider at the borders), so every covered pixel
shows the call of exactly one window: the one that saw it most centrally. A
region takes the colour of the window's class where its confidence (largest class
probability) reaches the threshold, and :data:`UNCERTAIN_COLOUR` where it does
not; pixels outside every window (``stride > tile``) stay grey.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from featcls._files import write_bytes_atomic, write_text_atomic
from featcls.data import as_sample_table, read_image, split_channels, to_float
from featcls.models._tiles import _names

__all__ = ["CLASS_COLOURS", "UNCERTAIN_COLOUR", "save_tile_maps", "tile_map"]

#: Colour of each class, in the order of the model's classes (matplotlib's
#: ``tab10`` without its grey, repeated beyond nine classes).
CLASS_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
)
#: Colour of the regions whose confidence is under the threshold: white, which
#: fades them (unlike any class colour, and unlike the plain grey of pixels no
#: window covers).
UNCERTAIN_COLOUR = "#ffffff"
#: Weight of the colour over the grey image.
_ALPHA = 0.45


def _rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.float32)


def _nearest(length: int, starts: np.ndarray, tile: int) -> tuple[np.ndarray, ...]:
    """For each pixel of an axis: the window whose centre is nearest, and coverage."""
    centres = starts + (tile - 1) / 2
    cuts = (centres[1:] + centres[:-1]) / 2
    pixel = np.arange(length)
    index = np.searchsorted(cuts, pixel, side="right")
    covered = (pixel >= starts[index]) & (pixel < starts[index] + tile)
    return index, covered


def _grey(image: np.ndarray) -> np.ndarray:
    """The image as grey values in [0, 255], contrast stretched (1st-99th pct)."""
    grey = split_channels(to_float(image), "gray")[0][0]
    low, high = np.percentile(grey, [1, 99])
    if high <= low:
        high = low + 1e-6
    return np.clip((grey - low) / (high - low), 0, 1) * np.float32(255)


def _classes(tiles: pd.DataFrame) -> list[str]:
    return [c[2:] for c in tiles.columns if c.startswith("p_")]


def tile_map(
    image: np.ndarray,
    tiles: pd.DataFrame,
    *,
    threshold: float,
    classes: list[str] | None = None,
) -> np.ndarray:
    """The image in grey with each region coloured by its tile's confident class.

    Parameters
    ----------
    image : ndarray
        The image the tiles were cut from, ``(H, W)`` or ``(H, W, C)``.
    tiles : DataFrame
        The rows of :func:`predict_tiles` for this image.
    threshold : float
        Confidence (largest class probability) below which a region is shown in
        :data:`UNCERTAIN_COLOUR`.
    classes : list of str, optional
        The classes in colour order; default: the ``p_<class>`` columns' order.

    Returns
    -------
    map : ndarray of uint8, shape (H, W, 3)
        RGB image.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> tiles = pd.DataFrame({"path": "a", "x": [0, 4], "y": 0, "width": 4,
    ...     "height": 4, "prediction": ["a", "b"], "p_a": [0.9, 0.4],
    ...     "p_b": [0.1, 0.6]})
    >>> rgb = tile_map(np.zeros((4, 8), np.uint8), tiles, threshold=0.7)
    >>> rgb.shape, rgb[0, 0].tolist(), rgb[0, 7].tolist()
    ((4, 8, 3), [14, 54, 81], [115, 115, 115])
    """
    classes = _classes(tiles) if classes is None else [str(c) for c in classes]
    grey = _grey(image)
    height, width = grey.shape
    out = np.repeat(grey[:, :, None], 3, axis=2)
    if len(tiles) == 0:
        return out.round().astype(np.uint8)
    tile = int(tiles["width"].iloc[0])
    xs = np.unique(tiles["x"].to_numpy())
    ys = np.unique(tiles["y"].to_numpy())
    palette = np.stack(
        [_rgb(CLASS_COLOURS[i % len(CLASS_COLOURS)]) for i in range(len(classes))]
        + [_rgb(UNCERTAIN_COLOUR)]
    )
    proba = tiles[[f"p_{c}" for c in classes]].to_numpy(dtype=float)
    index = {c: i for i, c in enumerate(classes)}
    colour = np.array([index[str(p)] for p in tiles["prediction"]], dtype=np.intp)
    colour[proba.max(axis=1) < threshold] = len(classes)
    grid = np.full((len(ys), len(xs)), -1, dtype=np.intp)
    grid[np.searchsorted(ys, tiles["y"]), np.searchsorted(xs, tiles["x"])] = colour
    row, row_in = _nearest(height, ys, tile)
    col, col_in = _nearest(width, xs, tile)
    cell = grid[row[:, None], col[None, :]]
    cell[~(row_in[:, None] & col_in[None, :])] = -1
    shown = cell >= 0
    out[shown] = (1 - _ALPHA) * out[shown] + _ALPHA * palette[cell[shown]]
    return out.round().astype(np.uint8)


def _map_names(table: pd.DataFrame) -> list[str]:
    """Each map's file name: its relpath, file name or row label, as ``.png``."""
    names = []
    for name in _names(table):
        path = Path(name)
        if "relpath" not in table.columns or path.is_absolute() or ".." in path.parts:
            path = Path(path.name)
        names.append(str(path.with_suffix(".png")))
    return names


def save_tile_maps(
    images: Any,
    tiles: pd.DataFrame,
    folder: str | os.PathLike,
    *,
    threshold: float,
    about: dict[str, Any] | None = None,
) -> list[Path]:
    """Write :func:`tile_map` of every image as a PNG, and ``legend.json``.

    The images are read again, one at a time. A map keeps its image's relative
    path (``relpath``; else the file name, else the row label) with the suffix
    ``.png``; two images that would share a map are an error. Images without
    tiles (skipped ones) get none. ``legend.json`` gives the colour of
    each class, the uncertain colour, the threshold and ``about`` (e.g. where
    the threshold comes from). Every file is written atomically.

    Parameters
    ----------
    images : DataFrame, list of paths or arrays, or ndarray
        The ``images`` given to :func:`predict_tiles`.
    tiles : DataFrame
        What :func:`predict_tiles` returned for them.
    folder : str or os.PathLike
        Where the maps go (created if needed).
    threshold : float
        As in :func:`tile_map`.
    about : dict, optional
        Extra JSON-able entries for ``legend.json``.

    Returns
    -------
    paths : list of Path
        The maps written, in image order.
    """
    folder = Path(folder)
    table = as_sample_table(images)
    classes = _classes(tiles)
    by_name = dict(tuple(tiles.groupby("path", sort=False)))
    names, targets = _names(table), _map_names(table)
    first: dict[str, str] = {}
    for name, target in zip(names, targets, strict=True):
        other = first.setdefault(target, name)
        if other != name:
            raise ValueError(
                f"The maps of {other!r} and {name!r} would both be '{target}': "
                "rename one of the images."
            )
    written = []
    for name, target, source in zip(names, targets, table["image"], strict=True):
        rows = by_name.get(name)
        if rows is None:
            continue
        image = read_image(source, name=name)
        rgb = tile_map(image, rows, threshold=threshold, classes=classes)
        ok, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        if not ok:  # pragma: no cover - OpenCV encodes any uint8 RGB image
            raise ValueError(f"OpenCV could not encode the map of {name!r}.")
        written.append(write_bytes_atomic(folder / target, png.tobytes()))
    legend = {
        "classes": {
            c: CLASS_COLOURS[i % len(CLASS_COLOURS)] for i, c in enumerate(classes)
        },
        "uncertain": UNCERTAIN_COLOUR,
        "threshold": float(threshold),
        "rule": "a region is uncertain when its largest class probability is "
        "below the threshold",
        "alpha": _ALPHA,
        **(about or {}),
    }
    write_text_atomic(folder / "legend.json", json.dumps(legend, indent=2) + "\n")
    return written
