"""Deep features: the pooled activations of a network, per image (``embedding``).

Unlike the hand-crafted families it is computed on whole images in batches, by a
network: the extractor decodes and prepares a chunk of images in a worker and the
family runs them through the network together. It learns nothing from the data
(the network is given, never trained here), so it is extracted once and shared by
every fold, and cached like any feature: keyed by the images' content and a
SHA-256 fingerprint of the network's weights.
"""

from __future__ import annotations

import contextlib
import os
from numbers import Integral
from typing import Any

import cv2
import numpy as np
from sklearn.utils._param_validation import StrOptions

from featcls._policies import ARCHITECTURES
from featcls._validation import NumberInterval
from featcls.features._base import FeatureFamily

__all__ = ["EmbeddingFeatures"]


def _require_torch() -> None:
    """Import torch, or an ImportError that says how to install it."""
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "The 'embedding' feature family runs a network and needs PyTorch; "
            "install it with: pip install 'featcls[cnn]'."
        ) from exc


def network_input(image: np.ndarray, size: int) -> np.ndarray:
    """A float32 ``(H, W, C)`` image resized to ``(size, size, C)`` (area averaging).

    The aspect ratio is not kept, as for :class:`~featcls.models.CNNClassifier`.
    """
    if image.shape[:2] == (size, size):
        return image
    if image.shape[2] > 4:  # some OpenCV paths are limited to 4 channels
        planes = [
            cv2.resize(
                np.ascontiguousarray(image[:, :, c]),
                (size, size),
                interpolation=cv2.INTER_AREA,
            )
            for c in range(image.shape[2])
        ]
        return np.stack(planes, axis=2)
    out = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return out[:, :, None] if out.ndim == 2 else out


