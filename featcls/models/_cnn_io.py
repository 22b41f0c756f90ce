"""Saving and loading fitted CNN estimators: plain data + a state dict, no code."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from featcls._files import atomic_path
from featcls._nets import BACKBONE_FILE_FORMAT, MODEL_FILE_FORMAT
from featcls.models._cnn_device import import_torch
from featcls.models._cnn_params import FINE_TUNING_DEFAULTS, INPUT_VARIANT_DEFAULTS
from featcls.models._formats import check_model_path

__all__ = [
    "FILE_VERSION",
    "check_estimator_name",
    "cpu_state",
    "from_payload",
    "network_params",
    "portable_params",
    "read_model",
    "read_payload",
    "restore_network",
    "write_model",
]

_FILE_FORMAT = MODEL_FILE_FORMAT
#: 2: LipNet's second block became a strided convolution (version-1 LipNet weights
#: do not fit the current network).
#: 3: a FusionClassifier's parameters are ``{"cnn": <CNNClassifier parameters>}``
#: (version 2 stored the CNN parameters flat). CNNClassifier files did not change
#: and are still written as version 2, so that an older featcls reads them.
#: 4: a CNN may be your own network (``fitted["network"]`` then has
#: ``module_class``; the weights are those of a :class:`UserNetwork`) and its
#: parameters may include ``module`` (a spec string, never imported on loading),
#: ``weights``, ``freeze_epochs``, ``backbone_lr``, ``normalize``,
#: ``adapt_channels`` and ``cam_layer``; ``fitted["weights"]`` is the weights
#: report. Files that use none of these are still written as versions 2 and 3.
#: 5: a CNN may be multi-label (``fitted["multilabel"]``, with ``thresholds``
#: and ``pos_weight``) and may name its input channels
#: (``fitted["channel_names"]``, samples of one file per channel). Files of
#: single-label models on unnamed channels are written as before.
#: 6: a CNN's parameters may include its input variant: ``channels``, ``crop``,
#: ``margin`` and ``mask_out`` (an older featcls would predict on the images as
#: decoded). Files of models on the images as decoded are written as before.
#: Such a file may also say ``fitted["masks_fitted"]``: the fit used the table's
#: own masks (predicting without them warns; an older featcls ignores it).
#: 7: a CNN's parameters may include ``pretrain`` (the settings of its
#: self-supervised pretraining; an older featcls would not know the parameter).
#: Files of models without it are written as before.
FILE_VERSION = 7
#: The version each estimator's files are written with (when version 4 is not
#: needed).
_WRITTEN_VERSION = {"CNNClassifier": 2, "FusionClassifier": 3}
#: The version that added your own networks and fine-tuning.
_USER_NETWORK_VERSION = 4
#: The version that added multi-label models and named channels.
_MULTILABEL_VERSION = 5
#: The version that added input variants.
_VARIANT_VERSION = 6
#: The version that added self-supervised pretraining inside a fit.
_PRETRAIN_VERSION = 7


def _plain_normalize(value):
    if value is None or isinstance(value, str):
        return value
    return tuple(tuple(float(v) for v in np.atleast_1d(part)) for part in value)


def portable_params(params: dict) -> tuple[dict, int]:
    """A CNN's parameters as plain data for a file, and the file version they need.

    The fine-tuning parameters (version 4), the input variant (version 6) and
    ``pretrain`` (version 7) at their defaults are left out, so older featcls
    versions read the file; a ``module`` that is not a spec string is stored as
    None (the file keeps the network's weights, not its code). The version is 0
    when no parameter needs one.
    """
    out, version = dict(params), 0
    for name, default in INPUT_VARIANT_DEFAULTS.items():
        if name not in out:
            continue
        if out[name] == default:
            del out[name]
        else:
            version = _VARIANT_VERSION
    new = False
    for name, default in FINE_TUNING_DEFAULTS.items():
        if name not in out:
            continue
        value = out[name]
        if name == "module" and not isinstance(value, str):
            value = None
        elif name == "weights" and value is not None:
            value = os.fspath(value)
        elif name == "normalize":
            value = _plain_normalize(value)
        if value == default:
            del out[name]
        else:
            out[name], new = value, True
    if new:
        version = max(version, _USER_NETWORK_VERSION)
    if out.get("pretrain") is None:  # the default: left out
        out.pop("pretrain", None)
    else:
        out["pretrain"] = _plain_settings(out["pretrain"])
        version = max(version, _PRETRAIN_VERSION)
    return out, version


def _plain_settings(value):
    """Pretraining settings as plain data (tuples as lists, keys as str)."""
    if isinstance(value, dict):
        return {str(k): _plain_settings(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_settings(v) for v in value]
    return value


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
    name = estimator or type(est).__name__
    if params is None:
        params, needed = portable_params(est.get_params(deep=False))
    else:  # a fusion model's: {"cnn": <the CNN's parameters>}
        cnn, needed = portable_params(params["cnn"])
        params = {**params, "cnn": cnn}
    version = max(_WRITTEN_VERSION.get(name, FILE_VERSION), needed)
    if "module_class" in est.network_params_:
        version = max(version, _USER_NETWORK_VERSION)
    multilabel = bool(getattr(est, "multilabel_", False))
    names = getattr(est, "channel_names_", None)
    if multilabel or names is not None:
        version = max(version, _MULTILABEL_VERSION)
    payload = {
        "format": _FILE_FORMAT,
        "version": version,
        "estimator": name,
        "params": params,
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
            "weights": getattr(est, "weights_report_", None),
            **_label_facts(est, multilabel, names),
        },
        "extra": {} if extra is None else extra,
        "state_dict": cpu_state(est.module_),
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def _label_facts(est: Any, multilabel: bool, names) -> dict:
    """The fitted multi-label state and channel names, as plain data (if any)."""
    facts = {}
    if multilabel:
        weight = est.pos_weight_
        facts.update(
            multilabel=True,
            thresholds=[float(t) for t in est.thresholds_],
            pos_weight=None if weight is None else [float(w) for w in weight],
        )
    if names is not None:
        facts["channel_names"] = list(names)
    if getattr(est, "masks_fitted_", False):
        facts["masks_fitted"] = True
    return facts


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
    if isinstance(payload, dict) and payload.get("format") == BACKBONE_FILE_FORMAT:
        raise ValueError(
            f"'{path}' is a backbone pretrained without labels (featcls pretrain), "
            "not a model: fine-tune it with CNNClassifier(weights=...) (--cnn-weights) "
            "or use it for the embedding features (--embedding-weights)."
        )
    if not isinstance(payload, dict) or payload.get("format") != _FILE_FORMAT:
        raise ValueError(f"'{path}' is not a featcls CNN model file.")
    if payload.get("version", 0) > FILE_VERSION:
        raise ValueError(
            f"'{path}' was written by a newer featcls (file version "
            f"{payload['version']}); upgrade featcls to read it."
        )
    return payload


def read_model(cls: type, path: str | Path, *, module=None) -> Any:
    """Read a file written by :func:`write_model` as an instance of ``cls``."""
    return from_payload(cls, read_payload(path), path, module=module)


def from_payload(cls: type, payload: dict, path: str | Path, *, module=None) -> Any:
    """Rebuild an instance of ``cls`` from a payload of :func:`read_payload`.

    ``module``: the network of a model trained on your own (see
    :func:`network_params`).
    """
    check_estimator_name(cls, payload, path)
    params = network_params(payload["params"], payload, path, module)
    return restore_network(cls(**params), payload, path)


def network_params(params: dict, payload: dict, path: str | Path, module) -> dict:
    """A CNN's parameters from a file, with the ``module`` that rebuilds its network.

    Nothing the file names is imported: a model trained on your own network is
    given that network again by the caller (``module``); a spec string stored in
    the file only appears in the error that asks for it.

    Raises
    ------
    ValueError
        If the file holds your own network and ``module`` is None, or a built-in
        network and ``module`` is given.
    """
    network = payload["fitted"]["network"]
    params = dict(params)
    if "module_class" not in network:
        if module is not None:
            raise ValueError(
                f"'{path}' holds a CNN with the built-in "
                f"{network.get('architecture')!r} architecture; 'module' (the "
                "command line's --cnn-module) is only for models trained on your "
                "own network."
            )
        return params
    if module is None:
        spec = network.get("module") or "package.module:factory"
        raise ValueError(
            f"'{path}' holds a CNN trained on your own network "
            f"({network['module_class']}). A model file holds weights, never code: "
            f"give that network again, load_model(path, module={spec!r}) in Python "
            f"or --cnn-module {spec} on the command line (the factory or module it "
            "was trained with)."
        )
    params["module"] = module
    return params


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
    logged = (fitted["report"] or {}).get("pretrain")  # the fit's pretraining
    model.pretrain_history_ = None if logged is None else list(logged["history"])
    model.pretrain_images_ = None if logged is None else tuple(logged["images"])
    model.weights_report_ = fitted.get("weights")
    model.multilabel_ = bool(fitted.get("multilabel", False))
    if model.multilabel_:
        model.thresholds_ = np.asarray(fitted["thresholds"], dtype=np.float64)
        weight = fitted.get("pos_weight")
        model.pos_weight_ = None if weight is None else np.asarray(weight, np.float32)
    names = fitted.get("channel_names")
    model.channel_names_ = None if names is None else tuple(names)
    model.masks_fitted_ = bool(fitted.get("masks_fitted", False))
    model.weights_sha256_ = (
        None if model.weights_report_ is None else model.weights_report_["sha256"]
    )
    model.module_ = model._new_network()
    try:
        model.module_.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        if "module_class" not in model.network_params_:
            raise
        first = " ".join(str(exc).split())[:300]
        raise ValueError(
            f"The network given as 'module' does not fit the weights in '{path}' "
            f"(trained on {model.network_params_['module_class']}): {first}"
        ) from exc
    model.module_.eval()
    return model
