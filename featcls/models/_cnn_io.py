"""Saving and loading fitted CNN estimators: plain data + a state dict, no code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from featcls._files import atomic_path
from featcls.models._cnn_device import import_torch
from featcls.models._formats import check_model_path

__all__ = [
    "FILE_VERSION",
    "check_estimator_name",
    "cpu_state",
    "from_payload",
    "read_model",
    "read_payload",
    "restore_network",
    "write_model",
]

_FILE_FORMAT = "featcls-cnn"
#: 2: LipNet's second block became a strided convolution (version-1 LipNet weights
#: do not fit the current network).
#: 3: a FusionClassifier's parameters are ``{"cnn": <CNNClassifier parameters>}``
#: (version 2 stored the CNN parameters flat). CNNClassifier files did not change
#: and are still written as version 2, so that an older featcls reads them.
FILE_VERSION = 3
#: The version each estimator's files are written with.
_WRITTEN_VERSION = {"CNNClassifier": 2, "FusionClassifier": 3}


def cpu_state(module) -> dict:
    """A copy of ``module``'s state dict on the CPU."""
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


def write_model(
    est: Any,
    path: str | Path,
    *,
    estimator: str | None = None,
    params: dict | None = None,
    extra: dict | None = None,
) -> Path:
    """Write the fitted network ``est`` (a CNNClassifier) with ``torch.save``.

    Parameters, fitted attributes and training history are stored as plain data
    (JSON-able), the weights as a state dict. ``estimator``, ``params`` and ``extra``
    describe the estimator the file is loaded as (``est`` itself by default; a
    fusion model passes its own name, parameters and feature inputs).
    """
    torch = import_torch()
    path = check_model_path(path, torch_model=True)
    payload = {
        "format": _FILE_FORMAT,
        "version": _WRITTEN_VERSION.get(estimator or type(est).__name__, FILE_VERSION),
        "estimator": estimator or type(est).__name__,
        "params": est.get_params(deep=False) if params is None else params,
        "fitted": {
            "classes": est.classes_.tolist(),
            "classes_dtype": est.classes_.dtype.str,
            "network": dict(est.network_params_),
            "n_channels": est.n_channels_,
            "channel_mean": est.channel_mean_.tolist(),
            "channel_std": est.channel_std_.tolist(),
            "history": est.history_,
            "n_epochs": est.n_epochs_,
            "best_epoch": est.best_epoch_,
            "report": est.featcls_report_,
        },
        "extra": {} if extra is None else extra,
        "state_dict": cpu_state(est.module_),
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def read_payload(path: str | Path) -> dict:
    """Read the plain-data payload of a file written by :func:`write_model`.

    ``torch.load(weights_only=True)`` rebuilds only tensors and plain containers, so
    nothing in the file is executed; a pickle of anything else is refused.
    """
    torch = import_torch()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No model file at '{path}'.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise ValueError(
            f"'{path}' is not a featcls CNN model file (torch refused it as "
            f"weights-only data: {first})."
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != _FILE_FORMAT:
        raise ValueError(f"'{path}' is not a featcls CNN model file.")
    if payload.get("version", 0) > FILE_VERSION:
        raise ValueError(
            f"'{path}' was written by a newer featcls (file version "
            f"{payload['version']}); upgrade featcls to read it."
        )
    return payload


def read_model(cls: type, path: str | Path) -> Any:
    """Read a file written by :func:`write_model` as an instance of ``cls``."""
    return from_payload(cls, read_payload(path), path)


def from_payload(cls: type, payload: dict, path: str | Path) -> Any:
    """Rebuild an instance of ``cls`` from a payload of :func:`read_payload`."""
    check_estimator_name(cls, payload, path)
    return restore_network(cls(**payload["params"]), payload, path)


def check_estimator_name(cls: type, payload: dict, path: str | Path) -> None:
    """Refuse a payload that was saved from another estimator class than ``cls``."""
    if payload["estimator"] != cls.__name__:
        raise ValueError(
            f"'{path}' holds a {payload['estimator']}; load it with "
            f"{payload['estimator']}.load, not {cls.__name__}.load."
        )


def restore_network(model: Any, payload: dict, path: str | Path) -> Any:
    """Give the unfitted CNNClassifier ``model`` the state of ``payload``; return it.

    The state is the fitted attributes and weights. The model's ``_extra_inputs``, if
    any, are already set.
    """
    fitted = payload["fitted"]
    if payload.get("version", 0) < 2 and fitted["network"]["architecture"] == "lipnet":
        raise ValueError(
            f"'{path}' holds a LipNet saved by an older featcls (file version "
            f"{payload.get('version', 0)}), whose layers differ from the current "
            "LipNet; its weights cannot be loaded. Retrain the model with this "
            "featcls (or load it with the featcls that saved it)."
        )
    if fitted["network"].get("n_extra") and model._extra_inputs is None:
        raise ValueError(
            f"'{path}' holds a network with hand-crafted feature inputs but no "
            "features to feed them; it cannot predict."
        )
    model.classes_ = np.asarray(fitted["classes"], dtype=fitted["classes_dtype"])
    model.network_params_ = dict(fitted["network"])
    model.n_extra_ = int(model.network_params_["n_extra"])
    model.n_channels_ = int(fitted["n_channels"])
    model.channel_mean_ = np.asarray(fitted["channel_mean"], dtype=np.float32)
    model.channel_std_ = np.asarray(fitted["channel_std"], dtype=np.float32)
    model.history_ = list(fitted["history"])
    model.n_epochs_ = int(fitted["n_epochs"])
    model.best_epoch_ = int(fitted["best_epoch"])
    model.featcls_report_ = fitted["report"]
    model.module_ = model._new_network()
    model.module_.load_state_dict(payload["state_dict"])
    model.module_.eval()
    return model
