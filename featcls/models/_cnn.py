"""CNNClassifier: a convolutional network on pixels, with the sklearn API."""

from __future__ import annotations

import contextlib
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from featcls.data import as_sample_table
from featcls.data._table import has_masks, masks_missing_message
from featcls.exceptions import DataWarning
from featcls.models._cnn_average import WeightAverage
from featcls.models._cnn_batches import batches, epoch_order, epoch_size
from featcls.models._cnn_data import InputVariant, decode_images, sample_channels
from featcls.models._cnn_device import (
    autocast,
    import_torch,
    num_threads,
    resolve_device,
    resolve_precision,
)
from featcls.models._cnn_inputs import channel_stats, network_inputs
from featcls.models._cnn_io import cpu_state, from_payload, read_model, write_model
from featcls.models._cnn_multilabel import (
    LabelLoss,
    check_multilabel_params,
    label_matrix,
    label_names,
    multilabel_scores,
    multilabel_split,
    positive_weights,
    tune_thresholds,
)
from featcls.models._cnn_params import (
    ARCHITECTURES,
    CNN_CONSTRAINTS,
    check_extra_params,
    normalization,
)
from featcls.models._cnn_progress import epoch_line
from featcls.models._cnn_report import explain_samples
from featcls.models._cnn_run import FitRun
from featcls.models._cnn_stopping import (
    EarlyStopping,
    state_copy,
    validation_scores,
    validation_split,
)
from featcls.models._cnn_tta import tta_log_proba, uses_tta
from featcls.models._pretrain_params import (
    METHOD_NAMES,
    image_keys,
    resolve_settings,
)

if TYPE_CHECKING:  # torch is imported where it is used
    import torch

__all__ = ["ARCHITECTURES", "CNNClassifier"]

#: Data sets up to this size are moved to the GPU once; larger ones per batch.
_ON_DEVICE_BYTES = 2**31


