"""What kind of file a path is: only regular files are ever opened for reading.

A FIFO named ``x.png`` blocks the reader forever and a link to ``/dev/zero`` reads
until memory runs out, so every reader asks :func:`special_file` first (a
``stat``, which never blocks) and refuses or skips anything that is not a regular
file.
"""

from __future__ import annotations

import os
import stat

__all__ = ["special_file"]


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


def special_file(path: str | os.PathLike, mode: int | None = None) -> str | None:
    """None for a regular file (links followed), else what it is, for messages.

    ``"a FIFO"``, ``"a character device"`` ... or, for a link,
    ``"a link to '/dev/zero', a character device"``. ``mode`` is the ``st_mode`` of
    ``os.stat(path)`` when the caller has it already.

    Raises
    ------
    OSError
        If ``path`` cannot be stat'ed (FileNotFoundError for a missing file or a
        broken link).

    Examples
    --------
    >>> special_file(__file__) is None
    True
    """
    if mode is None:
        mode = os.stat(path).st_mode
    if stat.S_ISREG(mode):
        return None
    kind = _kind(mode)
    if os.path.islink(path):
        return f"a link to {os.path.realpath(path)!r}, {kind}"
    return kind
