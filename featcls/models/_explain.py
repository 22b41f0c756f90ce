"""Explain a fitted CNN's (or fusion model's) predictions: Grad-CAM or saliency maps.

The public face of the maps the report shows (:mod:`featcls.models._cnn_saliency`):
for images the user chooses, the heat map of each image and an overlay of it on
the image, as the network saw it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy is imported where it is used: the CLI reads the methods
    import numpy as np

__all__ = ["EXPLAIN_METHODS", "Explanation", "explain"]

#: The methods of :func:`explain`: Grad-CAM (Selvaraju et al. 2017) and
#: vanilla-gradient saliency (Simonyan et al. 2014).
EXPLAIN_METHODS = ("gradcam", "saliency")

#: Quantile of each saliency map scaled to 1 (as in the report): a few extreme
#: gradients would otherwise leave the rest of the map dark.
_SALIENCY_QUANTILE = 0.99


@dataclass(frozen=True)
class Explanation:
    """The explanation of one image's prediction.

    Attributes
    ----------
    heatmap : ndarray of float32, shape (S, S)
        Where the network looked, scaled to ``[0, 1]`` per image (Grad-CAM: its
        maximum is 1; saliency: its 99th percentile is 1, larger values clipped),
        at the network's input size ``S`` (``input_size``).
    overlay : ndarray of uint8, shape (S, S, 3)
        The heat map in JET colours (blue: low, red: high) blended half and half
        over the image in grey, RGB order.
    target : str
        The class whose logit was explained.
    prediction : str
        The predicted (most probable) class.
    probability : float
        The predicted class's probability.
    """

    heatmap: np.ndarray
    overlay: np.ndarray
    target: str
    prediction: str
    probability: float


def _network_of(model: Any):
    """The fitted CNNClassifier inside ``model``; one clear error for anything else."""
    from sklearn.utils.validation import check_is_fitted

    from featcls.models._cnn import CNNClassifier
    from featcls.models._fusion import FusionClassifier

    if isinstance(model, FusionClassifier):
        check_is_fitted(model, "cnn_")
        return model.cnn_
    if isinstance(model, CNNClassifier):
        check_is_fitted(model, "module_")
        return model
    raise ValueError(
        "explain needs a model with gradients on the pixels: a fitted "
        f"CNNClassifier or FusionClassifier (the models cnn, cnn-lipnet, "
        f"cnn-simple, cnn-resnet and fusion); got a {type(model).__name__}. Models "
        "on hand-crafted features have no pixel gradients to explain; their "
        "feature importances are in the comparison report."
    )


def _targets(target, classes: list[str], predicted: np.ndarray) -> np.ndarray:
    import numpy as np

    if target is None:
        return predicted
    if str(target) not in classes:
        raise ValueError(
            f"The 'target' parameter of explain must be one of the model's classes "
            f"{classes} or None (each image's prediction). Got {target!r} instead."
        )
    return np.full(len(predicted), classes.index(str(target)))


def _grey_bgr(raw: np.ndarray) -> np.ndarray:
    """uint8 ``(C, S, S)`` network input → grey image as BGR ``(S, S, 3)``."""
    import cv2
    import numpy as np

    from featcls.models._cnn_data import luma

    if raw.shape[0] == 3:
        grey = luma(np.ascontiguousarray(raw.transpose(1, 2, 0)))
    elif raw.shape[0] == 1:
        grey = raw[0]
    else:  # several stains: their mean, as the report's thumbnails
        grey = raw.mean(axis=0).astype(np.uint8)
    return cv2.cvtColor(np.ascontiguousarray(grey), cv2.COLOR_GRAY2BGR)


def explain(
    model: Any,
    images: Any,
    *,
    method: str = "gradcam",
    target: str | None = None,
) -> list[Explanation]:
    """Grad-CAM or saliency maps of a fitted CNN's predictions on ``images``.

    The images are decoded, prepared and resized as the model's ``predict``
    does (its input variant, ``input_size`` a side, the aspect ratio not kept;
    the overlays show the image so prepared), and one forward and one
    backward pass of the explained class's logit give the map
    (:func:`~featcls.models._cnn_saliency.saliency_maps`, in eval mode, without
    test-time augmentation; the prediction and its probability are those of
    ``predict_proba``). ``"gradcam"`` weighs the output maps of the network's
    Grad-CAM layer (the built-in networks' last convolutional block; your module's
    last ``nn.Conv2d`` or its ``cam_layer``) by their averaged gradients
    (Selvaraju et al. 2017): coarse, class-discriminative regions.
    ``"saliency"`` is the absolute gradient of the logit with respect to the input
    pixels, maximised over channels (Simonyan et al. 2014): fine, noisier detail.
    A :class:`~featcls.models.FusionClassifier` is explained through its network,
    its feature inputs held at their values.

    Parameters
    ----------
    model : CNNClassifier or FusionClassifier
        A fitted model on pixels (e.g. read by :func:`load_model`). Models on
        hand-crafted features have no pixel gradients and are refused.
    images : sample table, (N, H, W[, C]) array or list of paths
        The images to explain (as for ``predict``).
    method : {"gradcam", "saliency"}, default="gradcam"
        The map (see above).
    target : str or None, default=None
        The class explained for every image; None: each image's predicted class.

    Returns
    -------
    list of Explanation
        One per image, in order: ``heatmap`` (float32 ``(S, S)`` in ``[0, 1]``),
        ``overlay`` (uint8 RGB ``(S, S, 3)``), ``target``, ``prediction`` and
        ``probability``.

    Raises
    ------
    ValueError
        If ``model`` is not a fitted CNN or fusion model, ``method`` or
        ``target`` is not one of the choices, there are no images, or
        ``"gradcam"`` is asked of a network without a Grad-CAM layer.

    References
    ----------
    .. [1] Simonyan, K., Vedaldi, A. & Zisserman, A. (2014). Deep inside
       convolutional networks: visualising image classification models and
       saliency maps. ICLR workshop.
    .. [2] Selvaraju, R. R. et al. (2017). Grad-CAM: visual explanations from
       deep networks via gradient-based localization. ICCV.

    Examples
    --------
    >>> import numpy as np
    >>> from featcls.models import CNNClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 100, size=(8, 16, 16), dtype=np.uint8)
    >>> X[4:] += 120
    >>> y = np.array(["dark"] * 4 + ["bright"] * 4)
    >>> cnn = CNNClassifier(input_size=16, max_epochs=1, early_stopping=False)
    >>> maps = explain(cnn.fit(X, y), X[:2], method="saliency")
    >>> maps[0].heatmap.shape, maps[0].overlay.shape, maps[0].overlay.dtype
    ((16, 16), (16, 16, 3), dtype('uint8'))
    """
    import numpy as np

    from featcls.data import as_sample_table

    if method not in EXPLAIN_METHODS:
        raise ValueError(
            f"The 'method' parameter of explain must be one of {EXPLAIN_METHODS}. "
            f"Got {method!r} instead."
        )
    est = _network_of(model)

    if images is None or (hasattr(images, "__len__") and len(images) == 0):
        raise ValueError("explain needs images: got 0.")
    table = as_sample_table(images)
    proba = np.asarray(model.predict_proba(table), dtype=float)
    classes = [str(c) for c in model.classes_]
    predicted = proba.argmax(axis=1)
    targets = _targets(target, classes, predicted)
    raw = _decode(est, table)
    heat = _heat_maps(est, table, raw, targets, method)
    return [
        Explanation(
            heatmap=heat[i],
            overlay=overlay,
            target=classes[int(targets[i])],
            prediction=classes[int(predicted[i])],
            probability=float(proba[i, predicted[i]]),
        )
        for i, overlay in enumerate(_overlays(raw, heat))
    ]


def _decode(est: Any, table) -> np.ndarray:
    """The images of ``table`` as ``est``'s ``predict`` prepares them."""
    from featcls.models._cnn_device import num_threads

    with num_threads(est.n_threads):
        return est._decode(table)


