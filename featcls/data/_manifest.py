"""Loading a data set described by a CSV manifest."""

from __future__ import annotations

import os
import re
import string
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from featcls.data._channels import (
    ChannelFiles,
    check_channel_names,
    parse_channels,
)
from featcls.data._dataset import Dataset, provenance
from featcls.data._validate import (
    SampleFiles,
    check_on_error,
    check_samples,
    finish_skipping,
)
from featcls.exceptions import Setting, SettingError

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
                f"has several labels. Read it as one with label_sep={sep!r} (CLI "
                f"--label-sep {sep!r}), or, if these values really are single "
                "classes, rename them without the separator."
            )


def _read_csv(
    csv: Path, required: list[str], text_columns: list[str], hint: str = ""
) -> pd.DataFrame:
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
            "Pass the right column names (image_col, label_col, mask_col, group_col)"
            f"{hint}."
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


def _pattern_fields(pattern: str) -> list[str]:
    """The columns named by the fields of a ``channel_files`` pattern, in order."""
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise ValueError(
            f"channel_files {pattern!r} is not a valid pattern ({exc}); write fields "
            "in braces, e.g. 'train/{Id}_{channel}.png', and double a literal brace."
        ) from exc
    fields: list[str] = []
    for _, field, _, _ in parsed:
        if field is None:
            continue
        root = re.split(r"[.\[]", field, maxsplit=1)[0]
        if not root or root.isdigit():
            raise ValueError(
                f"channel_files {pattern!r} has a positional field {{{field}}}; name "
                "the CSV column in each field, e.g. 'train/{Id}_{channel}.png'."
            )
        if root not in fields:
            fields.append(root)
    if "channel" not in fields:
        raise ValueError(
            f"channel_files {pattern!r} has no {{channel}} field, so every channel "
            "would be the same file; put {channel} where the file names differ, "
            "e.g. 'train/{Id}_{channel}.png'."
        )
    return [f for f in fields if f != "channel"]


