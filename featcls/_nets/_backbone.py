"""A network made a feature extractor: loaded from any source, headless, pooled.

:func:`load_backbone` turns the ways a network can be given — a featcls CNN model
file, a plain state dict with a built-in architecture or a user's network, or a
torch module — into one :class:`Backbone`: the network without its classifier
layer, in eval mode, on its device, whose output (or a named layer's output) is
pooled to one vector per image, with the input size and normalisation it
expects and a SHA-256 fingerprint of everything that decides its output.
:meth:`Backbone.embed` runs it over batches of images.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from featcls._nets import MODEL_FILE_FORMAT
from featcls._nets._builtin import build_network
from featcls._nets._channels import adapt_first_conv, first_conv
from featcls._nets._pretrained import read_backbone
from featcls._nets._spec import classifier_layer, raw_network, replace_module
from featcls._nets._weights import load_weights, read_state_dict, weights_message
from featcls._policies import NORMALIZATIONS

__all__ = ["Backbone", "Pooled", "load_backbone", "pool"]

#: Input size of a built-in architecture (CNNClassifier's default) and of any other
#: network (the usual ImageNet size), when neither the caller nor a model file
#: gives one.
BUILTIN_INPUT_SIZE = 96
MODULE_INPUT_SIZE = 224
#: ITU-R BT.601 luma weights: a colour image for a one-channel network.
_LUMA = (0.299, 0.587, 0.114)


def pool(out: Any, where: str = "The network's output") -> torch.Tensor:
    """One vector per image: feature maps ``(N, C, h, w)`` averaged over space.

    Tokens ``(N, L, D)`` are averaged over the tokens; vectors ``(N, D)`` are
    kept as they are.

    Raises
    ------
    ValueError
        For an output that is not a tensor of 2 to 4 dimensions.
    """
    if not torch.is_tensor(out) or out.ndim not in (2, 3, 4):
        shape = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
        raise ValueError(
            f"{where} is {shape}, not feature maps (N, C, H, W), tokens (N, L, D) "
            "or vectors (N, D) that can be pooled to one vector per image."
        )
    if out.ndim == 4:
        return out.mean(dim=(2, 3))
    if out.ndim == 3:
        return out.mean(dim=1)
    return out


class _Stop(Exception):
    """Raised by the forward hook: the named layer's output is all that is needed."""


class Pooled(nn.Module):
    """``net`` as a feature extractor: its output, or layer ``layer``'s, pooled.

    ``call="embed"`` runs ``net.embed`` (the built-in networks: the input of their
    head) instead of ``net``'s forward. With ``layer``, the forward stops at the
    first output of that submodule (named as in ``net.named_modules()``).
    """

    def __init__(self, net: nn.Module, *, call: str = "forward", layer=None):
        super().__init__()
        self.net = net
        self.call = call
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        run = self.net.embed if self.call == "embed" else self.net
        if self.layer is None:
            return pool(run(x))
        captured = []

        def hook(module, args, output):
            captured.append(output)
            raise _Stop

        handle = self.net.get_submodule(self.layer).register_forward_hook(hook)
        try:
            run(x)
        except _Stop:
            pass
        finally:
            handle.remove()
        if not captured:
            raise ValueError(
                f"The network's forward never calls its layer {self.layer!r}; name a "
                "layer that computes the images' features."
            )
        return pool(captured[0], f"The output of layer {self.layer!r}")


