"""Fine-tuning: the head's and the backbone's learning rates, and a frozen backbone.

The *head* is the network's final linear layer (``net.head``: the built-in
networks' and :class:`~featcls.models._cnn_user.UserNetwork`'s); the *backbone*
is every other parameter.
"""

from __future__ import annotations

import math

from featcls.models._cnn_device import import_torch

__all__ = ["Backbone", "lr_schedule", "param_groups"]

#: The cosine decay ends at this fraction of each group's learning rate.
FINAL_LR_FRACTION = 0.01


def _split(net) -> tuple[list, list]:
    head = {id(p) for p in net.head.parameters()}
    params = list(net.parameters())
    return [p for p in params if id(p) in head], [
        p for p in params if id(p) not in head
    ]


def param_groups(net, lr: float, backbone_lr: float):
    """The parameters of ``net`` for the optimiser.

    All in one group when ``backbone_lr`` is 1; otherwise the head's at ``lr`` and
    the backbone's at ``lr * backbone_lr``.
    """
    if backbone_lr == 1:
        return net.parameters()
    head, backbone = _split(net)
    return [
        {"params": head, "lr": lr},
        {"params": backbone, "lr": lr * backbone_lr},
    ]


def lr_schedule(optimizer, total_steps: int, lr: float):
    """A per-step cosine decay of every group's learning rate to 1 % of it.

    One group: torch's ``CosineAnnealingLR`` down to ``0.01 * lr``. Several: the
    same curve (in closed form) for each group, relative to its own rate.
    """
    torch = import_torch()
    if len(optimizer.param_groups) == 1:
        return torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=total_steps, eta_min=lr * FINAL_LR_FRACTION
        )

    def factor(step: int) -> float:
        t = min(step, total_steps) / max(total_steps, 1)
        return FINAL_LR_FRACTION + (1 - FINAL_LR_FRACTION) * 0.5 * (
            1 + math.cos(math.pi * t)
        )

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class Backbone:
    """Freezes and unfreezes the backbone of ``net`` (everything but ``net.head``).

    Frozen: its parameters that were trainable stop requiring gradients (the
    optimiser skips them) and its batch-norm layers run in eval mode, keeping their
    running statistics. Parameters the user had frozen stay frozen.
    """

    def __init__(self, net):
        self.net = net
        self.params = [p for p in _split(net)[1] if p.requires_grad]
        self.frozen = False

    def freeze(self, frozen: bool) -> None:
        """Freeze (True) or unfreeze (False) the backbone's trainable parameters."""
        for p in self.params:
            p.requires_grad_(not frozen)
        self.frozen = frozen

    def batch_norm_eval(self) -> None:
        """Put the backbone's batch-norm layers in eval mode (call after train())."""
        torch = import_torch()
        head = set(map(id, self.net.head.modules()))
        for m in self.net.modules():
            if (
                isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
                and id(m) not in head
            ):
                m.eval()
