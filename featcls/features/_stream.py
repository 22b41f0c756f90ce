"""Extraction as a stream: blocks of rows in input order, few chunks in flight.

The extractor's output columns come from *parts*: the stateless families together
(:class:`RowPart` over :func:`~featcls.features._extract.extract_chunk`), each
family that runs a network (:class:`RowPart` over ``batched_chunk``) and each
family that encodes local descriptors (:class:`DescriptorPart`). Each part knows
which samples its cache lacks (``todo``), cut into chunks of ``chunk_size``
samples; :func:`stream` runs the chunks of all parts in one ordered stream
(:func:`featcls._scheduler.run_ordered`: only a few chunks ahead of the rows
handed out) and yields the output a block of consecutive samples at a time, each
part filling its columns from its cache and from the chunks that arrived.

So memory does not grow with the number of samples beyond what describes them
(their sources and content keys): no table of all rows is ever built here, and a
cache is read a part file at a time.
"""

from __future__ import annotations

import heapq
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from joblib import delayed
from tqdm.auto import tqdm

from featcls._files import atomic_path
from featcls._scheduler import run_ordered
from featcls.features._cache import FeatureCache

__all__ = ["DescriptorPart", "RowPart", "Samples", "load_descriptors", "stream"]


class Samples:
    """The sources of a sample table's samples and, with a cache, their keys.

    ``keys`` is an ``S32`` array of content digests (32 bytes a sample), or None
    without a cache.
    """

    def __init__(self, images, masks, index, keys, label):
        self.images, self._masks, self.index = images, masks, index
        self.keys = keys
        self._label = label

    def __len__(self) -> int:
        return len(self.images)

    def mask(self, i: int) -> Any:
        return None if self._masks is None else self._masks[i]

    def label(self, i: int) -> str:
        """The sample's name in messages (as iterating over the index gives it)."""
        index = self.index[i]
        if isinstance(index, np.generic):
            index = index.item()  # 'sample 3', not 'sample np.int64(3)'
        return self._label(self.images[i], index)

    def triples(self, positions: np.ndarray) -> list[tuple[int, Any, Any]]:
        """``(position, image, mask)`` of the samples at ``positions``: a chunk."""
        return [(i, self.images[i], self.mask(i)) for i in positions.tolist()]

    def key(self, i: int) -> str:
        return self.keys[i].decode()


class RowPart:
    """Columns whose rows a chunk function computes and a FeatureCache keeps.

    ``func(triples, *args)`` returns ``(position, row, source, notes)`` for each
    sample, or ``(position, row, notes)`` when ``source`` (a function of the
    position) says where the mask comes from instead.
    """

    def __init__(
        self,
        samples: Samples,
        func: Callable,
        args: tuple,
        width: int,
        cache: FeatureCache | None,
        *,
        source: Callable[[int], str] | None = None,
        in_process: bool = False,
    ):
        self.samples, self.func, self.args, self.width = samples, func, args, width
        self.cache, self.source, self.in_process = cache, source, in_process
        self.notes: dict[str, list[str]] = {}  # by sample name, in input order
        n = len(samples)
        if cache is None:
            self.todo = np.arange(n)
        else:
            self.todo = np.flatnonzero(~cache.contains(samples.keys))
        self._cached = np.ones(n, bool)
        self._cached[self.todo] = False
        self.n_computed = len(self.todo)

    def task(self, positions: np.ndarray):
        return delayed(self.func)(self.samples.triples(positions), *self.args)

    def receive(self, result: list) -> dict[int, tuple]:
        """The rows of a finished chunk, by position; stored in the cache."""
        if self.source is not None:
            result = [(i, row, self.source(i), notes) for i, row, notes in result]
        if self.cache is not None:
            self.cache.store(
                [self.samples.key(i) for i, _, _, _ in result],
                np.asarray([row for _, row, _, _ in result]),
                [source for _, _, source, _ in result],
                [notes for _, _, _, notes in result],
            )
        return {i: (row, source, notes) for i, row, source, notes in result}

    def take(self, start: int, stop: int, received: dict[int, tuple]):
        """Rows and mask sources of samples ``start:stop``; their notes are kept."""
        values = np.empty((stop - start, self.width))
        sources = [""] * (stop - start)
        notes: list[list[str]] = [[]] * (stop - start)
        cached = np.flatnonzero(self._cached[start:stop])
        if len(cached):
            rows, found, said = self.cache.read(self.samples.keys[start + cached])
            values[cached] = rows
            for at, source, note in zip(cached.tolist(), found, said, strict=True):
                sources[at], notes[at] = source, note
        for at in np.flatnonzero(~self._cached[start:stop]).tolist():
            values[at], sources[at], notes[at] = received.pop(start + at)
        for at, note in enumerate(notes):
            if note:
                self.notes[self.samples.label(start + at)] = note
        return values, sources


