"""Intensity histogram and statistics of the object and its background; SNR."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from featcls._validation import NumberInterval, invalid
from featcls.features._base import FeatureFamily
from featcls.features._context import U8_VALUES
from featcls.features._reduce import rowdot

__all__ = ["IntensityFeatures", "SNRFeatures", "intensity_features", "snr_features"]

_PERCENTILES = (5, 25, 50, 75, 95)
_STATS = (
    "mean",
    "std",
    "skewness",
    "kurtosis",
    "min",
    "max",
    *(f"p{p:02d}" for p in _PERCENTILES),
    "entropy",
)


class _Sample:
    """A sample of intensities: the pixels themselves, or an 8-bit picture's histogram.

    ``_Sample(values)`` holds the float32 pixel values. ``_Sample.of_codes(counts)``
    holds ``counts[k]`` pixels of value ``k / 255`` (:data:`U8_VALUES`) for each 8-bit
    code ``k``: every per-pixel operation is then applied to the 256 values, in the
    same float32 arithmetic, and the results are weighted by the counts, which gives
    the statistics of the pixels at the cost of 256 values.
    """

    def __init__(self, values: np.ndarray, counts: np.ndarray | None = None):
        self.values = values
        self.counts = counts
        self.size = int(values.size if counts is None else counts.sum())

    @classmethod
    def of_codes(cls, counts: np.ndarray) -> _Sample:
        return cls(U8_VALUES, counts)

    def mean_of(self, x: np.ndarray) -> float:
        """Mean over the sample of ``x`` (a per-value array), accumulated in float64."""
        if self.counts is None:
            return float(x.mean(dtype=np.float64))
        return float(rowdot(self.counts, x.astype(np.float64)) / self.size)

    def extremes(self) -> tuple[float, float]:
        if self.counts is None:
            return float(self.values.min()), float(self.values.max())
        present = self.values[self.counts > 0]
        return float(present[0]), float(present[-1])

    def bin_counts(self, index: np.ndarray, n: int) -> np.ndarray:
        """How many sample elements fall in each of ``n`` bins (``index`` per value)."""
        return np.bincount(index, weights=self.counts, minlength=n)

    def percentiles(self) -> np.ndarray:
        """``np.percentile(sample, _PERCENTILES)`` (linear interpolation), fast.

        Values on the common 0–1 scale are sorted by counting on 16-bit keys: exact
        for 8- and 16-bit images (their values are multiples of 1/65535 or of
        257/65535) and within 1/65535 for float images. Anything outside 0–1 falls
        back to numpy. An 8-bit picture's code ``k`` has the key ``257 k``.
        """
        if self.size == 0:
            return np.full(len(_PERCENTILES), np.nan)
        if self.counts is None:
            v = self.values
            lo, hi = self.extremes()
            if lo < 0.0 or hi > 1.0:
                return np.percentile(v, _PERCENTILES)
            keys = (v * np.float32(65535) + np.float32(0.5)).astype(np.uint16)
            cum = np.cumsum(np.bincount(keys, minlength=65536))
            key_of = None
        else:
            cum = np.cumsum(self.counts)
            key_of = 257 * np.arange(256)
        pos = (self.size - 1) * np.asarray(_PERCENTILES, dtype=np.float64) / 100.0
        below = np.floor(pos).astype(np.int64)
        index = np.searchsorted(
            cum, np.stack([below, np.minimum(below + 1, self.size - 1)]), side="right"
        )
        order = (index if key_of is None else key_of[index]) / 65535.0
        frac = pos - below
        return order[0] * (1.0 - frac) + order[1] * frac


def _sample(ctx, part: str) -> _Sample:
    """The object (``part="object"``) or background intensities of ``ctx``."""
    if ctx.codes8 is not None:
        inside, outside = ctx.code_counts
        return _Sample.of_codes(inside if part == "object" else outside)
    return _Sample(ctx.object_values if part == "object" else ctx.background_values)


def _histogram(sample: _Sample, n_bins: int, lo: float, hi: float) -> np.ndarray:
    """Fraction of ``sample`` in ``n_bins`` bins over [lo, hi]; outside → edge bins."""
    idx = (sample.values - np.float32(lo)) * np.float32(n_bins / (hi - lo))
    np.clip(idx, 0, n_bins - 1, out=idx)
    return sample.bin_counts(idx.astype(np.intp), n_bins) / max(sample.size, 1)


def _mean_std(sample: _Sample) -> tuple[float, float]:
    """Mean and standard deviation (float64 accumulation); NaN for no values."""
    if sample.size == 0:
        return np.nan, np.nan
    mean = sample.mean_of(sample.values)
    d = sample.values - np.float32(mean)
    return mean, float(np.sqrt(sample.mean_of(d * d)))


def _stats(sample: _Sample, hist: np.ndarray) -> np.ndarray:
    """The statistics of :data:`_STATS` for a 1-D sample (NaN where undefined)."""
    if sample.size == 0:
        return np.full(len(_STATS), np.nan)
    mean = sample.mean_of(sample.values)
    d = sample.values - np.float32(mean)
    d2 = d * d
    var = sample.mean_of(d2)
    if var > 1e-12:
        std = np.sqrt(var)
        skew = sample.mean_of(d2 * d) / std**3
        kurt = sample.mean_of(d2 * d2) / var**2 - 3.0
    else:  # constant: the shape of the distribution is undefined
        std, skew, kurt = 0.0, np.nan, np.nan
    p = hist[hist > 0]
    entropy = float(-(p * np.log2(p)).sum()) + 0.0
    return np.array(
        [mean, std, skew, kurt, *sample.extremes(), *sample.percentiles(), entropy]
    )


class IntensityFeatures(FeatureFamily):
    """Intensity histogram and statistics inside the object and in its background.

    Intensities are on featcls's common scale (:func:`featcls.data.to_float`): integer
    images are divided by their dtype's maximum, so a picture saved in 8 and in 16 bit
    gives the same values, and histogram bins mean the same thing in every image.
    For an 8-bit picture every statistic is computed from its 256-bin histograms
    inside and outside the mask, with the same values as from the pixels.

    Features
    --------
    hist_00 … hist_{n_bins-1}
        Fraction of object pixels in each of ``n_bins`` equal bins over ``range``
        (values outside the range fall into the first or last bin).
    mean, std, skewness, kurtosis (excess), min, max, p05, p25, p50, p75, p95
        Of the object pixels. Skewness and kurtosis are NaN for a constant object.
    entropy
        Shannon entropy of the object histogram, in bits.
    bg_mean … bg_entropy
        The same statistics for the pixels outside the mask (the background, or the
        surrounding margin of a particle). NaN when the mask covers the whole image.
        These, by definition, read the pixels outside the mask; all other intensity
        features ignore them.

    Parameters
    ----------
    n_bins : int, default=32
        Number of histogram bins.
    range : tuple of float, default=(0.0, 1.0)
        Histogram range on the common intensity scale.
    background : bool, default=True
        Whether to compute the ``bg_`` statistics.
    """

    name = "intensity"
    _parameter_constraints: dict = {
        "n_bins": [NumberInterval(Integral, 2, None, closed="left")],
        "range": ["array-like"],
        "background": ["boolean"],
    }

    def __init__(
        self,
        *,
        n_bins: int = 32,
        range: tuple[float, float] = (0.0, 1.0),
        background: bool = True,
    ):
        self.n_bins = n_bins
        self.range = range
        self.background = background

    def _range(self) -> tuple[float, float]:
        try:
            lo, hi = (float(v) for v in self.range)
        except (TypeError, ValueError):
            lo, hi = np.nan, np.nan
        if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
            raise invalid(
                self, "range", "a pair (low, high) of finite numbers with low < high"
            )
        return lo, hi

    def _check_params(self) -> None:
        self._range()

    def feature_names(self) -> list[str]:
        self.validate()
        n_bins = int(self.n_bins)
        width = len(str(n_bins - 1))
        names = [f"hist_{i:0{max(width, 2)}d}" for i in range(n_bins)] + list(_STATS)
        if self.background:
            names += [f"bg_{s}" for s in _STATS]
        return names

    def compute(self, ctx) -> np.ndarray:
        lo, hi = self._range()
        obj = _sample(ctx, "object")
        hist = _histogram(obj, int(self.n_bins), lo, hi)
        stats = _stats(obj, hist)
        if np.isnan(stats[2]):  # no spread: skewness and kurtosis are undefined
            ctx.note("flat_object")
        parts = [hist, stats]
        if self.background:
            bg = _sample(ctx, "background")
            bg_stats = _stats(bg, _histogram(bg, int(self.n_bins), lo, hi))
            if bg.size == 0:
                ctx.note("no_background")
            elif np.isnan(bg_stats[2]):
                ctx.note("flat_background")
            parts.append(bg_stats)
        return np.concatenate(parts)


class SNRFeatures(FeatureFamily):
    """Signal-to-noise and contrast of the object against its background.

    With ``mu_o, sigma_o`` the mean and standard deviation inside the mask and
    ``mu_b, sigma_b`` outside it (the whole background, or a band of ``band`` pixels
    around the object when ``band`` is set):

    - ``snr = (mu_o - mu_b) / sigma_b`` (signed: negative for dark objects),
    - ``cnr = |mu_o - mu_b| / sqrt((sigma_o**2 + sigma_b**2) / 2)``,
    - ``contrast = (mu_o - mu_b) / (mu_o + mu_b)`` (Michelson-like, in [-1, 1]),
    - ``object_snr = mu_o / sigma_o`` (the object's own mean over its spread).

    All but ``object_snr`` read the background by definition. NaN when a part is
    empty or has no spread.

    Parameters
    ----------
    band : int or None, default=None
        Width in pixels of the background band around the object; None uses every
        pixel outside the mask.
    """

    name = "snr"
    _parameter_constraints: dict = {
        "band": [NumberInterval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, *, band: int | None = None):
        self.band = band

    def feature_names(self) -> list[str]:
        self.validate()
        return ["snr", "cnr", "contrast", "object_snr"]

    def compute(self, ctx) -> np.ndarray:
        mo, so = _mean_std(_sample(ctx, "object"))
        if self.band is None:
            mb, sb = _mean_std(_sample(ctx, "background"))
        else:
            import cv2

            k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * self.band + 1,) * 2)
            ring = cv2.dilate(ctx.geometry.mask_u8, k).astype(bool) & ~ctx.mask
            mb, sb = _mean_std(_Sample(ctx.image[ring]))
        if np.isnan(mb):
            ctx.note("no_background")
        elif not sb > 0:
            ctx.note("flat_background")
        if not so > 0:
            ctx.note("flat_object")
        if mo + mb <= 0:
            ctx.note("black_object")
        with np.errstate(divide="ignore", invalid="ignore"):
            pooled = np.sqrt((so**2 + sb**2) / 2)
            out = np.array(
                [
                    (mo - mb) / sb if sb > 0 else np.nan,
                    abs(mo - mb) / pooled if pooled > 0 else np.nan,
                    (mo - mb) / (mo + mb) if (mo + mb) > 0 else np.nan,
                    mo / so if so > 0 else np.nan,
                ]
            )
        return out


def intensity_features(image, mask=None, **params) -> dict[str, float]:
    """Intensity features of ``image``; see :class:`IntensityFeatures`."""
    from featcls.features._extract import compute_family

    return compute_family(IntensityFeatures(**params), image, mask)


def snr_features(image, mask=None, **params) -> dict[str, float]:
    """Signal-to-noise features of ``image``; see :class:`SNRFeatures`."""
    from featcls.features._extract import compute_family

    return compute_family(SNRFeatures(**params), image, mask)
