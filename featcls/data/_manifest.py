"""Loading a data set described by a CSV manifest."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from featcls.data._dataset import Dataset, provenance
from featcls.data._validate import (
    SampleFiles,
    check_on_error,
    check_samples,
    finish_skipping,
)

__all__ = ["check_single_label", "load_manifest"]

#: Separators of label lists in one cell ("16 0", "a;b").
LIST_SEPARATORS = (" ", ";", ",", "|")


def _is_part(token: str, singles: set[str]) -> bool:
    return token in singles or token.isdigit()


def check_single_label(y: np.ndarray, column: str, where: str) -> None:
    """Stop when the label column holds lists of labels (a multi-label target).

    Cells like ``"16 0"`` or ``"nucleus;cytosol"`` name several labels of one
    sample. Read as they are, every combination would become a class of its own (a
    plausible but wrong single-label task), so a column is refused when at least
    two of its distinct values are lists over one separator whose every part is a
    label on its own or a number. Class names with spaces whose words are not
    labels themselves ("white blood cell") pass.

    Raises
    ------
    ValueError
        Naming the column, the separator and examples.
    """
    singles = {str(v) for v in np.unique(y)}
    for sep in LIST_SEPARATORS:
        lists = [
            v
            for v in singles
            if sep in v and all(_is_part(t, singles) for t in v.split(sep) if t)
        ]
        if len(lists) >= 2:
            shown = ", ".join(repr(v) for v in sorted(lists)[:3])
            raise ValueError(
                f"The label column {column!r} of {where} holds lists of labels "
                f"separated by {sep!r} ({len(lists)} of its {len(singles)} distinct "
                f"values, e.g. {shown}): a multi-label target, where each sample "
                "has several labels. featcls compares single-label classifiers "
                "only and would take every combination for a class of its own. "
                "Give one label per image, or, if these values really are single "
                "classes, rename them without the separator."
            )


def _read_csv(csv: Path, required: list[str], text_columns: list[str]) -> pd.DataFrame:
    try:
        header = pd.read_csv(csv, nrows=0)
    except pd.errors.EmptyDataError as exc:
        raise ValueError(
            f"Manifest {str(csv)!r} is empty; expected a CSV header."
        ) from exc
    missing = [c for c in required if c not in header.columns]
    if missing:
        names = ", ".join(map(repr, missing))
        have = ", ".join(repr(str(c)) for c in header.columns) or "none"
        raise ValueError(
            f"Manifest {str(csv)!r} has no column(s) {names}; its columns are: {have}. "
            "Pass the right column names (image_col, label_col, mask_col, group_col)."
        )
    table = pd.read_csv(csv)
    # Paths, labels and groups are text, read verbatim: pandas would read the label
    # "NA", "NaN" or "None" as missing and the groups "01" and "1" as the same
    # number. Only an empty cell is empty. (Other columns parse as usual.)
    text = pd.read_csv(
        csv, usecols=text_columns, dtype=str, keep_default_na=False, na_filter=False
    )
    if len(text) != len(table):  # pragma: no cover - both reads skip the same lines
        raise ValueError(
            f"Manifest {str(csv)!r} could not be read consistently ({len(table)} "
            f"rows, {len(text)} as text); check it for stray quotes."
        )
    for column in text_columns:
        table[column] = text[column].to_numpy(dtype=object)
    return table


def _cell(value: object) -> str | None:
    """A stripped non-empty string, or None for an empty or missing cell."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


