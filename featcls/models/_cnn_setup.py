"""Parameter checks, device and thread set-up and batching for the CNN estimators."""

from __future__ import annotations

import contextlib
import ctypes
import math
import numbers
import os
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "ARCHITECTURES",
    "FitRun",
    "RESAMPLE_STRATEGIES",
    "batches",
    "channel_stats",
    "epoch_order",
    "epoch_size",
    "check_params",
    "import_torch",
    "is_int",
    "num_threads",
    "on_glibc",
    "reuse_freed_memory",
    "resolve_device",
    "resolve_precision",
]

#: Network architectures of :class:`~featcls.models.CNNClassifier`.
ARCHITECTURES = ("lipnet", "simple", "resnet")
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")
#: Values of the ``precision`` parameter.
PRECISIONS = ("auto", "float32", "bfloat16")


def import_torch():
    """``torch``, or an ImportError that says how to install it."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is installed in the tests
        raise ImportError(
            "CNNClassifier needs PyTorch; install it with: pip install 'featcls[cnn]'."
        ) from exc
    return torch


def is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def _invalid(est: Any, name: str, expected: str) -> ValueError:
    return ValueError(
        f"The {name!r} parameter of {type(est).__name__} must be {expected}. "
        f"Got {getattr(est, name)!r} instead."
    )


def check_params(est: Any) -> None:
    """Validate the parameters of a CNN estimator; the error names the bad one."""
    if est.architecture not in ARCHITECTURES:
        raise _invalid(
            est, "architecture", "one of " + ", ".join(map(repr, ARCHITECTURES))
        )
    lows = {"input_size": 8, "max_epochs": 1, "batch_size": 2, "patience": 1}
    for name, low in lows.items():
        value = getattr(est, name)
        if not (is_int(value) and value >= low):
            raise _invalid(est, name, f"an int >= {low}")
    ranges = {  # name: (low, high, low included)
        "lr": (0.0, math.inf, False),
        "weight_decay": (0.0, math.inf, True),
        "dropout": (0.0, 1.0, True),
        "label_smoothing": (0.0, 1.0, True),
        "validation_fraction": (0.0, 1.0, False),
        "ema_decay": (0.0, 1.0, True),
    }
    for name, (low, high, closed) in ranges.items():
        value = getattr(est, name)
        ok = _is_real(value) and (value >= low if closed else value > low)
        if not (ok and value < high):
            if high == math.inf:
                expected = f"a number {'>=' if closed else '>'} {low:g}"
            else:
                expected = f"a number in {'[' if closed else '('}{low:g}, {high:g})"
            raise _invalid(est, name, expected)
    if est.class_weight not in ("balanced", None):
        raise _invalid(est, "class_weight", "'balanced' or None")
    if est.resample == "smote":
        raise ValueError(
            f"The 'resample' parameter of {type(est).__name__} cannot be 'smote': "
            "SMOTE interpolates between feature vectors, which is not meaningful on "
            "pixels. Use 'oversample', 'undersample' or class_weight='balanced'."
        )
    if est.resample not in (None, *RESAMPLE_STRATEGIES):
        raise _invalid(est, "resample", "None, 'oversample' or 'undersample'")
    if isinstance(est.augment, dict):
        from featcls.models._cnn_augment import AUGMENT_OPTIONS

        unknown = sorted(set(est.augment) - set(AUGMENT_OPTIONS))
        if unknown:
            raise _invalid(
                est,
                "augment",
                f"a bool or a dict of {list(AUGMENT_OPTIONS)} (unknown: {unknown})",
            )
    elif not isinstance(est.augment, (bool, np.bool_)):
        raise _invalid(est, "augment", "a bool or a dict of random_augment options")
    for name in ("early_stopping", "tta"):
        if not isinstance(getattr(est, name), (bool, np.bool_)):
            raise _invalid(est, name, "a bool")
    if not (isinstance(est.device, str) and _DEVICE.fullmatch(est.device)):
        raise _invalid(est, "device", "'auto', 'cpu', 'cuda' or 'cuda:<index>'")
    if est.precision not in PRECISIONS:
        raise _invalid(est, "precision", "one of " + ", ".join(map(repr, PRECISIONS)))
    if est.n_threads is not None and not (is_int(est.n_threads) and est.n_threads > 0):
        raise _invalid(est, "n_threads", "None or an int >= 1")
    seed = est.random_state
    if seed is not None and not (is_int(seed) and seed >= 0):
        raise _invalid(est, "random_state", "None or an int >= 0")
    if not (isinstance(est.verbose, numbers.Integral) and est.verbose >= 0):
        raise _invalid(est, "verbose", "an int >= 0")


def resolve_device(est: Any):
    """The torch device of ``est.device`` (``"auto"``: CUDA when available)."""
    torch = import_torch()
    if est.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(est.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"The 'device' parameter of {type(est).__name__} is {est.device!r} but "
            f"CUDA is not available (torch {torch.__version__}). Use device='auto' "
            "or 'cpu'."
        )
    return device


def native_bfloat16(device) -> bool:
    """Whether ``device`` computes in bfloat16 natively (fast, not emulated)."""
    torch = import_torch()
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    if device.type == "cpu":
        cpu = torch.cpu
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(getattr(cpu, name, lambda: False)() for name in checks)
    return False


def resolve_precision(est: Any, device) -> str:
    """``"bfloat16"`` or ``"float32"``: the compute precision of ``est`` on ``device``.

    ``"auto"`` picks bfloat16 mixed precision where the device has native bfloat16
    arithmetic (CUDA GPUs from Ampere on, CPUs with AVX512-BF16 or AMX) and float32
    elsewhere. Asking for bfloat16 where it would be emulated is allowed (slow).
    """
    if est.precision == "auto":
        return "bfloat16" if native_bfloat16(device) else "float32"
    return est.precision


@contextlib.contextmanager
def num_threads(n: int | None):
    """Set torch's intra-op thread count inside the block (unchanged when None)."""
    if n is None:
        yield
        return
    torch = import_torch()
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


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