@dataclass
class Backbone:
    """A loaded network that maps images to embeddings (see :func:`load_backbone`).

    Attributes
    ----------
    net : Pooled
        The headless network, in eval mode, on ``device``.
    n_channels : int
        The channels of the network's input.
    input_size : int
        Side of the square input, in pixels.
    mean, std : ndarray of float32 or None
        Per-channel normalisation of the [0, 1] pixels (None: none).
    dim : int
        Length of an embedding.
    sha256 : str
        Fingerprint of the weights (every tensor of the network's state) and of the
        input size, channels, normalisation and layer.
    device : str
        The torch device the network runs on.
    source : str
        What the network was loaded from, for messages.
    variant : dict or None
        How the images it was trained on were prepared (``channels``, ``crop``,
        ``margin``, ``mask_out``), for a featcls model file or pretrained backbone;
        None for any other network. Its channel policy is applied to the prepared
        images; the rest must match the extractor's settings.
    channel_names : tuple of str or None
        The named channels of a model fitted on samples of one file per channel,
        in the order the network takes them.
    """

    net: Pooled
    n_channels: int
    input_size: int
    mean: np.ndarray | None
    std: np.ndarray | None
    dim: int
    sha256: str
    device: str
    source: str
    variant: dict | None = None
    channel_names: tuple[str, ...] | None = None
    _adapted: dict = field(default_factory=dict, repr=False)

    def _network_for(self, channels: int) -> tuple[nn.Module, np.ndarray | None, Any]:
        """The network, mean and std for images of ``channels`` channels.

        Its own for as many channels as it takes, for grey images (replicated) and,
        for a one-channel network, colour images (their luma); otherwise a copy
        whose first convolution is refitted to the images' channels by the sum rule
        (:func:`~featcls._nets._channels.adapt_kernels`), with the statistics of
        its first channels and their mean for each extra one.
        """
        k = self.n_channels
        if channels == k or channels == 1 or (channels == 3 and k == 1):
            return self.net, self.mean, self.std
        if channels not in self._adapted:
            net = copy.deepcopy(self.net)
            adapt_first_conv(net.net, channels)
            stats = [self.mean, self.std]
            for i, s in enumerate(stats):
                if s is not None:
                    extra = np.full(max(channels - k, 0), s.mean(), np.float32)
                    stats[i] = np.concatenate([s, extra])[:channels]
            self._adapted[channels] = (net.eval(), *stats)
        return self._adapted[channels]

    def embed(
        self, images: np.ndarray, *, batch_size: int, n_threads: int | None = None
    ) -> np.ndarray:
        """Embeddings ``(N, dim)`` (float64) of images ``(N, S, S, C)`` on [0, 1].

        ``S`` is :attr:`input_size`. The images go through the network in batches of
        exactly ``batch_size`` (the last one padded with blank images), in
        float32, so an image's embedding does not depend on the images it is
        batched with: the same image gives the same bits in any run on this
        machine.
        """
        n, c = len(images), images.shape[3]
        net, mean, std = self._network_for(c)
        device = torch.device(self.device)
        out = np.empty((n, self.dim), dtype=np.float64)
        with _threads(n_threads), torch.inference_mode():
            m = None if mean is None else torch.as_tensor(mean, device=device)
            s = None if std is None else torch.as_tensor(std, device=device)
            for start in range(0, n, batch_size):
                x = torch.zeros(
                    (batch_size, self.input_size, self.input_size, c),
                    dtype=torch.float32,
                )
                part = images[start : start + batch_size]
                x[: len(part)] = torch.from_numpy(np.ascontiguousarray(part))
                x = self._channels(x.to(device), c)
                if m is not None:
                    x = (x - m.view(1, 1, 1, -1)) / s.view(1, 1, 1, -1)
                # NHWC memory is channels-last NCHW: a permute, no copy.
                y = net(x.permute(0, 3, 1, 2))
                out[start : start + len(part)] = y[: len(part)].float().cpu().numpy()
        return out

    def _channels(self, x: torch.Tensor, c: int) -> torch.Tensor:
        """Batch ``(N, S, S, c)`` → the network's channels (replicated grey, luma)."""
        k = self.n_channels
        if c == 1 and k != 1:
            return x.expand(-1, -1, -1, k).contiguous()
        if c == 3 and k == 1:
            luma = torch.tensor(_LUMA, dtype=x.dtype, device=x.device)
            return (x * luma).sum(dim=3, keepdim=True)
        return x


