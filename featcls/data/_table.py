"""The sample table: one row per sample, column ``image`` (a path or an array).

A sample of one file per named channel holds a
:class:`~featcls.data.ChannelFiles` in its ``image`` cell instead of a path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from featcls.data._channels import ChannelFiles, channel_view, parse_channels

__all__ = ["as_sample_table", "select_channels"]

_EXPECTED = (
    "a DataFrame with an 'image' column, an (N, H, W) or (N, H, W, C) array, or a "
    "list of image paths, ChannelFiles or arrays"
)


def object_column(values: Sequence[Any]) -> np.ndarray:
    """A 1-D object array holding ``values`` (arrays are not broadcast into it)."""
    column = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        column[i] = value
    return column


def _check_item(item: Any, position: int) -> Any:
    if isinstance(item, (np.ndarray, ChannelFiles)):
        return item
    if isinstance(item, (str, os.PathLike)):
        return os.fspath(item)
    raise TypeError(
        f"Expected {_EXPECTED}; item {position} is a {type(item).__name__}, not a "
        "path or an array."
    )


def as_sample_table(X: Any) -> pd.DataFrame:
    """Convert what users pass as images into the sample table.

    The sample table is a DataFrame with one row per image and a column ``image``
    holding a path (str), a :class:`~featcls.data.ChannelFiles` (one file per
    named channel) or an in-memory array, plus an optional ``mask`` column and any
    metadata. scikit-learn's splitters slice it like any table.

    Parameters
    ----------
    X : DataFrame, ndarray, list, tuple or Series
        A DataFrame with an ``image`` column is returned as is. An ``(N, H, W)`` or
        ``(N, H, W, C)`` array becomes one row per image. A list, tuple or Series of
        paths (str or os.PathLike), ChannelFiles or arrays becomes the ``image``
        column.

    Returns
    -------
    table : DataFrame
        The sample table; converted inputs get a fresh RangeIndex.

    Raises
    ------
    ValueError
        If a DataFrame has no ``image`` column, or a list or array is empty.
    TypeError
        If ``X`` (or one of its items) is of another type.

    Examples
    --------
    >>> import numpy as np
    >>> table = as_sample_table(np.zeros((3, 8, 8), dtype=np.uint8))
    >>> len(table), table["image"].iloc[0].shape
    (3, (8, 8))
    """
    if isinstance(X, pd.DataFrame):
        if "image" not in X.columns:
            columns = ", ".join(repr(str(c)) for c in X.columns) or "none"
            raise ValueError(
                "The sample table must have an 'image' column (paths or arrays); the "
                f"DataFrame has columns: {columns}."
            )
        return X
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim not in (3, 4):
            raise ValueError(
                "An array of images must have shape (N, H, W) or (N, H, W, C); got "
                f"shape {X.shape}."
            )
        if X.shape[0] == 0:
            raise ValueError("An array of images must hold at least one image; got 0.")
        items = list(X)
    elif isinstance(X, (list, tuple, pd.Series, np.ndarray)):
        values = X.tolist() if isinstance(X, pd.Series) else list(X)
        if not values:
            raise ValueError(f"Expected {_EXPECTED}; got an empty {type(X).__name__}.")
        items = [_check_item(item, i) for i, item in enumerate(values)]
    else:
        raise TypeError(f"Expected {_EXPECTED}; got {type(X).__name__}.")
    return pd.DataFrame({"image": object_column(items)})


def has_masks(table: pd.DataFrame) -> bool:
    """Whether any sample of ``table`` has a mask of its own (not a missing one)."""
    if "mask" not in table.columns:
        return False
    return any(
        m is not None and not (isinstance(m, float) and np.isnan(m))
        for m in table["mask"].tolist()
    )


def masks_missing_message(owner: str) -> str:
    """The warning for a table without masks given to a model fitted with them."""
    return (
        f"{owner} was fitted on the table's own object masks, but these samples "
        "have none, so automatic masks are used: its inputs differ from those it "
        "learned from. Give these samples their masks (--masks DIR, or a 'mask' "
        "column)."
    )


def select_channels(X: Any, channels: Any) -> pd.DataFrame:
    """A channel view of a sample table: the named channels of every sample.

    Only the chosen channels' files are read afterwards, so every reader of the
    table (features, CNN, thumbnails, duplicate detection) sees the same channels.
    :meth:`Dataset.select_channels <featcls.data.Dataset.select_channels>` does
    the same for a data set.

    Parameters
    ----------
    X : sample table
        Anything :func:`as_sample_table` accepts, whose samples have named
        channels (:class:`~featcls.data.ChannelFiles`).
    channels : str or sequence of str
        Channel names, ``"green"``, ``"green,blue"`` or ``["green", "blue"]``; the
        view keeps them in this order.

    Returns
    -------
    table : DataFrame
        A copy of the table whose ``image`` cells hold only those channels.

    Raises
    ------
    ValueError
        If ``channels`` is a channel policy rather than names, or a sample has no
        named channels or lacks one of them (the message lists its channels).

    Examples
    --------
    >>> from featcls.data import ChannelFiles
    >>> sample = ChannelFiles(["a_red.png", "a_green.png"], ["red", "green"])
    >>> select_channels([sample], "green")["image"].iloc[0].names
    ('green',)
    """
    names = parse_channels(channels)
    if isinstance(names, str):
        raise ValueError(
            f"select_channels keeps named channels; {names!r} is a channel policy, "
            "which FeatureExtractor(channels=...) applies. Give channel names, e.g. "
            "'green' or 'green,blue'."
        )
    table = as_sample_table(X).copy()
    images = table["image"].tolist()
    table["image"] = object_column(
        [
            channel_view(
                image, names, image if isinstance(image, str) else f"sample {i}"
            )
            for i, image in enumerate(images)
        ]
    )
    return table
