"""Test-time augmentation: class probabilities averaged over the 8 dihedral views."""

from __future__ import annotations

from typing import Any

from featcls.models._cnn_device import import_torch

__all__ = ["dihedral_views", "tta_log_proba", "uses_tta"]


def uses_tta(est: Any) -> bool:
    """Whether ``est`` predicts with TTA.

    That is, ``tta`` is on and the network was trained on the flips and 90° rotations
    (``augment`` includes them).
    """
    options = dict(est.augment) if isinstance(est.augment, dict) else {}
    return bool(est.tta and options.get("dihedral", True) and est.augment is not False)


def dihedral_views(x):
    """The 8 flips and 90° rotations of a square (N, C, S, S) batch."""
    torch = import_torch()
    for k in range(4):
        turned = torch.rot90(x, k, dims=(2, 3)) if k else x
        for view in (turned, torch.flip(turned, dims=(3,))):
            yield view.contiguous(memory_format=torch.channels_last)


def tta_log_proba(net, x, extra, *, multilabel: bool = False):
    """Log of ``net``'s class probabilities averaged over the 8 views of ``x``.

    With ``multilabel``, the logits (log-odds) of each label's sigmoid probability
    averaged over the 8 views.
    """
    torch = import_torch()
    probs = 0.0
    for view in dihedral_views(x):
        logits = net(view, extra).float()
        probs = probs + (
            torch.sigmoid(logits) if multilabel else torch.softmax(logits, dim=1)
        )
    if multilabel:
        return torch.logit(probs.double() / 8.0).float()
    return torch.log(probs / 8.0)
