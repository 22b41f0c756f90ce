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


class FeatureCache:
    """Feature rows of one extractor configuration, stored as Parquet part files.

    ``root/<config key>/part-*.parquet`` hold one row per image: the content key, the
    features, where the mask came from and any notes. Each finished chunk (and the
    ``config.json`` describing the settings) is written to a unique temporary file
    and renamed (:func:`featcls._files.atomic_path`), so a run that is killed leaves
    only complete files, concurrent runs sharing the folder never write to the same
    temporary file, and the next run computes only what is missing. Because the
    folder is plain Parquet it can live on shared storage and be read by any tool.

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

    def load(self, keys: set[str]) -> dict[str, tuple[np.ndarray, str, list[str]]]:
        """Cached ``(row, mask_source, notes)`` for every key of ``keys`` present."""
        if not self.dir.is_dir():
            return {}
        found: dict[str, tuple[np.ndarray, str, list[str]]] = {}
        for part in sorted(self.dir.glob("part-*.parquet")):
            try:
                table = pq.read_table(part)
            except (OSError, pa.ArrowException):
                continue  # a foreign or damaged file: recompute rather than fail
            if table.column_names != [_KEY, _SOURCE, _NOTES, *self.columns]:
                continue
            part_keys = table.column(_KEY).to_pylist()
            wanted = [i for i, k in enumerate(part_keys) if k in keys]
            if not wanted:
                continue
            values = (
                np.column_stack(
                    [
                        table.column(c).to_numpy(zero_copy_only=False)
                        for c in self.columns
                    ]
                )
                if self.columns
                else np.empty((len(part_keys), 0))
            )
            sources = table.column(_SOURCE).to_pylist()
            notes = table.column(_NOTES).to_pylist()
            for i in wanted:
                found[part_keys[i]] = (
                    values[i],
                    sources[i],
                    [n for n in notes[i].split(",") if n],
                )
        return found

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
