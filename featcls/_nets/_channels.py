"""A network's first convolution fitted to images with another number of channels.

A network built (or pretrained) for three-channel images meets grey or four-channel
images. ``adapt_channels="sum"`` changes the first :class:`torch.nn.Conv2d` to take
the images' channels, by the rule of :func:`adapt_kernels`; ``"replicate"`` leaves
the network alone and gives it grey images as three identical channels (the
estimator does that when it decodes the images).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["adapt_first_conv", "adapt_kernels", "first_conv"]


def first_conv(net: nn.Module) -> tuple[str, nn.Conv2d] | None:
    """The name and layer of the first :class:`~torch.nn.Conv2d` of ``net``.

    The first in ``net.named_modules()`` order (the order the layers were
    assigned in), which is the first one applied in every common architecture.
    None if the network has no 2-D convolution.
    """
    for name, module in net.named_modules():
        if isinstance(module, nn.Conv2d):
            return name, module
    return None


def adapt_kernels(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """The first layer's kernels ``(out, c, kh, kw)`` refitted to ``in_channels``.

    Fewer channels than the kernels take: the kernel of network channel ``i`` is
    added to image channel ``i mod in_channels``. For grey images the kernels are
    summed over the network's channels, which computes exactly what the
    three-channel network computes on the grey image replicated to three channels.
    More channels than the kernels take: the existing kernels are kept and every
    extra channel gets their mean (a fourth stain is seen like the mean of the
    others).

    Examples
    --------
    >>> w = torch.arange(6.0).view(1, 3, 1, 2)
    >>> adapt_kernels(w, 1).flatten().tolist()
    [6.0, 9.0]
    >>> adapt_kernels(w, 4)[0, 3].flatten().tolist()
    [2.0, 3.0]
    """
    c = weight.shape[1]
    if in_channels == c:
        return weight
    if in_channels < c:
        out = weight.new_zeros((weight.shape[0], in_channels, *weight.shape[2:]))
        for i in range(c):
            out[:, i % in_channels] += weight[:, i]
        return out
    mean = weight.mean(dim=1, keepdim=True)
    extra = mean.expand(-1, in_channels - c, *weight.shape[2:])
    return torch.cat([weight, extra], dim=1)


def adapt_first_conv(net: nn.Module, in_channels: int) -> str | None:
    """Replace ``net``'s first convolution by one that takes ``in_channels``.

    Its kernels are refitted by :func:`adapt_kernels`; stride, padding, dilation and
    bias are kept. Returns the layer's name, or None if it already takes
    ``in_channels``.

    Raises
    ------
    ValueError
        If the network has no 2-D convolution or its first one is grouped (a
        depthwise stem cannot be refitted).
    """
    found = first_conv(net)
    if found is None:
        raise ValueError(
            f"The network has no torch.nn.Conv2d layer whose input channels could be "
            f"adapted to the images' {in_channels} channel(s)."
        )
    name, conv = found
    if conv.in_channels == in_channels:
        return None
    if conv.groups != 1:
        raise ValueError(
            f"The network's first convolution '{name}' is grouped (groups="
            f"{conv.groups}); its {conv.in_channels} input channels cannot be adapted "
            f"to the images' {in_channels}. Build the network for {in_channels} "
            "channel(s)."
        )
    new = nn.Conv2d(
        in_channels,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        bias=conv.bias is not None,
        padding_mode=conv.padding_mode,
        device=conv.weight.device,
        dtype=conv.weight.dtype,
    )
    with torch.no_grad():
        new.weight.copy_(adapt_kernels(conv.weight.detach(), in_channels))
        if conv.bias is not None:
            new.bias.copy_(conv.bias.detach())
    new.weight.requires_grad_(conv.weight.requires_grad)
    parent, _, child = name.rpartition(".")
    setattr(net.get_submodule(parent) if parent else net, child, new)
    return name
