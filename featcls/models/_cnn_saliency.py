"""Vanilla-gradient saliency and Grad-CAM of a few images, as small WebP data URIs."""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from featcls._images import QUALITY as IMAGE_QUALITY
from featcls._images import false_colour, lossy_uri
from featcls.models._cnn_data import luma

__all__ = ["MAX_SIDE", "QUALITY", "explain", "image_uri", "saliency_maps"]

#: Largest side of the thumbnails and overlays, in pixels.
MAX_SIDE = 64
#: Quality (0-100) of their lossy encoding.
QUALITY = IMAGE_QUALITY


def image_uri(image: np.ndarray, quality: int = QUALITY) -> str:
    """A lossy (WebP) data URI of a uint8 grey or BGR image; see :func:`lossy_uri`."""
    return lossy_uri(image, quality)


def _thumbnail(raw: np.ndarray, names=None) -> np.ndarray:
    """uint8 ``(C, S, S)`` → BGR ``(s, s, 3)`` with ``s <= MAX_SIDE``.

    Named channels (``names``, one per channel) give the false-colour composite
    of :func:`featcls._images.false_colour`; unnamed images other than grey and
    RGB, their mean over the channels.
    """
    image = raw.transpose(1, 2, 0)
    if names is not None and len(names) == image.shape[2]:
        image = false_colour(image.astype(np.float32) / 255.0, names)
    elif image.shape[2] == 3:
        image = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)
    elif image.shape[2] != 1:
        image = image.mean(axis=2).astype(np.uint8)[:, :, None]
    if image.shape[2] == 1:
        image = cv2.cvtColor(np.ascontiguousarray(image[:, :, 0]), cv2.COLOR_GRAY2BGR)
    side = image.shape[0]
    if side > MAX_SIDE:
        image = cv2.resize(image, (MAX_SIDE, MAX_SIDE), interpolation=cv2.INTER_AREA)
    return image


