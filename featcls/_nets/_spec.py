"""A network named by the user: a module, a factory or a ``package.module:factory``.

Shared by :class:`~featcls.models.CNNClassifier` (``module``), which trains the
network, and the ``embedding`` feature family, which runs it: the spec's import,
the network's construction (seeded, without touching torch's random state), and
the classifier layer that both lift out of it.
"""

from __future__ import annotations

import copy
import importlib
from typing import Any

import torch
from torch import nn

__all__ = [
    "HEAD_ATTRIBUTES",
    "classifier_layer",
    "describe_module",
    "import_spec",
    "raw_network",
    "replace_module",
]

#: Attributes that hold the classifier head in common architectures (torchvision's
#: ResNet ``fc``, VGG/DenseNet ``classifier``, timm's ViT ``head``), tried in order.
HEAD_ATTRIBUTES = ("fc", "classifier", "head")


def describe_module(module: Any) -> str:
    """A short name of a ``module`` parameter: its spec, class or factory name."""
    if isinstance(module, str):
        return module
    if isinstance(module, nn.Module):
        return type(module).__name__
    return getattr(module, "__qualname__", type(module).__name__)


def import_spec(spec: str):
    """The object ``package.module:attr`` names (imported now: the user's choice)."""
    name, _, attr = spec.partition(":")
    try:
        obj = importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(
            f"Cannot import the network module={spec!r}: {exc}. Is the package "
            "installed (or on PYTHONPATH)?"
        ) from exc
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(
                f"The network module={spec!r} does not exist: {name!r} has no "
                f"attribute {attr!r}."
            )
        obj = getattr(obj, part)
    return obj


def _timm(name: str, in_channels: int, n_classes: int, pretrained: bool):
    try:
        import timm
    except Exception as exc:  # timm may fail on import with other errors
        raise ImportError(
            f"module='timm:{name}' needs the timm package, which did not import "
            f"({type(exc).__name__}: {exc}). Install a timm that fits this torch, "
            "or give your own module."
        ) from exc
    return timm.create_model(
        name, pretrained=pretrained, num_classes=n_classes, in_chans=in_channels
    )


def raw_network(
    module: Any, in_channels: int, n_classes: int, *, pretrained: bool, seed: int
) -> nn.Module:
    """The user's network as given: a copy, or new from a factory / timm.

    A module is deep-copied (the user's own is never changed); a factory is called
    as ``factory(in_channels, n_classes)``; ``"timm:NAME"`` is built by
    ``timm.create_model`` (with timm's pretrained weights when ``pretrained``).
    The factory's initialisation draws from the global generator seeded with
    ``seed`` inside a fork, so torch's own random state is left as it was.

    Raises
    ------
    ValueError
        If ``module`` (or what a spec names) is neither a module nor a callable, or
        a factory returns something else than a module.
    ImportError
        If the module named by a spec string (or timm) cannot be imported.
    """
    if isinstance(module, str) and module.startswith("timm:"):

        def make():
            return _timm(module[5:], in_channels, n_classes, pretrained)

    else:
        obj = import_spec(module) if isinstance(module, str) else module
        if isinstance(obj, nn.Module):
            return copy.deepcopy(obj)
        if not callable(obj):
            raise ValueError(
                f"The network module={module!r} is neither a torch.nn.Module nor a "
                f"callable factory(in_channels, n_classes); got {type(obj).__name__}."
            )

        def make():
            return obj(in_channels, n_classes)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = make()
    if not isinstance(net, nn.Module):
        raise ValueError(
            f"The network factory module={describe_module(module)!r} returned a "
            f"{type(net).__name__}, not a torch.nn.Module."
        )
    return net


def classifier_layer(net: nn.Module, *, anywhere: bool = True) -> str | None:
    """The name of the network's classifier layer, or None when it has none.

    An attribute ``fc``, ``classifier`` or ``head`` that is (or holds) a
    :class:`~torch.nn.Linear` gives its last Linear. Otherwise, with ``anywhere``,
    the network's last Linear layer (in ``named_modules()`` order); without it,
    the last layer only if it is a Linear (so the small Linear layers inside a
    backbone, such as squeeze-and-excitation gates, are never taken for a head).
    """
    modules = list(net.named_modules())
    linears = [name for name, m in modules if isinstance(m, nn.Linear)]
    for attr in HEAD_ATTRIBUTES:
        sub = net._modules.get(attr)
        if isinstance(sub, nn.Linear):
            return attr
        inside = [n for n in linears if n.startswith(attr + ".")]
        if sub is not None and inside:
            return inside[-1]
    if anywhere:
        return linears[-1] if linears else None
    name, last = modules[-1]
    return name if name and isinstance(last, nn.Linear) else None


def replace_module(net: nn.Module, name: str, new: nn.Module) -> None:
    """Put ``new`` in the place of ``net``'s submodule ``name`` (a dotted name)."""
    parent, _, child = name.rpartition(".")
    setattr(net.get_submodule(parent) if parent else net, child, new)
