"""The network a CNNClassifier fit starts from, and its rebuild from plain data.

A built-in architecture (:mod:`featcls.models._cnn_nets`) or your own network
(:mod:`featcls.models._cnn_user`), optionally initialised from a weights file
(:mod:`featcls.models._cnn_weights`).
"""

from __future__ import annotations

from typing import Any

import torch

from featcls._nets._pretrained import read_backbone
from featcls.models._cnn_channels import first_conv
from featcls.models._cnn_nets import build_network
from featcls.models._cnn_user import build_user_network, check_embedding
from featcls.models._cnn_weights import load_weights

__all__ = ["initial_network", "rebuild_network"]


def rebuild_network(est: Any, params: dict, generator=None):
    """The network of the plain data ``params`` (``network_params_``), on the CPU.

    Freshly initialised (``generator``); the caller loads its weights. Your own
    network is built from ``est.module`` again, never from anything stored.

    Raises
    ------
    ValueError
        If the network is your own and ``est.module`` is None, or the given module
        takes another number of input channels than the stored network.
    """
    if "module_class" not in params:
        net = build_network(**params, generator=generator)
        return net.to(memory_format=torch.channels_last)
    if est.module is None:
        raise ValueError(
            f"This {type(est).__name__} was trained on a network of its own "
            f"({params['module_class']}); set its 'module' parameter to that "
            "network to rebuild it."
        )
    net, built, _ = build_user_network(
        est.module,
        in_channels=params["in_channels"],
        n_classes=params["n_classes"],
        n_extra=params["n_extra"],
        dropout=params["dropout"],
        adapt_channels=est.adapt_channels,
        generator=generator,
    )
    if built["n_channels"] != params["n_channels"]:
        raise ValueError(
            f"The network given as 'module' takes {built['n_channels']} input "
            f"channel(s); the model was trained on {params['n_channels']}."
        )
    return net.to(memory_format=torch.channels_last)


def initial_network(est: Any, seed: int) -> tuple[Any, dict, dict | None]:
    """The network a fit of ``est`` starts from, with its plain data and report.

    Returns the network, its ``network_params_`` and the weights report (None
    without ``weights``). Reads ``est``'s parameters and its ``n_channels_``,
    ``classes_`` and ``n_extra_``; draws from generators seeded with ``seed`` only.
    """
    init = torch.Generator().manual_seed(seed)
    if est.weights is not None:  # a pretrained backbone: of this network?
        backbone = read_backbone(est.weights)
        if backbone is not None:
            backbone.check_fits(est.architecture, est.module, type(est).__name__)
    if est.module is None:
        params = {
            "architecture": est.architecture,
            "in_channels": est.n_channels_,
            "n_classes": len(est.classes_),
            "dropout": float(est.dropout),
            "n_extra": est.n_extra_,
        }
        net = rebuild_network(est, params, init)
        report = None
        if est.weights is not None:
            conv = first_conv(net)
            report = load_weights(
                net, est.weights, head="head", first_conv=conv and conv[0]
            )
        return net, params, report
    net, params, report = build_user_network(
        est.module,
        in_channels=est.n_channels_,
        n_classes=len(est.classes_),
        n_extra=est.n_extra_,
        dropout=float(est.dropout),
        adapt_channels=est.adapt_channels,
        generator=init,
        seed=seed,
        pretrained=est.weights is None,
        weights=est.weights,
    )
    net = net.to(memory_format=torch.channels_last)
    check_embedding(net, params["n_channels"], est.input_size)
    return net, params, report
