"""Texture features: Haralick statistics and Laws' energies (LBP: ``_lbp``)."""

from __future__ import annotations

from functools import lru_cache
from numbers import Integral

import cv2
import numpy as np
from sklearn.utils._param_validation import StrOptions

from featcls._validation import NumberInterval, distinct_ints, invalid
from featcls.features._base import FeatureFamily
from featcls.features._context import U8_VALUES
from featcls.features._reduce import rowdot

__all__ = [
    "HaralickFeatures",
    "LawsFeatures",
    "haralick_features",
    "laws_features",
]

HARALICK_NAMES = (
    "asm",
    "contrast",
    "correlation",
    "variance",
    "idm",
    "sum_average",
    "sum_variance",
    "sum_entropy",
    "entropy",
    "difference_variance",
    "difference_entropy",
    "imc1",
    "imc2",
)


@lru_cache(maxsize=8)
def _glcm_tables(n: int):
    """Index helpers for an ``n``-level co-occurrence matrix (cached per ``n``).

    ``i + j`` and ``|i - j|`` of every cell, for summing the matrices along their
    anti-diagonals and diagonals with ``np.bincount``.
    """
    i, j = np.mgrid[:n, :n]
    k = np.arange(n, dtype=np.float64)
    idm = (1.0 / (1.0 + (i - j) ** 2)).ravel()
    ij = (i * j).ravel().astype(np.float64)
    return k, ij, (i + j).ravel(), np.abs(i - j).ravel(), idm


