"""The glibc heap settings that CNN training makes (reuse of freed tensor memory)."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from featcls.models import CNNClassifier
from featcls.models._cnn_heap import on_glibc, reuse_freed_memory

needs_glibc = pytest.mark.skipif(not on_glibc(), reason="glibc's malloc only")

# Three 8 MiB arrays allocated and freed ten times, after one 8 MiB array has raised
# glibc's dynamic thresholds: by default part of what is freed goes back to the
# kernel and faults in again, page by page, at every round (about 1,000 faults a
# round with the glibc of the development machine); with the heap set up, the
# memory is reused.
_ROUNDS = textwrap.dedent(
    """
    import resource, sys
    import numpy as np
    if sys.argv[1] == "tuned":
        from featcls.models._cnn_heap import on_glibc, reuse_freed_memory
        assert reuse_freed_memory()
    first = np.ones(2**20); del first
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        blocks = [np.ones(2**20) for _ in range(3)]
        del blocks
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """
)


def _faults(mode: str) -> int:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
    }
    out = subprocess.run(
        [sys.executable, "-c", _ROUNDS, mode],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return int(out.stdout.strip())


@needs_glibc
def test_freed_blocks_stay_in_the_heap_for_reuse():
    pages = 10 * 3 * (8 * 2**20) // os.sysconf("SC_PAGE_SIZE")
    tuned = _faults("tuned")
    default = _faults("default")
    assert tuned < pages // 20, (tuned, default)
    assert default > 5 * tuned, (tuned, default)  # the pattern does show the cost


@needs_glibc
def test_the_users_own_glibc_settings_win(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert reuse_freed_memory() is False
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    assert reuse_freed_memory() is True


def test_fit_and_predict_leave_the_process_heap_alone(monkeypatch):
    """Changing glibc's thresholds is opt-in (reuse_freed_memory), never a side
    effect of fitting."""
    import ctypes

    opened = []
    real = ctypes.CDLL

    def recording(name, *args, **kwargs):
        opened.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(ctypes, "CDLL", recording)
    rng = np.random.default_rng(0)
    X = rng.integers(0, 255, size=(8, 16, 16), dtype=np.uint8)
    y = np.array([0, 1] * 4)
    clf = CNNClassifier(input_size=16, max_epochs=1, early_stopping=False)
    clf.fit(X, y).predict(X)
    assert "libc.so.6" not in opened
    if on_glibc():
        assert reuse_freed_memory() is True
        assert "libc.so.6" in opened  # the spy does see the opt-in call
