"""On-disk Parquet cache of extracted features, keyed by image content and settings."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from featcls._files import atomic_path, write_text_atomic
from featcls.data import ChannelFiles

__all__ = ["FeatureCache", "content_key"]

_KEY = "__key__"
_SOURCE = "__mask_source__"
_NOTES = "__notes__"
#: Part files kept decoded by :meth:`FeatureCache.read` (a chunk's rows usually sit
#: in one or two parts; a few more cover chunks that straddle them).
_RECENT_PARTS = 4


def _hash_source(source: Any, digest) -> None:
    if source is None or (not isinstance(source, np.ndarray) and pd.isna(source)):
        digest.update(b"<none>")
    elif isinstance(source, np.ndarray):
        arr = np.ascontiguousarray(source)
        digest.update(f"array:{arr.dtype.str}:{arr.shape}".encode())
        digest.update(arr.view(np.uint8).ravel().data if arr.size else b"")
    elif isinstance(source, ChannelFiles):
        # Every channel's name and file content, in order: editing, adding or
        # reordering one channel's file changes the key.
        digest.update(f"channels:{len(source.names)}".encode())
        for name, path in zip(source.names, source.paths, strict=True):
            digest.update(f"|{name}|".encode())
            _hash_source(path, digest)
    else:
        # The file's bytes, not its name or time: a renamed or touched file still hits,
        # an edited file does not. An unreadable file is reported by the decoder later.
        try:
            with open(source, "rb") as fh:
                digest.update(b"file:")
                digest.update(fh.read())
        except OSError:
            digest.update(f"unreadable:{source}".encode())


def content_key(image: Any, mask: Any = None) -> str:
    """A 128-bit hex digest of an image's content and its mask's content.

    For a sample of one file per named channel, the content of every channel's
    file and its name.
    """
    digest = hashlib.blake2b(digest_size=16)
    _hash_source(image, digest)
    digest.update(b"|mask|")
    _hash_source(mask, digest)
    return digest.hexdigest()


class _Index:
    """Sorted keys of the cached rows, with the part file and row holding each.

    Three arrays (32 + 4 + 4 bytes a row), so that knowing where 100,000 rows are
    costs 4 MB and no Python object per row.
    """

    def __init__(self, paths, keys, parts, rows):
        self.paths = paths
        self.keys, self.parts, self.rows = keys, parts, rows

    @classmethod
    def build(cls, folder: Path, names: list[str]) -> _Index:
        """The index of the part files of ``folder`` whose columns are ``names``.

        A foreign or damaged file is left out (its rows are recomputed rather
        than failing the run). When two parts hold a key, the later part (by
        name) is used.
        """
        paths, keys, parts = [], [], []
        for path in sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []:
            try:
                part = pq.ParquetFile(path)
                if part.schema_arrow.names != names:
                    continue
                column = part.read(columns=[_KEY]).column(_KEY)
                found = np.asarray(column.to_pylist(), dtype="S32")
            except (OSError, ValueError, pa.ArrowException):
                continue
            keys.append(found)
            parts.append(np.full(len(found), len(paths), np.int32))
            paths.append(path)
        if not keys:
            return cls(
                [], np.empty(0, "S32"), np.empty(0, np.int32), np.empty(0, np.int32)
            )
        all_keys = np.concatenate(keys)
        all_parts = np.concatenate(parts)
        all_rows = np.concatenate([np.arange(len(k), dtype=np.int32) for k in keys])
        # Sorted by key, then by position: the last of equal keys is the latest part.
        order = np.lexsort((np.arange(len(all_keys)), all_keys))
        all_keys, all_parts, all_rows = (
            all_keys[order],
            all_parts[order],
            all_rows[order],
        )
        last = np.append(all_keys[1:] != all_keys[:-1], True)
        return cls(paths, all_keys[last], all_parts[last], all_rows[last])

    def locate(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Part number and row of each key (part -1 where it is not cached)."""
        if len(self.keys) == 0:
            return np.full(len(keys), -1, np.int32), np.zeros(len(keys), np.int64)
        at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        hit = self.keys[at] == keys
        parts = np.where(hit, self.parts[at], -1).astype(np.int32)
        return parts, np.where(hit, self.rows[at], 0).astype(np.int64)