def _heat_maps(
    est: Any, table, raw: np.ndarray, targets: np.ndarray, method: str
) -> np.ndarray:
    """Scaled ``(N, S, S)`` float32 maps of ``method`` for the classes ``targets``.

    ``raw`` holds the decoded images of ``table`` (:func:`_decode`).
    """
    import numpy as np

    from featcls.models._cnn_device import import_torch
    from featcls.models._cnn_saliency import _scale, saliency_maps

    torch = import_torch()
    extra = est._transform_extra(table)
    net = est.module_
    device = next(net.parameters()).device
    mean = torch.as_tensor(est.channel_mean_, device=device).view(1, -1, 1, 1)
    std = torch.as_tensor(est.channel_std_, device=device).view(1, -1, 1, 1)
    layer = est._gradcam_layer()
    maps = []
    step = max(1, int(est.batch_size))
    for start in range(0, len(raw), step):
        part = slice(start, start + step)
        x = est._inputs(torch.from_numpy(raw[part]), mean, std)
        e = None
        if extra is not None:
            e = torch.as_tensor(extra[part], dtype=torch.float32, device=device)
        index = torch.as_tensor(targets[part], dtype=torch.int64, device=device)
        grad, cam = saliency_maps(net, x, index, e, layer)
        if method == "saliency":
            maps.append(_scale(grad, _SALIENCY_QUANTILE))
            continue
        if cam is None:
            raise ValueError(
                f"{type(est).__name__}'s network has no Grad-CAM layer (no "
                "nn.Conv2d and no 'cam_layer'): use method='saliency' (the command "
                "line's --method saliency)."
            )
        maps.append(_scale(cam, 1.0))
    return np.concatenate(maps).astype(np.float32)


def _overlays(raw: np.ndarray, heat: np.ndarray) -> list[np.ndarray]:
    """RGB overlays of the maps on the images ``raw`` as the network saw them."""
    import numpy as np

    from featcls.models._cnn_saliency import _overlay

    return [
        np.ascontiguousarray(_overlay(_grey_bgr(raw[i]), heat[i])[:, :, ::-1])
        for i in range(len(raw))
    ]
