"""Synthetic cryo-EM images of liposome-like particles in three imbalanced classes."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pandas as pd

from featcls.data._dataset import Dataset, provenance
from featcls.data._table import object_column

__all__ = ["SYNTHETIC_CLASSES", "make_synthetic"]

#: Class names of :func:`make_synthetic`, in the order of its ``weights``.
SYNTHETIC_CLASSES = ("unilamellar", "multilamellar", "uncertain")
#: Smallest side of the generated images, in pixels.
MIN_IMAGE_SIZE = 16
# Spawn key of the label shuffle; sample i uses spawn key (i,), so no collision.
_LABEL_KEY = 2**40
_REF_SIZE = 96.0  # noise and blur are specified at this image size


@dataclass
class _Ring:
    """One membrane: an (optionally deformed or broken) elliptical ring."""

    cx: float
    cy: float
    a: float  # semi-axis along the rotated x axis, pixels
    b: float
    theta: float
    contrast: float  # depth of the dark membrane, in background units
    width: float  # Gaussian sigma of the membrane, pixels
    halo: float  # bright fringe either side, as a fraction of the contrast
    interior: float = 0.0  # offset of the inside relative to the background
    harmonics: tuple[tuple[int, float, float], ...] = ()  # (k, amplitude, phase)
    gap: tuple[float, float, float] | None = None  # (direction, fraction, residual)


def _geometry(ring: _Ring, xx: np.ndarray, yy: np.ndarray):
    """Signed distance (pixels, negative inside) along rays, and the ray direction."""
    cos_t, sin_t = np.cos(ring.theta), np.sin(ring.theta)
    dx, dy = xx - np.float32(ring.cx), yy - np.float32(ring.cy)
    xr = dx * np.float32(cos_t) + dy * np.float32(sin_t)
    yr = dy * np.float32(cos_t) - dx * np.float32(sin_t)
    eps = np.float32(1e-3)
    r = np.sqrt(xr * xr + yr * yr) + eps
    rho = np.sqrt((xr / np.float32(ring.a)) ** 2 + (yr / np.float32(ring.b)) ** 2)
    rho += eps / np.float32(ring.a)
    boundary = r / rho  # distance from the centre to the ellipse along the ray
    if ring.harmonics:
        phi = np.arctan2(yr, xr)
        modulation = np.ones_like(r)
        for k, amplitude, phase in ring.harmonics:
            modulation += np.float32(amplitude) * np.cos(k * phi + np.float32(phase))
        boundary *= modulation
    return r - boundary, xr / r, yr / r


def _draw(
    ring: _Ring, xx: np.ndarray, yy: np.ndarray, canvas: np.ndarray
) -> np.ndarray:
    """Add a ring to ``canvas`` in place; return its inside (distance <= 0)."""
    d, ux, uy = _geometry(ring, xx, yy)
    t = d / np.float32(ring.width)
    profile = np.exp(-0.5 * t * t) * np.float32(-ring.contrast)
    fringe = (np.abs(t) - np.float32(2.2)) / np.float32(1.2)
    profile += np.exp(-0.5 * fringe * fringe) * np.float32(ring.halo * ring.contrast)
    if ring.gap is not None:
        direction, fraction, residual = ring.gap
        along = ux * np.float32(np.cos(direction)) + uy * np.float32(np.sin(direction))
        present = np.clip((np.cos(np.pi * fraction) - along) / 0.2 + 0.5, 0, 1)
        profile *= np.float32(residual) + np.float32(1 - residual) * present
    canvas += profile
    if ring.interior:
        canvas += np.clip(0.5 - 0.5 * t, 0, 1) * np.float32(ring.interior)
    return d <= 0


def _outer_ring(rng: np.random.Generator, size: int, margin: float) -> _Ring:
    """The particle's outer membrane: size, shape, position and contrast."""
    a_cap = size / 2 / (1 + margin)
    a = min(rng.uniform(0.20, 0.40) * size, a_cap)
    q = rng.uniform(0.72, 1.0)  # aspect ratio b/a
    slack = max(size / 2 - a * (1 + margin), 0.0)
    centre = (size - 1) / 2
    harmonics = ()
    if rng.random() < 0.15:  # mildly faceted, in every class
        harmonics = (
            (
                int(rng.integers(3, 7)),
                rng.uniform(0.01, 0.04),
                rng.uniform(0, 2 * np.pi),
            ),
        )
    return _Ring(
        cx=centre + rng.uniform(-slack, slack),
        cy=centre + rng.uniform(-slack, slack),
        a=a,
        b=a * q,
        theta=rng.uniform(0, np.pi),
        contrast=rng.uniform(0.12, 0.35),
        width=max(rng.uniform(0.014, 0.024) * size, 0.9),
        halo=rng.uniform(0.15, 0.45),
        interior=rng.uniform(-0.06, 0.02),
        harmonics=harmonics,
    )


