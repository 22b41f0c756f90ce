"""Writing a table that arrives in pieces (Parquet row groups, CSV lines) atomically."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from featcls._files import atomic_path

__all__ = ["ROW_GROUP_BYTES", "row_group_rows", "write_frames"]

#: About this many bytes of float64 values per Parquet row group: a few MB held
#: while a group fills, and a footer that stays small (one entry per group and
#: column) however long the table.
ROW_GROUP_BYTES = 8 << 20


def row_group_rows(n_columns: int) -> int:
    """Rows per Parquet row group for a table of ``n_columns`` columns."""
    return max(64, ROW_GROUP_BYTES // (8 * max(n_columns, 1)))


def write_frames(path: Path, frames: Iterable[pd.DataFrame]) -> int:
    """Write ``frames`` one after another as one table at ``path``; the rows written.

    ``.csv``: each frame's lines are appended as it comes (the header once), so the
    file is the one ``pd.concat(frames).to_csv(path, index=False)`` writes.
    ``.parquet``: rows are written in row groups of :func:`row_group_rows` rows
    through one ``pyarrow.parquet.ParquetWriter``, with the schema (and pandas
    metadata) of ``to_parquet(path, index=False)``; a table of one row group is
    the very file ``to_parquet`` writes, a longer one has the same values, types
    and schema in several groups. Where the groups end depends only on the
    number of rows and columns, so the same table is always the same bytes.
    Written under a temporary name and renamed at the end
    (:func:`featcls._files.atomic_path`): a killed run leaves no half table.
    """
    with atomic_path(path) as tmp:
        if Path(path).suffix.lower() == ".csv":
            return _write_csv(tmp, frames)
        return _write_parquet(tmp, frames)


def _write_csv(tmp: Path, frames: Iterable[pd.DataFrame]) -> int:
    n = 0
    for frame in frames:  # the header once, then each frame's lines appended
        frame.to_csv(tmp, mode="a" if n else "w", header=n == 0, index=False)
        n += len(frame)
    return n


def _write_parquet(tmp: Path, frames: Iterable[pd.DataFrame]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer, pending, n_pending, n = None, [], 0, 0

    def flush(rows: int) -> None:
        nonlocal writer, pending, n_pending
        frame = pd.concat(pending) if len(pending) > 1 else pending[0]
        pending, n_pending = [frame.iloc[rows:].copy()], len(frame) - rows
        table = pa.Table.from_pandas(frame.iloc[:rows], preserve_index=False)
        if writer is None:  # to_parquet's options: write_table's defaults, snappy
            writer = pq.ParquetWriter(tmp, table.schema, compression="snappy")
        elif not table.schema.equals(writer.schema, check_metadata=False):
            table = table.cast(writer.schema)
        writer.write_table(table)

    try:
        for frame in frames:
            if writer is None and not n_pending:
                group = row_group_rows(frame.shape[1])
            pending.append(frame)
            n_pending += len(frame)
            n += len(frame)
            while n_pending >= group:
                flush(group)
        if n_pending or writer is None:
            if not pending:
                raise ValueError("No rows to write: the table is empty.")
            flush(n_pending)
    finally:
        if writer is not None:
            writer.close()
    return n
