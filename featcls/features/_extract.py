"""Feature extraction for one image: decode, prepare, mask, compute every family.

Everything here runs inside joblib workers, so it is plain functions over plain data:
an :class:`ExtractionConfig` and the image and mask sources of a few samples in, a row
of floats, the mask's origin and notes about problems out. The workers never warn
(warnings raised in a process pool are lost); the parent turns the notes into one
:class:`~featcls.exceptions.FeatureWarning` per kind of problem.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from featcls.data import (
    ChannelFiles,
    PreparedSample,
    auto_mask,
    check_image,
    check_scale,
    prepare_sample,
    read_image,
    read_mask,
    split_channels,
    to_float,
)
from featcls.data._channels import channel_view
from featcls.exceptions import FeatureWarning
from featcls.features._context import ImageContext, MaskGeometry

__all__ = [
    "ExtractionConfig",
    "batched_chunk",
    "compute_family",
    "descriptor_chunk",
    "extract_chunk",
    "extract_sample",
    "load_image",
    "load_sample",
    "prepare_source",
    "warn_all_nan",
    "warn_notes",
]

#: Smallest image side (px) for which features are computed; smaller → NaN + warning.
MIN_SIZE = 3

#: What the notes mean, for the warnings that the parent process raises.
NOTE_MESSAGES = {
    "empty_mask": "the object mask is empty, so every feature is NaN; check the mask "
    "(or drop the mask column to let featcls segment the object)",
    "too_small": f"the image is smaller than {MIN_SIZE}×{MIN_SIZE} pixels, so every "
    "feature is NaN; resize it (FeatureExtractor(size=...))",
    "constant": "the image is constant (no contrast), so statistics of spread and "
    "texture are NaN where undefined",
    "no_background": "the object fills the whole image (mask='full' or a full "
    "mask), so every background statistic (intensity bg_*, snr snr/cnr/contrast) "
    "is NaN",
    "flat_object": "the object has a single intensity (or a single grey level), so "
    "its skewness, kurtosis, object_snr and Haralick correlation are NaN",
    "flat_background": "the background has a single intensity (e.g. with "
    "mask_out=True), so its skewness and kurtosis and the snr are NaN",
    "black_object": "the object's intensities add up to zero (a black object), so "
    "its intensity-weighted moments (and the contrast, on a black background) are "
    "NaN",
    "empty_rings": "some rings of the radial or edge profile hold no pixel (the "
    "centroid lies outside the object, or a ring lies outside the image), so their "
    "ring features are NaN",
    "no_pairs": "the object has no pixel pair at some Haralick distance in some "
    "direction (it is thinner than the distance), so those Haralick features are NaN",
    "no_descriptors": "no VLAD keypoint lies inside the object (the mask is empty "
    "or the object smaller than the grid step), so the vlad features are NaN",
    "undefined": "some features are undefined for the image and are NaN",
}

#: Notes implied by a constant image, not repeated for it.
_IMPLIED_BY_CONSTANT = frozenset({"flat_object", "flat_background"})


@dataclass(frozen=True)
class ExtractionConfig:
    """Everything a worker needs to turn one sample into a row of features.

    ``channels`` is a channel policy; ``select``, when set, is a channel view: the
    named channels every sample is reduced to before anything else (the policy
    is then ``"channels"``), so that the grey image, the automatic mask and the
    descriptors of a stateful family all come from the channels in view.
    """

    families: tuple = ()
    channels: str = "gray"
    select: tuple[str, ...] | None = None
    mask: str = "auto"
    size: Any = None
    crop: bool = False
    margin: float = 0.1
    mask_out: bool = False
    channel_names: tuple[str, ...] | None = field(default=None)

    def n_features(self, n_channels: int) -> int:
        return sum(
            len(f.feature_names()) * (n_channels if f.per_channel else 1)
            for f in self.families
        )


def _label(image_src: Any, index: Any) -> str:
    if isinstance(image_src, np.ndarray):
        return f"sample {index!r}"
    return str(image_src)


def prepare_source(
    image_src: Any, mask_src: Any, config: ExtractionConfig, name: str
) -> tuple[PreparedSample, tuple[str, ...] | None]:
    """Decode one sample and make its input variant (crop, mask-out, size).

    Returns the :class:`~featcls.data.PreparedSample` and the names of the image's
    channels (None unless it is a sample of one file per named channel). Such a
    sample is first reduced to the channel view, if any, so only those files are
    read; its channels keep their names. The sample's mask is read only for
    ``mask="auto"``.
    """
    image, mask, names = _decode(image_src, mask_src, config, name)
    return _prepare(image, mask, names, config), names


def _decode(image_src: Any, mask_src: Any, config: ExtractionConfig, name: str):
    """The sample's image (through the channel view), its mask or None, and names."""
    if config.select is not None:
        image_src = channel_view(image_src, config.select, name)
    names = image_src.names if isinstance(image_src, ChannelFiles) else None
    if isinstance(image_src, np.ndarray):
        image = check_image(image_src, name=name)
        # before resizing or masking can hide values outside the scale
        check_scale(image, name=name)
    else:
        image = read_image(image_src)
    mask = None
    has_mask = mask_src is not None and not (
        isinstance(mask_src, float) and np.isnan(mask_src)
    )
    if config.mask == "auto" and has_mask:
        mask = read_mask(
            mask_src,
            name=None if not isinstance(mask_src, np.ndarray) else f"mask of {name}",
            shape=image.shape[:2],
        )
    return image, mask, names


