"""The Dataset container returned by every loader."""

from __future__ import annotations

import datetime
import sys
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd

from featcls.data._table import as_sample_table

__all__ = ["Dataset"]


def empty_skipped() -> pd.DataFrame:
    """The skipped-file ledger with nothing in it (columns ``path`` and ``reason``)."""
    return pd.DataFrame(
        {"path": pd.Series([], dtype=object), "reason": pd.Series([], dtype=object)}
    )


def _featcls_version() -> str:
    package = sys.modules.get("featcls")
    version = getattr(package, "__version__", None)
    if version:
        return str(version)
    try:
        return metadata.version("featcls")
    except metadata.PackageNotFoundError:
        return "unknown"


def provenance(loader: str, **details: Any) -> dict[str, Any]:
    """Provenance record for ``Dataset.meta``: loader, its arguments, version, time."""
    return {
        "loader": loader,
        **details,
        "featcls_version": _featcls_version(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
    }


@dataclass
class Dataset:
    """Images, labels and groups of one data set, with where they came from.

    Parameters
    ----------
    X : DataFrame
        Sample table: column ``image`` (path string or ndarray), optional ``mask``,
        and any metadata columns.
    y : ndarray of str or None
        Class name of each sample; None for unlabelled data.
    groups : ndarray or None
        Group of each sample (patient, plate, module, ...) for grouped splits.
    classes : list of str
        Sorted class names. Defaults to the sorted unique values of ``y``; may list
        classes without samples (e.g. after :meth:`subset`).
    skipped : DataFrame
        Files that could not be used, with columns ``path`` and ``reason``.
    name : str
        Short name of the data set.
    meta : dict
        Provenance: loader, root or CSV, target, seed, featcls version, time, ...

    Examples
    --------
    >>> import numpy as np
    >>> data = Dataset(X=np.zeros((4, 8, 8)), y=np.array(["a", "b", "a", "a"]))
    >>> len(data), data.classes
    (4, ['a', 'b'])
    >>> data.class_counts().tolist()
    [3, 1]
    """

    X: pd.DataFrame
    y: np.ndarray | None = None
    groups: np.ndarray | None = None
    classes: list[str] = field(default_factory=list)
    skipped: pd.DataFrame = field(default_factory=empty_skipped)
    name: str = "dataset"
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.X = as_sample_table(self.X)
        n = len(self.X)
        if self.y is not None:
            self.y = np.asarray(self.y).astype(str)
            if self.y.shape != (n,):
                raise ValueError(
                    f"Dataset {self.name!r}: y must hold one label per sample "
                    f"({n}); got shape {self.y.shape}."
                )
            if not self.classes:
                self.classes = sorted(set(self.y.tolist()))
            missing = sorted(set(self.y.tolist()) - set(self.classes))
            if missing:
                raise ValueError(
                    f"Dataset {self.name!r}: labels {missing} are not in classes "
                    f"{self.classes}."
                )
        self.classes = sorted(str(c) for c in self.classes)
        if self.groups is not None:
            self.groups = np.asarray(self.groups)
            if self.groups.shape != (n,):
                raise ValueError(
                    f"Dataset {self.name!r}: groups must hold one value per sample "
                    f"({n}); got shape {self.groups.shape}."
                )

    def __len__(self) -> int:
        return len(self.X)

    def class_counts(self) -> pd.Series:
        """Number of samples per class, in ``classes`` order (zero counts included).

        Returns
        -------
        counts : Series of int
            Indexed by class name.

        Raises
        ------
        ValueError
            If the data set is unlabelled.
        """
        if self.y is None:
            raise ValueError(f"Dataset {self.name!r} is unlabelled (y is None).")
        counts = pd.Series(self.y).value_counts()
        counts = counts.reindex(self.classes, fill_value=0).astype(int)
        counts.index.name = "class"
        counts.name = "count"
        return counts

    def summary(self) -> str:
        """A short multi-line description: size, classes, groups, skipped files.

        Returns
        -------
        text : str
        """
        lines = [f"Dataset {self.name!r}: {len(self)} images"]
        if self.y is None:
            lines.append("  unlabelled")
        else:
            counts = self.class_counts()
            total = max(int(counts.sum()), 1)
            lines.append(f"  {len(self.classes)} classes:")
            width = max((len(c) for c in self.classes), default=0)
            lines += [
                f"    {c:<{width}}  {n:>6}  {100 * n / total:5.1f} %"
                for c, n in counts.items()
            ]
        if self.groups is not None:
            lines.append(f"  {len(pd.unique(self.groups))} groups")
        if "mask" in self.X.columns:
            lines.append("  with masks")
        if len(self.skipped):
            lines.append(f"  {len(self.skipped)} files skipped (see .skipped)")
        source = (
            self.meta.get("root") or self.meta.get("csv") or self.meta.get("loader")
        )
        if source:
            lines.append(f"  source: {source}")
        return "\n".join(lines)

    def subset(self, indices: Any) -> Dataset:
        """Samples at the given positions, keeping classes, skipped files and meta.

        Parameters
        ----------
        indices : array_like of int or bool
            Positions (like ``iloc``), or a boolean mask of length ``len(self)``.

        Returns
        -------
        subset : Dataset
            A new Dataset whose ``X`` has a fresh RangeIndex.
        """
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise ValueError(
                    f"A boolean subset of Dataset {self.name!r} needs {len(self)} "
                    f"values; got shape {idx.shape}."
                )
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.intp, copy=False).reshape(-1)
        return Dataset(
            X=self.X.iloc[idx].reset_index(drop=True),
            y=None if self.y is None else self.y[idx],
            groups=None if self.groups is None else self.groups[idx],
            classes=list(self.classes),
            skipped=self.skipped.copy(),
            name=self.name,
            meta=dict(self.meta),
        )
