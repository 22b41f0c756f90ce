"""The process heap: let glibc reuse freed tensor memory during CNN training."""

from __future__ import annotations

import ctypes
import os

__all__ = ["on_glibc", "reuse_freed_memory"]


#: glibc's ``mallopt`` parameters (``malloc.h``) → the values CNN training sets: the
#: ones glibc's own dynamic heuristic reaches once a 32 MiB block has been freed.
_HEAP_THRESHOLDS = {
    -3: 32 * 2**20,  # M_MMAP_THRESHOLD: blocks below it come from the heap
    -1: 64 * 2**20,  # M_TRIM_THRESHOLD: free heap top kept before giving it back
}
#: glibc's environment variables for the same settings; set, they take precedence.
_HEAP_ENVIRONMENT = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def on_glibc() -> bool:
    """Whether this process runs on GNU libc (whose allocator ``mallopt`` tunes)."""
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (AttributeError, ValueError, OSError):  # no confstr name: not glibc
        return False


def reuse_freed_memory() -> bool:
    """Let glibc's allocator reuse freed tensor memory instead of unmapping it.

    A training step allocates and frees the same multi-megabyte activations again
    and again. Until its dynamic thresholds have grown, glibc returns such blocks to
    the kernel (``munmap``, heap trimming) and maps them back on the next step, page
    by page (``benchmarks/cnn_step.py`` measures what that costs per step). This
    sets the thresholds to the values glibc's heuristic itself reaches after freeing
    a 32 MiB block (mmap threshold 32 MiB, trim threshold 64 MiB), for the whole
    process; the heap then keeps up to 64 MiB of free memory for reuse.

    It is opt-in because it changes the whole process, for good (glibc has no way to
    restore its dynamic thresholds): :class:`CNNClassifier` never calls it. Call it
    once in a program that trains CNNs on the CPU; the ``featcls`` command does so
    before it runs a command.

    Nothing changes off glibc, or when ``MALLOC_MMAP_THRESHOLD_`` or
    ``MALLOC_TRIM_THRESHOLD_`` is set (the user's own choice wins). Returns whether
    the thresholds were set.
    """
    if not on_glibc() or any(v in os.environ for v in _HEAP_ENVIRONMENT):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    return all(mallopt(key, value) == 1 for key, value in _HEAP_THRESHOLDS.items())