def _prepare(image, mask, names, config: ExtractionConfig) -> PreparedSample:
    # The input variant, as the CNN prepares it too. An empty mask needs no warning
    # here: the sample's features are NaN and its "empty_mask" note says why.
    return prepare_sample(
        image,
        mask,
        names=names,
        size=config.size,
        crop=config.crop,
        margin=config.margin,
        mask_out=config.mask_out,
    )


def load_sample(image_src: Any, mask_src: Any, config: ExtractionConfig, name: str):
    """Decode and prepare one sample.

    Returns the channel images (float32, common 0–1 scale), their names, the object
    mask and where it came from (``"user"``, ``"auto"`` or ``"full"``). A sample of
    one file per named channel is first reduced to the channel view, if any, so
    only those files are read; its channels keep their names.
    """
    (image, mask, source, _), names = prepare_source(image_src, mask_src, config, name)
    channels, channel_names = split_channels(
        to_float(image), config.channels, names=names
    )
    if config.mask == "full":
        return channels, channel_names, np.ones(image.shape[:2], bool), "full"
    if mask is not None:
        return channels, channel_names, mask, source
    gray = (
        channels[0]
        if config.channels == "gray"
        else split_channels(to_float(image), "gray", names=names)[0][0]
    )
    return channels, channel_names, auto_mask(gray), "auto"


def _is_constant(channel: np.ndarray) -> bool:
    low, high, _, _ = cv2.minMaxLoc(channel)  # one pass over the pixels
    return low == high


def extract_sample(
    image_src: Any, mask_src: Any, config: ExtractionConfig, name: str
) -> tuple[np.ndarray, str, list[str], int]:
    """Features of one sample as a flat row, in the order of the extractor's names.

    Returns ``(row, mask_source, notes, n_channels)``.
    """
    channels, names, mask, source = load_sample(image_src, mask_src, config, name)
    if config.channel_names is not None and tuple(names) != config.channel_names:
        raise ValueError(
            f"Image {name!r} has channels {list(names)} but the extractor was fitted "
            f"on images with channels {list(config.channel_names)}; use images with "
            "the same number of channels, or channels='gray'."
        )
    notes: list[str] = []
    if min(mask.shape) < MIN_SIZE:
        nan = np.full(config.n_features(len(channels)), np.nan)
        return nan, source, ["too_small"], len(channels)
    geometry = MaskGeometry(mask)
    if geometry.empty:
        nan = np.full(config.n_features(len(channels)), np.nan)
        return nan, source, ["empty_mask"], len(channels)
    constant = all(_is_constant(c) for c in channels)
    found: set[str] = set()  # shared by the channels' contexts
    contexts = [ImageContext(c, geometry, name, found) for c in channels]
    parts = []
    with np.errstate(all="ignore"):
        for family in config.families:
            for ctx in contexts if family.per_channel else contexts[:1]:
                before = ctx.n_notes
                part = np.asarray(family.compute(ctx), dtype=np.float64)
                if not constant and ctx.n_notes == before and np.isnan(part).any():
                    found.add("undefined")  # a NaN no family explained: still said
                parts.append(part)
    if constant:
        notes.append("constant")
        found -= _IMPLIED_BY_CONSTANT
    notes += [kind for kind in NOTE_MESSAGES if kind in found]  # a fixed order
    return np.concatenate(parts), source, notes, len(channels)


