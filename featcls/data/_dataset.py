"""The Dataset container returned by every loader."""

from __future__ import annotations

import datetime
import sys
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd

from featcls._policies import MASK_POLICIES
from featcls.data._channels import check_channel_names, sample_channel_names
from featcls.data._table import as_sample_table, select_channels

__all__ = ["Dataset"]


def empty_skipped() -> pd.DataFrame:
    """The skipped-file ledger with nothing in it (columns ``path`` and ``reason``)."""
    return pd.DataFrame(
        {"path": pd.Series([], dtype=object), "reason": pd.Series([], dtype=object)}
    )


def sort_labels(labels) -> list[str]:
    """Label names sorted, numerically when every name is a number (2 before 10)."""
    labels = [str(v) for v in labels]
    if labels and all(v.lstrip("-").isdigit() for v in labels):
        return sorted(labels, key=lambda v: (int(v), v))
    return sorted(labels)


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
        Sample table: column ``image`` (path string, :class:`ChannelFiles` or
        ndarray), optional ``mask``, and any metadata columns.
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
    label_matrix : DataFrame or None
        Multi-label targets: one bool column per label (a sample may carry several
        or none). ``classes`` are then the label names (sorted, numerically when
        they are numbers), ``y`` each sample's labels joined by spaces (for
        display) and :attr:`targets` the matrix.
    channel_names : tuple of str or None
        Names of the samples' channels when each sample is one file per named
        channel (:class:`ChannelFiles`); by default those of the first sample.
        None for samples of one file or array.
    mask_policy : {"auto", "full"}, default="auto"
        How the features find the object in an image without a mask of its own,
        when the extraction is not told (``FeatureExtractor(mask=...)``, ``featcls
        --mask``): ``"auto"`` segments it, ``"full"`` says that the objects fill
        their images (cropped cells, as in the ELPV data set), so the whole image
        is the object. :func:`~featcls.compare` (given ``dataset=`` and no
        ``features``) and the ``featcls`` commands follow it.

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
    channel_names: tuple[str, ...] | None = None
    label_matrix: pd.DataFrame | None = None
    mask_policy: str = "auto"

    def __post_init__(self) -> None:
        if self.mask_policy not in MASK_POLICIES:
            raise ValueError(
                f"Dataset {self.name!r}: mask_policy must be one of "
                f"{', '.join(map(repr, MASK_POLICIES))}; got {self.mask_policy!r}."
            )
        self.X = as_sample_table(self.X)
        n = len(self.X)
        if self.label_matrix is not None:
            self._set_label_matrix(n)
        if self.channel_names is None:
            self.channel_names = sample_channel_names(self.X["image"].iloc[:1].tolist())
        else:
            self.channel_names = check_channel_names(self.channel_names)
        if self.y is not None and self.label_matrix is None:
            self.y = np.asarray(self.y).astype(str)
            if self.y.shape != (n,):
                raise ValueError(
                    f"Dataset {self.name!r}: y must hold one label per sample "
                    f"({n}); got shape {self.y.shape}."
                )
            present = np.unique(self.y).tolist()  # no string object per sample
            if not self.classes:
                self.classes = present
            missing = sorted(set(present) - set(self.classes))
            if missing:
                raise ValueError(
                    f"Dataset {self.name!r}: labels {missing} are not in classes "
                    f"{self.classes}."
                )
        if self.label_matrix is None:
            self.classes = sorted(str(c) for c in self.classes)
        if self.groups is not None:
            self.groups = np.asarray(self.groups)
            if self.groups.shape != (n,):
                raise ValueError(
                    f"Dataset {self.name!r}: groups must hold one value per sample "
                    f"({n}); got shape {self.groups.shape}."
                )

    def _set_label_matrix(self, n: int) -> None:
        """Multi-label targets: sorted bool columns, y as the label sets shown."""
        matrix = pd.DataFrame(self.label_matrix)
        try:
            numeric = matrix.to_numpy().astype(float)
        except (TypeError, ValueError):
            numeric = np.full(matrix.shape, np.nan)
        if not np.isin(numeric, (0.0, 1.0)).all():
            raise ValueError(
                f"Dataset {self.name!r}: label_matrix is an indicator matrix of 0/1 "
                "(or True/False), one column per label; it holds other values "
                "(missing cells, counts or text)."
            )
        if self.y is not None:
            raise ValueError(
                f"Dataset {self.name!r}: give y or label_matrix, not both: with a "
                "label matrix y is made from it (each sample's labels, joined)."
            )
        matrix = pd.DataFrame(
            numeric.astype(bool), columns=[str(c) for c in matrix.columns]
        )
        if matrix.shape[0] != n:
            raise ValueError(
                f"Dataset {self.name!r}: label_matrix must hold one row per sample "
                f"({n}); got {matrix.shape[0]}."
            )
        names = sort_labels(set(matrix.columns) | {str(c) for c in self.classes})
        self.label_matrix = matrix.reindex(columns=names, fill_value=False)
        self.label_matrix.index = pd.RangeIndex(n)
        self.classes = names
        values = self.label_matrix.to_numpy()
        shown = np.asarray(names, dtype=object)
        self.y = np.asarray([" ".join(shown[row]) for row in values], dtype=str)

    @property
    def multilabel(self) -> bool:
        """Whether every sample carries a set of labels (``label_matrix``)."""
        return self.label_matrix is not None

    @property
    def targets(self):
        """What to compare on: ``y``, or the label matrix of a multi-label set."""
        return self.label_matrix if self.multilabel else self.y

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
        if self.multilabel:  # samples carrying each label
            counts = self.label_matrix.sum(axis=0).astype(int)
            counts.index.name, counts.name = "label", "count"
            return counts
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
            if self.multilabel:
                total = max(len(self), 1)
                per_sample = self.label_matrix.to_numpy().sum(axis=1).mean()
                lines.append(
                    f"  multi-label: {len(self.classes)} labels, "
                    f"{per_sample:.2f} per sample (share of samples with each):"
                )
            else:
                lines.append(f"  {len(self.classes)} classes:")
            width = max((len(c) for c in self.classes), default=0)
            lines += [
                f"    {c:<{width}}  {n:>6}  {100 * n / total:5.1f} %"
                for c, n in counts.items()
            ]
        if self.groups is not None:
            lines.append(f"  {len(pd.unique(self.groups))} groups")
        if self.channel_names:
            names = ", ".join(self.channel_names)
            lines.append(f"  channels: {names} (one file each)")
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
            label_matrix=None
            if self.label_matrix is None
            else self.label_matrix.iloc[idx].reset_index(drop=True),
            y=None if self.y is None or self.multilabel else self.y[idx],
            groups=None if self.groups is None else self.groups[idx],
            classes=list(self.classes),
            skipped=self.skipped.copy(),
            name=self.name,
            meta=dict(self.meta),
            channel_names=self.channel_names,
            mask_policy=self.mask_policy,
        )

    def select_channels(self, channels: Any) -> Dataset:
        """A channel view: the same samples with only the named channels.

        Features, CNNs and thumbnails then see only these channels, in this order
        (see :func:`select_channels`); the other channels' files are not read.

        Parameters
        ----------
        channels : str or sequence of str
            Channel names: ``"green"``, ``"green,blue"`` or ``["green", "blue"]``.

        Returns
        -------
        view : Dataset
            With the same labels, groups, classes and skipped files; ``meta``
            records the view under ``"channels"`` (``"green,blue"``).

        Raises
        ------
        ValueError
            If the samples have no named channels or lack one of ``channels``.
        """
        X = select_channels(self.X, channels)
        names = sample_channel_names(X["image"].tolist())
        return Dataset(
            X=X,
            label_matrix=None
            if self.label_matrix is None
            else self.label_matrix.copy(),
            y=None if self.y is None or self.multilabel else self.y.copy(),
            groups=None if self.groups is None else self.groups.copy(),
            classes=list(self.classes),
            skipped=self.skipped.copy(),
            name=self.name,
            meta={**self.meta, "channels": ",".join(names or ())},
            channel_names=names,
            mask_policy=self.mask_policy,
        )
