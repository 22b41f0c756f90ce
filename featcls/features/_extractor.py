"""FeatureExtractor: the union of feature families, by name or instance."""

from __future__ import annotations

from typing import Any

from sklearn.base import clone

from featcls.features._base import FeatureFamily
from featcls.features._engine import FEATURE_VERSION, Extraction, check_family_names
from featcls.features._registry import DEFAULT_FAMILIES, FEATURE_FAMILIES

__all__ = ["FEATURE_VERSION", "FeatureExtractor"]


def _resolve_families(families: Any) -> list[FeatureFamily]:
    """Turn the ``families`` parameter into fresh family instances."""
    if families is None:
        families = DEFAULT_FAMILIES
    if isinstance(families, str):
        families = [f.strip() for f in families.split(",") if f.strip()]
    if not isinstance(families, dict) and "default" in families:
        # "default" stands for every default family, e.g. "default,vlad".
        expanded = []
        for f in families:
            expanded += list(DEFAULT_FAMILIES) if f == "default" else [f]
        families = expanded
    if isinstance(families, dict):
        items = list(families.items())
    else:
        items = [(f, None) for f in families]
    resolved: list[FeatureFamily] = []
    for spec, params in items:
        if isinstance(spec, FeatureFamily):
            family = clone(spec)
        elif isinstance(spec, str) and spec in FEATURE_FAMILIES:
            family = FEATURE_FAMILIES[spec](**(params or {}))
        else:
            names = ", ".join(FEATURE_FAMILIES)
            raise ValueError(
                f"Unknown feature family {spec!r}. Known families: {names}; or pass "
                "FeatureFamily instances."
            )
        family.validate()
        resolved.append(family)
    check_family_names(resolved, "FeatureExtractor")
    return resolved


class FeatureExtractor(Extraction):
    """Hand-crafted features of images: the union of several feature families.

    A scikit-learn transformer over the sample table (a DataFrame with an ``image``
    column of paths or arrays and an optional ``mask`` column; an ``(N, H, W[, C])``
    array or a list of paths is converted). Each image is decoded once, prepared
    (optional crop / mask-out / resize), split into channels, and given an object
    mask — the sample's own, or an automatic one (Otsu threshold + largest connected
    component, holes filled) — which all families share. Extraction runs in chunks of
    images in parallel with joblib and, with ``cache_dir``, every finished chunk is
    stored in a Parquet cache keyed by image content and configuration, so a re-run or
    a run resumed after being killed recomputes nothing already done.
    :meth:`iter_extract` streams the table a chunk at a time, in bounded memory.

    Columns are named ``<family>__<feature>`` (``haralick__contrast_d1_mean``), with
    the channel in front of the feature for colour policies and named channels
    (``intensity__r_mean``, ``intensity__green_mean``); see each family's
    documentation for the definitions.

    Parameters
    ----------
    families : list of str or FeatureFamily, dict, or None, default=None
        Families to compute, by name (keys of ``FEATURE_FAMILIES``; ``"default"``
        stands for all default families, e.g. ``"default,vlad"``), as configured
        instances (``HaralickFeatures(levels=64)``), or as ``{name: params}``. None
        computes every family with its defaults.
    channels : {"gray", "rgb", "hsv", "channels"} or channel names, default="gray"
        Channel policy: features per channel, prefixed by the channel name, except
        for ``"gray"``. Shape features depend on the mask only and appear once.
        For samples of one file per named channel
        (:class:`~featcls.data.ChannelFiles`), ``"channels"`` names the columns
        after the channels (``intensity__green_mean``; ``c0``, ``c1`` ... only for
        unnamed channels), ``"gray"`` takes the mean of the channels, and channel
        names (``"green"``, ``"green,blue"`` or ``["green", "blue"]``) are a
        channel view: only those channels, in that order, are read and the
        automatic mask comes from them.
    mask : {"auto", "full"}, default="auto"
        ``"auto"`` uses the sample's mask when the table has one and an automatic
        object mask otherwise; ``"full"`` takes the whole image as the object
        (for images that are all object, such as solar cells).
    size : int or (int, int) or None, default=None
        Resize every image (after cropping) to this size.
    crop : bool, default=False
        Crop to the object's bounding box plus ``margin``.
    margin : float, default=0.1
        Margin around the object when cropping, as a fraction of the box size.
    mask_out : bool, default=False
        Set pixels outside the mask to 0 (the "cropped and masked" variant).
    n_jobs : int, default=1
        Worker processes (joblib; -1 for all cores).
    chunk_size : int, default=32
        Images per task; also the granularity of the cache and the rows of each
        frame of :meth:`iter_extract`.
    cache_dir : path or None, default=None
        Folder of the on-disk feature cache.
    progress : bool or None, default=None
        Show a progress bar; None shows one on a terminal when there is more than one
        chunk to compute.
    prefix : bool, default=True
        Prefix feature names with their family name.

    Attributes
    ----------
    families_ : list of FeatureFamily
        The fitted family instances.
    channel_names_ : tuple of str
        The channels features are computed on.
    feature_names_out_ : ndarray of str
        Names of the output columns.

    Examples
    --------
    >>> import numpy as np
    >>> from featcls import FeatureExtractor
    >>> yy, xx = np.mgrid[:48, :48]
    >>> disks = [(yy - 24) ** 2 + (xx - 24) ** 2 <= r * r for r in (8, 12, 16)]
    >>> images = np.stack([d * (100 + 2 * xx) for d in disks]).astype(np.uint8)
    >>> fx = FeatureExtractor(families=["shape", "intensity"]).fit(images)
    >>> features = fx.transform(images)
    >>> features.shape == (3, len(fx.get_feature_names_out()))
    True
    >>> names = list(fx.get_feature_names_out())
    >>> diameters = features[:, names.index("shape__diameter")]  # ≈ 2r + 1 pixels
    >>> bool(np.allclose(diameters, [17, 25, 33], atol=1.5))
    True
    """

    _parameter_constraints: dict = {
        **Extraction._parameter_constraints,
        "families": ["array-like", dict, str, None],
    }

    def _resolve(self) -> list[FeatureFamily]:
        return _resolve_families(self.families)
