"""The environment a comparison ran in: versions, CPU, GPU."""

from __future__ import annotations

import os
import platform
from importlib import metadata

__all__ = ["environment"]

_PACKAGES = (
    "featcls",
    "numpy",
    "pandas",
    "scikit-learn",
    "scikit-image",
    "mahotas",
    "opencv-python-headless",
    "xgboost",
    "imbalanced-learn",
    "torch",
    "joblib",
)


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpu() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return None


def environment() -> dict:
    """Versions of featcls and its main dependencies, the CPU and any CUDA GPU."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu(),
        "cpu_count": os.cpu_count(),
        "gpu": _gpu(),
        "packages": versions,
    }