def _group_sums(p: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum the columns of ``p`` (m, c) by ``groups`` (c,) → (m, n_groups)."""
    m = p.shape[0]
    index = (np.arange(m)[:, None] * n_groups + groups[None, :]).ravel()
    return np.bincount(index, weights=p.ravel(), minlength=m * n_groups).reshape(
        m, n_groups
    )


def _log2(p: np.ndarray) -> np.ndarray:
    """``log2(p)`` where ``p > 0``, else 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log2(np.where(p > 0, p, 1.0))


def _entropy(p: np.ndarray, logs: np.ndarray | None = None) -> np.ndarray:
    """Shannon entropy (bits) along the last axis, 0·log 0 = 0."""
    return -(p * (_log2(p) if logs is None else logs)).sum(-1)


def glcm(levels: np.ndarray, n_levels: int, distance: int) -> np.ndarray:
    """Symmetric co-occurrence counts of ``levels`` in directions 0°, 45°, 90°, 135°.

    ``levels`` holds integers in ``[0, n_levels]``; level 0 marks pixels to ignore
    (outside the mask), and its row and column are zeroed. Returns (4, n+1, n+1).
    """
    n = n_levels + 1
    h, w = levels.shape
    d = distance
    out = np.zeros((4, n, n))
    # OpenCV's 2-D histogram of two 8-bit views counts the pairs ~3x faster than
    # np.bincount on combined codes; its float32 counts are exact below 2**24.
    joint = levels.dtype == np.uint8 and levels.size < 2**24
    for idx, (dy, dx) in enumerate(((0, d), (d, d), (d, 0), (d, -d))):
        if dy >= h or abs(dx) >= w:
            continue
        if dx >= 0:
            a, b = levels[: h - dy, : w - dx], levels[dy:, dx:]
        else:
            a, b = levels[: h - dy, -dx:], levels[dy:, : w + dx]
        if joint:
            counts = cv2.calcHist([a, b], [0, 1], None, [n, n], [0, n, 0, n])
        else:
            codes = a.astype(np.int64) * n + b
            counts = np.bincount(codes.ravel(), minlength=n * n).reshape(n, n)
        out[idx] = counts + counts.T
    out[:, 0, :] = 0
    out[:, :, 0] = 0
    return out


def haralick_from_glcm(cmats: np.ndarray) -> np.ndarray:
    """Haralick's 13 statistics for each matrix of ``cmats`` (m, n, n) → (m, 13).

    Vectorised over the matrices. The definitions follow Haralick et al. (1973) as
    implemented by mahotas (``haralick_features`` with ``use_x_minus_y_variance=True``)
    except that the correlation of a matrix with no spread is NaN rather than 1.
    A matrix with no pair at all gives NaN everywhere.
    """
    m, n, _ = cmats.shape
    k, ij, i_plus_j, i_minus_j, idm = _glcm_tables(n)
    total = cmats.sum((1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = (cmats / total[:, None, None]).reshape(m, n * n)
        pm = p.reshape(m, n, n)
        px, py = pm.sum(1), pm.sum(2)
        # Dot products with rowdot, not BLAS: the same bits whatever the threads.
        ux, uy = rowdot(px, k), rowdot(py, k)
        vx, vy = rowdot(px, k**2) - ux**2, rowdot(py, k**2) - uy**2
        p_plus = _group_sums(p, i_plus_j, 2 * n)
        p_minus = _group_sums(p, i_minus_j, n)
        tk = np.arange(2 * n, dtype=np.float64)
        f = np.empty((m, 13))
        f[:, 0] = (p * p).sum(1)
        f[:, 1] = rowdot(p_minus, k**2)
        sxsy = np.sqrt(np.maximum(vx, 0) * np.maximum(vy, 0))
        f[:, 2] = np.where(sxsy > 1e-12, (rowdot(p, ij) - ux * uy) / sxsy, np.nan)
        f[:, 3] = vx
        f[:, 4] = rowdot(p, idm)
        f[:, 5] = rowdot(p_plus, tk)
        f[:, 6] = rowdot(p_plus, tk**2) - f[:, 5] ** 2
        f[:, 7] = _entropy(p_plus)
        f[:, 8] = hxy = _entropy(p)
        f[:, 9] = rowdot(p_minus, k**2) - rowdot(p_minus, k) ** 2
        f[:, 10] = _entropy(p_minus)
        log_px, log_py = _log2(px), _log2(py)
        hx, hy = _entropy(px, log_px), _entropy(py, log_py)
        outer = (px[:, :, None] * py[:, None, :]).reshape(m, n * n)
        # log2(px py) = log2 px + log2 py: 2n logarithms per matrix instead of n².
        log_outer = (log_px[:, :, None] + log_py[:, None, :]).reshape(m, n * n)
        hxy1 = -(p * log_outer).sum(1)
        hxy2 = -(outer * log_outer).sum(1)
        hmax = np.maximum(hx, hy)
        f[:, 11] = np.where(
            hmax > 0, (hxy - hxy1) / np.where(hmax > 0, hmax, 1), hxy - hxy1
        )
        f[:, 12] = np.sqrt(np.maximum(0.0, 1.0 - np.exp(-2.0 * (hxy2 - hxy))))
    f[total == 0] = np.nan
    return f


def quantize(
    values: np.ndarray, mask: np.ndarray, n_levels: int, lo: float, hi: float
) -> np.ndarray:
    """Grey levels ``1..n_levels`` over [lo, hi] inside ``mask``, 0 outside."""
    scale = n_levels / (hi - lo) if hi > lo else 0.0
    q = (values - np.float32(lo)) * np.float32(scale)
    np.clip(q, 0, n_levels - 1, out=q)
    dtype = np.uint8 if n_levels < 255 else np.uint16
    levels = q.astype(dtype) + dtype(1)
    levels *= mask
    return levels


class HaralickFeatures(FeatureFamily):
    """Haralick's grey-level co-occurrence statistics (Haralick et al. 1973).

    The object's intensities are quantised to ``levels`` grey levels and, for each
    pixel distance in ``distances``, symmetric co-occurrence matrices are counted in
    the four directions 0°, 45°, 90° and 135° over pairs of object pixels only (pixels
    outside the mask never count). For each of the 13 statistics the mean and the
    range (max − min) over the four directions are returned: ``<stat>_d<d>_mean`` and
    ``<stat>_d<d>_range``. Statistics are in grey-level units (of the quantised
    image); grey level 1 is the lowest.

    The matrices are counted on the object's bounding box with OpenCV's joint
    histogram of shifted views (an 8-bit picture is quantised through a 256-entry
    table) and the statistics computed for all directions and distances at once;
    results equal mahotas's
    ``haralick(..., ignore_zeros=True, use_x_minus_y_variance=True)`` on the same
    quantised image, except that a matrix with no spread has NaN correlation.

    Parameters
    ----------
    distances : tuple of int, default=(1, 2)
        Pixel distances of the pairs.
    levels : int, default=32
        Number of grey levels after quantisation (2–4096). 256 levels on a 300×300
        image make mostly empty matrices and cost far more for little gain.
    quantization : {"object", "fixed"}, default="object"
        ``"object"`` spreads the levels over the object's own min–max intensity
        (contrast-normalised texture); ``"fixed"`` over the common 0–1 scale, so a
        level means the same intensity in every image.

    References
    ----------
    R. M. Haralick, K. Shanmugam, I. Dinstein, "Textural features for image
    classification", IEEE Trans. SMC 3 (1973) 610–621.
    """

    name = "haralick"
    _parameter_constraints: dict = {
        # An int or an array-like here; distinct_ints checks the elements.
        "distances": [NumberInterval(Integral, 1, None, closed="left"), "array-like"],
        "levels": [NumberInterval(Integral, 2, 4096, closed="both")],
        "quantization": [StrOptions({"object", "fixed"})],
    }

    def __init__(
        self,
        *,
        distances: tuple[int, ...] = (1, 2),
        levels: int = 32,
        quantization: str = "object",
    ):
        self.distances = distances
        self.levels = levels
        self.quantization = quantization

    def _check_params(self) -> None:
        distinct_ints(self, "distances")

    def feature_names(self) -> list[str]:
        self.validate()
        return [
            f"{s}_d{d}_{agg}"
            for d in distinct_ints(self, "distances")
            for agg in ("mean", "range")
            for s in HARALICK_NAMES
        ]

    def compute(self, ctx) -> np.ndarray:
        n_levels = int(self.levels)
        codes = ctx.codes8
        if self.quantization == "fixed":
            lo, hi = 0.0, 1.0
        elif codes is not None:
            present = U8_VALUES[ctx.code_counts[0] > 0]
            lo, hi = float(present[0]), float(present[-1])
        else:
            obj = ctx.object_values
            lo, hi = float(obj.min()), float(obj.max())
        # Only pairs of object pixels count, so the matrices are counted on the
        # object's bounding box: every pair reaching outside it involves level 0.
        r0, c0, r1, c1 = ctx.geometry.bbox
        mask = ctx.mask[r0:r1, c0:c1]
        if codes is not None:  # an 8-bit picture: quantise its 256 values, look up
            table = quantize(U8_VALUES, np.ones(256, bool), n_levels, lo, hi)
            box = codes[r0:r1, c0:c1]
            levels = cv2.LUT(box, table) if table.dtype == np.uint8 else table[box]
            levels *= mask
        else:
            levels = quantize(ctx.image[r0:r1, c0:c1], mask, n_levels, lo, hi)
        distances = distinct_ints(self, "distances")
        cmats = np.concatenate([glcm(levels, n_levels, d) for d in distances])
        stats = haralick_from_glcm(cmats)
        paired = cmats.any(axis=(1, 2))
        if not paired.all():  # a direction with no pair at a distance: NaN
            ctx.note("no_pairs")
        if np.isnan(stats[paired, 2]).any():  # one grey level: no correlation
            ctx.note("flat_object")
        stats = stats.reshape(len(distances), 4, 13)
        with np.errstate(invalid="ignore"):
            mean = stats.mean(axis=1)
            rng = stats.max(axis=1) - stats.min(axis=1)
        return np.stack([mean, rng], axis=1).ravel()


_LAWS_VECTORS = {
    "l5": np.array([1, 4, 6, 4, 1], np.float32) / 16,
    "e5": np.array([-1, -2, 0, 2, 1], np.float32) / 6,
    "s5": np.array([-1, 0, 2, 0, -1], np.float32) / 4,
    "r5": np.array([1, -4, 6, -4, 1], np.float32) / 16,
}
_LAWS_PAIRS = (
    ("e5", "e5"),
    ("s5", "s5"),
    ("r5", "r5"),
    ("l5", "e5"),
    ("l5", "s5"),
    ("l5", "r5"),
    ("e5", "s5"),
    ("e5", "r5"),
    ("s5", "r5"),
)


class LawsFeatures(FeatureFamily):
    """Laws' texture energy measures (Laws 1980), rotation-invariant combinations.

    The image (pixels outside the mask replaced by the object mean) has its local mean
    over a ``window``-pixel box removed, is filtered with the separable 5×5 masks built
    from the L5 (level), E5 (edge), S5 (spot) and R5 (ripple) vectors (normalised to
    unit gain), and the energy of each response is its mean absolute value over the
    object. Symmetric pairs are averaged (``l5e5`` = (L5ᵀE5 + E5ᵀL5) / 2), giving 9
    rotation-tolerant energies in intensity units.

    Parameters
    ----------
    window : int, default=15
        Side of the box used to remove the local mean (odd, pixels).

    References
    ----------
    K. I. Laws, "Textured image segmentation", PhD thesis, USC (1980).
    """

    name = "laws"
    _parameter_constraints: dict = {
        "window": [NumberInterval(Integral, 3, None, closed="left")],
    }

    def __init__(self, *, window: int = 15):
        self.window = window

    def _check_params(self) -> None:
        if self.window % 2 == 0:
            raise invalid(self, "window", "an odd int in the range [3, inf)")

    def feature_names(self) -> list[str]:
        self.validate()
        return [a + b for a, b in _LAWS_PAIRS]

    def compute(self, ctx) -> np.ndarray:
        w = int(self.window)
        # The energies are summed over the object, so filter only the band of rows
        # that its responses need: the bounding box's rows plus the reach of the 5-row
        # filters and of the local mean. OpenCV's filters give the same values on
        # whole rows of an image as on the image itself.
        band = ctx.geometry.rows(margin=w // 2 + 2)
        image = ctx.filled[band]
        flat = image - cv2.blur(image, (w, w), borderType=cv2.BORDER_REFLECT)
        mask = ctx.geometry.mask_u8[band]
        needed = {(a, b) for pair in _LAWS_PAIRS for a, b in (pair, pair[::-1])}
        energy = {}
        # Separable: one horizontal pass per vector, shared by the vertical passes
        # (single 1-D filter2D passes: cheaper than sepFilter2D with a unit kernel).
        reflect = cv2.BORDER_REFLECT
        for b in sorted({b for _, b in needed}):
            rows = cv2.filter2D(
                flat, cv2.CV_32F, _LAWS_VECTORS[b][None, :], borderType=reflect
            )
            for a in sorted({a for a, bb in needed if bb == b}):
                resp = cv2.filter2D(
                    rows, cv2.CV_32F, _LAWS_VECTORS[a][:, None], borderType=reflect
                )
                energy[a, b] = cv2.norm(resp, cv2.NORM_L1, mask)  # sum of |response|
        area = max(ctx.geometry.area, 1)
        return np.array(
            [(energy[a, b] + energy[b, a]) / (2 * area) for a, b in _LAWS_PAIRS]
        )


def haralick_features(image, mask=None, **params) -> dict[str, float]:
    """Haralick texture features of ``image``; see :class:`HaralickFeatures`."""
    from featcls.features._extract import compute_family

    return compute_family(HaralickFeatures(**params), image, mask)


def laws_features(image, mask=None, **params) -> dict[str, float]:
    """Laws' texture energies of ``image``; see :class:`LawsFeatures`."""
    from featcls.features._extract import compute_family

    return compute_family(LawsFeatures(**params), image, mask)