def load_descriptors(path: Path, dim: int) -> np.ndarray | None:
    """Cached descriptors of one image, or None when absent or not what we wrote.

    A damaged or foreign file in the cache is recomputed (and replaced), not
    trusted and not an error.
    """
    if not path.is_file():
        return None
    try:
        desc = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    ok = (
        desc.dtype == np.float16
        and desc.ndim == 2
        and desc.shape[1] == dim
        and np.isfinite(desc).all()
    )
    return desc if ok else None


class DescriptorPart:
    """The local descriptors (float16) of a stateful family, one ``.npy`` a sample.

    A sample counts as cached when its file exists; a file that turns out
    damaged when read is recomputed on the spot (in this process) and replaced.
    """

    def __init__(self, samples: Samples, func: Callable, args: tuple, dim: int, folder):
        self.samples, self.func, self.args, self.dim = samples, func, args, dim
        self.folder = None if folder is None else Path(folder)
        self.in_process = False
        self.notes: dict[str, list[str]] = {}  # filled by whoever encodes them
        n = len(samples)
        if self.folder is None:
            self._cached = np.zeros(n, bool)
        else:
            self._cached = np.asarray(
                [(self.folder / f"{k.decode()}.npy").is_file() for k in samples.keys],
                dtype=bool,
            )
        self.todo = np.flatnonzero(~self._cached)
        self.n_computed = len(self.todo)

    def task(self, positions: np.ndarray):
        return delayed(self.func)(self.samples.triples(positions), *self.args)

    def receive(self, result: list) -> dict[int, np.ndarray]:
        out = {}
        for i, desc in result:
            out[i] = desc.astype(np.float16)
            if self.folder is not None:
                # A unique temporary name, renamed when complete: a killed run
                # leaves no half-written file, concurrent runs never clash.
                with atomic_path(self.folder / f"{self.samples.key(i)}.npy") as tmp:
                    np.save(tmp, out[i])
        return out

    def take(self, start: int, stop: int, received: dict) -> list[np.ndarray]:
        out = []
        for i in range(start, stop):
            if not self._cached[i]:
                out.append(received.pop(i))
                continue
            path = self.folder / f"{self.samples.key(i)}.npy"
            desc = load_descriptors(path, self.dim)
            if desc is None:  # damaged since it was listed: recompute it here
                chunk = self.func(self.samples.triples(np.array([i])), *self.args)
                desc = self.receive(chunk)[i]
                self.n_computed += 1
            out.append(desc)
        return out


def _chunks(parts: list, chunk_size: int) -> Iterator[tuple[int, np.ndarray]]:
    """Every part's chunks, ``(part number, positions)``, by their first position.

    That order lets :func:`stream` hand out block after block while holding at
    most about one chunk per part that reaches past the block.
    """

    def of(k: int):
        todo = parts[k].todo
        for s in range(0, len(todo), chunk_size):
            yield int(todo[s]), k, todo[s : s + chunk_size]

    for _, k, positions in heapq.merge(*(of(k) for k in range(len(parts)))):
        yield k, positions


def stream(
    parts: list,
    n: int,
    *,
    block: int,
    chunk_size: int,
    n_jobs: int | None,
    progress: bool | None,
    desc: str = "features",
) -> Iterator[tuple[int, int, list]]:
    """``(start, stop, [output of each part])`` for blocks of ``block`` samples.

    The chunks run in parallel (joblib processes or the active Dask cluster)
    except those of an ``in_process`` part (a network on a GPU), which run here
    in turn; their results are taken in order, a few chunks ahead.
    """
    n_pool = sum(-(-len(p.todo) // chunk_size) for p in parts if not p.in_process)
    n_todo = sum(len(p.todo) for p in parts)
    show = progress
    if show is None:
        show = n_todo > chunk_size and sys.stderr.isatty()
    tasks = (
        parts[k].task(positions)
        for k, positions in _chunks(parts, chunk_size)
        if not parts[k].in_process
    )
    results = run_ordered(tasks, 1 if n_pool <= 1 else n_jobs)
    chunks = _chunks(parts, chunk_size)
    received: list[dict] = [{} for _ in parts]
    arrived = [0] * len(parts)  # how many of each part's todo positions arrived
    with tqdm(
        total=n_todo, unit="img", desc=desc, disable=not show, file=sys.stderr
    ) as bar:
        try:
            for start in range(0, n, block):
                stop = min(start + block, n)
                for k, part in enumerate(parts):
                    needed = int(np.searchsorted(part.todo, stop))
                    while arrived[k] < needed:
                        j, positions = next(chunks)
                        if parts[j].in_process:
                            func, args, kwargs = parts[j].task(positions)
                            result = func(*args, **kwargs)
                        else:
                            result = next(results)
                        received[j].update(parts[j].receive(result))
                        arrived[j] += len(positions)
                        bar.update(len(positions))
                yield (
                    start,
                    stop,
                    [
                        part.take(start, stop, received[k])
                        for k, part in enumerate(parts)
                    ],
                )
        finally:
            results.close()
