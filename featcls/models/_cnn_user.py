"""Your own network inside CNNClassifier: from a module, a factory or a spec string.

:func:`build_user_network` makes the network a fit trains: the user's module (a
deep copy, so the given one is never trained), a factory's or timm's new network,
optionally initialised from a weights file, with its classifier head lifted out
into a :class:`UserNetwork` that featcls's loop, saliency and fusion drive like
the built-in networks.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from featcls._nets._builtin import SeededDropout, glorot_, head_logits
from featcls._nets._channels import adapt_first_conv, first_conv
from featcls._nets._spec import (
    HEAD_ATTRIBUTES,
    classifier_layer,
    describe_module,
    raw_network,
    replace_module,
)
from featcls._nets._weights import load_weights

__all__ = [
    "HEAD_ATTRIBUTES",
    "UserNetwork",
    "build_user_network",
    "check_embedding",
    "describe_module",
    "gradcam_layer",
]


class UserNetwork(nn.Module):
    """A user's network with its final linear layer lifted out as ``head``.

    ``net`` is the user's module whose classifier layer was replaced by
    :class:`torch.nn.Identity`, so that it maps images to their embedding
    ``(N, D)``; ``head`` is a linear layer on the embedding (concatenated with
    ``n_extra`` extra inputs, for a fusion model), after dropout.
    """

    def __init__(self, net: nn.Module, head: nn.Linear, dropout: float, n_extra: int):
        super().__init__()
        self.net = net
        self.head = head
        self.dropout = SeededDropout(dropout)
        self.n_extra = n_extra
        self.embedding_dim = head.in_features - n_extra

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The embedding ``(N, D)``: the input of the user's classifier layer."""
        return self.net(x)

    def classify(self, embedding: torch.Tensor, extra=None) -> torch.Tensor:
        """Logits from an embedding (and the extra inputs, when the net has them)."""
        return head_logits(self, embedding, extra)

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None):
        return self.classify(self.embed(x), extra)


def _find_head(net: nn.Module) -> str:
    """The name of the classifier layer: ``fc``, ``classifier``, ``head`` or else.

    An attribute of these names that is (or holds) a :class:`~torch.nn.Linear`
    gives its last Linear; else the network's last Linear layer.
    """
    name = classifier_layer(net)
    if name is not None:
        return name
    raise ValueError(
        f"The network {type(net).__name__} has no torch.nn.Linear layer: featcls "
        f"takes its classifier head to be a linear layer (an attribute "
        f"{', '.join(HEAD_ATTRIBUTES)}, or its last Linear) on the embedding."
    )


def _lift_head(net, name, n_classes, n_extra, generator) -> nn.Linear:
    """Take the layer ``name`` out of ``net``; the head for ``n_classes``.

    The user's own layer is kept when it already fits (``n_classes`` outputs, no
    extra inputs); otherwise a new linear layer (Glorot-uniform, drawn from
    ``generator``) replaces it.
    """
    old = net.get_submodule(name)
    replace_module(net, name, nn.Identity())
    if old.out_features == n_classes and n_extra == 0:
        return old
    new = nn.Linear(
        old.in_features + n_extra,
        n_classes,
        bias=old.bias is not None,
        device=old.weight.device,
        dtype=old.weight.dtype,
    )
    glorot_(new, generator)
    return new


def _seed_dropouts(net: nn.Module) -> None:
    """Make the network's ``nn.Dropout`` layers draw from the fit's generator."""
    for name, m in list(net.named_modules()):
        if type(m) is nn.Dropout:
            replace_module(net, name, SeededDropout(m.p))


def _pretrained_channels(weights) -> int | None:
    """The input channels a backbone file of ``pretrain`` was trained on, or None."""
    from featcls._nets._pretrained import read_backbone

    backbone = read_backbone(weights)
    return None if backbone is None else int(backbone.info["in_channels"])


