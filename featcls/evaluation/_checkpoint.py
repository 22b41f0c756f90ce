"""Finished fits of a comparison on disk, so a killed run resumes where it was.

Every model × repeat × fold (× training fraction) fit that finishes is written to
its own JSON file, named by a hash of everything its result depends on: the
featcls version, the images' content, the labels, groups and decision settings,
the fit's training and test positions, the model's parameters and the feature
extractor's. Run again with the same folder, :func:`featcls.compare` reads the
fits whose hash matches and runs only the others. A fit of another
configuration, another code version or other data has another hash, so it is
never reused; nothing is matched by name or position alone.

Files are plain JSON (no pickle): reading a checkpoint never executes code.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from featcls._files import write_text_atomic

__all__ = ["FitCheckpoint", "describe_config"]

#: Modules whose warning categories a checkpoint may name (restored by name).
_WARNING_MODULES = ("builtins", "featcls.exceptions", "sklearn.exceptions")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def describe_config(value: Any) -> Any:
    """A JSON-able, process-independent description of a parameter value.

    Estimators become their class and parameters (recursively), arrays a digest
    of their bytes, functions and classes their qualified names; other objects
    their ``repr`` without memory addresses.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> describe_config(LogisticRegression(C=2.0))["params"]["C"]
    2.0
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, np.generic):
        return describe_config(value.item())
    if isinstance(value, np.ndarray) and value.dtype.kind == "O":  # str, mixed
        return {"array": "object", "values": describe_config(value.tolist())}
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value)
        digest = hashlib.sha256(data.view(np.uint8).ravel().data if data.size else b"")
        return {
            "array": data.dtype.str,
            "shape": list(data.shape),
            "sha256": digest.hexdigest(),
        }
    if isinstance(value, (list, tuple)):
        return [describe_config(v) for v in value]
    if isinstance(value, dict):
        return {
            str(k): _weights(v)
            if k in _CONTENT_PARAMS and _is_file(v)
            else describe_config(v)
            for k, v in sorted(value.items(), key=str)
        }
    if hasattr(value, "get_params") and not isinstance(value, type):
        return {
            "class": f"{type(value).__module__}.{type(value).__qualname__}",
            "params": describe_config(value.get_params(deep=False)),
        }
    if callable(getattr(value, "state_dict", None)):  # a torch module: its weights
        digest = hashlib.sha256()
        for name, tensor in value.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().double().numpy().tobytes())
        return {"module": _ADDRESS.sub("", repr(value)), "sha256": digest.hexdigest()}
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '?')}.{value.__qualname__}"
    return _ADDRESS.sub("", repr(value))


#: Parameters naming a file whose content the results depend on (network weights):
#: described by that content, so a file replaced at the same path is new.
_CONTENT_PARAMS = ("weights",)


def _weights(value) -> dict:
    return {"file": os.fspath(value), "sha256": _file_digest(value)}


def _is_file(value) -> bool:
    if not isinstance(value, (str, os.PathLike)):
        return False
    try:
        return len(os.fspath(value)) < 4096 and os.path.isfile(value)
    except (OSError, ValueError):
        return False


_FILE_DIGESTS: dict[tuple, str] = {}


def _file_digest(path) -> str:
    """The SHA-256 of a file's bytes (remembered per path, size and mtime)."""
    stat = os.stat(path)
    key = (os.path.abspath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _FILE_DIGESTS:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        _FILE_DIGESTS[key] = digest.hexdigest()
    return _FILE_DIGESTS[key]


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _to_json(value: Any):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, type):
        return f"{value.__module__}:{value.__qualname__}"
    raise TypeError(f"cannot write {type(value).__name__} to a checkpoint")


def _category(name: str) -> type[Warning]:
    """The warning class a checkpoint names, from the known modules only."""
    module, _, qualname = str(name).partition(":")
    if module in _WARNING_MODULES:
        found = getattr(importlib.import_module(module), qualname, None)
        if isinstance(found, type) and issubclass(found, Warning):
            return found
    return UserWarning


class FitCheckpoint:
    """A folder of finished fits, each keyed by what its result depends on.

    Parameters
    ----------
    folder : path
        Where the fits are kept (``folder/fits/<key>.json``); created when needed.
    common : dict
        What every fit of the comparison depends on (data, settings, version), as
        JSON-able data (see :func:`describe_config`).
    """

    def __init__(self, folder, common: dict):
        self.folder = Path(folder)
        self.fits = self.folder / "fits"
        self._common = _digest(common)
        self.found = 0

    def key(self, model: str, estimator: Any, train, test, fraction: float) -> str:
        """The key of one fit: the common settings, the model and its positions."""
        return _digest(
            {
                "common": self._common,
                "model": model,
                "estimator": describe_config(estimator),
                "train": np.asarray(train, dtype=np.int64).tolist(),
                "test": np.asarray(test, dtype=np.int64).tolist(),
                "fraction": float(fraction),
            }
        )[:32]

    def load(self, key: str) -> dict | None:
        """The finished fit of ``key``, or None (also for an unreadable file)."""
        path = self.fits / f"{key}.json"
        try:
            out = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(out, dict) or out.get("key") != key:
            return None
        out.pop("key")
        out["warnings"] = [(_category(c), m) for c, m in out.get("warnings", [])]
        self.found += 1
        return out

    def save(self, key: str, out: dict) -> None:
        """Write one finished fit (atomically: a killed run leaves no partial file)."""
        try:
            text = json.dumps({**out, "key": key}, default=_to_json)
        except TypeError as exc:  # a model's report that is not plain data
            warnings.warn(
                f"The fit of {out.get('model')} (fold {out.get('fold')}) could not be "
                f"checkpointed ({exc}); a resumed run refits it.",
                RuntimeWarning,
                stacklevel=2,
            )
            return
        write_text_atomic(self.fits / f"{key}.json", text)