@contextlib.contextmanager
def _threads(n: int | None):
    """Set torch's intra-op threads inside the block (unchanged when None)."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _device(device: str, owner: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(
            f"The 'device' parameter of {owner} must be 'auto', 'cpu', 'cuda' or "
            f"'cuda:<index>'. Got {device!r}."
        ) from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"The 'device' parameter of {owner} is {device!r} but CUDA is not "
            f"available (torch {torch.__version__}). Use device='auto' or 'cpu'."
        )
    return resolved


def _model_file(path: Path) -> dict | None:
    """The payload of a featcls CNN model file, or None for any other file."""
    if path.suffix == ".safetensors" or not path.is_file():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # not weights-only data: read_state_dict says so later
        return None
    if isinstance(payload, dict) and payload.get("format") == MODEL_FILE_FORMAT:
        return payload
    return None


def _stem_channels(path: Path, module: Any, architecture: str) -> int:
    """Input channels of the weights of the network's first convolution.

    The network is ``module`` or, without it, the built-in ``architecture``; its
    first convolution is found by name in the network built for three channels
    (a ``.safetensors`` file lists its tensors sorted by name, not in the order
    the layers are applied); its kernel is looked up in the file, wrapper
    prefixes (``module.``, ``backbone.`` …) allowed. Without a match, the file's
    first 4-D tensor; 3 when the file has no convolution.
    """
    state = read_state_dict(path)
    probe = (
        build_network(architecture, 3, 2)
        if module is None
        else raw_network(module, 3, 2, pretrained=False, seed=0)
    )
    conv = first_conv(probe)
    if conv is not None:
        key = f"{conv[0]}.weight"
        for name, tensor in state.items():
            if tensor.ndim == 4 and (name == key or name.endswith(f".{key}")):
                return int(tensor.shape[1])
    for tensor in state.values():
        if tensor.ndim == 4:
            return int(tensor.shape[1])
    return 3


def _from_model_file(payload: dict, path: Path, module: Any):
    """Network, call, channels, input size and statistics of a featcls model file."""
    fitted = payload["fitted"]
    network = fitted["network"]
    params = payload.get("params", {})
    params = params.get("cnn", params)  # a FusionClassifier's CNN parameters
    state = payload["state_dict"]
    if "module_class" not in network:
        if module is not None:
            raise ValueError(
                f"'{path}' holds a CNN with the built-in "
                f"{network.get('architecture')!r} architecture; 'module' is only for "
                "model files of a CNN trained on your own network."
            )
        keys = ("architecture", "in_channels", "n_classes", "dropout", "n_extra")
        net = build_network(**{k: network[k] for k in keys})
        call = "embed"
    else:
        if module is None:
            spec = network.get("module") or "package.module:factory"
            raise ValueError(
                f"'{path}' holds a CNN trained on your own network "
                f"({network['module_class']}). A model file holds weights, never "
                f"code: give that network again as 'module' ({spec!r}; the command "
                "line's --embedding-module)."
            )
        net = raw_network(
            module,
            network["in_channels"],
            network["n_classes"],
            pretrained=False,
            seed=0,
        )
        if network.get("adapt") == "sum":
            adapt_first_conv(net, network["in_channels"])
        replace_module(net, network["head"], nn.Identity())
        prefix = "net."
        state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        call = "forward"
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        first = " ".join(str(exc).split())[:300]
        raise ValueError(
            f"The network does not fit the weights in the model file '{path}' "
            f"(file version {payload.get('version')}): {first}"
        ) from exc
    stats = (
        np.asarray(fitted["channel_mean"], np.float32),
        np.asarray(fitted["channel_std"], np.float32),
    )
    size = int(params.get("input_size", BUILTIN_INPUT_SIZE))
    variant = {
        "channels": params.get("channels"),
        "crop": bool(params.get("crop", False)),
        "margin": float(params.get("margin", 0.0)),
        "mask_out": bool(params.get("mask_out", False)),
    }
    names = fitted.get("channel_names")
    names = None if names is None else tuple(names)
    return net, call, int(fitted["n_channels"]), size, stats, variant, names


def _from_state_dict(module, weights, architecture: str, owner: str):
    """Network, call and channels of a user's network or a built-in architecture."""
    path = None if weights is None else Path(weights)
    if isinstance(module, nn.Module):
        conv = first_conv(module)
        channels = 3 if conv is None else conv[1].in_channels
    else:  # a factory is built for the channels of the weights' first kernels
        channels = 3 if path is None else _stem_channels(path, module, architecture)
    if module is None:
        net, head, call = build_network(architecture, channels, 2), "head", "embed"
    else:
        # n_classes=2: the classifier is cut off, its width does not matter.
        net = raw_network(module, channels, 2, pretrained=path is None, seed=0)
        head, call = classifier_layer(net, anywhere=False), "forward"
    if path is not None:
        conv = first_conv(net)
        report = load_weights(
            net, path, head=head, first_conv=None if conv is None else conv[0]
        )
        message = weights_message(report, owner)
        if message:
            warnings.warn(message, UserWarning, stacklevel=4)
    if module is not None and head is not None:
        replace_module(net, head, nn.Identity())
    conv = first_conv(net)
    return net, call, channels if conv is None else conv[1].in_channels


