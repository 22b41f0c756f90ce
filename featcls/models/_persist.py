"""Saving and loading fitted models without executing code on load.

Feature-table models go to ``.skops`` files (read back through the one trusted-type
list of :mod:`featcls.models._trust`); CNN and fusion models go to ``.pt`` files of
plain data and tensors (read back with ``torch.load(weights_only=True)``). The
format follows the model, and a file name whose suffix names the other format is
refused before anything is written.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from featcls._files import atomic_path
from featcls.models._formats import SKOPS_SUFFIX, TORCH_SUFFIXES, check_model_path
from featcls.models._trust import load_skops

__all__ = ["load_model", "save_model"]


def _is_torch_model(model: Any) -> bool:
    from featcls.models._cnn import CNNClassifier
    from featcls.models._fusion import FusionClassifier

    return isinstance(model, (CNNClassifier, FusionClassifier))


def save_model(model: Any, path: str | Path, *, metadata: dict | None = None) -> Path:
    """Write a fitted model and a metadata dict; :func:`load_model` reads both.

    A feature-table model goes to a ``.skops`` file. A CNN or fusion model goes to
    the ``.pt`` file its ``save`` method writes, with ``metadata`` (plain data:
    str, numbers, lists and dicts of them) added to it; any other suffix is
    refused. The file is written under a temporary name and renamed when complete.
    """
    import skops.io as sio

    if _is_torch_model(model):
        if Path(path).suffix not in TORCH_SUFFIXES:
            raise ValueError(
                f"{type(model).__name__} is saved with its own save() method to a "
                ".pt file, not with save_model to a .skops file."
            )
        return _save_torch(model, Path(path), metadata or {})
    path = check_model_path(path, torch_model=False)
    with atomic_path(path) as tmp, _weights_as_text(model):
        sio.dump({"model": model, "metadata": metadata or {}}, tmp)
    return path


@contextlib.contextmanager
def _weights_as_text(model: Any):
    """While saving, ``embedding`` weights given as a ``Path`` are plain text.

    A ``Path`` would be a type outside the allow-list of :func:`load_model`, so
    the file could not be loaded back; the model itself is left as it was.
    """
    changed = [
        (family, family.weights)
        for family in _embedding_families(model)
        if isinstance(family.weights, os.PathLike)
    ]
    for family, weights in changed:
        family.weights = os.fspath(weights)
    try:
        yield
    finally:
        for family, weights in changed:
            family.weights = weights


def _save_torch(model: Any, path: Path, metadata: dict) -> Path:
    """``model.save(path)`` with ``metadata`` in the file, written atomically."""
    from featcls.models._cnn_device import import_torch

    torch = import_torch()
    with atomic_path(path) as tmp:
        model.save(tmp)
        if metadata:
            # Only what torch.load(weights_only=True) reads back: plain data.
            plain = json.loads(json.dumps(metadata))
            payload = torch.load(tmp, map_location="cpu", weights_only=True)
            torch.save({**payload, "metadata": plain}, tmp)
    return path


def load_model(path: str | Path, *, module=None) -> tuple[Any, dict]:
    """Read a model written by :func:`save_model` or by a CNN's ``save``.

    Returns ``(model, metadata)``; a ``.pt`` file's metadata are its model's name
    and classes and what :func:`save_model` stored. A ``.skops`` file is loaded only
    if every type it names is one featcls writes itself
    (:func:`featcls.models._trust.trusted_types`); anything else is refused with
    the list of those types, before any object is built. ``.pt``/``.pth`` files
    are read with ``torch.load(weights_only=True)``, which rebuilds only tensors
    and plain containers. Nothing in a model file is ever executed, and no module
    a file names is imported: a CNN (or fusion model) trained on your own network
    needs that network again as ``module``, the ``torch.nn.Module``, the
    ``factory(in_channels, n_classes)`` or the ``"package.module:factory"`` string
    it was trained with (a string is imported: your choice, never the file's),
    and so does a ``.skops`` model whose ``embedding`` features
    (:class:`~featcls.features.EmbeddingFeatures`) run a network named by a
    ``"package.module:factory"`` string.

    Raises
    ------
    FileNotFoundError
        If there is no regular file at ``path``.
    ValueError
        If the file is not a featcls model file, or holds untrusted types
        (:class:`~featcls.models._trust.UntrustedModelError`); if a CNN file
        trained on your own network is loaded without ``module`` (the message
        says which), or ``module`` is given for another model; likewise for a
        ``.skops`` model with ``embedding`` features of a named network.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No model file at '{path}'.")
    if path.suffix in TORCH_SUFFIXES:
        from featcls.models._cnn import CNNClassifier
        from featcls.models._cnn_io import read_payload
        from featcls.models._fusion import FusionClassifier

        payload = read_payload(path)
        classes = {cls.__name__: cls for cls in (CNNClassifier, FusionClassifier)}
        if payload["estimator"] not in classes:
            raise ValueError(
                f"'{path}' holds a {payload['estimator']!r}, which featcls cannot load."
            )
        model = classes[payload["estimator"]].from_payload(payload, path, module=module)
        stored = payload.get("metadata")
        return model, {
            "model": type(model).__name__,
            "classes": list(model.classes_),
            **(stored if isinstance(stored, dict) else {}),
        }
    if path.suffix != SKOPS_SUFFIX:
        raise ValueError(
            f"'{path}' is not a featcls model file: expected a .skops or .pt file."
        )
    content = load_skops(path, what=f"Model file '{path}'")
    if not isinstance(content, dict) or "model" not in content:
        raise ValueError(f"'{path}' is a skops file but not a featcls model file.")
    _give_embedding_module(content["model"], module, path)
    return content["model"], content.get("metadata", {})


def _embedding_families(obj: Any, seen: set[int] | None = None) -> list[Any]:
    """Every :class:`~featcls.features.EmbeddingFeatures` inside a loaded model."""
    from featcls.features import EmbeddingFeatures

    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, EmbeddingFeatures):
        return [obj]
    if isinstance(obj, dict):
        items = list(obj.values())
    elif isinstance(obj, (list, tuple)):
        items = list(obj)
    elif type(obj).__module__.split(".")[0] in ("featcls", "sklearn", "imblearn"):
        items = list(vars(obj).values()) if hasattr(obj, "__dict__") else []
    else:
        return []
    return [found for item in items for found in _embedding_families(item, seen)]


def _give_embedding_module(model: Any, module: Any, path: Path) -> None:
    """Give the 'embedding' features of your own network their network again.

    A file may name the network they were fitted with (``"package.module:factory"``)
    but featcls never imports what a file names: the network is given again as
    ``module`` (the fitted fingerprint still has to match), or the load is refused.
    """
    named = [f for f in _embedding_families(model) if isinstance(f.module, str)]
    if module is None:
        if named:
            spec = named[0].module
            raise ValueError(
                f"'{path}' holds 'embedding' features of your own network "
                f"({spec!r}). A model file names code but featcls never imports "
                f"what a file names: give that network again, load_model(path, "
                f"module={spec!r}) in Python, --cnn-module {spec} on the command "
                "line."
            )
        return
    if not named:
        raise ValueError(
            f"'{path}' is neither a CNN model file nor a model with 'embedding' "
            "features of your own network; 'module' (the command line's "
            "--cnn-module) applies to those only."
        )
    for family in named:
        family.module = module
        family.__dict__.pop("_backbone_memo", None)
