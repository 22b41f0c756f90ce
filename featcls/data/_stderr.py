"""Catching what C image decoders print to stderr, so it becomes featcls's message.

libjpeg reports damaged data (``Corrupt JPEG data: 1909 extraneous bytes before
marker 0xd9``, ``Premature end of JPEG file``) only as a warning printed to the
process's standard error, and still returns an image; libpng prints ``libpng
error: IDAT: CRC error`` before OpenCV returns nothing, and OpenCV logs what its
codecs refuse (``[ERROR:0@0.5] global grfmt_png.cpp:297 readHeader ...``). None of
this is visible to Python. :func:`decoder_messages` redirects file descriptor 2 to
an in-memory file while decodes run, hands each decode the decoder lines printed
during it, and writes every other line back to the real stderr, so nothing else is
lost.

Descriptor 2 is one per process, so decodes in several threads share one
redirect (they keep running in parallel). A decode that ran alone owns the lines
printed meanwhile; one that overlapped others cannot tell whose they are, and
the caller decodes again with ``exclusive=True`` when it needs to know (only for
files that failed or drew a warning, so rarely).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["OPENCV_LOG_PREFIX", "Capture", "decoder_messages"]

# libjpeg's warnings (jerror.h JWRN_*), libpng's errors and warnings, and OpenCV's
# own log lines about what its image codecs read ("[ERROR:0@0.5] global
# grfmt_png.cpp:297 readHeader ...", "[ WARN:0@0.1] global loadsave.cpp ...").
_DECODER_LINE = re.compile(
    rb"^(?:libpng (?:error|warning)|Corrupt JPEG data|Premature end of JPEG file|"
    rb"Invalid SOS parameters|Inconsistent progression sequence|"
    rb"Unknown Adobe color transform|Warning: unknown JFIF revision|"
    rb"Warning: thumbnail image size|Application transferred too|"
    rb"JPEG datastream contains no image|Bogus |"
    rb"\[ ?(?:ERROR|WARN|INFO):[^\]]*\] global (?:grfmt_\w+|loadsave|bitstrm)\.cpp)"
)
#: How an OpenCV log line starts (not a decoder's own warning).
OPENCV_LOG_PREFIX = "["


@dataclass
class Capture:
    """What one decode saw: decoder lines, and whether they are surely its own."""

    lines: list[str] = field(default_factory=list)
    alone: bool = True


class _Redirect:
    """The process's one redirect of descriptor 2, shared by the decodes in flight.

    Descriptor 2 belongs to the whole process, so this state must too; it exists
    only while decodes run (it holds no data between them) and is guarded by its
    condition variable.
    """

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.users = 0  # decodes in flight
        self.entries = 0  # decodes started so far (tells overlapping windows)
        self.exclusive = False
        self.exclusive_waiting = 0
        self.saved: int | None = None  # the real stderr, while redirected
        self.sink = None


# The one instance, because descriptor 2 is one per process (see _Redirect).
_REDIRECT = _Redirect()


def _sink():
    """An unnamed read/write file: in memory on Linux, a temporary file elsewhere."""
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is not None:
        with contextlib.suppress(OSError):
            return os.fdopen(memfd_create("featcls-decoder", 0), "w+b")
    return tempfile.TemporaryFile()


def _split(data: bytes) -> tuple[list[str], bytes]:
    """(decoder lines, every other byte) of captured output."""
    lines, others = [], []
    for line in data.splitlines(keepends=True):
        if _DECODER_LINE.match(line):
            lines.append(line.decode("utf-8", "replace").rstrip())
        else:
            others.append(line)
    return lines, b"".join(others)


def _start(r: _Redirect) -> bool:
    """Redirect descriptor 2 for the first decode in flight; False if impossible."""
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to catch
        return False
    sink = _sink()
    os.dup2(sink.fileno(), 2)
    r.saved, r.sink = saved, sink
    return True


def _stop(r: _Redirect) -> None:
    """Restore descriptor 2 after the last decode; pass on what was not theirs."""
    os.dup2(r.saved, 2)
    os.close(r.saved)
    with r.sink as sink:
        sink.seek(0)
        _, others = _split(sink.read())
    r.saved = r.sink = None
    if others:
        with contextlib.suppress(OSError):
            os.write(2, others)


@contextlib.contextmanager
def decoder_messages(*, exclusive: bool = False) -> Iterator[Capture]:
    """Catch what C decoders print to descriptor 2 while the body runs.

    Yields a :class:`Capture` that is filled when the body ends: ``lines`` are the
    libjpeg/libpng lines printed meanwhile (without newline) and ``alone`` says
    that no other decode overlapped, so they are this one's. With ``exclusive``
    the body waits until no other decode runs and keeps others out, so ``alone``
    is true. Other output that reached descriptor 2 meanwhile is written back to
    it when the last decode in flight ends. Where descriptor 2 cannot be
    redirected (no stderr at all) nothing is caught.

    Examples
    --------
    >>> with decoder_messages() as capture:
    ...     pass
    >>> capture.lines, capture.alone
    ([], True)
    """
    r = _REDIRECT
    can_read_window = hasattr(os, "pread")
    exclusive = exclusive or not can_read_window  # no pread: one at a time
    with r.condition:
        if exclusive:
            r.exclusive_waiting += 1
            while r.users or r.exclusive:
                r.condition.wait()
            r.exclusive_waiting -= 1
            r.exclusive = True
        else:
            while r.exclusive or r.exclusive_waiting:
                r.condition.wait()
        redirected = r.users > 0 or _start(r)
        if redirected:
            r.users += 1
            r.entries += 1
            entry, others_at_start = r.entries, r.users - 1
            sink = r.sink
            start = os.fstat(sink.fileno()).st_size
        else:
            r.exclusive = False
            r.condition.notify_all()
    if not redirected:
        yield Capture()
        return
    capture = Capture()
    try:
        yield capture
    finally:
        with r.condition:
            end = os.fstat(sink.fileno()).st_size
            if end > start:
                if can_read_window:
                    window = os.pread(sink.fileno(), end - start, start)
                else:  # exclusive, so no one else writes meanwhile
                    sink.seek(start)
                    window = sink.read(end - start)
                capture.lines = _split(window)[0]
            capture.alone = others_at_start == 0 and r.entries == entry
            r.users -= 1
            if exclusive:
                r.exclusive = False
            if r.users == 0:
                _stop(r)
            r.condition.notify_all()
