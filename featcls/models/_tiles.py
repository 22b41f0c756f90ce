"""Classifying large images region by region: overlapping square windows (tiles).

A tile is just a sample cut from a bigger image, so every fitted model — a feature
pipeline from ``featcls train`` or a CNN — classifies tiles without knowing it.
:func:`predict_tiles` reads one image at a time, cuts its windows lazily and sends
them to the model in batches, so memory is bounded by one image and one batch of
tiles, never by the number or size of the images.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import warnings
from collections.abc import Iterator
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import InvalidParameterError
from tqdm.auto import tqdm

from featcls.data import as_sample_table, read_image, read_mask
from featcls.data._table import object_column
from featcls.data._validate import SKIP_HINT, check_on_error
from featcls.exceptions import DataWarning, ImageReadError, Setting, SettingError

__all__ = ["check_no_crop", "predict_tiles", "predict_with_proba", "tile_positions"]

# Two warnings are of one kind when they differ only in their counts and in the
# samples they list (after the last ": ").
_NUMBER = re.compile(r"\d+")

#: The columns of :func:`predict_tiles` before the per-class probabilities.
TILE_COLUMNS = ("path", "x", "y", "width", "height", "prediction")


def _check_int(value: Any, name: str, *, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise InvalidParameterError(
            f"The {name!r} parameter of predict_tiles must be an int >= {low}. "
            f"Got {value!r} instead."
        )
    return int(value)


def tile_positions(length: int, tile: int, stride: int) -> list[int]:
    """Start of every window along an axis of ``length`` pixels.

    Windows start every ``stride`` pixels from 0; when the last of them does not
    reach the border, one more window is aligned to it (it overlaps its
    neighbour more than the others do), so the last pixels are never missed.

    Parameters
    ----------
    length : int
        Pixels along the axis (the image's height or width).
    tile : int
        Side of the windows, in pixels.
    stride : int
        Pixels between the starts of two windows.

    Returns
    -------
    starts : list of int
        Increasing; empty when the tile is longer than the axis.

    Examples
    --------
    >>> tile_positions(100, 64, 32)
    [0, 32, 36]
    >>> tile_positions(64, 64, 32)
    [0]
    >>> tile_positions(10, 2, 4)
    [0, 4, 8]
    >>> tile_positions(11, 2, 4)
    [0, 4, 8, 9]
    """
    if tile > length:
        return []
    starts = list(range(0, length - tile + 1, stride))
    if starts[-1] + tile < length:
        starts.append(length - tile)
    return starts


def predict_with_proba(model: Any, X: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(model.predict(X), model.predict_proba(X))``, extracting features once.

    A pipeline's steps before the classifier run once (samplers are skipped, as
    at predict time), then the classifier predicts and gives probabilities. A
    model that takes images (``featcls_input == "images"``: CNN, fusion) predicts
    the most probable class, so its prediction is the argmax of one
    ``predict_proba``. Any other model is asked for both.
    """
    steps = getattr(model, "steps", None)
    if steps:
        Xt = X
        for _, step in steps[:-1]:
            if step is None or step == "passthrough" or hasattr(step, "fit_resample"):
                continue
            Xt = step.transform(Xt)
        final = steps[-1][1]
        return np.asarray(final.predict(Xt)), np.asarray(final.predict_proba(Xt))
    proba = np.asarray(model.predict_proba(X))
    if getattr(model, "featcls_input", None) == "images":
        return np.asarray(model.classes_)[proba.argmax(axis=1)], proba
    return np.asarray(model.predict(X)), proba


def check_no_crop(model: Any) -> None:
    """Refuse a model that crops each sample to its object: tiles are fixed windows.

    Cropping a window to the object in it (``crop=True`` of a CNN, of a fusion
    model's network or of a pipeline's feature extractor) would classify that
    object, moved and rescaled, instead of the window, and a tile map would no
    longer say where. ``mask_out`` and the channel policies keep the window's
    geometry and apply to tiles as to any sample.

    Raises
    ------
    SettingError
        If any ``crop`` parameter of ``model`` (found by ``get_params``) is True.
    """
    params = model.get_params(deep=True) if hasattr(model, "get_params") else {}
    cropping = [
        name
        for name, value in params.items()
        if (name == "crop" or name.endswith("__crop"))
        and isinstance(value, (bool, np.bool_))
        and value
    ]
    if cropping:
        raise SettingError(
            "Tiles are fixed windows of each image, but the model crops every "
            f"sample to its object ({', '.join(f'{n}=True' for n in cropping)}), "
            "so each window would be cropped to the object in it, moved and "
            "rescaled. Classify tiles with a model trained without cropping (",
            Setting("crop", False),
            "); masking out and channel policies apply to tiles.",
        )


def _names(table: pd.DataFrame) -> list[str]:
    """What the ``path`` column says of each sample: relpath, path or row label."""
    if "relpath" in table.columns:
        return [str(p) for p in table["relpath"]]
    return [
        os.fspath(src) if isinstance(src, (str, os.PathLike)) else str(label)
        for label, src in zip(table.index, table["image"], strict=True)
    ]


def _too_small(name: str, shape: tuple[int, ...], tile: int) -> SettingError:
    height, width = shape[:2]
    return SettingError(
        f"Image {name!r} is {width}×{height} pixels, smaller than the {tile}-pixel "
        "tile. Give ",
        Setting("tile", min(height, width)),
        " or less.",
    )


class _Images:
    """The images of a sample table, read one at a time, with the skip policy."""

    def __init__(self, table: pd.DataFrame, tile: int, on_error: str):
        self.table = table
        self.names = _names(table)
        self.tile = tile
        self.on_error = on_error
        self.has_masks = "mask" in table.columns
        self.skipped: list[dict[str, str]] = []

    def _read(self, i: int) -> tuple[np.ndarray, np.ndarray | None]:
        name = self.names[i]
        source = self.table["image"].iloc[i]
        image = read_image(source, name=name)
        mask = None
        if self.has_masks:
            m = self.table["mask"].iloc[i]
            if not (m is None or (np.isscalar(m) and pd.isna(m))):  # no mask: NaN
                mask = read_mask(m, shape=image.shape, image_name=name)
        if min(image.shape[:2]) < self.tile:
            raise _too_small(name, image.shape, self.tile)
        return image, mask

    def read(self, i: int) -> tuple[np.ndarray, np.ndarray | None] | None:
        """Image ``i`` and its mask; None (and a ledger entry) if it is skipped."""
        try:
            return self._read(i)
        except (ImageReadError, SettingError) as exc:
            if self.on_error == "raise":
                raise type(exc)(*exc.parts, " ", *SKIP_HINT) from exc
            self.skipped.append({"path": self.names[i], "reason": str(exc)})
            return None

    def check_all(self) -> None:
        """Read every image once and raise on the first unusable one."""
        for i in range(len(self.table)):
            self.read(i)


@contextlib.contextmanager
def _quiet_extraction(model: Any) -> Iterator[None]:
    """Silence a pipeline's own per-batch progress bar (the tiles have theirs)."""
    params = model.get_params() if hasattr(model, "get_params") else {}
    if params.get("features__progress", False) is not None:
        yield
        return
    model.set_params(features__progress=False)
    try:
        yield
    finally:
        model.set_params(features__progress=None)


def _warn_once(noted: dict[tuple[type, str], list[warnings.WarningMessage]]) -> None:
    """Each kind of warning the model gave, once, not once per batch of tiles."""
    for (category, _), caught in noted.items():
        more = len(caught) - 1
        tail = f" (and likewise in {more} more batches of tiles)" if more else ""
        warnings.warn(f"{caught[0].message}{tail}", category, stacklevel=3)


def predict_tiles(
    model: Any,
    images: Any,
    *,
    tile: int = 64,
    stride: int | None = None,
    batch_size: int = 256,
    on_error: str = "raise",
    progress: bool | None = None,
) -> pd.DataFrame:
    """Classify overlapping square windows of each (large) image.

    Each image is read, cut into ``tile`` × ``tile`` windows every ``stride``
    pixels, and the windows are classified by ``model`` in batches of
    ``batch_size``. Along each axis the windows start at 0, ``stride``,
    ``2 * stride`` …, and one more window is aligned to the right (bottom) border
    when the last of those does not reach it, so every pixel is covered when
    ``stride <= tile`` (with ``stride > tile`` the windows sample the image with
    gaps between them; the border windows are still there). An image exactly the
    size of the tile is one window.

    Only one image and one batch of tiles are in memory at a time. A mask column
    in ``images`` is cut into the same windows; the model's mask policy, its
    ``mask_out`` and its channel policy apply to each tile as to any sample. A
    model that crops each sample to its object (``crop=True``, of a CNN or of
    a pipeline's features) is refused: a window cropped to its own object is no
    longer the window.

    Parameters
    ----------
    model : estimator
        A fitted model that takes images: a feature pipeline written by ``featcls
        train`` (read with :func:`load_model`), a :class:`CNNClassifier` or a
        :class:`FusionClassifier`. It needs ``classes_`` and ``predict_proba``.
    images : DataFrame, list of paths or arrays, or ndarray
        Anything :func:`featcls.data.as_sample_table` accepts, e.g. the ``X`` of
        :func:`featcls.data.load_images`.
    tile : int, default=64
        Side of the square windows, in pixels.
    stride : int, optional
        Step between windows, in pixels. Default: half the tile (at least 1).
    batch_size : int, default=256
        Tiles classified at once; with the tile size it bounds the memory used.
        The results do not depend on it.
    on_error : {"raise", "skip"}, default="raise"
        What to do with an image that cannot be read or is smaller than the tile.
        ``"raise"`` checks every image before any tile is classified (one extra
        decoding of each), so a bad image never throws away finished work.
        ``"skip"`` leaves it out, warns once (:class:`DataWarning`) and lists it
        in ``result.attrs["skipped"]``.
    progress : bool, optional
        Show a progress bar of the tiles on stderr; None shows one on a terminal.

    Returns
    -------
    tiles : DataFrame
        One row per window, in image order then row by row: ``path`` (the
        sample's ``relpath`` when the table has one, else its path, else its row
        label), ``x`` and ``y`` (the window's top-left corner, in pixels),
        ``width``, ``height``, ``prediction`` (the model's class) and one
        ``p_<class>`` column per class of ``model.classes_``.
        ``tiles.attrs["skipped"]`` lists the skipped images as ``{"path": …,
        "reason": …}`` dicts.

    Raises
    ------
    ValueError
        If ``tile``, ``stride`` or ``batch_size`` is not an int >= 1, or
        ``on_error`` is unknown; a :class:`~featcls.exceptions.SettingError` if the
        model crops its samples (``crop=True``).
    ImageReadError
        With ``on_error="raise"``, for an image (or mask) that cannot be read.
    SettingError
        With ``on_error="raise"``, for an image smaller than the tile (the
        message gives the largest tile that fits); with ``"skip"``, if no image
        is left.

    Examples
    --------
    >>> import numpy as np
    >>> from featcls.models import CNNClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 80, size=(16, 16, 16), dtype=np.uint8)
    >>> X[8:] += 150
    >>> y = np.array(["dark"] * 8 + ["bright"] * 8)
    >>> cnn = CNNClassifier(input_size=16, max_epochs=1, early_stopping=False)
    >>> large = np.zeros((40, 48), dtype=np.uint8)
    >>> tiles = predict_tiles(cnn.fit(X, y), [large], tile=16, stride=16)
    >>> tiles[["x", "y"]].drop_duplicates().shape[0], list(tiles.columns[-2:])
    (9, ['p_bright', 'p_dark'])
    """
    tile = _check_int(tile, "tile")
    stride = max(tile // 2, 1) if stride is None else _check_int(stride, "stride")
    batch_size = _check_int(batch_size, "batch_size")
    check_on_error(on_error)
    check_no_crop(model)
    table = as_sample_table(images)
    source = _Images(table, tile, on_error)
    if on_error == "raise":
        source.check_all()
    classes = [str(c) for c in model.classes_]
    columns: dict[str, list] = {c: [] for c in TILE_COLUMNS}
    probas: list[np.ndarray] = []
    batch: list[tuple[int, int, int, np.ndarray, np.ndarray | None]] = []

    def flush() -> None:
        # Row labels name the tiles in the model's warnings ("sample 'a.png (x=..").
        index = [f"{source.names[i]} (x={x}, y={y})" for i, x, y, _, _ in batch]
        X = pd.DataFrame({"image": object_column([b[3] for b in batch])}, index=index)
        if source.has_masks:
            X["mask"] = object_column([b[4] for b in batch])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pred, proba = predict_with_proba(model, X)
        for w in caught:
            kind = _NUMBER.sub("", str(w.message).rsplit(": ", 1)[0])
            noted.setdefault((w.category, kind), []).append(w)
        for i, x, y, _, _ in batch:
            columns["path"].append(source.names[i])
            columns["x"].append(x)
            columns["y"].append(y)
        columns["prediction"].extend(pred.tolist())
        probas.append(proba)
        bar.update(len(batch))
        batch.clear()

    noted: dict[tuple[type, str], list[warnings.WarningMessage]] = {}
    show = progress if progress is not None else sys.stderr.isatty()
    with (
        _quiet_extraction(model),
        tqdm(
            total=0, unit="tile", desc="tiles", disable=not show, file=sys.stderr
        ) as bar,
    ):
        for i in range(len(table)):
            read = source.read(i)
            if read is None:
                continue
            image, mask = read
            ys = tile_positions(image.shape[0], tile, stride)
            xs = tile_positions(image.shape[1], tile, stride)
            bar.total += len(ys) * len(xs)
            bar.set_postfix_str(f"image {i + 1}/{len(table)}")
            for y in ys:
                for x in xs:
                    window = (slice(y, y + tile), slice(x, x + tile))
                    cut = None if mask is None else mask[window].copy()
                    batch.append((i, x, y, image[window].copy(), cut))
                    if len(batch) == batch_size:
                        flush()
            del image, mask
        if batch:
            flush()
    _warn_once(noted)
    n_kept = len(table) - len(source.skipped)
    if source.skipped:
        first = source.skipped[0]
        if n_kept == 0:
            raise SettingError(
                f"No usable images: all {len(source.skipped)} were skipped (",
                Setting("on_error", on_error),
                f"). The first problem: {first['reason']}",
            )
        warnings.warn(
            f"Skipped {len(source.skipped)} unusable image(s) and classified the "
            f"tiles of {n_kept}; see the result's attrs['skipped'] for the reasons. "
            f"The first: {first['reason']}",
            DataWarning,
            stacklevel=2,
        )
    n_tiles = len(columns["path"])
    result = pd.DataFrame(
        {
            "path": pd.Series(columns["path"], dtype=object),
            "x": np.asarray(columns["x"], dtype=np.int64),
            "y": np.asarray(columns["y"], dtype=np.int64),
            "width": np.full(n_tiles, tile, dtype=np.int64),
            "height": np.full(n_tiles, tile, dtype=np.int64),
            "prediction": pd.Series(columns["prediction"], dtype=object),
        }
    )
    proba = np.concatenate(probas) if probas else np.empty((0, len(classes)))
    for j, c in enumerate(classes):
        result[f"p_{c}"] = proba[:, j]
    result.attrs["skipped"] = source.skipped
    return result