def _statistics(normalize, stats, n_channels: int, owner: str):
    """``(mean, std)`` of ``normalize`` for ``n_channels`` (None: no normalisation)."""
    if normalize == "auto":
        if stats is not None:
            return stats
        normalize = "imagenet" if n_channels == 3 else None
    if normalize is None:
        return None, None
    value = NORMALIZATIONS[normalize] if isinstance(normalize, str) else normalize
    expected = (
        f"'auto', 'imagenet', None or a (mean, std) pair of 1 or {n_channels} "
        "numbers each (per channel, on the [0, 1] scale)"
    )
    try:
        mean, std = (np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in value)
    except (TypeError, ValueError):
        raise ValueError(
            f"The 'normalize' parameter of {owner} must be {expected}. Got "
            f"{normalize!r}."
        ) from None
    if mean.ndim != 1 or mean.shape != std.shape or not np.all(std > 0):
        raise ValueError(
            f"The 'normalize' parameter of {owner} must be {expected}. Got "
            f"{normalize!r}."
        )
    if len(mean) not in (1, n_channels):
        raise ValueError(
            f"The 'normalize' parameter of {owner} has {len(mean)} values per "
            f"statistic, but the network's input has {n_channels} channel(s)."
        )
    shape = (n_channels,)
    return (
        np.broadcast_to(mean, shape).astype(np.float32),
        np.broadcast_to(std, shape).astype(np.float32),
    )


def _check_layer(net: nn.Module, layer: str | None) -> None:
    if layer is None:
        return
    layers = dict(net.named_modules())
    if not layer or layer not in layers:
        convs = [n for n, m in layers.items() if isinstance(m, nn.Conv2d)]
        raise ValueError(
            f"The 'layer' parameter names no layer of the network: {layer!r}. Its "
            f"last convolutions: {', '.join(convs[-5:]) or 'none'}."
        )


