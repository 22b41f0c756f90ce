"""pretrain(): self-supervised pretraining of a network on images without labels."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from sklearn.utils._param_validation import validate_parameter_constraints

from featcls import __version__
from featcls._files import atomic_path
from featcls._nets._pretrained import PretrainedBackbone
from featcls._validation import RANDOM_STATE
from featcls.data import as_sample_table
from featcls.models._cnn_data import InputVariant, decode_images
from featcls.models._cnn_device import (
    import_torch,
    num_threads,
    resolve_device,
    resolve_precision,
)
from featcls.models._cnn_inputs import channel_stats
from featcls.models._cnn_params import CNN_CONSTRAINTS, check_module_spec
from featcls.models._pretrain_loop import pretrain_network
from featcls.models._pretrain_params import (
    IMAGE_KEY,
    PRETRAIN_DEFAULTS,
    image_keys,
    resolve_settings,
)

__all__ = ["pretrain"]

#: Images up to this many bytes are moved to the GPU once; larger sets per batch.
_ON_DEVICE_BYTES = 2**31
_PARTIAL_FORMAT = "featcls-pretrain-partial"
_CONSTRAINTS = {
    **{
        name: CNN_CONSTRAINTS[name]
        for name in (
            "architecture",
            "module",
            "input_size",
            "channels",
            "crop",
            "margin",
            "mask_out",
            "precision",
            "n_threads",
        )
    },
    "out": [str, os.PathLike, None],
    "device": [str],
    "random_state": [RANDOM_STATE, None],
    "progress": ["boolean", None],
    "checkpoint": [str, os.PathLike, "boolean", None],
}


def _network(architecture: str, module: Any, channels: int, size: int, seed: int):
    """The network to pretrain, on the CPU, and its description for the file."""
    torch = import_torch()
    generator = torch.Generator().manual_seed(seed)
    if module is None:
        from featcls.models._cnn_nets import build_network

        net = build_network(architecture, channels, 2, dropout=0.0, generator=generator)
        return net, {"architecture": architecture}
    from featcls.models._cnn_user import build_user_network, check_embedding

    net, params, _ = build_user_network(
        module, in_channels=channels, n_classes=2, generator=generator, seed=seed
    )
    check_embedding(net, channels, size)
    return net, {
        "module": params["module"],
        "module_class": params["module_class"],
        "head": params["head"],
    }


def _headless_state(net, own: bool) -> dict:
    """The weights without the classifier head, on the CPU (see the file format)."""
    state = (net.net if own else net).state_dict()
    return {
        k: v.detach().cpu().clone()
        for k, v in state.items()
        if own or not k.startswith("head.")
    }


def _partial_path(out, checkpoint) -> Path | None:
    if checkpoint is False or (checkpoint is None and out is None):
        return None
    if checkpoint is None or checkpoint is True:
        if out is None:
            raise ValueError(
                "pretrain(checkpoint=True) keeps its state beside 'out'; give 'out' "
                "(the backbone file), or a checkpoint path."
            )
        out = Path(out)
        return out.parent / f".{out.name}.partial"
    return Path(checkpoint)


def _read_partial(path: Path | None, fingerprint: str) -> dict | None:
    """The state a killed run with the same fingerprint left at ``path``, or None."""
    if path is None or not path.is_file():
        return None
    torch = import_torch()
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        payload = None
    if (
        isinstance(payload, dict)
        and payload.get("format") == _PARTIAL_FORMAT
        and payload.get("fingerprint") == fingerprint
    ):
        return payload
    warnings.warn(
        f"pretrain: '{path}' was left by a run with other settings or images (or "
        "is not a pretraining checkpoint); starting afresh and replacing it.",
        UserWarning,
        stacklevel=3,
    )
    return None


def _fingerprint(**facts) -> str:
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def pretrain(
    X,
    *,
    out: str | os.PathLike | None = None,
    architecture: str = "lipnet",
    module: Any = None,
    method: str = "vicreg",
    method_params: dict | None = None,
    epochs: int = PRETRAIN_DEFAULTS["epochs"],
    batch_size: int = PRETRAIN_DEFAULTS["batch_size"],
    input_size: int = 96,
    lr: float = PRETRAIN_DEFAULTS["lr"],
    weight_decay: float = PRETRAIN_DEFAULTS["weight_decay"],
    augment: bool | dict = True,
    channels: str | None = None,
    crop: bool = False,
    margin: float = 0.1,
    mask_out: bool = False,
    device: str = "auto",
    precision: str = "auto",
    n_threads: int | None = None,
    random_state: int | None = 0,
    progress: bool | None = None,
    checkpoint: str | os.PathLike | bool | None = None,
) -> PretrainedBackbone:
    """Pretrain a network on images without labels (self-supervised, VICReg).

    The network learns to map two augmented views of the same image to the same
    embedding while keeping the embeddings of different images spread out and
    their dimensions decorrelated: VICReg (Bardes, Ponce and LeCun 2022, see
    :mod:`featcls.models._pretrain_vicreg`). It needs no labels, so it can use
    every image you have, labelled or not; the backbone it returns initialises
    :class:`CNNClassifier` (``weights=``) and feeds the ``embedding`` feature
    family (``EmbeddingFeatures(weights=...)``).

    **Why VICReg.** Its loss needs neither negative pairs (SimCLR's contrastive
    loss learns from the other images of the batch, and needs batches of
    hundreds to thousands of images) nor a second, momentum-averaged network
    (BYOL, DINO): one network, batches of a few dozen images and a CPU are
    enough, and its variance term says outright when the embeddings collapse.

    **Views.** Each step draws two views of every image of the batch on the
    device with :func:`random_augment` (each image and view its own draw), by
    default with the stronger settings of
    :data:`~featcls.models._pretrain_params.PRETRAIN_AUGMENT` (crops of 40-100 %
    of the side, flips and 90° rotations, brightness ± 0.3, contrast ± 40 %,
    noise up to σ = 0.05); a dict changes some of them, e.g.
    ``augment={"brightness": 0, "contrast": 0}`` where brightness carries the
    label. Both views go through the network in one batch, then through a
    projector (:data:`~featcls.models._pretrain_params.VICREG_DEFAULTS`: three
    512-wide layers) that is discarded afterwards: the backbone is the network
    up to its embedding (the input of its classifier head).

    **Images.** Decoded, prepared and resized as :class:`CNNClassifier` does
    (``input_size``, ``channels``, ``crop``, ``margin``, ``mask_out``); labels,
    if any, are not used; masks only for ``crop`` and ``mask_out``. Inputs are
    normalised per channel with the images' mean and standard deviation, which
    the file records.

    **Training.** AdamW, a linear warm-up over the first 10 % of the steps and a
    cosine decay to 1 % of ``lr``, batch-norm statistics averaged over the last
    epoch, bfloat16 autocast where the device computes it natively
    (``precision="auto"``). Every draw (initialisation, shuffling, views,
    dropout) comes from generators seeded by ``random_state``: the same call on
    the same machine gives the same weights.

    **Resuming.** With ``out``, the state after every epoch (weights, optimiser,
    generators) is kept in a hidden file beside it, ``.NAME.partial``: the same
    call again after a crash or a kill continues after the last finished epoch
    and ends with the weights of an uninterrupted run; the file is removed once
    the backbone is written. A partial file of other settings or images is
    replaced (with a warning).

    **What the file records.** The architecture (or your network's class and
    spec string), the input channels and size, the normalisation, the input
    variant, the method and its parameters, the augmentation, the training
    settings and loss history, the featcls version and the content key of every
    image it saw (:data:`IMAGE_KEY`). :func:`featcls.compare` reads those keys
    and reports how many of the evaluated images the backbone saw (see
    ``pretrain="fold"`` there, which avoids it).

    Parameters
    ----------
    X : sample table, (N, H, W[, C]) array or list of paths
        At least 2 images.
    out : path, optional
        Where to write the backbone (a ``.pt`` file, read with
        ``torch.load(weights_only=True)``). None: returned only.
    architecture : {"lipnet", "simple", "resnet"}, default="lipnet"
        The built-in network; ignored when ``module`` is given.
    module : torch.nn.Module, callable, str or None, default=None
        Your own network, as for :class:`CNNClassifier` (its final Linear is its
        classifier head and is not part of the backbone).
    method : {"vicreg"}, default="vicreg"
    method_params : dict, optional
        VICReg's ``invariance``, ``variance`` and ``covariance`` weights (25, 25,
        1) and its ``projector`` widths ((512, 512, 512)).
    epochs : int, default=30
    batch_size : int, default=64
        Images per step (each gives two views), at least 2.
    input_size : int, default=96
        Side of the square network input, in pixels (at least 8). Fine-tune at
        the same size.
    lr : float, default=1e-3
        Peak learning rate of AdamW.
    weight_decay : float, default=1e-4
    augment : True or dict, default=True
        The views' augmentation (see above). False is refused: two identical
        views teach nothing.
    channels, crop, margin, mask_out
        The input variant, as for :class:`CNNClassifier`.
    device : {"auto", "cpu", "cuda", "cuda:<index>"}, default="auto"
    precision : {"auto", "float32", "bfloat16"}, default="auto"
    n_threads : int or None, default=None
        Torch and decoding threads; None leaves torch's setting alone.
    random_state : int or None, default=0
        None draws a fresh seed (a resumed run keeps the one it drew).
    progress : bool or None, default=None
        A progress bar of the steps on stderr (None: on a terminal).
    checkpoint : path, bool or None, default=None
        Where the state after each epoch is kept: None or True beside ``out``
        (none without ``out``), a path there, False nowhere.

    Returns
    -------
    PretrainedBackbone
        The weights (``state_dict``) and the facts (``info``); ``path`` is
        ``out``.

    Raises
    ------
    ValueError
        For an invalid parameter (named), fewer than 2 images, an unknown method
        or a network without an embedding.

    References
    ----------
    A. Bardes, J. Ponce, Y. LeCun, "VICReg: Variance-Invariance-Covariance
    Regularization for Self-Supervised Learning", ICLR 2022.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 255, size=(8, 24, 24), dtype=np.uint8)
    >>> backbone = pretrain(X, epochs=1, batch_size=4, input_size=24, device="cpu")
    >>> backbone.info["method"], backbone.info["n_images"], len(backbone.image_keys)
    ('vicreg', 8, 8)
    """
    params = {k: v for k, v in locals().items() if k in _CONSTRAINTS}
    validate_parameter_constraints(_CONSTRAINTS, params, caller_name="pretrain")
    if isinstance(module, str):
        check_module_spec(module)
    settings = resolve_settings(
        {
            "method": method,
            "method_params": method_params,
            "epochs": epochs,
            "batch_size": batch_size,
            "lr": lr,
            "weight_decay": weight_decay,
            "augment": augment,
        },
        "pretrain",
    )
    if X is None or (hasattr(X, "__len__") and len(X) == 0):
        raise ValueError("pretrain needs images: X has 0 images.")
    table = as_sample_table(X)
    if len(table) < 2:
        raise ValueError(
            f"pretrain needs at least 2 images (VICReg's variance term is taken "
            f"over a batch); X has {len(table)}."
        )
    torch = import_torch()
    try:
        resolved = resolve_device(SimpleNamespace(device=device))
    except RuntimeError as exc:
        raise ValueError(
            "The 'device' parameter of pretrain must be 'auto', 'cpu', 'cuda' or "
            f"'cuda:<index>'. Got {device!r} instead."
        ) from exc
    compute = resolve_precision(SimpleNamespace(precision=precision), resolved)
    variant = InputVariant(
        channels=channels,
        crop=bool(crop),
        margin=float(margin),
        mask_out=bool(mask_out),
    )
    partial = _partial_path(out, checkpoint)
    with num_threads(n_threads):
        images = decode_images(
            table, int(input_size), n_jobs=n_threads, variant=variant, owner="pretrain"
        )
        keys = image_keys(table)
        c = int(images.shape[1])
        seeds = [int(s) for s in np.random.SeedSequence(random_state).generate_state(2)]
        net, network = _network(architecture, module, c, int(input_size), seeds[0])
        fingerprint = _fingerprint(
            featcls=__version__,
            settings=settings.describe(),
            network=network,
            in_channels=c,
            input_size=int(input_size),
            variant=dataclasses.asdict(variant),
            precision=compute,
            device=resolved.type,
            random_state=random_state,
            images=hashlib.sha256("\n".join(keys).encode()).hexdigest(),
        )
        found = _read_partial(partial, fingerprint)
        if found is not None:  # its weights, optimiser and draws replace these
            seeds = [int(s) for s in found["seeds"]]
        net = net.to(memory_format=torch.channels_last).to(resolved)
        mean, std = channel_stats(images)
        data = torch.from_numpy(images)
        if resolved.type != "cpu" and data.nbytes <= _ON_DEVICE_BYTES:
            data = data.to(resolved)

        def keep(state: dict) -> None:
            payload = {
                "format": _PARTIAL_FORMAT,
                "fingerprint": fingerprint,
                "seeds": seeds,
                "state": state,
            }
            with atomic_path(partial) as tmp:
                torch.save(payload, tmp)

        history = pretrain_network(
            net,
            data,
            torch.as_tensor(mean, device=resolved).view(1, -1, 1, 1),
            torch.as_tensor(std, device=resolved).view(1, -1, 1, 1),
            settings=settings,
            device=resolved,
            precision=compute,
            seed=seeds[1],
            progress=sys.stderr.isatty() if progress is None else bool(progress),
            resume=None if found is None else found["state"],
            on_epoch_end=None if partial is None else keep,
        )
    own = module is not None
    described = settings.describe()
    backbone = PretrainedBackbone(
        state_dict=_headless_state(net, own),
        info={
            "featcls": __version__,
            "network": network,
            "in_channels": c,
            "input_size": int(input_size),
            "embedding_dim": int(net.embedding_dim),
            "channel_mean": [float(v) for v in mean],
            "channel_std": [float(v) for v in std],
            "variant": dataclasses.asdict(variant),
            "method": settings.method,
            "method_params": described["method_params"],
            "augment": described["augment"],
            "training": {
                "epochs": settings.epochs,
                "batch_size": settings.batch_size,
                "lr": settings.lr,
                "weight_decay": settings.weight_decay,
                "precision": compute,
                "device": resolved.type,
                "random_state": random_state,
                "seeds": seeds,
            },
            "history": history,
            "n_images": len(keys),
            "images": sorted(set(keys)),
            "image_key": IMAGE_KEY,
        },
    )
    if out is not None:
        backbone.save(out)
    if partial is not None:
        with contextlib.suppress(OSError):
            partial.unlink()
    return backbone