def _inner_rings(
    rng: np.random.Generator, outer: _Ring, n: int, faint: bool
) -> list[_Ring]:
    """``n`` membranes inside ``outer``: concentric shells or off-centre vesicles."""
    rings = []
    level = (0.15, 0.4) if faint else (0.7, 1.1)
    if rng.random() < 0.7:  # concentric lamellae
        spacing = max(rng.uniform(0.08, 0.18) * outer.a, 3.5 * outer.width)
        for k in range(1, n + 1):
            scale = 1 - k * spacing / outer.a
            if scale < 0.25:
                break
            rings.append(
                _Ring(
                    outer.cx,
                    outer.cy,
                    outer.a * scale,
                    outer.b * scale,
                    outer.theta,
                    outer.contrast * rng.uniform(*level),
                    outer.width,
                    outer.halo,
                    harmonics=outer.harmonics,
                )
            )
        return rings
    parent = outer
    for _ in range(n):  # nested off-centre vesicles
        r_parent = min(parent.a, parent.b)
        radius = rng.uniform(0.35, 0.7) * r_parent
        room = max(r_parent - radius - 3 * outer.width, 0.0)
        shift, angle = rng.uniform(0, room), rng.uniform(0, 2 * np.pi)
        q = rng.uniform(0.8, 1.0)
        ring = _Ring(
            parent.cx + shift * np.cos(angle),
            parent.cy + shift * np.sin(angle),
            radius,
            radius * q,
            rng.uniform(0, np.pi),
            outer.contrast * rng.uniform(*level),
            outer.width,
            outer.halo,
        )
        if ring.a < 3 * outer.width:
            break
        rings.append(ring)
        parent = ring
    return rings


def _neighbour(
    rng: np.random.Generator, outer: _Ring, size: int, overlap: bool
) -> _Ring:
    """Another vesicle next to the particle: touching or overlapping it."""
    radius = rng.uniform(0.15, 0.35) * size
    gap = (
        -rng.uniform(0.15, 0.5) * radius if overlap else rng.uniform(3, 8) * outer.width
    )
    distance = max(outer.a, outer.b) + radius + gap
    angle = rng.uniform(0, 2 * np.pi)
    return _Ring(
        outer.cx + distance * np.cos(angle),
        outer.cy + distance * np.sin(angle),
        radius,
        radius * rng.uniform(0.75, 1.0),
        rng.uniform(0, np.pi),
        rng.uniform(0.10, 0.35),
        outer.width,
        outer.halo,
    )