class CNNClassifier(ClassifierMixin, BaseEstimator):
    """A convolutional network trained on the pixels: built-in, or your own.

    A scikit-learn classifier over the *sample table* (a DataFrame with an ``image``
    column of paths or arrays; an ``(N, H, W[, C])`` array or a list of paths is
    converted), so it runs in :func:`featcls.evaluation.compare`, ``cross_validate``
    and ``GridSearchCV`` on the same folds as the feature models. Plain PyTorch: a
    built-in architecture trained from scratch, or your own network (``module``),
    optionally initialised from a weights file (``weights``) and fine-tuned.

    **Input.** Every ``fit`` / ``predict`` call decodes its images once with
    :func:`featcls.data.read_image`, resizes them to ``input_size × input_size``
    (``cv2.INTER_AREA``; the aspect ratio is not kept, a 1-pixel image becomes a
    constant image) and keeps them as one uint8 ``(N, C, S, S)`` tensor; 16-bit
    images are quantised to 8 bits and float images outside ``[0, 1]`` are min-max
    scaled per image. Grey images give one channel, colour images three (grey
    images are replicated when the set mixes both); images with more channels keep
    them all. A last channel that is constant (an opaque alpha of grey+alpha or
    RGBA) is dropped with a warning; a varying fourth channel, such as a fourth
    stain, is kept. Batches are normalised per channel (training-set
    mean and std) on the device. By default the ``mask`` column is ignored: the
    network sees the whole image. Samples of one file per named channel
    (:class:`~featcls.data.ChannelFiles`) give their channels in the order of
    the first training sample's names, kept as ``channel_names_``; at prediction,
    such samples are reduced to those channels in that order, so a model
    fitted on a channel view (``select_channels("green")``) predicts on the full
    samples.

    **Input variants.** ``channels``, ``crop``, ``margin`` and ``mask_out`` prepare
    each image as :class:`~featcls.features.FeatureExtractor` does with the
    parameters of the same names, by the same function
    (:func:`featcls.data.prepare_sample`), so that the network and the
    hand-crafted features of one comparison see the same pixels: the image is
    cropped to its object's bounding box plus ``margin`` (``crop``) and/or its
    background set to 0 (``mask_out``), with the sample's ``mask`` where the
    table has one, else the automatic mask (:func:`featcls.data.auto_mask` of the
    grey image); it is then resized to ``input_size`` (area interpolation when
    shrinking, bilinear when enlarging, as ``FeatureExtractor(size=...)``) and a
    channel policy applied by :func:`featcls.data.split_channels`: ``"gray"``
    (one channel, BT.601 luma), ``"rgb"`` or ``"hsv"`` (three, hue divided by 360;
    grey images are refused, naming the image) or ``"channels"`` (every channel
    as it is, an alpha channel included), on the 0–1 scale and put back on the
    uint8 one. Images whose mask is empty are kept whole by ``crop`` (and made
    black by ``mask_out``), counted in one
    :class:`~featcls.exceptions.DataWarning` per call. ``fit``, ``predict``,
    :func:`~featcls.models.explain` (whose overlays show the prepared image) and
    a saved and loaded model apply the same preparation;
    :func:`~featcls.models.predict_tiles` refuses ``crop`` (a window cropped to
    its own object is no longer the window).

    **Architectures.** ``"lipnet"``: a compact plain CNN in the spirit of the LipNet
    models for liposome cryo-EM images: a 3×3 stride-2 stem (16 channels), a 3×3
    stride-2 convolution (32 channels), 3×3 conv-BN blocks of 64 and 128 channels
    with 2×2 max pooling, a last 3×3 conv of 256 channels (every convolution
    followed by batch norm and ReLU), then global average pooling (~0.4 M
    parameters); built so that no feature map with many channels stays at a high
    resolution, which is what makes small networks slow on a CPU. ``"simple"``:
    three conv-BN-ReLU-max-pool blocks (32, 64, 128 channels), global average
    pooling and a 128-unit dense layer, like the classic malaria-cell baselines.
    ``"resnet"``: a small residual network (stride-2 stem and three basic residual
    blocks of 32, 64 and 128 channels). All end with dropout and a linear layer.

    **Your own network.** ``module`` replaces the built-in architecture (which is
    then ignored): a :class:`torch.nn.Module` (every fit trains a deep copy, so
    each fold starts from the weights you gave and your module is never changed),
    a callable ``factory(in_channels, n_classes)`` returning a new module (called
    with two positional ints: the images' channel count and the number of
    classes; the global torch random state it draws from is seeded by
    ``random_state`` and restored afterwards), or a string
    ``"package.module:factory"`` naming such a factory or module, imported at fit
    time. ``"timm:NAME"`` builds ``timm.create_model(NAME, pretrained=weights is
    None, num_classes=n_classes, in_chans=in_channels)`` where timm imports (its
    hub weights when the machine reaches the hub). The network's final
    :class:`torch.nn.Linear` (the attribute ``fc``, ``classifier`` or ``head``,
    else its last Linear layer) is its classifier head: it is lifted out of the
    network (so the rest must end in the head's input, the embedding) and
    replaced by a new linear layer for the classes when it has another number of
    outputs; ``dropout`` applies before it, and its input is what :meth:`embed`
    returns. Plain ``nn.Dropout`` layers are made to draw from the fit's seeded
    generator. Images whose channel count differs from the first ``nn.Conv2d``
    are adapted (``adapt_channels``). The loop, augmentation, class weights, EMA,
    TTA, early stopping, saliency and Grad-CAM (on the last ``nn.Conv2d``, or
    ``cam_layer``) and :meth:`save` work as for the built-in networks.

    **Weights.** ``weights`` names a state dict saved with ``torch.save`` (read
    with ``torch.load(weights_only=True)``, which runs no code: a file that needs
    code is refused) or a ``.safetensors`` file; checkpoints that wrap it
    (``{"state_dict": ...}``, ``{"model": ...}``, a featcls model file) and
    wrapper prefixes (``module.``, ``model.``, ``backbone.`` ...) are understood.
    Tensors are matched by name and shape; the first convolution's kernels are
    refitted to the input channels by the ``"sum"`` rule below. One
    ``UserWarning`` lists what did not fit (missing, unexpected, other shape);
    a file that fits nothing outside the head is refused. The file's SHA-256 is
    kept (``weights_sha256_``, the report). Works for the built-in
    architectures too (their head is ``head``). A backbone file of
    :func:`~featcls.models.pretrain` (``featcls pretrain``) is such a state dict,
    without the head; its architecture must be this one (give the same
    ``input_size`` it was pretrained at, and the same ``module`` for your own
    network).

    **Self-supervised pretraining.** With ``pretrain`` (a dict of
    :func:`~featcls.models.pretrain`'s settings: ``method``, ``method_params``,
    ``epochs``, ``batch_size``, ``lr``, ``weight_decay``, ``augment``; ``{}`` for
    its defaults), ``fit`` first pretrains the network by VICReg on the images it
    is given, without their labels (prepared, resized and normalised as for
    training; validation images included, they belong to the fit), then trains
    it on the labels as usual (from the pretrained weights; with
    ``freeze_epochs``, a linear probe first). Inside
    :func:`featcls.evaluation.compare` every fit sees its training fold only, so
    the pretraining never sees a test image (``compare(..., pretrain="fold")``
    sets this parameter on every CNN and fusion model). The content keys of the
    images it saw are kept (``pretrain_images_``, the report's ``pretrain``).

    **Fine-tuning.** For the first ``freeze_epochs`` epochs only the head trains:
    the other parameters (the backbone) get no gradient and its batch-norm
    layers keep their statistics; early stopping does not end training before
    the backbone is unfrozen (and its patience restarts then). After that all
    layers train, the backbone at ``lr * backbone_lr``. ``freeze_epochs >=
    max_epochs`` trains the head alone (a linear probe).

    **Training.** AdamW with a per-step cosine learning-rate decay (to 1 % of
    ``lr``), cross-entropy with optional class weights and label smoothing, bfloat16
    autocast where the device computes it natively (``precision``),
    ``channels_last`` memory format. Batch
    norm statistics used for evaluation are the average over the last epoch's
    batches (reset every epoch), accurate even after one short epoch. With
    ``augment``, every training batch is augmented on the device, each image with
    its own draw, by :func:`random_augment`: a random flip / 90° rotation, a random
    resized crop (80–100 % of the side, aspect 3/4–4/3), brightness (±0.1) and
    contrast (±20 %) changes and Gaussian noise (σ ≤ 0.03).

    **Process heap.** ``fit`` and ``predict`` leave the process's allocator as it
    is. On Linux with glibc, CPU training is faster when freed activations are
    reused instead of being unmapped and faulted in again: call
    :func:`featcls.models.reuse_freed_memory` once in your program (it raises
    glibc's mmap and trim thresholds for the whole process; the ``featcls``
    command does it). ``benchmarks/cnn_step.py`` measures the difference.

    **Early stopping.** With ``early_stopping``, a stratified ``validation_fraction``
    of the training data is held out; after every epoch its macro-F1 (ties broken
    by the lower validation loss) decides the best epoch, training stops after
    ``patience`` epochs without improvement, and the best weights are restored.
    When a class has fewer than two images (or the set is too small for every class
    to be on both sides), a :class:`~featcls.exceptions.DataWarning` is issued and
    the model trains on all images for ``max_epochs`` epochs without validation.

    **Multi-label targets.** Given a 0/1 indicator matrix ``y`` of shape ``(N,
    L)`` (a DataFrame's columns name the labels; ``classes_`` holds the names,
    else ``0 .. L - 1``), the head has one logit per label, trained with the
    sigmoid cross-entropy (``BCEWithLogitsLoss``) whose positives are weighted
    per label by ``pos_weight_``: negatives / positives of that label in the
    training part (``class_weight="balanced"``; None: unweighted). Label
    smoothing moves the targets to ``ε/2`` and ``1 - ε/2``. The validation split
    is iteratively stratified (every label's positives in proportion); early
    stopping monitors the validation macro-F1 over the labels with a positive
    validation image, each decided at probability 0.5 (ties broken by the lower
    unweighted validation loss). After training, each label's threshold
    (``thresholds_``) is the one that maximises its F1 on the validation images
    (on the probabilities ``predict_proba`` gives, TTA included); 0.5 for a label
    whose validation images are all negative (or all positive) and for every
    label without a validation split. :meth:`predict_proba` returns each label's
    probability ``(N, L)``, :meth:`predict` the ``(N, L)`` 0/1 decisions.
    ``resample="oversample"`` draws, every epoch, extra training images
    carrying each rare label (a label with fewer positives than the mean over
    the labels is topped up to that mean); ``"undersample"`` is refused. The
    saliency and Grad-CAM maps of the report explain each image's most probable
    label. :func:`featcls.evaluation.compare` runs the model on a label matrix as
    it is (``featcls_multilabel``).

    **Randomness.** Weight initialisation, the validation split, shuffling,
    augmentation and dropout draw from generators seeded by ``random_state``, never
    from the global random state: two fits on the CPU with the same seed (and the
    same number of threads) give identical weights.

    Parameters
    ----------
    architecture : {"lipnet", "simple", "resnet"}, default="lipnet"
        The built-in network; ignored when ``module`` is given.
    module : torch.nn.Module, callable, str or None, default=None
        Your own network (see above): a module, ``factory(in_channels,
        n_classes) -> torch.nn.Module``, ``"package.module:factory"`` or
        ``"timm:NAME"``.
    weights : str, path or None, default=None
        A ``.pt``/``.pth`` state dict or ``.safetensors`` file the network is
        initialised from (see above).
    pretrain : dict or None, default=None
        Settings of a self-supervised pretraining on the fit's own images before
        training (see above); None: none.
    input_size : int, default=96
        Side of the square network input, in pixels (at least 8).
    channels : {"gray", "rgb", "hsv", "channels"} or None, default=None
        Channel policy of the input (see "Input variants"); None: every channel
        of the decoded image (a constant alpha dropped), as described above.
    crop : bool, default=False
        Crop each image to its object's bounding box plus ``margin``.
    margin : float, default=0.1
        With ``crop``: the margin on each side, as a fraction of the box's height
        (top and bottom) and width (left and right), at least 0.
    mask_out : bool, default=False
        Set the pixels outside the object mask to 0.
    normalize : "imagenet", (mean, std) or None, default=None
        Input normalisation, per channel on the [0, 1] scale: None uses the
        training images' own mean and standard deviation; ``(mean, std)`` fixed
        statistics (1 value, or one per channel, each), e.g. those the weights
        were trained with; ``"imagenet"`` is ``((0.485, 0.456, 0.406), (0.229,
        0.224, 0.225))``.
    adapt_channels : {"sum", "replicate"}, default="sum"
        When the images' channels differ from those of the network's first
        ``nn.Conv2d``: ``"sum"`` refits that layer's kernels to the images (grey
        images: the kernels summed over the network's channels, exactly what
        the network computes on the grey image replicated; more channels, such
        as a fourth stain: the kernels kept and each extra channel given their
        mean kernel; fewer: network channel ``i`` added to image channel ``i mod
        C``); ``"replicate"`` feeds grey images to a three-channel network as
        three identical channels (the ``normalize`` statistics may then have
        three values).
    max_epochs : int, default=30
    freeze_epochs : int, default=0
        Epochs, at the start, in which only the head trains (see above).
    batch_size : int, default=32
        At least 2; a trailing batch of one image joins the previous batch.
    lr : float, default=1e-3
        Peak learning rate of AdamW (the head's).
    backbone_lr : float, default=1.0
        Learning rate of every parameter but the head's, as a multiple of
        ``lr`` (0.1: ten times lower); both decay along the same cosine.
    weight_decay : float, default=1e-4
        Decoupled weight decay of AdamW.
    dropout : float, default=0.2
        Dropout before the linear head, in ``[0, 1)``.
    label_smoothing : float, default=0.0
        In ``[0, 1)``.
    class_weight : {"balanced"} or None, default="balanced"
        ``"balanced"`` weights the loss of class ``c`` by ``n / (k * n_c)`` over the
        training part; for multi-label targets, the positives of each label by
        its negatives / positives there (``pos_weight``).
    resample : {"oversample", "undersample"} or None, default=None
        Resample the training part anew every epoch: ``"oversample"`` draws extra
        images of the smaller classes (with replacement) up to the largest class,
        ``"undersample"`` draws each class down to the smallest one. Validation
        images are never resampled. Usually combined with ``class_weight=None``.
        SMOTE is refused: interpolating between images is not meaningful.
        Multi-label: ``"oversample"`` draws images of rare labels again (see
        above), ``"undersample"`` is refused.
    augment : bool or dict, default=True
        True: the augmentation described above; False: none; a dict: keyword
        arguments of :func:`random_augment` that change it, e.g.
        ``{"crop_scale": (1, 1), "brightness": 0, "contrast": 0, "noise": 0}``
        for flips and 90° rotations only (what suits images whose brightness
        carries the label, like electroluminescence images of solar cells).
    early_stopping : bool, default=True
    patience : int, default=5
        Epochs without improvement of the validation macro-F1 before stopping.
    validation_fraction : float, default=0.15
        Share of the training data held out for early stopping (at least one image
        per class), in ``(0, 1)``.
    ema_decay : float, default=0.99
        Decay of an exponential moving average of the weights and batch-norm
        statistics, updated after every step (with the usual warm-up,
        ``min(ema_decay, (1 + t) / (10 + t))`` at step ``t``); validation, the
        choice of the best epoch and prediction use the averaged network, which
        is much less noisy from epoch to epoch than the last step's. 0 turns it
        off, in ``[0, 1)``.
    tta : bool, default=True
        Test-time augmentation: when ``augment`` includes the flips and
        rotations (so the network was trained on these symmetries), ``predict``
        and ``predict_proba`` average the class probabilities over the 8 flips
        and 90° rotations of each image (8 forward passes; the validation scores
        of early stopping and the embeddings use the image as it is).
    device : {"auto", "cpu", "cuda", "cuda:<index>"}, default="auto"
        ``"auto"`` uses CUDA when available. Asking for CUDA without it is an error.
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        Compute precision of the forward pass (``torch.autocast``; weights,
        optimiser and loss stay float32). ``"auto"``: bfloat16 where the device
        has native bfloat16 arithmetic (CUDA GPUs from Ampere on, CPUs with
        AVX512-BF16 or AMX), float32 elsewhere.
    n_threads : int or None, default=None
        Torch threads (``torch.set_num_threads``) and decoding threads inside
        ``fit`` and ``predict``; None leaves torch's setting alone.
    cam_layer : str or None, default=None
        The layer whose maps Grad-CAM weighs, by its name in
        ``named_modules()`` of your module (of the built-in network otherwise,
        e.g. ``"trunk.14"``, LipNet's last convolution); None: the last
        ``nn.Conv2d`` of your module (the built-in network's last convolutional
        block).
    random_state : int or None, default=0
        Seed of all randomness; None draws a fresh seed.
    verbose : int, default=0
        1: one line per epoch on stderr (losses, validation macro-F1, seconds).

    Attributes
    ----------
    classes_ : ndarray
        Class labels, sorted; multi-label: the label names (``0 .. L - 1``
        unless ``y`` was a DataFrame).
    multilabel_ : bool
        Whether ``y`` was a label matrix.
    thresholds_ : ndarray of float
        Multi-label only: each label's decision threshold on its probability,
        tuned on the validation images (see above).
    pos_weight_ : ndarray of float32 or None
        Multi-label only: each label's positive weight in the loss (negatives /
        positives in the training part), None with ``class_weight=None``.
    channel_names_ : tuple of str or None
        The channel names of samples of one file per channel, else None.
    module_ : torch.nn.Module
        The trained network (best epoch's weights with early stopping).
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss`` and, with a validation split,
        ``val_loss`` and ``val_f1`` (macro; over labels for multi-label targets).
    n_epochs_ : int
        Epochs trained.
    best_epoch_ : int
        Epoch whose weights were kept.
    n_channels_ : int
        Input channels (three for grey images with ``adapt_channels="replicate"``).
    channel_mean_, channel_std_ : ndarray of float32
        Per-channel normalisation on the [0, 1] scale.
    network_params_ : dict
        Plain data that rebuilds the network's layout (for your own network with
        ``module`` given again): architecture or module class, channels, classes.
    weights_report_ : dict or None
        With ``weights``: the file, its ``sha256``, the number of tensors
        ``matched`` and the names ``missing``, ``unexpected``, ``mismatched``
        (another shape), ``adapted`` and in the ``head``.
    weights_sha256_ : str or None
        SHA-256 of the weights file.
    pretrain_history_ : list of dict or None
        With ``pretrain``: per epoch of the pretraining, ``epoch``, ``loss`` and
        its terms ``invariance``, ``variance``, ``covariance``; None without.
    pretrain_images_ : tuple of str or None
        With ``pretrain``: the sorted content keys
        (``featcls.features`` ``content_key`` of each image, without its
        mask) of the images the pretraining saw; None without.
    featcls_report_ : dict
        JSON-able material for the HTML report: ``history``, ``saliency`` and
        ``gradcam`` (for one validation image per class: the vanilla-gradient
        saliency and Grad-CAM overlays and the input image as small WebP data
        URIs, at most 64 pixels a side, true and predicted labels and ``index``,
        the row label in ``X``),
        ``best_epoch``, ``n_epochs``, ``device``, ``precision``, ``architecture``
        (your module's spec or class), ``train_images_per_s`` and, where they
        apply, ``weights``, ``weights_sha256``, ``weights_tensors``,
        ``adapt_channels``, ``freeze_epochs`` and, with ``pretrain``, the line
        ``pretraining``, the last ``pretrain_loss`` and a dict ``pretrain``
        (``method``, ``history``, ``images``: the content keys it saw).
        Multi-label: images are chosen per label, ``true`` and ``pred`` are
        label sets, each item's ``explained`` is the label its maps explain (the
        most probable) and ``explained_label`` says so.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 100, size=(16, 24, 24), dtype=np.uint8)
    >>> X[8:] += 120
    >>> y = np.array(["dark"] * 8 + ["bright"] * 8)
    >>> clf = CNNClassifier(input_size=24, max_epochs=1, early_stopping=False)
    >>> clf.fit(X, y).predict_proba(X).shape
    (16, 2)
    """

    featcls_input = "images"
    #: ``fit`` takes a 0/1 label matrix (see "Multi-label targets" above).
    featcls_multilabel = True
    _parameter_constraints: dict = dict(CNN_CONSTRAINTS)
    #: Extra per-image inputs concatenated to the image embedding before the head:
    #: an object with ``fit_transform(table, y)`` and ``transform(table)`` returning
    #: float32 matrices (:class:`FusionClassifier` sets its feature inputs on the
    #: network it trains); None for the pixels alone.
    _extra_inputs = None

    def __init__(
        self,
        *,
        architecture: str = "lipnet",
        module: torch.nn.Module
        | Callable[[int, int], torch.nn.Module]
        | str
        | None = None,
        weights: str | Path | None = None,
        pretrain: dict | None = None,
        input_size: int = 96,
        channels: str | None = None,
        crop: bool = False,
        margin: float = 0.1,
        mask_out: bool = False,
        normalize: str | tuple | None = None,
        adapt_channels: str = "sum",
        max_epochs: int = 30,
        freeze_epochs: int = 0,
        batch_size: int = 32,
        lr: float = 1e-3,
        backbone_lr: float = 1.0,
        weight_decay: float = 1e-4,
        dropout: float = 0.2,
        label_smoothing: float = 0.0,
        class_weight: str | None = "balanced",
        resample: str | None = None,
        augment: bool | dict = True,
        early_stopping: bool = True,
        patience: int = 5,
        validation_fraction: float = 0.15,
        ema_decay: float = 0.99,
        tta: bool = True,
        device: str = "auto",
        precision: str = "auto",
        n_threads: int | None = None,
        cam_layer: str | None = None,
        random_state: int | None = 0,
        verbose: int = 0,
    ):
        self.architecture = architecture
        self.module = module
        self.weights = weights
        self.pretrain = pretrain
        self.input_size = input_size
        self.channels = channels
        self.crop = crop
        self.margin = margin
        self.mask_out = mask_out
        self.normalize = normalize
        self.adapt_channels = adapt_channels
        self.max_epochs = max_epochs
        self.freeze_epochs = freeze_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.backbone_lr = backbone_lr
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.label_smoothing = label_smoothing
        self.class_weight = class_weight
        self.resample = resample
        self.augment = augment
        self.early_stopping = early_stopping
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.ema_decay = ema_decay
        self.tta = tta
        self.device = device
        self.precision = precision
        self.n_threads = n_threads
        self.cam_layer = cam_layer
        self.random_state = random_state
        self.verbose = verbose

    # -- validation ----------------------------------------------------------------
    def _check_data(self, X, y) -> tuple[pd.DataFrame, np.ndarray]:
        if X is None or (hasattr(X, "__len__") and len(X) == 0):
            raise ValueError(
                f"Cannot fit {type(self).__name__} on an empty training set: X has "
                "0 images."
            )
        table = as_sample_table(X)
        labels = label_matrix(y)
        y = column_or_1d(np.asarray(y), warn=True) if labels is None else labels
        if len(y) != len(table):
            raise ValueError(f"X has {len(table)} images but y has {len(y)} labels.")
        if labels is None:
            check_classification_targets(y)
        return table, y

    # -- fitting -------------------------------------------------------------------
    def fit(self, X, y):
        """Train the network on the images ``X`` with labels ``y``.

        Parameters
        ----------
        X : sample table, (N, H, W[, C]) array or list of paths
        y : array-like of shape (N,), or (N, L) 0/1 indicator matrix
            Class labels, or (multi-label) one column per label, 1 where the
            image carries it; a DataFrame's columns name the labels.

        Returns
        -------
        self : CNNClassifier

        Raises
        ------
        ValueError
            For an invalid parameter (named in the message), an empty training set,
            fewer than two classes, a 2-D ``y`` that is not a 0/1 matrix,
            ``resample="undersample"`` with a multi-label ``y``, or
            ``device="cuda"`` without CUDA.
        """
        self._validate_params()
        check_extra_params(self)
        table, target = self._check_data(X, y)
        self.multilabel_ = target.ndim == 2
        for stale in ("thresholds_", "pos_weight_"):  # of an earlier fit
            self.__dict__.pop(stale, None)
        if self.multilabel_:
            check_multilabel_params(self)
            classes, y_idx = label_names(y, target.shape[1]), target
        else:
            classes, y_idx = np.unique(target, return_inverse=True)
            if len(classes) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs at least 2 classes in the training "
                    f"data; got 1 class: {classes.tolist()}."
                )
        device = resolve_device(self)
        seeds = np.random.SeedSequence(self.random_state).generate_state(6)
        self.channel_names_ = sample_channels(table)
        self.masks_fitted_ = self._input_variant().needs_mask and has_masks(table)
        with num_threads(self.n_threads):
            images = self._decode(table, fitting=True)
            extra = self._fit_extra(table, target)
            train_idx, val_idx = self._validation_split(y_idx, classes, int(seeds[0]))
            self.classes_ = classes
            self.n_channels_ = int(images.shape[1])
            run = self._build(images, y_idx, extra, train_idx, val_idx, device, seeds)
            self.pretrain_images_ = (
                None if self.pretrain is None else tuple(sorted(set(image_keys(table))))
            )
            self._fit_loop(run)
            if self.multilabel_:
                self.thresholds_ = self._tune_thresholds(run)
            self.featcls_report_ = self._report(run, table, int(seeds[2]))
        return self

    def _input_variant(self) -> InputVariant:
        """How each image is prepared before it is resized (see "Input variants")."""
        return InputVariant(
            channels=self.channels,
            crop=bool(self.crop),
            margin=float(self.margin),
            mask_out=bool(self.mask_out),
        )

    def _decode(self, table: pd.DataFrame, *, fitting: bool = False) -> np.ndarray:
        """The images of ``table`` as the network sees them: uint8 ``(N, C, S, S)``.

        Prepared by the input variant and resized to ``input_size``. In ``fit``
        (``fitting``) the channel count is inferred; otherwise the images are
        converted to the fitted ``n_channels_`` and samples of one file per
        channel are reduced to the fitted ``channel_names_``, in their order.
        """
        names = getattr(self, "channel_names_", None)
        if not fitting and sample_channels(table) is None:
            names = None
        if (
            not fitting
            and getattr(self, "masks_fitted_", False)
            and not has_masks(table)
        ):
            warnings.warn(
                masks_missing_message(type(self).__name__), DataWarning, stacklevel=3
            )
        return decode_images(
            table,
            self.input_size,
            channels=None if fitting else self.n_channels_,
            n_jobs=self.n_threads,
            select=names,
            variant=self._input_variant(),
            owner=type(self).__name__,
        )

    def _pretrain_network(self, images, mean, std, device, seed: int) -> list[dict]:
        """Pretrain ``module_`` without labels on the fit's images (``pretrain``).

        VICReg with the settings of ``pretrain``, on every image given to ``fit``
        (prepared and normalised as for training); returns its history.
        """
        from featcls.models._pretrain_loop import pretrain_network

        settings = resolve_settings(
            self.pretrain, f"{type(self).__name__}(pretrain=...)"
        )
        return pretrain_network(
            self.module_,
            images,
            mean,
            std,
            settings=settings,
            device=device,
            precision=resolve_precision(self, device),
            seed=seed,
            progress=bool(self.verbose),
        )

    def _fit_extra(self, table: pd.DataFrame, y: np.ndarray) -> np.ndarray | None:
        if self._extra_inputs is None:
            return None
        return self._extra_inputs.fit_transform(table, y)

    def _transform_extra(self, table: pd.DataFrame) -> np.ndarray | None:
        if self._extra_inputs is None:
            return None
        return self._extra_inputs.transform(table)

    def _validation_split(self, y_idx, classes, seed):
        """Training and validation indices (no validation without early stopping)."""
        if not self.early_stopping:
            return np.arange(len(y_idx)), None
        if y_idx.ndim == 2:
            train, val, problem = multilabel_split(
                y_idx, self.validation_fraction, seed
            )
        else:
            train, val, problem = validation_split(
                y_idx, classes, self.validation_fraction, seed
            )
        if problem:
            warnings.warn(
                f"{type(self).__name__}: {problem}; early stopping is off and the "
                f"model trains on all {len(y_idx)} images for "
                f"max_epochs={self.max_epochs} epochs.",
                DataWarning,
                stacklevel=3,
            )
        return train, val

    def _is_user_network(self) -> bool:
        """Whether the fitted network was built from the ``module`` parameter."""
        return "module_class" in self.network_params_

    def _new_network(self, generator=None):
        """The network of ``network_params_`` (weights as initialised), on the CPU."""
        from featcls.models._cnn_init import rebuild_network

        return rebuild_network(self, dict(self.network_params_), generator)

    def _initial_network(self, seeds):
        """The network a fit starts from: built, [initialised from ``weights``].

        Sets ``network_params_``, ``weights_report_`` and ``weights_sha256_``, and
        ``n_channels_`` when grey images are replicated for the network; warns
        once about what of the weights file did not fit.
        """
        from featcls.models._cnn_init import initial_network
        from featcls.models._cnn_weights import weights_message

        net, self.network_params_, report = initial_network(self, int(seeds[1]))
        self.n_channels_ = self.network_params_.get("n_channels", self.n_channels_)
        self.weights_report_ = report
        self.weights_sha256_ = None if report is None else report["sha256"]
        message = (
            None if report is None else weights_message(report, type(self).__name__)
        )
        if message:  # stacklevel: the caller of fit
            warnings.warn(message, UserWarning, stacklevel=4)
        return net

    def _match_channels(self, images: np.ndarray) -> np.ndarray:
        """Grey images replicated to the network's channels (``"replicate"``)."""
        if images.shape[1] == self.n_channels_:
            return images
        return np.repeat(images, self.n_channels_, axis=1)

    def _build(self, images, y_idx, extra, train_idx, val_idx, device, seeds) -> FitRun:
        """Create the module, optimizer, scheduler, loss and generators.

        Also the normalisation (``channel_mean_``, ``channel_std_``).
        """
        from featcls.models._cnn_finetune import Backbone, lr_schedule, param_groups
        from featcls.models._cnn_nets import set_dropout_generator

        torch = import_torch()
        self.n_extra_ = 0 if extra is None else int(extra.shape[1])
        self.module_ = self._initial_network(seeds).to(device)
        if self.cam_layer is not None:
            from featcls.models._cnn_user import gradcam_layer

            gradcam_layer(self.module_, self.cam_layer)  # a name it has, now
        images = self._match_channels(images)
        stats = normalization(self, self.n_channels_)
        self.channel_mean_, self.channel_std_ = (
            channel_stats(images[train_idx]) if stats is None else stats
        )
        data = torch.from_numpy(images)
        if device.type != "cpu" and data.nbytes <= _ON_DEVICE_BYTES:
            data = data.to(device)
        mean = torch.as_tensor(self.channel_mean_, device=device).view(1, -1, 1, 1)
        std = torch.as_tensor(self.channel_std_, device=device).view(1, -1, 1, 1)
        self.pretrain_history_ = None
        if self.pretrain is not None:  # on every image of the fit, without labels
            self.pretrain_history_ = self._pretrain_network(
                data, mean, std, device, int(seeds[5])
            )
        set_dropout_generator(
            self.module_, torch.Generator(device=device).manual_seed(int(seeds[4]))
        )
        run = FitRun(
            images=data,
            y=torch.as_tensor(
                y_idx,
                dtype=torch.float32 if y_idx.ndim == 2 else torch.int64,
                device=device,
            ),
            y_idx=y_idx,
            extra=None
            if extra is None
            else torch.as_tensor(extra, dtype=torch.float32, device=device),
            train_idx=train_idx,
            val_idx=val_idx,
            device=device,
            mean=mean,
            std=std,
            shuffle_generator=torch.Generator().manual_seed(int(seeds[3])),
            augment_generator=torch.Generator(device=device).manual_seed(int(seeds[2])),
            stopping=EarlyStopping(self.patience),
        )
        size = epoch_size(train_idx, y_idx, self.resample)
        steps = len(batches(np.arange(size), self.batch_size))
        # foreach: one multi-tensor kernel per update instead of a Python loop over
        # the parameters (torch's default on the CPU); the same numbers to the bit.
        run.optimizer = torch.optim.AdamW(
            param_groups(self.module_, self.lr, self.backbone_lr),
            lr=self.lr,
            weight_decay=self.weight_decay,
            foreach=True,
        )
        run.scheduler = lr_schedule(run.optimizer, self.max_epochs * steps, self.lr)
        run.backbone = Backbone(self.module_)
        run.criterion = self._criterion(y_idx[train_idx], device)
        if self.ema_decay > 0:
            run.average = WeightAverage.of(self.module_, self.ema_decay)
        return run

    def _criterion(self, y_train: np.ndarray, device):
        """The loss on the training part's labels ``y_train``.

        Cross-entropy (``class_weight="balanced"``: class ``c`` weighted by ``n /
        (k * n_c)``); for a label matrix, the sigmoid cross-entropy with
        ``pos_weight_`` (``"balanced"``: negatives / positives per label).
        """
        torch = import_torch()
        if y_train.ndim == 2:
            self.pos_weight_ = (
                positive_weights(y_train) if self.class_weight == "balanced" else None
            )
            weight = None
            if self.pos_weight_ is not None:
                weight = torch.as_tensor(self.pos_weight_, device=device)
            return LabelLoss(weight, self.label_smoothing)
        weight = None
        if self.class_weight == "balanced":
            counts = np.bincount(y_train, minlength=len(self.classes_))
            w = np.where(
                counts > 0, len(y_train) / (len(counts) * np.maximum(counts, 1)), 0.0
            )
            weight = torch.as_tensor(w, dtype=torch.float32, device=device)
        return torch.nn.CrossEntropyLoss(
            weight=weight, label_smoothing=float(self.label_smoothing)
        )

    def _tune_thresholds(self, run: FitRun) -> np.ndarray:
        """Each label's F1-maximising threshold on the validation images.

        On the probabilities :meth:`predict_proba` gives (with TTA where it
        applies); 0.5 for every label without a validation split.
        """
        if run.val_idx is None:
            return np.full(len(self.classes_), 0.5)
        torch = import_torch()
        index = torch.from_numpy(run.val_idx)
        extra = None if run.extra is None else run.extra[index.to(run.device)]
        images = run.images[index.to(run.images.device)]
        logits = self._forward(
            images, extra, run.device, run.mean, run.std, tta=uses_tta(self)
        )
        proba = torch.sigmoid(logits.double()).numpy()
        return tune_thresholds(proba, run.y_idx[run.val_idx])

    def _is_multilabel(self) -> bool:
        return bool(getattr(self, "multilabel_", False))

    @staticmethod
    def _averaged(run: FitRun):
        """Inside the block, the module holds the averaged weights (if any)."""
        if run.average is None:
            return contextlib.nullcontext()
        return run.average.swapped_in()

    def _fit_loop(self, run: FitRun) -> None:
        """Epochs until ``max_epochs`` or early stopping; restore the best weights."""
        from featcls.models._cnn_nets import set_dropout_generator

        self.history_ = []
        for epoch in range(1, self.max_epochs + 1):
            self._freeze(run, epoch <= self.freeze_epochs)
            start = time.perf_counter()
            row = {"epoch": epoch, "train_loss": self._run_epoch(run)}
            with self._averaged(run):
                if run.val_idx is not None:
                    row.update(self._validation_scores(run))
                self.history_.append(row)
                self._on_epoch_end(run, row, time.perf_counter() - start)
            # Never stop while frozen when unfrozen epochs are still to come.
            to_come = run.backbone.frozen and self.freeze_epochs < self.max_epochs
            if run.stopping.stop and not to_come:
                break
        run.backbone.freeze(False)
        self.n_epochs_ = len(self.history_)
        self.best_epoch_ = run.stopping.best_epoch
        best_state = run.stopping.best_state
        if best_state is None:  # no validation: the last (averaged) weights
            with self._averaged(run):
                best_state = state_copy(self.module_)
        self.module_.load_state_dict(best_state)
        set_dropout_generator(self.module_, None)
        self.module_.eval()

    def _freeze(self, run: FitRun, frozen: bool) -> None:
        """Freeze or unfreeze the backbone for the coming epoch.

        Unfreezing restarts early stopping's patience (the best epoch is kept).
        """
        if frozen == run.backbone.frozen:
            return
        run.backbone.freeze(frozen)
        if not frozen:
            run.stopping.since_best, run.stopping.stop = 0, False

    def _run_epoch(self, run: FitRun) -> float:
        """One pass over the shuffled training part; returns the mean loss.

        With the backbone frozen, its batch-norm layers keep their statistics.
        """
        from featcls.models._cnn_nets import reset_batch_norm_statistics

        torch = import_torch()
        self.module_.train()
        if run.backbone is not None and run.backbone.frozen:
            run.backbone.batch_norm_eval()
        else:
            reset_batch_norm_statistics(self.module_)
        order = epoch_order(
            run.train_idx, run.y_idx, self.resample, run.shuffle_generator
        )
        total = torch.zeros((), device=run.device)
        start = time.perf_counter()
        for idx in batches(order, self.batch_size):
            total += self._train_step(run, idx) * len(idx)
        loss = float(total) / len(order)
        run.train_time += time.perf_counter() - start
        run.seen += len(order)
        return loss

    def _inputs(self, images, mean, std, generator=None):
        """uint8 batch → float, [augmented,] normalised, channels-last on the device."""
        return network_inputs(images, mean, std, generator, self._augment_options())

    def _augment_options(self) -> dict:
        return dict(self.augment) if isinstance(self.augment, dict) else {}

    def _autocast(self, device):
        return autocast(self, device)

    def _train_step(self, run: FitRun, idx: np.ndarray):
        """One optimisation step on the batch ``idx``; returns the (detached) loss."""
        torch = import_torch()
        index = torch.from_numpy(idx)
        x = self._inputs(
            run.images[index.to(run.images.device)],
            run.mean,
            run.std,
            run.augment_generator if self.augment is not False else None,
        )
        target = run.y[index.to(run.device)]
        extra = None if run.extra is None else run.extra[index.to(run.device)]
        run.optimizer.zero_grad(set_to_none=True)
        with self._autocast(run.device):
            logits = self.module_(x, extra)
        loss = run.criterion(logits.float(), target)
        loss.backward()
        run.optimizer.step()
        run.scheduler.step()
        if run.average is not None:
            run.average.update()
        return loss.detach()

    def _validation_scores(self, run: FitRun) -> dict:
        torch = import_torch()
        index = torch.from_numpy(run.val_idx)
        extra = None if run.extra is None else run.extra[index.to(run.device)]
        images = run.images[index.to(run.images.device)]
        logits = self._forward(images, extra, run.device, run.mean, run.std)
        target = run.y[index.to(run.device)].cpu()
        if self._is_multilabel():
            return multilabel_scores(logits, target)
        return validation_scores(logits, target, len(self.classes_))

    def _on_epoch_end(self, run: FitRun, row: dict, seconds: float) -> None:
        """Early stopping's update and, with ``verbose``, one line on stderr.

        Early stopping keeps the best weights (and may set its stop flag).
        """
        run.stopping.on_epoch_end(row, self.module_)
        if self.verbose:
            line = epoch_line(row, self.max_epochs, seconds)
            print(line, file=sys.stderr, flush=True)

    # -- inference -----------------------------------------------------------------
    def _forward(
        self, images, extra, device, mean, std, *, what: str = "logits", tta=False
    ):
        """Logits (or embeddings) of a uint8 image tensor, in batches, on the CPU.

        With ``tta``, the logits are the log of the class probabilities averaged
        over the 8 flips and 90° rotations of each image.
        """
        torch = import_torch()
        net = self.module_
        net.eval()
        out = []
        step = 2 * self.batch_size
        with torch.inference_mode(), self._autocast(device):
            for start in range(0, len(images), step):
                x = self._inputs(images[start : start + step], mean, std)
                if what == "embedding":
                    out.append(net.embed(x).float().cpu())
                    continue
                e = None if extra is None else extra[start : start + step].to(device)
                if not tta:
                    out.append(net(x, e).float().cpu())
                    continue
                out.append(
                    tta_log_proba(net, x, e, multilabel=self._is_multilabel()).cpu()
                )
        return torch.cat(out)

    def _predict_output(self, X, what: str = "logits"):
        check_is_fitted(self, "module_")
        torch = import_torch()
        if X is None or (hasattr(X, "__len__") and len(X) == 0):
            raise ValueError("X has 0 images.")
        table = as_sample_table(X)
        device = resolve_device(self)
        with num_threads(self.n_threads):
            images = self._decode(table)
            extra = None if what == "embedding" else self._transform_extra(table)
            self.module_.to(device)
            mean = torch.as_tensor(self.channel_mean_, device=device).view(1, -1, 1, 1)
            std = torch.as_tensor(self.channel_std_, device=device).view(1, -1, 1, 1)
            extra = (
                None if extra is None else torch.as_tensor(extra, dtype=torch.float32)
            )
            return self._forward(
                torch.from_numpy(images),
                extra,
                device,
                mean,
                std,
                what=what,
                tta=what == "logits" and uses_tta(self),
            )

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape ``(N, n_classes)``, rows summing to 1.

        Multi-label: each label's (sigmoid) probability, shape ``(N, L)``.
        """
        torch = import_torch()
        logits = self._predict_output(X)
        if self._is_multilabel():
            return torch.sigmoid(logits.double()).numpy()
        return torch.softmax(logits.double(), dim=1).numpy()

    def predict(self, X) -> np.ndarray:
        """The most probable class of every image.

        Multi-label: the ``(N, L)`` 0/1 matrix of each label's probability at or
        above its threshold (``thresholds_``).
        """
        if self._is_multilabel():
            return (self.predict_proba(X) >= self.thresholds_).astype(int)
        return self.classes_[self._predict_output(X).argmax(dim=1).numpy()]

    def embed(self, X) -> np.ndarray:
        """Penultimate-layer embedding of the image branch, shape ``(N, D)``."""
        return self._predict_output(X, what="embedding").numpy()

    def transform(self, X) -> np.ndarray:
        """Same as :meth:`embed` (so the network can serve as a feature step)."""
        return self.embed(X)

    # -- report --------------------------------------------------------------------
    def _report(self, run: FitRun, table: pd.DataFrame, seed: int) -> dict:
        report = {
            "history": [dict(row) for row in self.history_],
            "saliency": [],
            "gradcam": [],
            "best_epoch": int(self.best_epoch_),
            "n_epochs": int(self.n_epochs_),
            "device": str(run.device),
            "precision": resolve_precision(self, run.device),
            "architecture": self._network_name(),
            "train_images_per_s": round(run.seen / max(run.train_time, 1e-9), 1),
            **self._network_facts(),
        }
        if self.pretrain_history_ is not None:
            report["pretrain"] = {
                "method": resolve_settings(self.pretrain, "pretrain").method,
                "history": [dict(row) for row in self.pretrain_history_],
                "images": list(self.pretrain_images_),
            }
        try:
            report["saliency"], report["gradcam"] = self._explain(run, table, seed)
        except Exception as exc:  # decoration only: never fail a fit for it
            warnings.warn(
                f"{type(self).__name__}: no saliency maps ({exc}).",
                RuntimeWarning,
                stacklevel=3,
            )
        return report

    def _network_name(self) -> str:
        """The built-in architecture's name, or the user module's spec or class."""
        if not self._is_user_network():
            return self.architecture
        from featcls.models._cnn_user import describe_module

        return describe_module(self.module)

    def _network_facts(self) -> dict:
        """Scalars for the report: weights file and hash, adapted channels."""
        facts = {}
        if self.weights_report_ is not None:
            facts["weights"] = self.weights_report_["file"]
            facts["weights_sha256"] = self.weights_report_["sha256"]
            facts["weights_tensors"] = self.weights_report_["matched"]
        adapt = self.network_params_.get("adapt")
        if adapt:
            facts["adapt_channels"] = (
                f"{self.network_params_['in_channels']} image channel(s) → {adapt}"
            )
        if self.freeze_epochs:
            facts["freeze_epochs"] = int(self.freeze_epochs)
        history = getattr(self, "pretrain_history_", None)
        if history:
            method = resolve_settings(self.pretrain, "pretrain").method
            facts["pretraining"] = (
                f"{METHOD_NAMES[method]}, "
                f"{len(history)} epochs on {len(self.pretrain_images_)} images of "
                "the fit, without labels"
            )
            facts["pretrain_loss"] = round(float(history[-1]["loss"]), 4)
        if self._is_multilabel():
            facts["explained_label"] = (
                "multi-label: each saliency and Grad-CAM map explains the image's "
                "most probable label"
            )
        return facts

    def _gradcam_layer(self):
        """The layer Grad-CAM weighs (None: the built-in network's ``features``)."""
        if self.cam_layer is None and not self._is_user_network():
            return None
        from featcls.models._cnn_user import gradcam_layer

        return gradcam_layer(self.module_, self.cam_layer)

    def _explain(self, run: FitRun, table: pd.DataFrame, seed: int):
        """Saliency and Grad-CAM of a few validation images per class."""
        return explain_samples(self, run, table, seed)

    # -- persistence ---------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the fitted model to ``path`` (a ``torch.save`` file).

        The file holds the parameters, classes and training history as plain data and
        the weights as a state dict; :meth:`load` reads it with
        ``torch.load(weights_only=True)``, which executes no code.
        """
        check_is_fitted(self, "module_")
        if self._extra_inputs is not None or getattr(self, "n_extra_", 0):
            raise ValueError(
                "This network was trained with hand-crafted feature inputs (the "
                "network of a FusionClassifier) and cannot be used without them: "
                "save the FusionClassifier instead."
            )
        return write_model(self, path)

    @classmethod
    def load(cls, path: str | Path, *, module=None) -> CNNClassifier:
        """Read a model written by :meth:`save` (no code in the file is executed).

        A model trained on your own network needs that network again as
        ``module`` (a module, a factory or a ``"package.module:factory"`` string,
        as in fitting): the file holds its weights, never its code, and names no
        module that loading would import.
        """
        return read_model(cls, path, module=module)

    @classmethod
    def from_payload(
        cls, payload: dict, path: str | Path, *, module=None
    ) -> CNNClassifier:
        """Rebuild a model from the plain data :meth:`load` reads.

        ``path`` names the file in messages; ``module`` as in :meth:`load`.
        """
        return from_payload(cls, payload, path, module=module)

    def __getstate__(self):
        state = dict(super().__getstate__())
        module = state.pop("module_", None)
        if module is not None:  # weights on the CPU; rebuilt on unpickling
            state["_module_state"] = cpu_state(module)
        return state

    def __setstate__(self, state):
        state = dict(state)
        module_state = state.pop("_module_state", None)
        super().__setstate__(state)
        if module_state is not None:
            self.module_ = self._new_network()
            self.module_.load_state_dict(module_state)
            self.module_.eval()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Input is a sample table of images, not a 2-D feature matrix: scikit-learn's
        # common checks on random tabular data do not apply (see tests/models).
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.non_deterministic = False
        tags.classifier_tags.multi_label = True
        return tags