def batches(order: np.ndarray, size: int) -> list[np.ndarray]:
    """Split ``order`` into batches; a trailing batch of one joins the previous one
    (batch norm cannot train on a single image)."""
    out = [order[i : i + size] for i in range(0, len(order), size)]
    if len(out) > 1 and len(out[-1]) == 1:
        out[-2:] = [np.concatenate(out[-2:])]
    return out


#: How a CNN may resample its training images per epoch (``resample`` parameter).
RESAMPLE_STRATEGIES = ("oversample", "undersample")


def epoch_order(train_idx: np.ndarray, y_idx: np.ndarray, how: str | None, generator):
    """The training indices of one epoch, shuffled with the torch ``generator``.

    ``how=None`` shuffles ``train_idx``. ``"oversample"`` keeps every image and
    draws, with replacement, extra images of each smaller class until every class
    has as many as the largest one; ``"undersample"`` draws, without replacement,
    as many images of each class as the smallest one has. The draws are new every
    epoch, so undersampling sees every image over the epochs. Like imbalanced-learn's
    ``RandomOverSampler`` / ``RandomUnderSampler``, but on the indices of the
    training part only (never the validation or the test images).
    """
    import torch

    if how is None:
        perm = torch.randperm(len(train_idx), generator=generator)
        return train_idx[perm.numpy()]
    labels = y_idx[train_idx]
    members = [train_idx[labels == c] for c in np.unique(labels)]
    sizes = [len(m) for m in members]
    parts = []
    for m in members:
        if how == "oversample":
            extra = torch.randint(len(m), (max(sizes) - len(m),), generator=generator)
            parts += [m, m[extra.numpy()]]
        else:
            parts.append(
                m[torch.randperm(len(m), generator=generator).numpy()][: min(sizes)]
            )
    order = np.concatenate(parts)
    return order[torch.randperm(len(order), generator=generator).numpy()]


def epoch_size(train_idx: np.ndarray, y_idx: np.ndarray, how: str | None) -> int:
    """Number of images :func:`epoch_order` yields per epoch."""
    if how is None:
        return len(train_idx)
    counts = np.unique(y_idx[train_idx], return_counts=True)[1]
    return len(counts) * int(counts.max() if how == "oversample" else counts.min())


def channel_stats(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of uint8 images, on the [0, 1] scale.

    From each channel's 256-bin histogram (one ``bincount`` pass over the pixels, no
    float copy of the images).
    """
    levels = np.arange(256, dtype=np.float64) / 255.0
    count = images.shape[0] * images.shape[2] * images.shape[3]
    mean = np.empty(images.shape[1])
    squares = np.empty(images.shape[1])
    for c in range(images.shape[1]):
        hist = np.bincount(images[:, c].ravel(), minlength=256).astype(np.float64)
        mean[c] = hist @ levels / count
        squares[c] = hist @ levels**2 / count
    std = np.sqrt(np.maximum(squares - mean**2, 0.0))
    return mean.astype(np.float32), np.maximum(std, 1e-3).astype(np.float32)


@dataclass
class FitRun:
    """Everything one fit needs besides the module; dropped when the fit ends."""

    images: Any  # uint8 tensor (N, C, S, S), on the device when it fits
    y: Any  # int64 tensor (N,) on the device
    extra: Any  # float32 tensor (N, d) on the device, or None
    train_idx: np.ndarray
    val_idx: np.ndarray | None
    device: Any
    mean: Any  # (1, C, 1, 1) float tensors on the device
    std: Any
    y_idx: np.ndarray | None = None  # the same labels as a numpy array
    optimizer: Any = None
    scheduler: Any = None
    criterion: Any = None
    shuffle_generator: Any = None  # CPU torch.Generator
    augment_generator: Any = None  # torch.Generator on the device
    average: list | None = None  # EMA of the floating-point state tensors
    live: list | None = None  # the module's own tensors, in the same order
    steps: int = 0
    best_state: dict | None = None
    best_key: tuple = (-math.inf, -math.inf)
    since_best: int = 0
    stop: bool = False
    seen: int = 0
    train_time: float = 0.0
