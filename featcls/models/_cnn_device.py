"""Torch, devices, compute precision and threads for the CNN estimators."""

from __future__ import annotations

import contextlib
from typing import Any

__all__ = [
    "autocast",
    "import_torch",
    "native_bfloat16",
    "num_threads",
    "resolve_device",
    "resolve_precision",
]


def import_torch():
    """``torch``, or an ImportError that says how to install it."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is installed in the tests
        raise ImportError(
            "CNNClassifier needs PyTorch; install it with: pip install 'featcls[cnn]'."
        ) from exc
    return torch


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


def autocast(est: Any, device):
    """``torch.autocast`` to bfloat16 where ``est`` computes in it, else a no-op."""
    torch = import_torch()
    if resolve_precision(est, device) == "bfloat16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


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
