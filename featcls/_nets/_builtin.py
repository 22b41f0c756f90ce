"""The built-in torch networks (``lipnet``, ``simple``, ``resnet``).

The networks :class:`~featcls.models.CNNClassifier` trains and the ``embedding``
feature family runs.

Every network is a convolutional trunk (``features``: image → feature maps), global
average pooling (``embed``: image → embedding) and a linear head on the embedding,
optionally concatenated with a vector of extra inputs (the standardised hand-crafted
features of :class:`~featcls.models.FusionClassifier`). Networks are built on the
``meta`` device and initialised with a caller's ``torch.Generator``, so building one
never draws from (or changes) torch's global random state.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "NETWORKS",
    "SeededDropout",
    "build_network",
    "glorot_",
    "head_logits",
    "reset_batch_norm_statistics",
    "set_dropout_generator",
]


class SeededDropout(nn.Module):
    """Dropout drawing its mask from ``self.generator`` (global RNG when None)."""

    def __init__(self, p: float):
        super().__init__()
        self.p = float(p)
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.generator is None:
            return F.dropout(x, self.p, training=True)
        keep = torch.empty_like(x).bernoulli_(1.0 - self.p, generator=self.generator)
        return x * keep / (1.0 - self.p)


def _conv_bn(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


def _conv_bn_pool(c_in: int, c_out: int) -> list[nn.Module]:
    """3×3 conv-BN, 2×2 max pooling, ReLU.

    The same function as conv-BN-ReLU-max-pool (ReLU is monotonic, so it commutes
    with the maximum, and the gradients agree), with the ReLU and its backward pass
    on a 4× smaller map.
    """
    return [
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.MaxPool2d(2, ceil_mode=True),
        nn.ReLU(inplace=True),
    ]


def head_logits(net: nn.Module, embedding: torch.Tensor, extra=None) -> torch.Tensor:
    """Logits of ``net.head`` on the embedding (and ``net.n_extra`` extra inputs).

    The embedding goes through ``net.dropout`` first; extra inputs are concatenated
    to it when the network has them.
    """
    if net.n_extra:
        if extra is None:
            raise ValueError(f"This network needs {net.n_extra} extra inputs.")
        embedding = torch.cat([embedding, extra.to(embedding.dtype)], dim=1)
    return net.head(net.dropout(embedding))


class _Network(nn.Module):
    """The networks' common layout: a trunk, pooling and a linear head.

    Trunk → pooling (global average [+ dense]) → [concat extra inputs] → dropout →
    linear.
    """

    embedding_dim: int

    def __init__(
        self, embedding_dim: int, n_classes: int, dropout: float, n_extra: int
    ):
        super().__init__()
        self.embedding_dim = embedding_dim
        self.n_extra = n_extra
        self.dropout = SeededDropout(dropout)
        self.head = nn.Linear(embedding_dim + n_extra, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature maps of the last convolutional layer, ``(N, D, h, w)``."""
        return self.trunk(x)

    def pool(self, maps: torch.Tensor) -> torch.Tensor:
        """Embedding ``(N, D)`` of the feature maps of :meth:`features`."""
        return maps.mean(dim=(2, 3))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer embedding of the image branch, ``(N, D)``."""
        return self.pool(self.features(x))

    def classify(
        self, embedding: torch.Tensor, extra: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Logits from an embedding (and the extra inputs, when the net has them)."""
        return head_logits(self, embedding, extra)

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None):
        return self.classify(self.embed(x), extra)


class LipNet(_Network):
    """Compact plain CNN in the spirit of LipNet (liposome cryo-EM classification).

    A 3×3 stride-2 stem (16 channels), a 3×3 stride-2 convolution to 32 channels,
    then 3×3 conv-BN-max-pool-ReLU blocks of 64 and 128 channels and a last 3×3
    conv-BN-ReLU of 256 channels, and global average pooling: ~0.4 M parameters, a
    16× smaller final map than the input.

    Built for CPU speed: the two strided convolutions avoid full- and half-resolution
    feature maps with many channels, whose batch norm, ReLU and pooling dominate the
    cost of small networks on the CPU. (Up to file version 1 of saved models, the
    second block was a conv-BN-ReLU-max-pool block at half resolution.) Pooling
    before the ReLU computes the same values with the ReLU on 4× fewer elements.
    """

    def __init__(self, in_channels, n_classes, *, dropout=0.2, n_extra=0):
        super().__init__(256, n_classes, dropout, n_extra)
        self.trunk = nn.Sequential(
            *_conv_bn(in_channels, 16, stride=2),
            *_conv_bn(16, 32, stride=2),
            *_conv_bn_pool(32, 64),
            *_conv_bn_pool(64, 128),
            *_conv_bn(128, 256),
        )