def load_manifest(
    csv: str | os.PathLike,
    *,
    image_col: str = "image",
    label_col: str | None = "label",
    mask_col: str | None = None,
    group_col: str | None = None,
    root: str | os.PathLike | None = None,
    on_error: str = "raise",
    validate: bool = True,
    n_jobs: int | None = 1,
) -> Dataset:
    """Load a data set from a CSV manifest with one row per image.

    Parameters
    ----------
    csv : str or os.PathLike
        The manifest.
    image_col : str, default="image"
        Column of image paths, relative to ``root`` (absolute paths are kept).
    label_col : str or None, default="label"
        Column of class labels, read verbatim as strings (``NA``, ``None`` and
        ``01`` are labels; surrounding spaces are dropped); None for unlabelled
        data.
    mask_col : str, optional
        Column of mask paths, relative to ``root``.
    group_col : str, optional
        Column of groups (sample, patient, module, ...), read verbatim as strings
        like the labels: the groups ``01`` and ``1`` are different groups.
    root : str or os.PathLike, optional
        Folder the paths are relative to; defaults to the CSV's folder.
    on_error : {"raise", "skip"}, default="raise"
        What to do with a row whose files cannot be used (see :func:`load_folder`) or
        whose image, label, mask or group cell is empty.
    validate : bool, default=True
        Decode every image and mask once to check it; otherwise only check existence.
    n_jobs : int, default=1
        Threads used for validation (joblib).

    Returns
    -------
    dataset : Dataset
        ``X`` has the absolute paths in ``image`` (and ``mask``), the path as written
        in the CSV in ``relpath`` (unless the CSV has such a column) and every other
        column of the CSV except the label and group columns.

    Raises
    ------
    FileNotFoundError
        If the CSV does not exist.
    ValueError
        If a named column is missing (the message lists the CSV's columns), the CSV
        has no rows, ``on_error`` is invalid, nothing usable is left, or the label
        column holds lists of labels (a multi-label target such as ``"16 0"``;
        see :func:`check_single_label`).
    ImageReadError
        For the first unusable row, with ``on_error='raise'``.
    """
    check_on_error(on_error)
    csv = Path(csv).absolute()
    if not csv.is_file():
        raise FileNotFoundError(f"Manifest {str(csv)!r} does not exist.")
    base = csv.parent if root is None else Path(root).absolute()
    columns = [image_col] + [
        c for c in (label_col, mask_col, group_col) if c is not None
    ]
    if len(set(columns)) != len(columns):
        raise ValueError(
            f"image_col, label_col, mask_col and group_col must differ; got {columns}."
        )
    text_columns = [
        c for c in (image_col, label_col, mask_col, group_col) if c is not None
    ]
    table = _read_csv(csv, columns, text_columns)
    if table.empty:
        raise ValueError(f"Manifest {str(csv)!r} has a header but no rows.")

    samples: list[SampleFiles] = []
    for row_number, row in enumerate(table.itertuples(index=False), start=2):
        values = dict(zip(table.columns, row, strict=True))
        where = f"line {row_number} of {str(csv)!r}"
        image = _cell(values[image_col])
        mask = _cell(values[mask_col]) if mask_col else None
        empty = [
            c for c, v in ((image_col, image), (mask_col, mask)) if c and v is None
        ] + [c for c in (label_col, group_col) if c and _cell(values[c]) is None]
        sample = SampleFiles(
            image=str(base / image) if image else where,
            mask=str(base / mask) if mask else None,
        )
        if empty:
            sample.problem = (
                f"Empty {', '.join(map(repr, empty))} cell on {where}; fill it in or "
                "remove the row."
            )
        samples.append(sample)

    failures = check_samples(
        samples, validate=validate, on_error=on_error, n_jobs=n_jobs
    )
    bad = {position for position, _ in failures}
    skipped = [(samples[p].image, str(problem)) for p, problem in failures]
    keep = np.array([i for i in range(len(samples)) if i not in bad], dtype=np.intp)
    ledger = finish_skipping(
        skipped, n_kept=len(keep), where=str(csv), on_error=on_error
    )

    kept = table.iloc[keep].reset_index(drop=True)
    extra = kept.drop(columns=columns)
    clash = [c for c in ("image", "mask") if c in extra.columns]
    if clash:
        extra = extra.rename(columns={c: f"{c}_csv" for c in clash})
    X = pd.DataFrame(
        {"image": pd.Series([samples[i].image for i in keep], dtype=object)}
    )
    if mask_col:
        X["mask"] = pd.Series([samples[i].mask for i in keep], dtype=object)
    if "relpath" not in extra.columns:
        X["relpath"] = kept[image_col].astype(object).map(_cell)
    X = pd.concat([X, extra], axis=1)
    y = None
    if label_col:
        y = np.asarray([_cell(v) for v in kept[label_col]], dtype=str)
        check_single_label(y, label_col, f"manifest {str(csv)!r}")
    groups = None
    if group_col:
        groups = np.asarray([_cell(v) for v in kept[group_col]], dtype=str)
    return Dataset(
        X=X,
        y=y,
        groups=groups,
        skipped=ledger,
        name=csv.stem,
        meta=provenance(
            "load_manifest",
            csv=str(csv),
            root=str(base),
            image_col=image_col,
            label_col=label_col,
            mask_col=mask_col,
            group_col=group_col,
            validate=validate,
            on_error=on_error,
        ),
    )
