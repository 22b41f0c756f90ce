"""The file of a self-supervised backbone (``featcls pretrain``): weights + facts.

A backbone file is one ``torch.save`` payload read back with
``torch.load(weights_only=True)`` (tensors and plain containers only, so nothing in
the file runs)::

    {"format": "featcls-backbone", "version": 1,
     "info": {...plain data...}, "state_dict": {name: tensor}}

``state_dict`` is the network without its classifier head (a built-in network's
``head`` is left out; your own network's classifier layer was the identity), so
the file initialises :class:`~featcls.models.CNNClassifier` (``weights=``) like any
state dict and feeds the ``embedding`` feature family, which reads ``info`` for
the architecture, input size and normalisation. ``info`` records what the
backbone is and what it saw (see :class:`PretrainedBackbone`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from featcls._files import atomic_path
from featcls._nets import BACKBONE_FILE_FORMAT

__all__ = [
    "BACKBONE_FILE_FORMAT",
    "BACKBONE_FILE_VERSION",
    "PretrainedBackbone",
    "read_backbone",
]

#: The newest file version this featcls reads and writes.
BACKBONE_FILE_VERSION = 1


@dataclass
class PretrainedBackbone:
    """A network pretrained without labels, with the facts of its pretraining.

    Written by :func:`featcls.models.pretrain` (``featcls pretrain``); loaded by
    :meth:`load`, by ``CNNClassifier(weights=path)`` and by
    ``EmbeddingFeatures(weights=path)``.

    Attributes
    ----------
    state_dict : dict of str to Tensor
        The weights of the network without its classifier head (on the CPU).
    info : dict
        Plain data: ``featcls`` (the version that wrote it), ``network``
        (``{"architecture": name}``, or your own network's ``module`` spec string
        or None, ``module_class`` and ``head``, the classifier layer replaced by
        the identity), ``in_channels``, ``input_size``, ``embedding_dim``,
        ``channel_mean`` and ``channel_std`` (the normalisation it was trained
        with, per channel on the [0, 1] scale), ``variant`` (``channels``,
        ``crop``, ``margin``, ``mask_out``: how each image was prepared),
        ``method`` and ``method_params``, ``augment`` (the options of
        :func:`~featcls.models.random_augment` each view was drawn with),
        ``training`` (epochs, batch size, learning rate, weight decay,
        precision, device, seed), ``history`` (the loss and its terms per
        epoch), ``n_images`` and ``images``: the sorted content keys of the
        images it saw (``image_key`` says how they are computed).
    path : Path or None
        The file it was read from or written to.
    """

    state_dict: dict
    info: dict
    path: Path | None = field(default=None, compare=False)

    @property
    def image_keys(self) -> frozenset[str]:
        """The content keys of the images the backbone saw during pretraining."""
        return frozenset(self.info.get("images") or ())

    @property
    def history(self) -> list[dict]:
        """Per epoch: ``epoch``, ``loss`` and the loss's terms."""
        return [dict(row) for row in self.info.get("history") or ()]

    @property
    def is_own_network(self) -> bool:
        """Whether it was pretrained on your own network (``module``)."""
        return "module_class" in self.info["network"]

    def describe(self) -> str:
        """``"lipnet, vicreg, 30 epochs on 1200 images"``, for messages."""
        network = self.info["network"]
        name = network.get("architecture") or network.get("module_class")
        epochs = self.info.get("training", {}).get("epochs")
        return (
            f"{name}, {self.info.get('method', '?')}, {epochs} epochs "
            f"on {self.info.get('n_images', '?')} images"
        )

    def save(self, path: str | Path) -> Path:
        """Write the backbone to ``path`` (atomically: a complete file or none)."""
        path = Path(path)
        payload = {
            "format": BACKBONE_FILE_FORMAT,
            "version": BACKBONE_FILE_VERSION,
            "info": self.info,
            "state_dict": {k: v.detach().cpu() for k, v in self.state_dict.items()},
        }
        with atomic_path(path) as tmp:
            torch.save(payload, tmp)
        self.path = path
        return path

    @classmethod
    def load(cls, path: str | Path) -> PretrainedBackbone:
        """Read a backbone file (no code in the file is executed).

        Raises
        ------
        FileNotFoundError
            If there is no file at ``path``.
        ValueError
            If the file is not a featcls backbone file, or is of a newer version.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"No backbone file at '{path}'.")
        found = read_backbone(path)
        if found is None:
            raise ValueError(
                f"'{path}' is not a featcls backbone file (written by featcls "
                "pretrain or featcls.models.pretrain)."
            )
        return found

    def check_fits(self, architecture: str, module: Any, owner: str) -> None:
        """Refuse, in one line, a network that is not the one pretrained.

        ``architecture`` and ``module`` are those of the estimator ``owner``
        (named in the message) that is to load the backbone.

        Raises
        ------
        ValueError
            If the backbone is of another built-in architecture, of your own
            network while ``module`` is None, or of a built-in one while
            ``module`` is given.
        """
        network, where = self.info["network"], self.path or "the backbone"
        if self.is_own_network and module is None:
            spec = network.get("module") or "package.module:factory"
            raise ValueError(
                f"'{where}' is a backbone pretrained on your own network "
                f"({network['module_class']}); give {owner} that network as "
                f"'module' ({spec!r}; the command line's --cnn-module)."
            )
        if self.is_own_network:
            return
        if module is not None:
            raise ValueError(
                f"'{where}' is a backbone of the built-in "
                f"{network['architecture']!r} architecture, not of your network: "
                f"leave out {owner}'s 'module' and set architecture="
                f"{network['architecture']!r}."
            )
        if network["architecture"] != architecture:
            raise ValueError(
                f"'{where}' is a backbone of the built-in "
                f"{network['architecture']!r} architecture; {owner} has "
                f"architecture={architecture!r}. Set architecture="
                f"{network['architecture']!r} (on the command line, the model "
                f"cnn-{network['architecture']})."
            )

    def network(self, module: Any = None):
        """The headless network with these weights, on the CPU, in eval mode.

        Returns the network and how to call it for an embedding: ``"embed"`` (a
        built-in network) or ``"forward"`` (your own, its classifier layer the
        identity). Your own network must be given again as ``module`` (a module,
        a factory or a spec string): the file holds weights, never code.

        Raises
        ------
        ValueError
            If ``module`` is missing for your own network or given for a
            built-in one, or the network does not fit the weights.
        """
        from featcls._nets._builtin import build_network
        from featcls._nets._channels import adapt_first_conv, first_conv
        from featcls._nets._spec import raw_network, replace_module

        network, where = self.info["network"], self.path or "the backbone"
        channels = int(self.info["in_channels"])
        if not self.is_own_network:
            if module is not None:
                raise ValueError(
                    f"'{where}' is a backbone of the built-in "
                    f"{network['architecture']!r} architecture; 'module' is only "
                    "for backbones pretrained on your own network."
                )
            net = build_network(network["architecture"], channels, 2)
            head = {k for k in net.state_dict() if k.startswith("head.")}
            _load(net, self.state_dict, where, allowed_missing=head)
            return net.eval(), "embed"
        if module is None:
            spec = network.get("module") or "package.module:factory"
            raise ValueError(
                f"'{where}' is a backbone pretrained on your own network "
                f"({network['module_class']}). A weights file holds weights, never "
                f"code: give that network again as 'module' ({spec!r}; the command "
                "line's --embedding-module or --cnn-module)."
            )
        net = raw_network(module, channels, 2, pretrained=False, seed=0)
        conv = first_conv(net)
        if conv is not None and conv[1].in_channels != channels:
            adapt_first_conv(net, channels)
        replace_module(net, network["head"], nn.Identity())
        _load(net, self.state_dict, where, allowed_missing=set())
        return net.eval(), "forward"


def _load(net: nn.Module, state: Mapping, where, *, allowed_missing: set) -> None:
    """Load ``state`` into ``net``; every tensor must fit, none but those may lack."""
    try:
        missing, unexpected = net.load_state_dict(dict(state), strict=False)
    except RuntimeError as exc:  # a tensor of another shape
        first = " ".join(str(exc).split())[:300]
        raise ValueError(
            f"The network does not fit the weights of '{where}': {first}"
        ) from exc
    missing = [k for k in missing if k not in allowed_missing]
    if missing or unexpected:
        names = (missing or unexpected)[:3]
        what = "lacks" if missing else "has unexpected tensors:"
        raise ValueError(
            f"The network does not fit the weights of '{where}': the file {what} "
            f"{', '.join(names)}. Is it the network the backbone was pretrained on?"
        )


def read_backbone(path: str | Path) -> PretrainedBackbone | None:
    """The backbone in the file at ``path``; None for any other file.

    Read with ``torch.load(weights_only=True)``.

    Raises
    ------
    ValueError
        If it is a backbone file of a newer version than this featcls reads.
    """
    path = Path(path)
    if path.suffix == ".safetensors" or not path.is_file():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # not weights-only data: not a backbone file
        return None
    if not isinstance(payload, dict) or payload.get("format") != BACKBONE_FILE_FORMAT:
        return None
    if payload.get("version", 0) > BACKBONE_FILE_VERSION:
        raise ValueError(
            f"'{path}' was written by a newer featcls (backbone file version "
            f"{payload['version']}); upgrade featcls to read it."
        )
    return PretrainedBackbone(
        state_dict=dict(payload["state_dict"]), info=dict(payload["info"]), path=path
    )