@contextmanager
def _opencv_single_thread():
    """Run OpenCV on one thread inside the block, then restore its setting.

    Extraction is parallel over images (``n_jobs``); OpenCV splitting each call on a
    small image over its own threads only adds hand-offs, which cost most when the
    cores are busy, and would make "one process" use several cores.
    """
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


def extract_chunk(samples: list[tuple[Any, Any, Any]], config: ExtractionConfig):
    """Run :func:`extract_sample` over ``(index, image_src, mask_src)`` triples."""
    out = []
    with _opencv_single_thread():
        for index, image_src, mask_src in samples:
            row, source, notes, _ = extract_sample(
                image_src, mask_src, config, _label(image_src, index)
            )
            out.append((index, row, source, notes))
    return out


def descriptor_chunk(
    samples: list[tuple[Any, Any, Any]], config: ExtractionConfig, family
) -> list[tuple[Any, np.ndarray]]:
    """Local descriptors of a stateful family for ``(index, image, mask)`` triples.

    Computed on the grey version of each prepared image with its object mask.
    """
    gray = replace(config, channels="gray", channel_names=None)
    out = []
    with _opencv_single_thread():
        for index, image_src, mask_src in samples:
            name = _label(image_src, index)
            channels, _, mask, _ = load_sample(image_src, mask_src, gray, name)
            if min(mask.shape) < MIN_SIZE or not mask.any():
                out.append((index, np.zeros((0, family.descriptor_dim), np.float32)))
                continue
            ctx = ImageContext(channels[0], MaskGeometry(mask), name)
            out.append((index, family.local_descriptors(ctx)))
    return out


def load_image(
    image_src: Any,
    mask_src: Any,
    config: ExtractionConfig,
    name: str,
    *,
    policy: Any = None,
    select: tuple[str, ...] | None = None,
) -> tuple[np.ndarray, bool]:
    """One prepared sample as a network sees it: float32 ``(H, W, C)`` on [0, 1].

    The image keeps its own channels (the extractor's channel policy does not
    apply; a channel view does), except a constant last channel of a grey+alpha
    or RGBA image (an opaque alpha, judged before ``mask_out`` blackens the
    background), which is dropped. ``policy`` and ``select`` are the network's
    own: the channel policy of :func:`~featcls.data.split_channels` it was
    trained with (applied to the prepared image, alpha included, as
    :class:`~featcls.models.CNNClassifier` does, on the uint8 scale) and the
    named channels it takes, in its order. Also returns whether the object mask
    that ``crop`` or ``mask_out`` needed is empty.
    """
    if config.select is not None:
        image_src = channel_view(image_src, config.select, name)
        config = replace(config, select=None)
    if select is not None and isinstance(image_src, ChannelFiles):
        image_src = channel_view(image_src, select, name)
    image, mask, names = _decode(image_src, mask_src, config, name)
    opaque = (
        policy is None
        and names is None
        and image.ndim == 3
        and image.shape[2] in (2, 4)
        and _is_constant(image[:, :, -1])
    )
    prepared = _prepare(image, mask, names, config)
    values = to_float(prepared.image)
    if policy is not None:
        planes, _ = split_channels(values, policy, names=names)
        # on the uint8 scale, as CNNClassifier trained on them
        values = np.floor(np.stack(planes, axis=2) * 255.0 + 0.5) / np.float32(255)
    if values.ndim == 2:
        values = values[:, :, None]
    if opaque:
        values = values[:, :, :-1]
    return np.ascontiguousarray(values, dtype=np.float32), prepared.empty_mask