class SimpleNet(_Network):
    """Three conv blocks and a 128-unit dense layer: the classic malaria-cell baseline.

    The blocks have 32, 64 and 128 channels (conv-BN-ReLU-max-pool); global average
    pooling and the dense layer follow them.

    (Each block pools before its ReLU: the same function, computed faster.)
    """

    def __init__(self, in_channels, n_classes, *, dropout=0.2, n_extra=0):
        super().__init__(128, n_classes, dropout, n_extra)
        self.trunk = nn.Sequential(
            *_conv_bn_pool(in_channels, 32),
            *_conv_bn_pool(32, 64),
            *_conv_bn_pool(64, 128),
        )
        self.dense = nn.Sequential(nn.Linear(128, 128), nn.ReLU(inplace=True))

    def pool(self, maps: torch.Tensor) -> torch.Tensor:
        return self.dense(maps.mean(dim=(2, 3)))


class _BasicBlock(nn.Module):
    """Two 3×3 conv-BN layers with an identity (or 1×1 projection) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x), inplace=True)


class SmallResNet(_Network):
    """A small ResNet: a stem and three stages of one basic residual block each.

    The stem is a 3×3 stride-2 convolution with 32 channels; the stages have 32, 64
    and 128 channels, the last two with stride 2.
    """

    def __init__(self, in_channels, n_classes, *, dropout=0.2, n_extra=0):
        super().__init__(128, n_classes, dropout, n_extra)
        self.trunk = nn.Sequential(
            *_conv_bn(in_channels, 32, stride=2),
            _BasicBlock(32, 32, 1),
            _BasicBlock(32, 64, 2),
            _BasicBlock(64, 128, 2),
        )


#: Architecture name → network class.
NETWORKS: dict[str, type[_Network]] = {
    "lipnet": LipNet,
    "simple": SimpleNet,
    "resnet": SmallResNet,
}


def glorot_(layer: nn.Linear, generator: torch.Generator | None) -> None:
    """Glorot-uniform weights and zero bias for a linear layer, in place."""
    bound = (6.0 / (layer.in_features + layer.out_features)) ** 0.5
    with torch.no_grad():
        nn.init.uniform_(layer.weight, -bound, bound, generator=generator)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)


def _initialise(net: nn.Module, generator: torch.Generator | None) -> None:
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(
                m.weight, mode="fan_out", nonlinearity="relu", generator=generator
            )
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
            m.momentum = None  # cumulative average; see reset_batch_norm_statistics
            m.reset_running_stats()
        elif isinstance(m, nn.Linear):
            glorot_(m, generator)
    for m in net.modules():  # residual branches start as the identity
        if isinstance(m, _BasicBlock):
            nn.init.zeros_(m.bn2.weight)


def build_network(
    architecture: str,
    in_channels: int,
    n_classes: int,
    *,
    dropout: float = 0.2,
    n_extra: int = 0,
    generator: torch.Generator | None = None,
) -> _Network:
    """A freshly initialised network on the CPU (without touching the global RNG)."""
    with torch.device("meta"):
        net = NETWORKS[architecture](
            in_channels, n_classes, dropout=dropout, n_extra=n_extra
        )
    net = net.to_empty(device="cpu")
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        _initialise(net, generator)
    return net


def reset_batch_norm_statistics(net: nn.Module) -> None:
    """Forget the running statistics of every batch-norm layer.

    The layers average their batch statistics cumulatively (``momentum=None``), so
    resetting them at the start of every epoch makes the statistics used in
    evaluation the plain average over that epoch's batches: accurate after a single
    short epoch (an exponential average with momentum 0.1 still remembers its
    initial values after a few dozen steps), yet following the weights as they
    change from epoch to epoch.
    """
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = None
            m.reset_running_stats()


def set_dropout_generator(net: nn.Module, generator: torch.Generator | None) -> None:
    """Make every dropout layer of ``net`` draw from ``generator``."""
    for m in net.modules():
        if isinstance(m, SeededDropout):
            m.generator = generator