def build_user_network(
    module: Any,
    *,
    in_channels: int,
    n_classes: int,
    n_extra: int = 0,
    dropout: float = 0.0,
    adapt_channels: str = "sum",
    generator: torch.Generator | None = None,
    seed: int = 0,
    pretrained: bool = False,
    weights=None,
) -> tuple[UserNetwork, dict, dict | None]:
    """The network a fit trains from the ``module`` parameter, on the CPU.

    In this order: the user's network (a deep copy of a module; a factory called as
    ``factory(in_channels, n_classes)``; ``timm:NAME`` built by
    ``timm.create_model``, with timm's pretrained weights when ``pretrained``),
    its plain ``nn.Dropout`` layers seeded, the tensors of ``weights`` (a file)
    loaded, its first convolution adapted to ``in_channels`` (``"sum"``; with
    ``"replicate"`` grey images are fed to a three-channel network as three
    channels instead) and its classifier layer lifted out as the head for
    ``n_classes`` classes.

    Returns
    -------
    net : UserNetwork
    network : dict
        Plain data that rebuilds the same layout (with ``module`` given again):
        ``module`` (the spec string, or None), ``module_class``, ``in_channels``,
        ``n_classes``, ``n_extra``, ``dropout``, ``adapt`` (the ``adapt_channels``
        applied, or None), ``head`` (the lifted layer's name) and ``n_channels``
        (the channels the images are given to the network with).
    weights_report : dict or None
        What :func:`~featcls._nets._weights.load_weights` loaded.

    Raises
    ------
    ValueError
        For a module that is not a network, a network without a linear head, a
        weights file that fits nothing, or channels that cannot be adapted.
    ImportError
        If the module named by a spec string (or timm) cannot be imported.
    """
    raw = raw_network(
        module, in_channels, n_classes, pretrained=pretrained, seed=seed
    ).cpu()
    module_class = f"{type(raw).__module__}.{type(raw).__qualname__}"
    _seed_dropouts(raw)
    head = _find_head(raw)
    conv = first_conv(raw)
    report = None
    if (
        weights is not None
        and conv is not None
        and conv[1].in_channels != in_channels
        and adapt_channels == "sum"
        and _pretrained_channels(weights) == in_channels
    ):  # a backbone pretrained on the adapted network: adapt, then load
        adapt_first_conv(raw, in_channels)
    if weights is not None:
        report = load_weights(
            raw, weights, head=head, first_conv=None if conv is None else conv[0]
        )
    net_channels = in_channels if conv is None else conv[1].in_channels
    channels, adapt = in_channels, None
    if net_channels != in_channels:
        if adapt_channels == "replicate":
            if not (in_channels == 1 and net_channels == 3):
                raise ValueError(
                    f"adapt_channels='replicate' feeds grey images to a "
                    f"three-channel network; this network takes {net_channels} "
                    f"channel(s) and the images have {in_channels}. Use "
                    "adapt_channels='sum'."
                )
            channels = net_channels
        else:
            adapt_first_conv(raw, in_channels)
        adapt = adapt_channels
    linear = _lift_head(raw, head, n_classes, n_extra, generator)
    network = {
        "module": module if isinstance(module, str) else None,
        "module_class": module_class,
        "in_channels": int(in_channels),
        "n_classes": int(n_classes),
        "n_extra": int(n_extra),
        "dropout": float(dropout),
        "adapt": adapt,
        "head": head,
        "n_channels": int(channels),
    }
    return UserNetwork(raw, linear, dropout, n_extra), network, report


def check_embedding(net: UserNetwork, n_channels: int, size: int) -> None:
    """Check, on two blank images, that ``net.net`` outputs ``(N, D)`` embeddings.

    featcls lifts the final linear layer out of the network, so the rest must end
    in the embedding that layer took.

    Raises
    ------
    ValueError
        If the network fails on such images or outputs another shape.
    """
    x = torch.zeros(2, n_channels, size, size, device=net.head.weight.device)
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            out = net.embed(x)
    except Exception as exc:
        raise ValueError(
            f"The network failed on a batch of {n_channels}-channel {size}×{size} "
            f"images ({type(exc).__name__}: {exc})."
        ) from exc
    finally:
        net.train(was_training)
    expected = (2, net.embedding_dim)
    if tuple(out.shape) != expected:
        raise ValueError(
            "featcls takes the network's final torch.nn.Linear as its classifier "
            "head, so without it the network must output the head's input, shape "
            f"(N, {net.embedding_dim}); it output {tuple(out.shape)}. Make the "
            "classifier layer the last step of forward()."
        )


def gradcam_layer(net: nn.Module, name: str | None) -> nn.Module | None:
    """The layer whose maps Grad-CAM weighs: the one named, or the last Conv2d.

    Names are those of ``named_modules()`` of the user's network (``net.net``) for
    a :class:`UserNetwork`, of the network itself otherwise. None: no named layer
    and no convolution (Grad-CAM is then skipped).

    Raises
    ------
    ValueError
        If ``name`` names no layer of the network.
    """
    root = net.net if isinstance(net, UserNetwork) else net
    layers = dict(root.named_modules())
    if name is not None:
        if name not in layers or not name:
            convs = [n for n, m in layers.items() if isinstance(m, nn.Conv2d)]
            raise ValueError(
                f"The 'cam_layer' parameter names no layer of the network: "
                f"{name!r}. Its convolutions: {', '.join(convs[-5:]) or 'none'}."
            )
        return layers[name]
    convs = [m for m in layers.values() if isinstance(m, nn.Conv2d)]
    return convs[-1] if convs else None
