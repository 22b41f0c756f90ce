"""VICReg: the loss and the projector of self-supervised pretraining.

Variance-Invariance-Covariance Regularization (Bardes, Ponce and LeCun, ICLR
2022). Two augmented views of each image go through the network and a projector
(an MLP); the loss on their projections ``z1``, ``z2`` (``(B, d)`` each) is

* **invariance**: the mean squared distance between the two views' projections;
* **variance**: a hinge keeping the standard deviation of every dimension over the
  batch at 1 or more, ``mean(relu(1 - sqrt(var + 1e-4)))``, for each view (the
  term that prevents the collapse to a constant);
* **covariance**: the sum of the squared off-diagonal covariances of the
  dimensions, divided by ``d``, for each view (decorrelates the dimensions).

weighted ``λ · invariance + μ · variance + ν · covariance`` (25, 25 and 1 by
default). No negative pairs and no momentum encoder: it trains with the small
batches a CPU affords, where SimCLR needs large batches for its negatives and
BYOL a second, averaged network.
"""

from __future__ import annotations

from featcls.models._cnn_device import import_torch
from featcls.models._cnn_nets import glorot_

__all__ = ["build_projector", "vicreg_loss"]


def build_projector(in_dim: int, widths: tuple[int, ...], generator):
    """The projector: ``Linear → BatchNorm1d → ReLU`` per width, the last Linear only.

    As VICReg's expander; initialised (Glorot-uniform, zero bias) from
    ``generator`` only, on the CPU.
    """
    torch = import_torch()
    nn = torch.nn
    layers: list = []
    dims = [in_dim, *widths]
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
        linear = nn.Linear(a, b, device="meta").to_empty(device="cpu")
        glorot_(linear, generator)
        layers.append(linear)
        if i < len(widths) - 1:
            layers += [nn.BatchNorm1d(b), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


def _off_diagonal_squares(cov):
    return cov.pow(2).sum() - cov.diagonal().pow(2).sum()


def vicreg_loss(z1, z2, *, invariance: float, variance: float, covariance: float):
    """The VICReg loss of two views' projections ``(B, d)``, in float32.

    Returns the weighted loss (a scalar tensor) and its three unweighted terms
    (a tensor of 3: invariance, variance, covariance), detached.
    """
    torch = import_torch()
    F = torch.nn.functional
    z1, z2 = z1.float(), z2.float()
    n, d = z1.shape
    sim = F.mse_loss(z1, z2)
    z1 = z1 - z1.mean(dim=0)
    z2 = z2 - z2.mean(dim=0)
    std1 = torch.sqrt(z1.var(dim=0) + 1e-4)
    std2 = torch.sqrt(z2.var(dim=0) + 1e-4)
    var = (F.relu(1 - std1).mean() + F.relu(1 - std2).mean()) / 2
    cov1 = (z1.T @ z1) / (n - 1)
    cov2 = (z2.T @ z2) / (n - 1)
    cov = (_off_diagonal_squares(cov1) + _off_diagonal_squares(cov2)) / d
    loss = invariance * sim + variance * var + covariance * cov
    return loss, torch.stack([sim, var, cov]).detach()