class FeatureCache:
    """Feature rows of one extractor configuration, stored as Parquet part files.

    ``root/<config key>/part-*.parquet`` hold one row per image: the content key, the
    features, where the mask came from and any notes. Each finished chunk (and the
    ``config.json`` describing the settings) is written to a unique temporary file
    and renamed (:func:`featcls._files.atomic_path`), so a run that is killed leaves
    only complete files, concurrent runs sharing the folder never write to the same
    temporary file, and the next run computes only what is missing. Because the
    folder is plain Parquet it can live on shared storage and be read by any tool.

    Reading never loads the whole folder: :meth:`contains` answers from an index of
    the part files' key columns, built once, and :meth:`read` reads the rows of the
    part files that hold the keys asked for.

    Parameters
    ----------
    root : path
        The cache folder (created when needed).
    config : dict
        JSON-serialisable description of everything that changes the features.
    columns : list of str
        Feature names, in order.
    """

    def __init__(self, root: str | os.PathLike, config: dict, columns: list[str]):
        text = json.dumps(config, sort_keys=True, default=str)
        self.key = hashlib.sha256(text.encode()).hexdigest()[:16]
        self.dir = Path(root) / self.key
        self.columns = list(columns)
        self._config_text = text
        self._found: _Index | None = None
        self._recent: dict[int, tuple[np.ndarray, list[str], list[str]]] = {}

    def _index(self) -> _Index:
        """Where each cached key is, from the key columns of the part files (once)."""
        if self._found is None:
            self._found = _Index.build(self.dir, [_KEY, _SOURCE, _NOTES, *self.columns])
        return self._found

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """Whether each key (an ``S32`` array of hex digests) has a cached row.

        Only the key column of each part file is read, once per cache object:
        the rows themselves are read by :meth:`read`, a few at a time.
        """
        return self._index().locate(np.asarray(keys, dtype="S32"))[0] >= 0

    def read(self, keys: np.ndarray) -> tuple[np.ndarray, list[str], list[list[str]]]:
        """The cached rows, mask sources and notes of ``keys``, all of which are cached.

        Only the part files holding them are read (the last few stay decoded,
        for the next rows of the same parts).
        """
        parts, rows = self._index().locate(np.asarray(keys, dtype="S32"))
        if (parts < 0).any():
            raise KeyError("read() was given keys that are not cached")
        values = np.empty((len(keys), len(self.columns)))
        sources, notes = [""] * len(keys), [[]] * len(keys)
        for part in dict.fromkeys(parts.tolist()):
            block, part_sources, part_notes = self._decoded(part)
            at = np.flatnonzero(parts == part)
            values[at] = block[rows[at]]
            for i, row in zip(at.tolist(), rows[at].tolist(), strict=True):
                sources[i] = part_sources[row]
                notes[i] = [n for n in part_notes[row].split(",") if n]
        return values, sources, notes

    def _decoded(self, part: int) -> tuple[np.ndarray, list[str], list[str]]:
        """Rows, sources and notes of one part file, from the last few read."""
        if part not in self._recent:
            table = pq.read_table(self._index().paths[part])
            values = (
                np.column_stack(
                    [
                        table.column(c).to_numpy(zero_copy_only=False)
                        for c in self.columns
                    ]
                )
                if self.columns
                else np.empty((table.num_rows, 0))
            )
            self._recent[part] = (
                values,
                table.column(_SOURCE).to_pylist(),
                table.column(_NOTES).to_pylist(),
            )
            while len(self._recent) > _RECENT_PARTS:
                del self._recent[next(iter(self._recent))]
        return self._recent[part]

    def load(self, keys) -> dict[str, tuple[np.ndarray, str, list[str]]]:
        """Cached ``(row, mask_source, notes)`` of every key of ``keys`` present."""
        keys = sorted(keys)
        wanted = np.asarray(keys, dtype="S32")
        hit = self.contains(wanted)
        values, sources, notes = self.read(wanted[hit])
        found = [k for k, h in zip(keys, hit.tolist(), strict=True) if h]
        return {key: (values[i], sources[i], notes[i]) for i, key in enumerate(found)}

    def store(
        self,
        keys: list[str],
        rows: np.ndarray,
        sources: list[str],
        notes: list[list[str]],
    ) -> None:
        """Write one part file atomically."""
        if not keys:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        config_file = self.dir / "config.json"
        if not config_file.exists():
            write_text_atomic(config_file, self._config_text)
        rows = np.asarray(rows, dtype=np.float64).reshape(len(keys), len(self.columns))
        arrays = [
            pa.array(keys),
            pa.array(sources),
            pa.array([",".join(n) for n in notes]),
        ]
        arrays += [pa.array(rows[:, j]) for j in range(rows.shape[1])]
        table = pa.Table.from_arrays(
            arrays, names=[_KEY, _SOURCE, _NOTES, *self.columns]
        )
        # A unique part name, written under a unique temporary name and renamed
        # when complete: concurrent writers never clash, a killed one leaves no part.
        with atomic_path(self.dir / f"part-{uuid.uuid4().hex}.parquet") as tmp:
            pq.write_table(table, tmp)
