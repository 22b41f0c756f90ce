"""Saving and loading fitted models without executing code on load (skops)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import skops.io as sio

__all__ = ["TRUSTED_MODULES", "load_model", "save_model"]

#: Top-level packages whose types a model file may contain. skops rebuilds objects
#: from their state instead of unpickling, and refuses any type not listed as trusted.
TRUSTED_MODULES = (
    "featcls",
    "sklearn",
    "imblearn",
    "numpy",
    "xgboost",
    "scipy",
    "builtins",
    "collections",
)


def save_model(model: Any, path: str | Path, *, metadata: dict | None = None) -> Path:
    """Write a fitted model (and a metadata dict) to a ``.skops`` file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sio.dump({"model": model, "metadata": metadata or {}}, path)
    return path


def load_model(path: str | Path) -> tuple[Any, dict]:
    """Read a model written by :func:`save_model` (or a CNN's ``save``).

    Returns ``(model, metadata)``. Only types from :data:`TRUSTED_MODULES` are
    rebuilt; a file that contains any other type is refused with the list of those
    types — it is never loaded silently, and nothing in the file is executed as code.
    CNN files (``.pt``) are read with ``torch.load(weights_only=True)``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No model file at '{path}'.")
    if path.suffix in (".pt", ".pth"):
        from featcls.models._cnn import CNNClassifier
        from featcls.models._fusion import FusionClassifier

        try:
            model = CNNClassifier.load(path)
        except ValueError as exc:
            if "FusionClassifier" not in str(exc):
                raise
            model = FusionClassifier.load(path)
        return model, {"model": type(model).__name__, "classes": list(model.classes_)}
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:
        raise ValueError(
            f"'{path}' is not a featcls model file (skops format): {exc}"
        ) from exc
    foreign = [t for t in untrusted if t.split(".")[0] not in TRUSTED_MODULES]
    if foreign:
        raise ValueError(
            f"Model file '{path}' contains types featcls does not trust: "
            f"{', '.join(foreign)}. Inspect it with skops.io.get_untrusted_types and "
            "load it yourself only if you trust its source."
        )
    content = sio.load(path, trusted=untrusted)
    if not isinstance(content, dict) or "model" not in content:
        raise ValueError(f"'{path}' is a skops file but not a featcls model file.")
    return content["model"], content.get("metadata", {})
