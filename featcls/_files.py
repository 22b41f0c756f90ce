"""Writing output files atomically.

Every file featcls writes (feature tables, ``results.json``, CSVs, ``report.html``,
cache parts and their config, model files) goes through :func:`atomic_path`: the
content is written to a unique temporary name in the target's folder and renamed
over the target only once it is complete. A killed run therefore never leaves a
half-written file, and concurrent writers to one folder never share a temporary
name.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "write_bytes_atomic", "write_text_atomic"]


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` on success.

    The temporary file keeps ``path``'s suffix (so writers that choose a format from
    the suffix, such as pandas or skops, behave as for ``path``) and is removed if
    the body raises.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     target = pathlib.Path(tmp) / "out.txt"
    ...     with atomic_path(target) as part:
    ...         _ = part.write_text("done")
    ...     print(target.read_text(), sorted(p.name for p in target.parent.iterdir()))
    done ['out.txt']
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unique name (not mkstemp, whose 0600 mode would survive the rename): the
    # writer creates the file with the user's usual permissions.
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp{path.suffix}"
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_text_atomic(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)
