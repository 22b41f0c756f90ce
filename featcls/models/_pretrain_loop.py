"""The epochs of self-supervised pretraining of a network, resumable per epoch.

:func:`pretrain_network` trains any network with an ``embed(x) -> (N, D)``
method (the built-in networks, :class:`~featcls.models._cnn_user.UserNetwork`)
by VICReg (:mod:`featcls.models._pretrain_vicreg`) on a uint8 image tensor, in
place: two views of every image per step, drawn on the device by
:func:`~featcls.models.random_augment`, through the network and a projector that
is discarded afterwards. Used by :func:`featcls.models.pretrain` (a backbone
file, resumable after each epoch) and by ``CNNClassifier(pretrain=...)`` (inside
a fit, on its own training images).
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Callable

import numpy as np

from featcls.models._cnn_batches import batches
from featcls.models._cnn_device import import_torch
from featcls.models._cnn_finetune import FINAL_LR_FRACTION
from featcls.models._cnn_inputs import network_inputs
from featcls.models._cnn_nets import (
    reset_batch_norm_statistics,
    set_dropout_generator,
)
from featcls.models._pretrain_params import PretrainSettings
from featcls.models._pretrain_vicreg import build_projector, vicreg_loss

__all__ = ["TERMS", "learning_rate", "pretrain_network"]

#: The terms of the loss, in the order of the history's columns.
TERMS = ("invariance", "variance", "covariance")
#: Share of the steps with a linear learning-rate warm-up.
WARMUP_FRACTION = 0.1
_GENERATORS = ("shuffle", "augment", "dropout")


def learning_rate(step: int, total: int, lr: float) -> float:
    """The rate at ``step`` of ``total``: linear warm-up, then cosine to 1 % of lr."""
    warmup = max(1, math.ceil(WARMUP_FRACTION * total))
    if step < warmup:
        return lr * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return lr * (
        FINAL_LR_FRACTION + (1 - FINAL_LR_FRACTION) * 0.5 * (1 + math.cos(math.pi * t))
    )


def _cpu_state(module) -> dict:
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


def _autocast(precision: str, device):
    torch = import_torch()
    if precision == "bfloat16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def pretrain_network(
    net,
    images,
    mean,
    std,
    *,
    settings: PretrainSettings,
    device,
    precision: str,
    seed: int,
    progress: bool = False,
    resume: dict | None = None,
    on_epoch_end: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Pretrain ``net`` (in place) by VICReg on ``images``; its history per epoch.

    Parameters
    ----------
    net : torch.nn.Module
        A network with ``embed(x) -> (N, D)`` and ``embedding_dim``, on ``device``.
    images : Tensor of uint8, shape (N, C, S, S)
        The images, on the CPU or on ``device``.
    mean, std : Tensor, shape (1, C, 1, 1)
        The normalisation of the [0, 1] pixels, on ``device``.
    settings : PretrainSettings
    device : torch.device
    precision : {"float32", "bfloat16"}
        Compute precision of the forward pass (the loss is float32).
    seed : int
        Seeds the projector's initialisation, the shuffling, the views and
        dropout (generators of their own; torch's global one is not used).
    progress : bool
        A tqdm bar of the steps on stderr.
    resume : dict, optional
        A state passed to ``on_epoch_end`` by an earlier run with the same
        arguments: training continues after its epoch and ends with the weights
        of an uninterrupted run.
    on_epoch_end : callable, optional
        Called after every epoch with the state to resume from: ``epoch``,
        ``history``, the ``net``'s, the ``projector``'s and the ``optimizer``'s
        state dicts and the ``generators``' states (CPU tensors and plain data).

    Returns
    -------
    list of dict
        Per epoch: ``epoch``, ``loss`` and the loss's :data:`TERMS` (means over
        the epoch's images).
    """
    from tqdm.auto import tqdm

    torch = import_torch()
    n = len(images)
    seeds = np.random.SeedSequence(seed).generate_state(4)
    projector = build_projector(
        int(net.embedding_dim),
        settings.method_params["projector"],
        torch.Generator().manual_seed(int(seeds[0])),
    ).to(device)
    generators = {
        "shuffle": torch.Generator().manual_seed(int(seeds[1])),
        "augment": torch.Generator(device=device).manual_seed(int(seeds[2])),
        "dropout": torch.Generator(device=device).manual_seed(int(seeds[3])),
    }
    set_dropout_generator(net, generators["dropout"])
    trainable = [p for m in (net, projector) for p in m.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        trainable, lr=settings.lr, weight_decay=settings.weight_decay, foreach=True
    )
    per_epoch = len(batches(np.arange(n), settings.batch_size))
    total = settings.epochs * per_epoch
    history: list[dict] = []
    done = 0
    if resume is not None:
        net.load_state_dict(resume["net"])
        projector.load_state_dict(resume["projector"])
        optimizer.load_state_dict(resume["optimizer"])
        for name in _GENERATORS:
            generators[name].set_state(resume["generators"][name])
        history, done = [dict(r) for r in resume["history"]], int(resume["epoch"])
    weights = {k: settings.method_params[k] for k in TERMS}
    options = dict(settings.augment)
    with tqdm(
        total=total,
        initial=done * per_epoch,
        desc=f"pretrain ({settings.method})",
        unit="step",
        disable=not progress,
        file=sys.stderr,
    ) as bar:
        for epoch in range(done + 1, settings.epochs + 1):
            net.train()
            projector.train()
            reset_batch_norm_statistics(net)
            order = torch.randperm(n, generator=generators["shuffle"]).numpy()
            sums = torch.zeros(4, device=device)
            for b, idx in enumerate(batches(order, settings.batch_size)):
                rate = learning_rate((epoch - 1) * per_epoch + b, total, settings.lr)
                for group in optimizer.param_groups:
                    group["lr"] = rate
                index = torch.from_numpy(idx).to(images.device)
                batch = images[index]
                views = torch.cat(
                    [
                        network_inputs(batch, mean, std, generators["augment"], options)
                        for _ in range(2)
                    ]
                )
                with _autocast(precision, device):
                    z = projector(net.embed(views))
                loss, terms = vicreg_loss(*z.float().chunk(2), **weights)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                sums += torch.cat([loss.detach()[None], terms]) * len(idx)
                bar.update(1)
            means = (sums / n).cpu().tolist()
            history.append(
                {
                    "epoch": epoch,
                    "loss": means[0],
                    **dict(zip(TERMS, means[1:], strict=True)),
                }
            )
            bar.set_postfix(loss=f"{means[0]:.4f}")
            if on_epoch_end is not None:
                on_epoch_end(
                    {
                        "epoch": epoch,
                        "history": [dict(r) for r in history],
                        "net": _cpu_state(net),
                        "projector": _cpu_state(projector),
                        "optimizer": optimizer.state_dict(),
                        "generators": {
                            k: generators[k].get_state() for k in _GENERATORS
                        },
                    }
                )
    set_dropout_generator(net, None)
    net.eval()
    return history