def _fingerprint(
    net: Pooled, channels: int, size: int, mean, std, variant=None, names=None
) -> str:
    digest = hashlib.sha256()
    inner = type(net.net)
    about = {
        "class": f"{inner.__module__}.{inner.__qualname__}",
        "call": net.call,
        "layer": net.layer,
        "channels": channels,
        "input_size": size,
        "mean": None if mean is None else [float(v) for v in mean],
        "std": None if std is None else [float(v) for v in std],
    }
    if names is not None or (
        variant is not None
        and (
            variant.get("channels") is not None
            or variant["crop"]
            or variant["mask_out"]
        )
    ):  # only what changes the input: other fingerprints stay as they were
        about["variant"] = variant
        about["channel_names"] = None if names is None else list(names)
    digest.update(json.dumps(about, sort_keys=True).encode())
    for name, tensor in net.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        digest.update(f"|{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def load_backbone(
    *,
    module: Any = None,
    weights=None,
    architecture: str = "lipnet",
    layer: str | None = None,
    input_size: int | None = None,
    normalize: Any = "auto",
    device: str = "cpu",
    owner: str = "EmbeddingFeatures",
) -> Backbone:
    """Load a network as a feature extractor; see :class:`Backbone`.

    ``weights`` is a featcls CNN model file or a backbone file of
    :func:`featcls.models.pretrain` (its network, input size and normalisation
    are used; one of your own network needs that network as ``module``), or a
    state dict (``.pt``/``.pth`` read with
    ``torch.load(weights_only=True)``, or ``.safetensors``) loaded into
    ``module`` or, without it, the built-in ``architecture``. ``module`` is a
    torch module, a ``factory(in_channels, n_classes)`` or a
    ``"package.module:factory"`` / ``"timm:NAME"`` spec (called with the input
    channels of the weights' first convolution, 3 without weights). Without
    ``layer`` the embedding is the input of the classifier layer: a built-in
    network's ``embed``; for other networks their output once the classifier
    (an attribute ``fc``, ``classifier`` or ``head`` holding a Linear, or a last
    Linear layer) is replaced by the identity. Outputs are pooled by
    :func:`pool`.

    Raises
    ------
    ValueError
        Without a network (``module`` and ``weights`` both None), for a weights
        file that fits nothing, a layer the network lacks, or an output that is
        not one vector (or maps) per image.
    FileNotFoundError
        If there is no file at ``weights``.
    """
    if module is None and weights is None:
        raise ValueError(
            f"{owner} needs a network: give 'weights' (a featcls CNN model file, or "
            "a state dict with 'architecture' or 'module') or 'module' (a torch "
            "module, a factory or 'package.module:factory')."
        )
    path = None if weights is None else Path(weights)
    if path is not None and not path.is_file():
        raise FileNotFoundError(f"No weights file at '{path}'.")
    payload = None if path is None else _model_file(path)
    pretrained = None if path is None or payload is not None else read_backbone(path)
    stats = variant = names = None
    if payload is not None:
        net, call, channels, size, stats, variant, names = _from_model_file(
            payload, path, module
        )
        source = f"model file '{path}'"
    elif pretrained is not None:
        net, call = pretrained.network(module)
        info = pretrained.info
        channels, size = int(info["in_channels"]), int(info["input_size"])
        stats = (
            np.asarray(info["channel_mean"], np.float32),
            np.asarray(info["channel_std"], np.float32),
        )
        variant = info.get("variant")
        source = f"pretrained backbone '{path}'"
    else:
        net, call, channels = _from_state_dict(module, path, architecture, owner)
        default = BUILTIN_INPUT_SIZE if module is None else MODULE_INPUT_SIZE
        size = default
        source = "" if path is None else f"weights file '{path}'"
    size = int(input_size) if input_size is not None else size
    _check_layer(net, layer)
    mean, std = _statistics(normalize, stats, channels, owner)
    pooled = Pooled(net, call=call, layer=layer).eval()
    resolved = _device(device, owner)
    pooled.to(resolved)
    with torch.inference_mode():
        x = torch.zeros((1, channels, size, size), device=resolved)
        try:
            dim = pooled(x).shape[1]
        except ValueError:
            raise
        except Exception as exc:
            raise ValueError(
                f"{owner}: the network failed on a {channels}-channel {size}×{size} "
                f"image ({type(exc).__name__}: {exc})."
            ) from exc
    return Backbone(
        net=pooled,
        n_channels=int(channels),
        input_size=size,
        mean=mean,
        std=std,
        dim=int(dim),
        sha256=_fingerprint(pooled, channels, size, mean, std, variant, names),
        device=str(resolved),
        source=source or f"module {type(net).__name__}",
        variant=None if variant is None else dict(variant),
        channel_names=names,
    )