def _channel_setup(
    channel_files: str | None, channel_names: Any, channels: Any
) -> tuple[list[str], tuple[str, ...], tuple[str, ...]]:
    """Pattern columns, every channel name and the names kept (the view)."""
    if channel_files is None:
        if channel_names is not None or channels is not None:
            given = "channel_names" if channel_names is not None else "channels"
            raise ValueError(
                f"{given} applies to samples of one file per channel; give "
                "channel_files too, e.g. channel_files='train/{Id}_{channel}.png', "
                "channel_names=['red', 'green', 'blue', 'yellow']."
            )
        return [], (), ()
    if not isinstance(channel_files, str):
        raise ValueError(
            "channel_files must be a pattern (str) such as "
            f"'train/{{Id}}_{{channel}}.png'. Got {channel_files!r}."
        )
    fields = _pattern_fields(channel_files)
    if channel_names is None:
        raise ValueError(
            f"channel_files {channel_files!r} needs channel_names: the names that "
            "fill {channel}, in the order the channels are stacked, e.g. "
            "channel_names=['red', 'green', 'blue', 'yellow']."
        )
    names = check_channel_names(channel_names)
    if channels is None:
        return fields, names, names
    view = parse_channels(channels)
    if isinstance(view, str):
        raise ValueError(
            f"channels={channels!r} is a channel policy; load_manifest's channels "
            f"keeps named channels (some of {', '.join(map(repr, names))}). Give "
            "the policy to FeatureExtractor(channels=...) instead."
        )
    unknown = [n for n in view if n not in names]
    if unknown:
        raise SettingError(
            f"Unknown channel(s) {', '.join(map(repr, unknown))} in ",
            Setting("channels", ",".join(view)),
            f"; the channels of the manifest are {', '.join(map(repr, names))}.",
        )
    return fields, names, view


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
    channel_files: str | None = None,
    channel_names: Sequence[str] | str | None = None,
    channels: Sequence[str] | str | None = None,
    label_sep: str | None = None,
    label_names: Sequence[str] | str | None = None,
    text_cols: Sequence[str] = (),
    on_error: str = "raise",
    validate: bool = True,
    n_jobs: int | None = 1,
) -> Dataset:
    """Load a data set from a CSV manifest with one row per image.

    A sample may also be several files, one grey file per named channel (the
    stains of a fluorescence atlas): ``channel_files`` is then a pattern that the
    row's cells and each name of ``channel_names`` fill, and the sample's
    ``image`` cell holds a :class:`ChannelFiles` that :func:`read_image` stacks
    into one ``(H, W, C)`` image in ``channel_names`` order.

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
    text_cols : sequence of str, default=()
        Further columns read verbatim as text like the groups (patient or slide
        ids to aggregate by, group-level labels), kept in ``X``. Other extra
        columns parse as pandas parses them (``007`` becomes the number 7).
    root : str or os.PathLike, optional
        Folder the paths are relative to; defaults to the CSV's folder.
    channel_files : str, optional
        Pattern of the file of each channel of a row, relative to ``root`` like the
        image paths: ``{channel}`` is replaced by each channel name and ``{Col}`` by
        the row's cell of column ``Col`` (read verbatim as text), e.g.
        ``"train/{Id}_{channel}.png"``. ``image_col`` then names the column that
        identifies each sample (``Id``); it is kept in ``relpath``.
    channel_names : sequence of str or str, optional
        The channels' names in stacking order (``["red", "green", "blue",
        "yellow"]`` or ``"red,green,blue,yellow"``); required with
        ``channel_files``. A name may not be a channel policy (``"gray"``,
        ``"rgb"``, ``"hsv"``, ``"channels"``) nor hold commas, braces or spaces.
    channels : sequence of str or str, optional
        A channel view: keep only these channels (``"green"``, ``"green,blue"``),
        in this order. The other channels' files are neither checked nor read.
        Default: every channel.
    label_sep : str, optional
        Multi-label targets: the label cell of a row lists the sample's labels
        separated by ``label_sep`` (``" "`` for ``"16 0"``, ``";"`` for
        ``"nucleus;cytosol"``). The dataset is then multi-label
        (:attr:`Dataset.label_matrix`); an empty cell means no label at all.
    label_names : sequence of str or str, optional
        With ``label_sep``: every label there is (``"0,1,...,27"`` or a list). A
        row naming another label is unusable (see ``on_error``); labels that no
        row names are kept, with no positives. Default: the labels the rows name.
    on_error : {"raise", "skip"}, default="raise"
        What to do with a row whose files cannot be used (see :func:`load_folder`) or
        whose image, label, mask or group cell (or a cell that ``channel_files``
        names) is empty. A missing channel file, one of another size than the
        sample's others, or one that is not a single grey image makes its row
        unusable, like an unreadable image.
    validate : bool, default=True
        Decode every image and mask once to check it; otherwise only check existence.
    n_jobs : int, default=1
        Threads used for validation (joblib).

    Returns
    -------
    dataset : Dataset
        ``X`` has the absolute paths in ``image`` (and ``mask``), the path as written
        in the CSV in ``relpath`` (unless the CSV has such a column) and every other
        column of the CSV except the label and group columns. With
        ``channel_files``, ``image`` holds a :class:`ChannelFiles` of absolute
        paths per sample and ``channel_names`` the names of the channels kept.

    Raises
    ------
    FileNotFoundError
        If the CSV does not exist.
    ValueError
        If a named column is missing (the message lists the CSV's columns), the CSV
        has no rows, ``on_error`` is invalid, nothing usable is left, the channel
        settings are inconsistent (a pattern without ``{channel}``, no
        ``channel_names``, an invalid or unknown channel name), or the label
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
    fields, all_names, kept_names = _channel_setup(
        channel_files, channel_names, channels
    )
    known = _label_setup(label_sep, label_names, label_col)
    fields_only = [f for f in fields if f not in text_columns]
    if isinstance(text_cols, str):
        text_cols = [text_cols]
    further = [
        c for c in dict.fromkeys(text_cols) if c not in text_columns + fields_only
    ]
    table = _read_csv(
        csv,
        columns + fields_only + further,
        text_columns + fields_only + further,
        hint=(" and the fields of channel_files" if channel_files else "")
        + (" and text_cols" if further else ""),
    )
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
        ] + [
            c
            for c in (label_col, group_col, *fields_only)
            if c
            and _cell(values[c]) is None
            and not (c == label_col and label_sep is not None)  # no label at all
        ]
        source: str | ChannelFiles = str(base / image) if image else where
        if channel_files and not empty:
            source = _channel_source(
                channel_files, base, {f: _cell(values[f]) for f in fields}, kept_names
            )
        sample = SampleFiles(image=source, mask=str(base / mask) if mask else None)
        if empty:
            sample.problem = (
                f"Empty {', '.join(map(repr, empty))} cell on {where}; fill it in or "
                "remove the row."
            )
        elif known is not None:
            unknown = set(_label_set(values[label_col], label_sep)) - known
            if unknown:
                sample.problem = (
                    f"Unknown label(s) {sorted(unknown)} in column {label_col!r} on "
                    f"{where}: label_names lists {len(known)} labels. Correct the "
                    "row, or add the label to label_names (--label-names)."
                )
        samples.append(sample)

    failures = check_samples(
        samples, validate=validate, on_error=on_error, n_jobs=n_jobs
    )
    bad = {position for position, _ in failures}
    skipped = [(str(samples[p].image), str(problem)) for p, problem in failures]
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
    y = label_matrix = None
    if label_col and label_sep is not None:
        sets = [_label_set(v, label_sep) for v in kept[label_col]]
        names = sorted(set().union(*sets) | (known or set()))
        label_matrix = pd.DataFrame(
            [[name in row for name in names] for row in sets],
            columns=names,
            dtype=bool,
        )
    elif label_col:
        y = np.asarray([_cell(v) for v in kept[label_col]], dtype=str)
        check_single_label(y, label_col, f"manifest {str(csv)!r}")
    groups = None
    if group_col:
        groups = np.asarray([_cell(v) for v in kept[group_col]], dtype=str)
    channel_meta = {}
    if channel_files:
        channel_meta = {
            "channel_files": channel_files,
            # As text, "red,green", which the report and JSON show as written.
            "channel_names": ",".join(all_names),
            "channels": ",".join(kept_names),
        }
    return Dataset(
        X=X,
        y=y,
        label_matrix=label_matrix,
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
            label_sep=label_sep,
            **channel_meta,
            validate=validate,
            on_error=on_error,
        ),
        channel_names=kept_names or None,
    )


def _label_setup(label_sep, label_names, label_col) -> set[str] | None:
    """Check the multi-label settings; the known labels (None: any)."""
    if label_sep is None:
        if label_names is not None:
            raise ValueError(
                "label_names applies to multi-label columns: give label_sep."
            )
        return None
    if not isinstance(label_sep, str) or label_sep == "":
        raise ValueError(f"label_sep must be a non-empty string; got {label_sep!r}.")
    if label_col is None:
        raise ValueError("label_sep needs a label column (label_col).")
    if label_names is None:
        return None
    names = label_names.split(",") if isinstance(label_names, str) else label_names
    known = {str(n).strip() for n in names if str(n).strip()}
    if not known:
        raise ValueError("label_names is empty; list the labels, or leave it out.")
    return known


def _label_set(cell, sep: str) -> list[str]:
    """The labels of one cell, in order, without empty parts or repeats."""
    text = _cell(cell) or ""
    return list(dict.fromkeys(t.strip() for t in text.split(sep) if t.strip()))


def _channel_source(
    pattern: str, base: Path, cells: dict[str, str | None], names: tuple[str, ...]
) -> ChannelFiles:
    """The files of one row's channels: the pattern filled with its cells."""
    try:
        paths = [str(base / pattern.format(**cells, channel=n)) for n in names]
    except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"channel_files {pattern!r} cannot be filled with a row's cells "
            f"({type(exc).__name__}: {exc}); use plain fields such as {{Id}}."
        ) from exc
    return ChannelFiles(paths, names)