def _particle(rng: np.random.Generator, label: str, size: int, margin: float):
    """The outer membrane and all other rings of one particle of class ``label``."""
    outer = _outer_ring(rng, size, margin)
    others: list[_Ring] = []
    if label == "multilamellar":
        n_inner = int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))
        others += _inner_rings(rng, outer, n_inner, faint=False)
    elif label == "uncertain":
        kind = rng.integers(5)
        if kind == 0:  # a second membrane barely visible
            others += _inner_rings(rng, outer, 1, faint=True)
        elif kind == 1:  # partly broken rings
            outer.gap = (
                rng.uniform(0, 2 * np.pi),
                rng.uniform(0.2, 0.45),
                rng.uniform(0.0, 0.3),
            )
            for ring in _inner_rings(rng, outer, int(rng.integers(0, 2)), faint=False):
                ring.gap = (rng.uniform(0, 2 * np.pi), rng.uniform(0.3, 0.6), 0.0)
                others.append(ring)
        elif kind == 2:  # deformed, faceted particle
            outer.harmonics = tuple(
                (int(k), rng.uniform(0.04, 0.12), rng.uniform(0, 2 * np.pi))
                for k in rng.choice([2, 3, 4, 5, 6], size=2, replace=False)
            )
            if rng.random() < 0.4:
                others += _inner_rings(rng, outer, 1, faint=True)
        elif kind == 3:  # an overlapping neighbour
            others.append(_neighbour(rng, outer, size, overlap=True))
        else:  # a faint particle
            outer.contrast = rng.uniform(0.04, 0.09)
            if rng.random() < 0.5:
                others += _inner_rings(rng, outer, 1, faint=False)
    if label != "uncertain" and rng.random() < 0.1:  # a neighbour at the edge
        others.append(_neighbour(rng, outer, size, overlap=False))
    return outer, others


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Ice: level 1 with smooth low-frequency thickness variation and a gradient."""
    n = int(rng.integers(3, 6))
    coarse = rng.normal(0, rng.uniform(0.015, 0.06), (n, n)).astype(np.float32)
    field = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    ramp = np.linspace(-1, 1, size, dtype=np.float32) * np.float32(rng.uniform(0, 0.05))
    angle = rng.uniform(0, 2 * np.pi)
    field += (
        np.float32(np.cos(angle)) * ramp[None, :]
        + np.float32(np.sin(angle)) * ramp[:, None]
    )
    return field + np.float32(1.0)


def _render(
    seed: np.random.SeedSequence,
    label: str,
    size: int,
    margin: float,
    noise: tuple[float, float],
    grid: tuple[np.ndarray, np.ndarray],
):
    """One uint8 image and its bool particle mask."""
    rng = np.random.default_rng(seed)
    xx, yy = grid
    outer, others = _particle(rng, label, size, margin)
    canvas = _background(rng, size)
    mask = _draw(outer, xx, yy, canvas)
    for ring in others:
        _draw(ring, xx, yy, canvas)
    np.maximum(canvas, 0.05, out=canvas)
    scale = size / _REF_SIZE
    # Shot noise (Gaussian approximation: variance proportional to intensity), at a
    # dose per particle area independent of the image size, then the optics' blur.
    level = np.exp(rng.uniform(np.log(noise[0]), np.log(noise[1]))) * scale
    canvas += (
        np.sqrt(canvas)
        * rng.standard_normal(canvas.shape, dtype=np.float32)
        * np.float32(level)
    )
    canvas = cv2.GaussianBlur(canvas, (0, 0), rng.uniform(0.6, 1.2) * scale)
    gain, offset = rng.uniform(90, 130), rng.uniform(-8, 8)
    image = np.clip(canvas * np.float32(gain) + np.float32(offset), 0, 255)
    return image.astype(np.uint8), mask


def _class_counts(n_samples: int, weights: np.ndarray) -> np.ndarray:
    counts = np.rint(n_samples * weights).astype(int)
    if n_samples >= 30:
        counts = np.maximum(counts, 2)
    counts[np.argmax(counts)] += n_samples - counts.sum()
    return counts


def make_synthetic(
    n_samples: int = 300,
    *,
    image_size: int = 96,
    weights: tuple[float, float, float] = (0.85, 0.12, 0.03),
    margin: float = 0.35,
    noise: float | tuple[float, float] = (0.12, 0.35),
    random_state: int | None = 0,
) -> Dataset:
    """Make synthetic cryo-EM images of liposomes in three imbalanced classes.

    Each image shows one vesicle, roughly centred, on vitreous ice: a grey background
    with low-frequency thickness variation, the particle's lipid membranes drawn as thin
    dark rings with a faint bright fringe, shot noise and a Gaussian blur. The classes
    (``weights`` in this order) are:

    * ``unilamellar`` (85 %): one membrane around an interior slightly different from
      the background;
    * ``multilamellar`` (12 %): two to four membranes, concentric shells or
      off-centre inner vesicles;
    * ``uncertain`` (3 %): ambiguous particles: a second membrane barely visible,
      partly broken membranes, a deformed (faceted) outline, an overlapping neighbour
      or a very faint particle.

    The outer membrane is an ellipse whose major semi-axis is 20-40 % of the image
    size (capped so that ``margin`` fits), with aspect ratio 0.72-1 and a random
    rotation; 15 % of all particles are mildly faceted and 10 % of the unilamellar and
    multilamellar ones have a neighbour close by. Contrast, membrane width, noise, blur
    and brightness vary from image to image, so a good hand-crafted-feature model is
    clearly better than chance but not perfect, mostly because ``uncertain`` overlaps
    the other two classes.

    The result depends only on the arguments: sample ``i`` is drawn from its own
    random stream, spawned from ``random_state`` with key ``i``, so its appearance (for
    a given class) does not depend on ``n_samples``. Nothing is downloaded; 300
    images of 96×96 take a few tenths of a second.

    Parameters
    ----------
    n_samples : int, default=300
        Number of images.
    image_size : int, default=96
        Height and width in pixels (at least 16).
    weights : tuple of three floats, default=(0.85, 0.12, 0.03)
        Class proportions of unilamellar, multilamellar and uncertain; they must sum
        to 1. Counts are ``round(n_samples * weight)``, at least 2 per class when
        ``n_samples >= 30`` (so stratified cross-validation works), the remainder
        going to the largest class.
    margin : float, default=0.35
        Free space kept between the particle and the image border, as a fraction of
        its major semi-axis.
    noise : float or (float, float), default=(0.12, 0.35)
        Standard deviation of the shot noise on the background relative to its level
        (before blurring, at 96×96); a range is sampled log-uniformly per image.
    random_state : int or None, default=0
        Seed. None draws fresh entropy (recorded in ``meta["entropy"]``).

    Returns
    -------
    dataset : Dataset
        ``X`` has uint8 ``(image_size, image_size)`` arrays in ``image`` and bool
        particle masks (the filled outer membrane) in ``mask``; ``classes`` is
        ``['multilamellar', 'uncertain', 'unilamellar']``.

    Examples
    --------
    >>> data = make_synthetic(40, image_size=64)
    >>> data.class_counts().to_dict()
    {'multilamellar': 5, 'uncertain': 2, 'unilamellar': 33}
    >>> data.X["image"].iloc[0].shape, data.X["mask"].iloc[0].dtype
    ((64, 64), dtype('bool'))
    """
    if (
        isinstance(n_samples, bool)
        or not isinstance(n_samples, (int, np.integer))
        or n_samples < 1
    ):
        raise ValueError(f"n_samples must be an int >= 1. Got {n_samples!r} instead.")
    if (
        isinstance(image_size, bool)
        or not isinstance(image_size, (int, np.integer))
        or image_size < MIN_IMAGE_SIZE
    ):
        raise ValueError(
            f"image_size must be an int >= {MIN_IMAGE_SIZE}. Got {image_size!r} "
            "instead."
        )
    w = np.asarray(weights, dtype=float)
    if w.shape != (3,) or (w < 0).any() or not np.isclose(w.sum(), 1.0):
        raise ValueError(
            "weights must be three non-negative class proportions (unilamellar, "
            f"multilamellar, uncertain) that sum to 1. Got {weights!r} instead."
        )
    if not 0 <= margin <= 1.5:
        raise ValueError(f"margin must be in [0, 1.5]. Got {margin!r} instead.")
    low, high = (noise, noise) if np.isscalar(noise) else noise
    if not 0 < low <= high:
        raise ValueError(
            "noise must be a positive float or a (low, high) pair with "
            "0 < low <= high. "
            f"Got {noise!r} instead."
        )
    root = np.random.SeedSequence(random_state)
    counts = _class_counts(int(n_samples), w)
    labels = np.repeat(np.array(SYNTHETIC_CLASSES), counts)
    label_rng = np.random.default_rng(
        np.random.SeedSequence(root.entropy, spawn_key=(_LABEL_KEY,))
    )
    labels = labels[label_rng.permutation(len(labels))]
    size = int(image_size)
    axis = np.arange(size, dtype=np.float32)
    grid = (
        np.broadcast_to(axis[None, :], (size, size)),
        np.broadcast_to(axis[:, None], (size, size)),
    )
    images, masks = [], []
    for i, label in enumerate(labels):
        seed = np.random.SeedSequence(root.entropy, spawn_key=(i,))
        image, mask = _render(seed, str(label), size, margin, (low, high), grid)
        images.append(image)
        masks.append(mask)
    X = pd.DataFrame({"image": object_column(images), "mask": object_column(masks)})
    return Dataset(
        X=X,
        y=labels.astype(str),
        groups=None,
        classes=sorted(SYNTHETIC_CLASSES),
        name="synthetic",
        meta=provenance(
            "make_synthetic",
            n_samples=int(n_samples),
            image_size=size,
            weights=[float(v) for v in w],
            margin=float(margin),
            noise=[float(low), float(high)],
            random_state=random_state,
            entropy=root.entropy,
        ),
    )