def batched_chunk(
    samples: list[tuple[Any, Any, Any]], config: ExtractionConfig, family, state
) -> list[tuple[Any, np.ndarray, list[str]]]:
    """Rows of a batched family (a network) for ``(index, image, mask)`` triples.

    The samples are decoded and prepared one by one (:func:`load_image`), then
    ``family.compute_batch(images, state)`` runs them through the network together.
    A sample whose object mask is empty while ``crop`` or ``mask_out`` needed it
    gets NaN and the note ``"empty_mask"``. A network from a featcls model file
    or pretrained backbone (``state.variant``) gets its own channel policy and
    named channels, and under an input variant images are resized to the
    network's input as they are prepared (before the channel policy), as the CNN
    prepared them.
    """
    variant = getattr(state, "variant", None) or {}
    policy = variant.get("channels")
    if config.size is None and (
        policy is not None or variant.get("crop") or variant.get("mask_out")
    ):  # resized while prepared, before the channel policy, as the CNN did
        config = replace(config, size=(state.input_size, state.input_size))
    images, out = [], []
    with _opencv_single_thread():
        for index, image_src, mask_src in samples:
            image, empty = load_image(
                image_src,
                mask_src,
                config,
                _label(image_src, index),
                policy=policy,
                select=getattr(state, "channel_names", None),
            )
            out.append((index, None if empty else len(images)))
            if not empty:
                images.append(image)
    rows = family.compute_batch(images, state)  # (0, width) for no image
    return [
        (index, np.full(rows.shape[1], np.nan), ["empty_mask"])
        if at is None
        else (index, rows[at], [])
        for index, at in out
    ]


def warn_notes(notes_by_sample: dict[str, list[str]]) -> None:
    """Raise one :class:`FeatureWarning` per kind of problem, naming the samples.

    The message names the first five; the warning's ``samples`` attribute holds
    them all (and ``kind`` the note), for code that wants to act on them.
    """
    by_kind: dict[str, list[str]] = {}
    for name, notes in notes_by_sample.items():
        for note in notes:
            by_kind.setdefault(note, []).append(name)
    for kind, names in by_kind.items():
        shown = ", ".join(repr(n) for n in names[:5])
        more = f" and {len(names) - 5} more" if len(names) > 5 else ""
        # (A note from a foreign cache part that featcls does not know still warns.)
        message = NOTE_MESSAGES.get(kind, NOTE_MESSAGES["undefined"])
        warning = FeatureWarning(f"{len(names)} sample(s): {message}: {shown}{more}.")
        warning.kind, warning.samples = kind, tuple(names)
        warnings.warn(warning, stacklevel=3)


def warn_all_nan(
    values: np.ndarray | None,
    names: list[str],
    *,
    all_nan: np.ndarray | None = None,
    n_rows: int | None = None,
) -> None:
    """One :class:`FeatureWarning` naming the features that are NaN in every row.

    Only for two rows or more: for a single image the per-sample warnings say it.
    The warning's ``features`` attribute holds every such feature's name. Instead
    of ``values``, a stream of rows gives ``all_nan`` (which columns were NaN in
    every row) and ``n_rows``.
    """
    if values is not None:
        all_nan, n_rows = np.isnan(values).all(axis=0), len(values)
    if n_rows < 2:
        return
    dead = [name for name, nan in zip(names, all_nan, strict=True) if nan]
    if dead:
        shown = ", ".join(repr(n) for n in dead[:20])
        more = f" and {len(dead) - 20} more" if len(dead) > 20 else ""
        warning = FeatureWarning(
            f"{len(dead)} feature(s) are NaN for every one of the {n_rows} "
            f"samples, so they carry no information (the warnings above say why; "
            f"drop them or change the settings): {shown}{more}."
        )
        warning.kind, warning.features = "all_nan", tuple(dead)
        warnings.warn(warning, stacklevel=3)


def compute_family(
    family, image: np.ndarray, mask: np.ndarray | None = None
) -> dict[str, float]:
    """Compute one family on one image (the pure-function form of every family).

    ``image`` is a 2-D array (colour images are converted to grey); ``mask`` an
    optional boolean object mask of the same shape (the automatic Otsu mask when
    None). Returns an ordered ``{feature name: value}`` dict.
    """
    family.validate()
    if family.batched:
        raise ValueError(
            f"The {family.name!r} family runs a network over batches of images, so "
            "it has no single-image form; use FeatureExtractor(families=[family])"
            ".fit_transform(images)."
        )
    if family.stateful:
        raise ValueError(
            f"The {family.name!r} family learns a codebook from training images, so it "
            f"has no single-image form; use FeatureExtractor(families=["
            f"{family.name!r}]).fit(train_images).transform(images)."
        )
    config = ExtractionConfig(families=(family,))
    with _opencv_single_thread():  # as in the extractor: the same bits
        row, _, notes, _ = extract_sample(np.asarray(image), mask, config, "<image>")
    warn_notes({"image": notes})
    return dict(zip(family.feature_names(), row.tolist(), strict=True))