def _overlay(base: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """Blend a [0, 1] heat map (JET colours) half and half over a BGR thumbnail."""
    side = base.shape[0]
    heat = cv2.resize(
        heat.astype(np.float32), (side, side), interpolation=cv2.INTER_AREA
    )
    coloured = cv2.applyColorMap(
        np.clip(heat * 255 + 0.5, 0, 255).astype(np.uint8), cv2.COLORMAP_JET
    )
    grey = cv2.cvtColor(luma(base[:, :, ::-1])[:, :, None], cv2.COLOR_GRAY2BGR)
    return cv2.addWeighted(grey, 0.5, coloured, 0.5, 0.0)


def _scale(maps: np.ndarray, quantile: float) -> np.ndarray:
    top = np.quantile(maps.reshape(len(maps), -1), quantile, axis=1)
    return np.clip(maps / np.maximum(top, 1e-12)[:, None, None], 0.0, 1.0)


def _hooked_forward(net, x, extra, layer):
    """Logits of ``net`` and the output maps of ``layer`` (None: no layer).

    The maps are kept as the layer computed them: the network goes on with a copy,
    so that a later in-place operation (``ReLU(inplace=True)``) does not change
    them.
    """
    if layer is None:
        return None, net(x, extra)
    captured = []

    def keep(module, args, output):
        if not isinstance(output, torch.Tensor) or output.ndim != 4:
            raise ValueError(
                f"Grad-CAM needs maps (N, C, h, w) from its layer "
                f"{type(module).__name__}; it output "
                f"{getattr(output, 'shape', type(output).__name__)}."
            )
        output.retain_grad()
        captured.append(output)
        return output.clone()

    handle = layer.register_forward_hook(keep)
    try:
        logits = net(x, extra)
    finally:
        handle.remove()
    if not captured:
        raise ValueError(
            f"The Grad-CAM layer {type(layer).__name__} is not used by the network."
        )
    return captured[-1], logits


def saliency_maps(
    net: torch.nn.Module,
    x: torch.Tensor,
    targets: torch.Tensor,
    extra: torch.Tensor | None = None,
    layer: torch.nn.Module | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Vanilla-gradient saliency and Grad-CAM of a batch, as ``(N, H, W)`` arrays.

    One forward and one backward pass (in eval mode) of the target logits give both:
    the gradient with respect to the (normalised) input pixels, its absolute value
    maximised over channels (Simonyan et al. 2014), and Grad-CAM on a
    convolutional layer's output maps: the maps weighted by their spatially
    averaged gradients, summed, rectified (Selvaraju et al. 2017) and upsampled
    bilinearly to the input size. Neither is scaled. The network's parameters keep
    no gradient.

    The layer is ``layer`` (its output maps are caught by a forward hook), or,
    when it is None, the built-in networks' last convolutional block (their
    ``features``); a network without ``features`` then has no Grad-CAM (None).
    """
    was_training = net.training
    net.eval()
    try:
        with torch.enable_grad():
            x = x.detach().float().clone().requires_grad_(True)
            if layer is None and hasattr(net, "features"):
                maps = net.features(x)
                maps.retain_grad()
                logits = net.classify(net.pool(maps), extra)
            else:
                maps, logits = _hooked_forward(net, x, extra, layer)
            logits.float().gather(1, targets.view(-1, 1)).sum().backward()
        grad = x.grad.abs().amax(dim=1).cpu().numpy()
        cam = None
        if maps is not None:
            weights = maps.grad.mean(dim=(2, 3), keepdim=True)
            cam = F.relu((weights * maps).sum(dim=1, keepdim=True)).detach().float()
            cam = (
                F.interpolate(
                    cam, size=x.shape[-2:], mode="bilinear", align_corners=False
                )[:, 0]
                .cpu()
                .numpy()
            )
    finally:
        net.zero_grad(set_to_none=True)
        net.train(was_training)
    return grad, cam


def explain(
    net: torch.nn.Module,
    x: torch.Tensor,
    raw: np.ndarray,
    targets: torch.Tensor,
    items: list[dict],
    extra: torch.Tensor | None = None,
    layer: torch.nn.Module | None = None,
    *,
    channel_names=None,
) -> tuple[list[dict], list[dict]]:
    """Vanilla-gradient saliency and Grad-CAM overlays of a few images.

    The maps of :func:`saliency_maps`, each scaled to ``[0, 1]`` per image and laid
    over a thumbnail of the input.

    Parameters
    ----------
    net : the network (``features``, ``pool`` and ``classify`` as in ``_cnn_nets``)
    x : normalised input batch on the net's device
    raw : the same images as uint8 ``(N, C, S, S)``
    targets : class index explained for each image
    items : per image, the metadata to copy into both lists (index, labels)
    extra : extra inputs of a fusion network
    layer : the layer Grad-CAM weighs (see :func:`saliency_maps`)
    channel_names : the names of the images' channels, or None
        Named channels are shown as a false-colour composite
        (:func:`featcls._images.false_colour`).

    Returns
    -------
    saliency, gradcam : lists of dict
        ``items`` plus ``image``, a data URI (:func:`image_uri`, at most
        :data:`MAX_SIDE` px a side) of the saliency overlay (and, for ``saliency``,
        ``input``: the input thumbnail) or of the Grad-CAM overlay. Each image is
        stored once: the Grad-CAM overlay of ``saliency[i]`` is ``gradcam[i]``.
        ``gradcam`` is empty for a network without a Grad-CAM layer.
    """
    grad, cam = saliency_maps(net, x, targets, extra, layer)
    grad = _scale(grad, 0.99)
    cam = None if cam is None else _scale(cam, 1.0)
    saliency, gradcam = [], []
    for i, item in enumerate(items):
        thumb = _thumbnail(raw[i], channel_names)
        saliency.append(
            {
                **item,
                "image": image_uri(_overlay(thumb, grad[i])),
                "input": image_uri(thumb),
            }
        )
        if cam is not None:
            gradcam.append({**item, "image": image_uri(_overlay(thumb, cam[i]))})
    return saliency, gradcam
