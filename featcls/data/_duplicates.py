"""Finding samples whose images are identical, so that no split separates them.

The same file listed twice in a manifest, a copy under another name, or a link
(a folder link ``again -> .`` at a data set's root lists every image twice) puts
one image on both sides of a train/test split, and the model is then tested on
images it was trained on. :func:`find_duplicates` finds such sets by content; the
evaluation keeps each set in one fold.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from featcls.data._channels import ChannelFiles
from featcls.data._table import as_sample_table

__all__ = ["find_duplicates"]

# Files of one size are first compared by the hash of their first bytes; only
# those that agree are read to the end, in chunks, so memory stays bounded.
_PREFIX_BYTES = 1 << 16
_CHUNK_BYTES = 1 << 20
#: Files hashed per batch of threaded work (bounds the futures held at once).
_BATCH = 4096


def _hash_file(path: str, limit: int | None) -> bytes | None:
    """BLAKE2b of the first ``limit`` bytes (None: all); None if unreadable."""
    digest = hashlib.blake2b(digest_size=20)
    try:
        with open(path, "rb") as fh:
            if limit is not None:
                digest.update(fh.read(limit))
            else:
                while chunk := fh.read(_CHUNK_BYTES):
                    digest.update(chunk)
    except OSError:
        return None
    return digest.digest()


def _hash_array(array: np.ndarray) -> bytes:
    """BLAKE2b of an array's dtype, shape and bytes."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    digest.update(memoryview(np.ascontiguousarray(array)).cast("B"))
    return digest.digest()


def _file_identity(path: str) -> tuple[tuple[int, int], int] | None:
    """((device, inode), size) of a regular file (links followed), else None."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):  # FIFOs, devices, folders: never opened
        return None
    return (st.st_dev, st.st_ino), st.st_size


def _refine(
    groups: list[list[int]], key: Callable[[int], Hashable], n_jobs: int
) -> list[list[int]]:
    """Split each candidate group by ``key`` (computed in threads); keep sizes >= 2."""
    members = [i for g in groups for i in g]
    if n_jobs == 1 or len(members) < 2:
        keys = dict(zip(members, map(key, members), strict=True))
    else:
        # hashlib and file reads release the GIL. A batch at a time: pool.map
        # makes every future at once, about 2 KB each (a lock, a condition).
        keys = {}
        with ThreadPoolExecutor(max_workers=n_jobs) as pool:
            for start in range(0, len(members), _BATCH):
                batch = members[start : start + _BATCH]
                keys.update(zip(batch, pool.map(key, batch), strict=True))
    out = []
    for group in groups:
        by_key: dict[Hashable, list[int]] = defaultdict(list)
        for i in group:
            if keys[i] is not None:
                by_key[keys[i]].append(i)
        out += [g for g in by_key.values() if len(g) > 1]
    return out


def _n_threads(n_jobs: int | None) -> int:
    if n_jobs is None or n_jobs == 0:
        return 1
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return int(n_jobs)


def _file_sets(paths: dict[int, str], n_jobs: int) -> list[list[int]]:
    """Positions of identical files: the same file (inode), or same size and bytes."""
    by_inode: dict[tuple[int, int], list[int]] = defaultdict(list)
    size_of: dict[tuple[int, int], int] = {}
    for position, path in paths.items():
        identity = _file_identity(path)
        if identity is not None:
            by_inode[identity[0]].append(position)
            size_of[identity[0]] = identity[1]
    # One representative position per distinct file, grouped by size: a file whose
    # size no other file has is never opened.
    names = {positions[0]: positions for positions in by_inode.values()}
    size = {positions[0]: size_of[inode] for inode, positions in by_inode.items()}
    by_size: dict[int, list[int]] = defaultdict(list)
    for rep, n_bytes in size.items():
        by_size[n_bytes].append(rep)
    candidates = [g for g in by_size.values() if len(g) > 1]
    candidates = _refine(
        candidates, lambda i: _hash_file(paths[i], _PREFIX_BYTES), n_jobs
    )
    same = [g for g in candidates if size[g[0]] <= _PREFIX_BYTES]  # read in full
    same += _refine(
        [g for g in candidates if size[g[0]] > _PREFIX_BYTES],
        lambda i: _hash_file(paths[i], None),
        n_jobs,
    )
    merged = {rep for g in same for rep in g}
    sets = [[p for rep in g for p in names[rep]] for g in same]
    sets += [p for rep, p in names.items() if len(p) > 1 and rep not in merged]
    return sets


def _channel_sets(samples: dict[int, ChannelFiles], n_jobs: int) -> list[list[int]]:
    """Positions of samples whose channel files are identical, channel by channel."""
    paths: dict[int, str] = {}
    for sample in samples.values():
        paths.update((len(paths), p) for p in sample.paths)
    # Each file is known by the first of the files identical to it (by inode or
    # bytes); a sample by its names and the sequence of its files.
    same_as = {i: i for i in paths}
    for group in _file_sets(paths, n_jobs):
        first = min(group)
        same_as.update((i, first) for i in group)
    by_files: dict[Hashable, list[int]] = defaultdict(list)
    start = 0
    for position, sample in samples.items():
        files = tuple(same_as[start + k] for k in range(len(sample.paths)))
        by_files[(sample.names, files)].append(position)
        start += len(sample.paths)
    return [g for g in by_files.values() if len(g) > 1]


def find_duplicates(X: Any, *, n_jobs: int | None = 1) -> list[np.ndarray]:
    """Sets of samples whose images are identical.

    Two image files are identical when they are the same file (the same path twice,
    a hard or symbolic link) or have the same bytes; two in-memory arrays when they
    have the same dtype, shape and bytes. Only files that share their size with
    another file are read (a hash of the first 64 KiB, then of the whole file, in
    chunks); files that are not regular files (FIFOs, devices) or cannot be read
    belong to no set. A file and an array are never compared, nor are two encodings
    of the same picture (a PNG and a TIFF of it). Two samples of one file per
    named channel (:class:`ChannelFiles`) are identical when they have the same
    channel names and, channel by channel, identical files.

    Parameters
    ----------
    X : sample table, array of images or list of paths
        Anything :func:`~featcls.data.as_sample_table` accepts; only the ``image``
        column is compared.
    n_jobs : int, default=1
        Threads for hashing (-1: all cores).

    Returns
    -------
    sets : list of ndarray of int
        Each set's sample positions, sorted; only sets of two or more, ordered by
        their first position. Empty when every image is unique.

    Examples
    --------
    >>> import numpy as np
    >>> a, b = np.zeros((4, 4), np.uint8), np.ones((4, 4), np.uint8)
    >>> [s.tolist() for s in find_duplicates([a, b, a.copy(), b, a])]
    [[0, 2, 4], [1, 3]]
    """
    images: Sequence[Any] = as_sample_table(X)["image"].tolist()
    threads = _n_threads(n_jobs)
    paths = {
        i: os.fspath(v)
        for i, v in enumerate(images)
        if isinstance(v, (str, os.PathLike))
    }
    arrays = [i for i, v in enumerate(images) if isinstance(v, np.ndarray)]
    multi = {i: v for i, v in enumerate(images) if isinstance(v, ChannelFiles)}
    sets = _file_sets(paths, threads) + _channel_sets(multi, threads)
    sets += _refine([arrays], lambda i: _hash_array(images[i]), threads)
    return sorted(
        (np.asarray(sorted(s), dtype=np.intp) for s in sets), key=lambda s: s[0]
    )