class EmbeddingFeatures(FeatureFamily):
    """The pooled activations of a network: deep features for the classical models.

    Per image, the network's activations before its classifier layer (or those of
    the layer ``layer``), averaged over space: for the usual network that ends in
    global average pooling and a linear classifier (ResNets, the built-in
    ``lipnet`` and ``resnet``), the global-average-pooled activations of its last
    convolutional block. Features ``0`` … ``D-1`` (zero-padded to one width), ``D``
    the width of the embedding. Fed to an SVM or XGBoost next to the hand-crafted
    families (``FeatureExtractor(families=["default", EmbeddingFeatures(...)])``,
    ``--features default,embedding`` on the command line), it is the
    "pretrained CNN features + SVM" baseline that is often the strongest cheap
    model (Donahue et al. 2014; Razavian et al. 2014).

    **The network.** ``weights`` names a featcls CNN model file (written by
    ``featcls train`` or :meth:`~featcls.models.CNNClassifier.save`: its network,
    input size and normalisation are used, and the embedding equals
    :meth:`~featcls.models.CNNClassifier.embed`; a model of your own network needs
    that network again as ``module``), a backbone file of
    :func:`featcls.models.pretrain` (``featcls pretrain``: its architecture, input
    size and normalisation are used likewise) or a plain state dict (``.pt``/``.pth``,
    read with ``torch.load(weights_only=True)``, or ``.safetensors``: no code in
    the file ever runs) loaded into ``module`` or, without it, into the built-in
    ``architecture``. Tensors are matched by name as for CNNClassifier's
    ``weights`` (wrapper prefixes such as ``module.`` or ``backbone.`` are
    stripped); one ``UserWarning`` lists what did not fit, and a file that fits
    nothing is refused. ``module`` is a :class:`torch.nn.Module` (a copy is
    used), a ``factory(in_channels, n_classes)`` or a ``"package.module:factory"``
    / ``"timm:NAME"`` spec, built for the input channels of the weights' first
    convolution (3 without weights); its classifier layer (an attribute ``fc``,
    ``classifier`` or ``head`` that is or holds a Linear, or a last Linear
    layer) is replaced by the identity, and a network without one gives its
    output. Outputs of shape ``(N, C, h, w)`` are averaged over space, tokens
    ``(N, L, D)`` over the tokens.

    **Input.** Each image is prepared by the extractor (its ``size``, ``crop``,
    ``margin``, ``mask_out``), keeps its own channels (the extractor's channel
    policy does not apply; a channel view of named channels does; an opaque
    alpha channel is dropped), is resized to ``input_size × input_size``
    (``cv2.INTER_AREA`` on the [0, 1] float image; the aspect ratio is not kept)
    and normalised per channel. Grey images are replicated to a network's three
    channels (exactly what CNNClassifier's ``adapt_channels="sum"`` computes),
    colour images become their luma for a one-channel network, and for any other
    channel count the first convolution is refitted by the sum rule
    (:func:`~featcls._nets._channels.adapt_kernels`). The mask is not used
    otherwise; an empty mask where ``crop`` or ``mask_out`` needs one gives NaN
    and a :class:`~featcls.exceptions.FeatureWarning` naming the sample.

    **A network's own input.** A featcls model file or a backbone of
    ``featcls pretrain`` records how its images were prepared: its channel
    policy (``channels="hsv"`` …) and named channels are applied here, in its
    order, and an image of such a variant is resized to ``input_size`` as it is
    prepared, before the channel policy, on the uint8 scale, as the CNN saw it.
    Its ``crop``, ``margin`` and ``mask_out`` must be the extractor's: other
    settings are refused at ``fit`` with the ones to give (``--crop --margin M
    --mask-out``), so the features never silently differ from the model's own
    embedding.

    **Computation.** In eval mode, without augmentation, in float32, through the
    network in batches of exactly ``batch_size`` images (the last one padded), so
    an image's embedding does not depend on the images batched with it: a
    re-run, a run from the cache and a run with other ``chunk_size`` or
    ``n_jobs`` give the same bits on the same machine. Memory is bounded by the
    extractor's ``chunk_size`` images per task.

    **No leakage, but mind where the network came from.** Nothing is fitted on
    the labels (or on the images), so inside cross-validation the features of a
    test fold depend on that image and the network only. If the network was
    trained (``featcls train``) on the same images, it has seen the labels of
    every test fold, and the cross-validated scores are optimistic: that is your
    choice to make, and to report. A backbone of ``featcls pretrain`` records the
    images it saw (without labels), and :func:`featcls.compare` states how many
    of the evaluated images are among them (``settings["pretrained_on"]``).

    Needs PyTorch (``pip install 'featcls[cnn]'``).

    Parameters
    ----------
    weights : str, path or None, default=None
        A featcls CNN model file or a state dict (see above).
    module : torch.nn.Module, callable, str or None, default=None
        Your own network (see above). ``weights`` or ``module`` is required,
        except inside ``compare(..., pretrain="fold")``, which pretrains
        ``module`` or ``architecture`` on each training fold and gives the
        family that backbone's weights.
    architecture : {"lipnet", "simple", "resnet"}, default="lipnet"
        The built-in network a plain state dict is loaded into when there is no
        ``module``.
    layer : str or None, default=None
        A layer by its name in ``named_modules()`` of the network (e.g.
        ``"trunk.8"``, ``"layer3"``): its output, pooled, instead of the input of
        the classifier.
    input_size : int or None, default=None
        Side of the square network input, in pixels (at least 8). None: the
        model file's input size; 96 for a built-in architecture (CNNClassifier's
        default); 224 for your own network.
    normalize : "auto", "imagenet", (mean, std) or None, default="auto"
        Per-channel input normalisation on the [0, 1] scale: ``"auto"`` is the
        model file's own statistics, ImageNet's for any other three-channel
        network and none for other networks; ``(mean, std)`` gives 1 value, or
        one per network channel, each.
    batch_size : int, default=32
        Images per forward pass.
    device : {"auto", "cpu", "cuda", "cuda:<index>"}, default="auto"
        ``"auto"`` uses CUDA when available; on a GPU the chunks run one after
        another in this process.
    n_threads : int or None, default=None
        Torch threads for the forward passes; None leaves torch's setting alone
        (joblib's workers get their share of the cores).

    Attributes
    ----------
    network_sha256_ : str
        Fingerprint of the network fitted with: its weights, input size,
        channels, normalisation and layer. A transform with another network
        (a replaced weights file) is refused.

    References
    ----------
    J. Donahue et al., "DeCAF: A Deep Convolutional Activation Feature for
    Generic Visual Recognition", ICML 2014. A. S. Razavian, H. Azizpour, J.
    Sullivan, S. Carlsson, "CNN Features off-the-shelf: an Astounding Baseline
    for Recognition", CVPR Workshops 2014.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from featcls import FeatureExtractor
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
    >>> rng = np.random.default_rng(0)
    >>> images = rng.integers(0, 255, (5, 40, 40), dtype=np.uint8)
    >>> deep = EmbeddingFeatures(module=net, input_size=32, device="cpu")
    >>> fx = FeatureExtractor(families=["shape", deep]).fit(images)
    >>> [n for n in fx.get_feature_names_out() if n.startswith("embedding")]
    ['embedding__0', 'embedding__1', 'embedding__2', 'embedding__3']
    >>> fx.transform(images).shape
    (5, 15)
    """

    name = "embedding"
    per_channel = False
    batched = True
    _parameter_constraints: dict = {
        "weights": [str, os.PathLike, None],
        "module": [callable, str, None],
        "architecture": [StrOptions(set(ARCHITECTURES))],
        "layer": [str, None],
        "input_size": [NumberInterval(Integral, 8, None, closed="left"), None],
        "normalize": [StrOptions({"auto", "imagenet"}), tuple, list, None],
        "batch_size": [NumberInterval(Integral, 1, None, closed="left")],
        "device": [str],
        "n_threads": [NumberInterval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        *,
        weights: str | os.PathLike | None = None,
        module: Any = None,
        architecture: str = "lipnet",
        layer: str | None = None,
        input_size: int | None = None,
        normalize: Any = "auto",
        batch_size: int = 32,
        device: str = "auto",
        n_threads: int | None = None,
    ):
        self.weights = weights
        self.module = module
        self.architecture = architecture
        self.layer = layer
        self.input_size = input_size
        self.normalize = normalize
        self.batch_size = batch_size
        self.device = device
        self.n_threads = n_threads

    def _check_network(self) -> None:
        # Checked when the network is loaded, not when the family is built: inside
        # compare(..., pretrain="fold") a family of an architecture alone is given
        # a backbone pretrained on each training fold.
        if self.weights is None and self.module is None:
            raise ValueError(
                "The 'embedding' feature family needs a network: give EmbeddingFeatures"
                " 'weights' (a featcls CNN model file, or a state dict with "
                "'architecture' or 'module') or 'module' (a torch module, a factory "
                "or 'package.module:factory'); or compare(..., pretrain='fold') "
                "pretrains its architecture inside each training fold."
            )

    # -- the network ----------------------------------------------------------------
    def _source_key(self) -> tuple:
        """What the loaded network depends on: the parameters and the file's state."""
        weights = None if self.weights is None else os.fspath(self.weights)
        stat = None
        if weights is not None:
            with contextlib.suppress(OSError):
                found = os.stat(weights)
                stat = (found.st_size, found.st_mtime_ns)
        module = self.module
        if module is not None and not isinstance(module, str):
            module = id(module)
        return (
            module,
            weights,
            stat,
            self.architecture,
            self.layer,
            self.input_size,
            repr(self.normalize),
            self.device,
        )

    def _backbone(self):
        """The loaded network (:class:`~featcls._nets._backbone.Backbone`), once."""
        self.validate()
        self._check_network()
        key = self._source_key()
        memo = self.__dict__.get("_backbone_memo")
        if memo is not None and memo[0] == key:
            return memo[1]
        _require_torch()
        from featcls._nets._backbone import load_backbone

        backbone = load_backbone(
            module=self.module,
            weights=self.weights,
            architecture=self.architecture,
            layer=self.layer,
            input_size=self.input_size,
            normalize=self.normalize,
            device=self.device,
            owner=type(self).__name__,
        )
        self._backbone_memo = (key, backbone)
        return backbone

    def load(self):
        """The network, loaded once; the extractor calls it in fit and transform.

        The first call records its fingerprint (``network_sha256_``); a later one
        that finds another network (the weights file was replaced) is refused.

        Raises
        ------
        ValueError
            Without a network, for weights that fit nothing, or when the network
            changed since the first call.
        ImportError
            If PyTorch is not installed.
        """
        backbone = self._backbone()
        fitted = self.__dict__.get("network_sha256_")
        if fitted is None:
            self.network_sha256_ = backbone.sha256
        elif fitted != backbone.sha256:
            raise ValueError(
                f"The network of the 'embedding' features changed since they were "
                f"fitted ({backbone.source}: fingerprint {backbone.sha256[:12]}… "
                f"now, {fitted[:12]}… then); fit again to use it."
            )
        return backbone

    def feature_names(self) -> list[str]:
        dim = self._backbone().dim
        width = len(str(dim - 1))
        return [f"{i:0{width}d}" for i in range(dim)]

    def cache_params(self) -> dict:
        """What the cached rows depend on besides the images and the extractor.

        The network's fingerprint (its weights' content, not the file's name), the
        batch shape and the kind of device: a renamed weights file still hits
        the cache, a changed one does not.
        """
        backbone = self._backbone()
        return {
            "network_sha256": backbone.sha256,
            "batch_size": int(self.batch_size),
            "device": backbone.device.split(":")[0],
        }

    # -- the features ---------------------------------------------------------------
    def compute_batch(self, images: list[np.ndarray], backbone) -> np.ndarray:
        """Embeddings ``(n, D)`` of prepared float32 ``(H, W, C)`` images on [0, 1].

        Images of the same channel count go through the network together.
        """
        out = np.empty((len(images), backbone.dim), dtype=np.float64)
        inputs = [network_input(im, backbone.input_size) for im in images]
        groups: dict[int, list[int]] = {}
        for i, x in enumerate(inputs):
            groups.setdefault(x.shape[2], []).append(i)
        for idx in groups.values():
            out[idx] = backbone.embed(
                np.stack([inputs[i] for i in idx]),
                batch_size=int(self.batch_size),
                n_threads=self.n_threads,
            )
        return out

    def compute(self, ctx) -> np.ndarray:
        raise TypeError(
            "EmbeddingFeatures runs a network over batches of whole images, not one "
            "image context at a time; use it through FeatureExtractor."
        )

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_backbone_memo", None)  # the network: reloaded where needed
        return state
