"""The extraction engine: a union of feature-family *instances* over a sample table.

:class:`featcls.features.FeatureExtractor` is this engine plus the family registry
(families by name); a single family used as a transformer runs the engine with
itself alone. Keeping the registry out of this module keeps the family modules,
which use the engine, out of an import cycle with the registry, which imports them.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Iterator
from dataclasses import replace
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from featcls._policies import MASK_POLICIES
from featcls._validation import NumberInterval
from featcls.data import (
    CHANNEL_POLICIES,
    ChannelFiles,
    as_sample_table,
    read_image,
    split_channels,
    to_float,
)
from featcls.data._channels import channel_view, parse_channels
from featcls.data._table import has_masks, masks_missing_message
from featcls.exceptions import DataWarning
from featcls.features._cache import FeatureCache, content_key
from featcls.features._extract import (
    ExtractionConfig,
    _label,
    batched_chunk,
    descriptor_chunk,
    extract_chunk,
    warn_all_nan,
    warn_notes,
)
from featcls.features._stream import DescriptorPart, RowPart, Samples, stream

if TYPE_CHECKING:  # the families use the engine, so it only names their type
    from featcls.features._base import FeatureFamily

__all__ = ["FEATURE_VERSION", "Extraction", "resolve_instances"]


def _expected_source(policy: str, mask: Any) -> str:
    """Where a sample's mask comes from under ``policy`` (before any extraction)."""
    if policy == "full":
        return "full"
    given = mask is not None and (isinstance(mask, np.ndarray) or not pd.isna(mask))
    return "user" if given else "auto"


#: Bumped whenever a change to the code changes feature values, to invalidate caches.
#: 3: exact distances (no cv2.magnitude), exact LBP ties, dot products without BLAS.
#: 4: the automatic mask of named-channel samples under crop/mask_out is made from
#: the channels' mean, as without cropping.
#: 5: masks resized with a ``size`` are sampled at pixel centres
#: (``INTER_NEAREST_EXACT``), as the image is, not shifted by half a pixel.
#: 6: grey images are weighted sums of their channels in a fixed order, the same
#: bits whatever the image's memory layout.
FEATURE_VERSION = 6
#: The same for the local descriptors of stateful families (2: grey as above).
DESCRIPTOR_VERSION = 2
#: The same for the rows of batched families (a network's embeddings; 2: as above).
BATCHED_VERSION = 2

_FIXED_CHANNELS = {"gray": ("gray",), "rgb": ("r", "g", "b"), "hsv": ("h", "s", "v")}


def _is_family(obj: Any) -> bool:
    """Whether ``obj`` has the interface of a :class:`FeatureFamily`."""
    return all(
        callable(getattr(obj, attr, None))
        for attr in ("feature_names", "compute", "validate", "get_params")
    ) and isinstance(getattr(obj, "name", None), str)


def resolve_instances(
    families: Any, owner: str = "FeatureExtractor"
) -> list[FeatureFamily]:
    """Fresh, validated clones of the family instances in ``families``."""
    items = (
        list(families.items())
        if isinstance(families, dict)
        else [(f, None) for f in families]
    )
    resolved: list[FeatureFamily] = []
    for spec, params in items:
        if not _is_family(spec) or params:
            raise ValueError(
                f"The 'families' parameter of {owner} must hold FeatureFamily "
                f"instances here; got {spec!r}."
            )
        family = clone(spec)
        family.validate()
        resolved.append(family)
    check_family_names(resolved, owner)
    return resolved


def check_family_names(resolved: list[FeatureFamily], owner: str) -> None:
    """At least one family, each at most once."""
    names = [f.name for f in resolved]
    if not resolved or len(set(names)) != len(names):
        raise ValueError(
            f"The 'families' parameter of {owner} must name at least one "
            "family, "
            f"each at most once. Got {names!r}."
        )


class Extraction(TransformerMixin, BaseEstimator):
    """The union of the given feature-family instances over a sample table.

    The parameters, attributes and behaviour are those of
    :class:`featcls.features.FeatureExtractor`, except that ``families`` holds
    :class:`FeatureFamily` instances only (no names).
    """

    _parameter_constraints: dict = {
        # The families themselves are checked when resolved, one by one.
        "families": ["array-like", dict],
        # A policy or channel names; checked against the samples in fit.
        "channels": [str, "array-like"],
        "mask": [StrOptions(set(MASK_POLICIES))],
        "size": [NumberInterval(Integral, 1, None, closed="left"), "array-like", None],
        "crop": ["boolean"],
        "margin": [NumberInterval(Real, 0, None, closed="left")],
        "mask_out": ["boolean"],
        "n_jobs": [NumberInterval(Integral, None, None, closed="neither"), None],
        "chunk_size": [NumberInterval(Integral, 1, None, closed="left")],
        "cache_dir": [str, os.PathLike, None],
        "progress": ["boolean", None],
        "prefix": ["boolean"],
    }

    def __init__(
        self,
        families=None,
        *,
        channels: str = "gray",
        mask: str = "auto",
        size=None,
        crop: bool = False,
        margin: float = 0.1,
        mask_out: bool = False,
        n_jobs: int = 1,
        chunk_size: int = 32,
        cache_dir=None,
        progress: bool | None = None,
        prefix: bool = True,
    ):
        self.families = families
        self.channels = channels
        self.mask = mask
        self.size = size
        self.crop = crop
        self.margin = margin
        self.mask_out = mask_out
        self.n_jobs = n_jobs
        self.chunk_size = chunk_size
        self.cache_dir = cache_dir
        self.progress = progress
        self.prefix = prefix

    def _resolve(self) -> list[FeatureFamily]:
        """Fresh family instances of the ``families`` parameter."""
        return resolve_instances(self.families, type(self).__name__)

    def _channel_view(self) -> tuple[str, tuple[str, ...] | None]:
        """The channel policy and, for channel names, the channel view."""
        try:
            parsed = parse_channels(self.channels)
        except ValueError as exc:
            raise ValueError(
                f"The 'channels' parameter of {type(self).__name__} is invalid: {exc}"
            ) from exc
        if isinstance(parsed, str):
            return parsed, None
        return "channels", parsed

    def _fit_channel_names(self, table: pd.DataFrame) -> tuple[str, ...]:
        """The names of the channels features are computed on, from the first sample.

        The first sample is checked as transform checks it (an array too: dtype,
        NaN, scale), so a bad first image gets the same ImageReadError.
        """
        policy, select = self._channel_view()
        first = table["image"].iloc[0]
        label = _label(first, table.index[0])
        if select is not None:
            if not isinstance(first, ChannelFiles):
                policies = ", ".join(map(repr, CHANNEL_POLICIES))
                raise ValueError(
                    f"The 'channels' parameter of {type(self).__name__} must be a "
                    f"channel policy ({policies}) or names of the samples' channels. "
                    f"Got {self.channels!r}, but the first sample, {label!r}, has no "
                    "named channels (samples of one file per channel have them: "
                    "load_manifest(..., channel_files=..., channel_names=...))."
                )
            return channel_view(first, select, label).names
        if policy in _FIXED_CHANNELS:
            return _FIXED_CHANNELS[policy]
        image = read_image(first, name=label)
        names = first.names if isinstance(first, ChannelFiles) else None
        return tuple(split_channels(to_float(image), "channels", names=names)[1])

    # -- fitting ----------------------------------------------------------------
    def fit(self, X, y=None):
        """Validate the parameters and fix the output columns.

        Hand-crafted families learn nothing, so only the channel names are read from
        the first image (for ``channels="channels"`` or channel names); a family
        that runs a network loads it (it learns nothing either). ``y`` is
        ignored.
        """
        self._validate_params()
        if self.mask == "full" and (self.crop or self.mask_out):
            raise ValueError(
                f"{type(self).__name__}(mask='full') takes the whole image as the "
                "object, so there is nothing to crop to or mask out: use mask='auto' "
                "(the table's masks, else automatic ones) with crop/mask_out, or drop "
                "crop/mask_out (--mask full without --crop/--mask-out)."
            )
        self.families_ = self._resolve()
        table = as_sample_table(X)
        if len(table) == 0:
            raise ValueError(
                f"Cannot fit {type(self).__name__} on an empty sample table."
            )
        self.channel_names_ = self._fit_channel_names(table)
        self.masks_fitted_ = self.mask == "auto" and has_masks(table)
        for family in self.families_:
            if family.batched:  # its network, loaded once: its width names columns
                self._check_network_input(family.load())
        self.feature_names_out_ = np.asarray(self._names(), dtype=object)
        stateful = [f for f in self.families_ if f.stateful]
        if stateful:
            samples = self._samples(table)
            for family in stateful:  # learned from these (training) images only
                descriptors = self._descriptors(samples, family)
                family.fit_codebook([d.astype(np.float32) for d in descriptors])
        return self

    def _check_network_input(self, network) -> None:
        """Refuse to prepare images otherwise than the network was trained on.

        A featcls model file or pretrained backbone records how its images were
        cropped and masked out; other settings would give it images it never saw,
        and features that differ from the model's own embedding without a word.
        """
        variant = getattr(network, "variant", None)
        if not variant:
            return
        theirs = (bool(variant["crop"]), bool(variant["mask_out"]))
        ours = (bool(self.crop), bool(self.mask_out))
        margins = float(variant["margin"]), float(self.margin)
        if ours == theirs and (not theirs[0] or margins[0] == margins[1]):
            return

        def described(crop, margin, mask_out):
            return (
                f"crop={crop}"
                + (f", margin={margin}" if crop else "")
                + f", mask_out={mask_out}"
            )

        flags = [f"--crop --margin {margins[0]}"] if theirs[0] else []
        flags += ["--mask-out"] if theirs[1] else []
        raise ValueError(
            f"The 'embedding' network ({network.source}) was trained on images "
            f"prepared with {described(theirs[0], margins[0], theirs[1])}, but "
            f"{type(self).__name__} prepares them with "
            f"{described(ours[0], margins[1], ours[1])}. Give the extractor the "
            "network's settings (on the command line: "
            f"{' '.join(flags) or 'no --crop and no --mask-out'}) so that the "
            "features see the images the network saw."
        )

    def _names(self) -> list[str]:
        # Per-channel families carry the channel in their names, except on the
        # grey image: "intensity__mean", "intensity__r_mean", "intensity__green_mean".
        multi = self._channel_view()[0] != "gray"
        names = []
        for family in self.families_:
            head = f"{family.name}__" if self.prefix else ""
            channels = self.channel_names_ if (family.per_channel and multi) else ("",)
            for channel in channels:
                stem = f"{channel}_" if channel else ""
                names += [f"{head}{stem}{n}" for n in family.feature_names()]
        return names

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the output columns, equal to the columns :meth:`transform` makes."""
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()

    def _config(self) -> ExtractionConfig:
        policy, select = self._channel_view()
        return ExtractionConfig(
            families=tuple(self.families_),
            channels=policy,
            select=select,
            mask=self.mask,
            size=self.size,
            crop=self.crop,
            margin=self.margin,
            mask_out=self.mask_out,
            channel_names=tuple(self.channel_names_),
        )

    def _cache_description(self, families) -> dict:
        return {
            "featcls_feature_version": FEATURE_VERSION,
            "families": [[f.name, f.get_params()] for f in families],
            # A policy as before (caches stay valid); a view as its list of names.
            "channels": self._channel_view()[1] or self._channel_view()[0],
            "channel_names": list(self.channel_names_),
            "mask": self.mask,
            "size": self.size,
            "crop": self.crop,
            "margin": self.margin,
            "mask_out": self.mask_out,
        }

    # -- extraction -------------------------------------------------------------
    def transform(self, X) -> np.ndarray:
        """Features of every sample: array (n_samples, n_features), NaN where undefined.

        Samples whose mask is empty, or whose image is tiny or constant, get NaN where
        a feature is undefined and one :class:`~featcls.exceptions.FeatureWarning`
        naming them. An unreadable image raises an error naming its file; the chunks
        finished before it stay in the cache.
        """
        return self._extract(X)[0]

    def extract(self, X) -> pd.DataFrame:
        """Like :meth:`transform`, as a DataFrame with the table's index.

        The first column, ``mask_source``, says where each object mask came from:
        ``"user"`` (the table's mask), ``"auto"`` (automatic segmentation) or
        ``"full"`` (the whole image).
        """
        table = as_sample_table(X)
        values, sources = self._extract(table)
        frame = pd.DataFrame(
            values, columns=list(self.feature_names_out_), index=table.index
        )
        frame.insert(0, "mask_source", sources)
        return frame

    def iter_extract(self, X) -> Iterator[pd.DataFrame]:
        """Like :meth:`extract`, as DataFrames of ``chunk_size`` rows, in input order.

        Nothing holds every row: each frame is made when its samples are done
        (computed a few chunks ahead, in parallel, or read from the cache a part
        file at a time), so a table of any length streams in bounded memory.
        Concatenated, the frames equal :meth:`extract`'s table. The warnings
        about samples come once, after the last frame, as :meth:`extract`
        raises them. Closing the generator early stops the chunks still running.

        Parameters
        ----------
        X : sample table, array of images or list of paths
            As for :meth:`transform`.

        Yields
        ------
        frame : DataFrame
            The next rows: the table's index, ``mask_source``, then one column
            per feature.

        Examples
        --------
        >>> import numpy as np
        >>> from featcls import FeatureExtractor
        >>> yy, xx = np.mgrid[:32, :32]
        >>> disks = [(yy - 16) ** 2 + (xx - 16) ** 2 <= r * r for r in range(5, 10)]
        >>> images = np.stack(disks).astype(np.uint8) * 200
        >>> fx = FeatureExtractor(families=["shape"], chunk_size=2).fit(images)
        >>> [len(frame) for frame in fx.iter_extract(images)]
        [2, 2, 1]
        """
        check_is_fitted(self, "feature_names_out_")
        table = as_sample_table(X)
        names = list(self.feature_names_out_)
        for start, stop, values, sources in self._blocks(table):
            frame = pd.DataFrame(values, columns=names, index=table.index[start:stop])
            frame.insert(0, "mask_source", sources)
            yield frame

    def _layout(self) -> list[tuple[FeatureFamily, slice]]:
        """Each family and the slice of output columns it fills."""
        multi = self._channel_view()[0] != "gray"
        layout, start = [], 0
        for family in self.families_:
            n = len(family.feature_names())
            if family.per_channel and multi:
                n *= len(self.channel_names_)
            layout.append((family, slice(start, start + n)))
            start += n
        return layout

    def _extract(self, X, dtype=np.float64) -> tuple[np.ndarray, list[str]]:
        """The feature matrix of ``dtype`` and each sample's mask source.

        Each block is cast as it comes, so a float32 matrix never has a float64
        copy of itself.
        """
        check_is_fitted(self, "feature_names_out_")
        table = as_sample_table(X)
        values = np.empty((len(table), len(self.feature_names_out_)), dtype=dtype)
        sources: list[str] = []
        for start, stop, block, block_sources in self._blocks(table):
            values[start:stop] = block
            sources += block_sources
        return values, sources

    def _blocks(self, table: pd.DataFrame):
        """``(start, stop, values, mask sources)`` of each ``chunk_size`` samples.

        In input order, from every part (the stateless families together, each
        batched and each stateful family); the warnings about samples come after
        the last block.
        """
        if getattr(self, "masks_fitted_", False) and not has_masks(table):
            warnings.warn(
                masks_missing_message(type(self).__name__), DataWarning, stacklevel=4
            )
        samples = self._samples(table)
        width = len(self.feature_names_out_)
        layout = self._layout()
        plain = [(f, cols) for f, cols in layout if not (f.stateful or f.batched)]
        # (part, the output columns it fills, the stateful family that encodes it)
        fills: list[tuple[Any, Any, FeatureFamily | None]] = []
        if plain:
            columns = np.concatenate([np.arange(width)[c] for _, c in plain])
            part = self._plain_part(samples, [f for f, _ in plain])
            fills.append((part, columns, None))
        for family, cols in layout:
            if family.batched:
                fills.append((self._batched_part(samples, family), cols, None))
            elif family.stateful:
                fills.append((self._descriptor_part(samples, family), cols, family))
        parts = [part for part, _, _ in fills]
        self.n_computed_ = max(p.n_computed for p in parts)  # misses, for diagnostics
        all_nan, n_rows = np.ones(width, bool), 0
        blocks = stream(
            parts,
            len(samples),
            block=int(self.chunk_size),
            chunk_size=int(self.chunk_size),
            n_jobs=self.n_jobs,
            progress=self.progress,
        )
        for start, stop, outputs in blocks:
            values = np.empty((stop - start, width))
            sources = [
                _expected_source(self.mask, samples.mask(i)) for i in range(start, stop)
            ]
            for (part, cols, encoder), out in zip(fills, outputs, strict=True):
                if encoder is not None:  # a stateful family's descriptors, encoded
                    values[:, cols] = np.vstack(
                        [encoder.encode(d.astype(np.float32)) for d in out]
                    )
                    for i, d in enumerate(out, start):
                        if len(d) == 0:
                            part.notes[samples.label(i)] = ["no_descriptors"]
                elif part is parts[0] and plain:  # where the masks came from, too
                    values[:, cols], sources = out
                else:
                    values[:, cols] = out[0]
            all_nan &= np.isnan(values).all(axis=0)
            n_rows += stop - start
            yield start, stop, values, sources
        self.n_computed_ = max(p.n_computed for p in parts)
        for part in parts:  # one warning per kind of problem, as the rows did
            warn_notes(part.notes)
        names = list(self.feature_names_out_)
        warn_all_nan(None, names, all_nan=all_nan, n_rows=n_rows)

    def _samples(self, table: pd.DataFrame) -> Samples:
        """The samples' sources and, with a cache, their content keys.

        The keys hash each file's bytes, so they are computed once per call and shared
        by the Parquet rows and the descriptor cache; as 32 bytes a sample.
        """
        # The columns' own arrays: no list of every sample is made.
        images = table["image"].to_numpy()
        masks = table["mask"].to_numpy() if "mask" in table else None
        keys = None
        if self.cache_dir is not None:
            keys = np.empty(len(images), "S32")
            for i, image in enumerate(images):
                mask = None if masks is None else masks[i]
                keys[i] = content_key(image, mask).encode()
        return Samples(images, masks, table.index, keys, _label)

    def _plain_part(self, samples: Samples, families) -> RowPart:
        """The rows of the stateless families, from the Parquet cache where possible."""
        config = replace(self._config(), families=tuple(families))
        names = [
            name
            for name, family in zip(
                self.feature_names_out_, self._column_families(), strict=True
            )
            if family in families
        ]
        cache = None
        if samples.keys is not None:
            cache = FeatureCache(
                self.cache_dir, self._cache_description(families), names
            )
        return RowPart(samples, extract_chunk, (config,), len(names), cache)

    def _column_families(self) -> list[FeatureFamily]:
        out = []
        for family, cols in self._layout():
            out += [family] * (cols.stop - cols.start)
        return out

    def _batched_part(self, samples: Samples, family) -> RowPart:
        """The columns of a family that runs a network over batches, cached.

        Its rows have a cache of their own, keyed by the images, the input
        variant and the family's :meth:`cache_params` (the network's
        fingerprint), so that another network, or adding hand-crafted families,
        recomputes only what changed. On a GPU its chunks run in this process.
        """
        network = family.load()
        names = list(family.feature_names())
        cache = None
        if samples.keys is not None:
            select = self._channel_view()[1]
            description = {
                "featcls_batched_version": BATCHED_VERSION,
                "family": [family.name, family.cache_params()],
                # A channel view picks the channels the network sees; the policy
                # of the hand-crafted features does not.
                "select": None if select is None else list(select),
                **{
                    k: getattr(self, k)
                    for k in ("mask", "size", "crop", "margin", "mask_out")
                },
            }
            cache = FeatureCache(self.cache_dir, description, names)
        return RowPart(
            samples,
            batched_chunk,
            (self._config(), family, network),
            len(names),
            cache,
            source=lambda i: _expected_source(self.mask, samples.mask(i)),
            in_process=not network.device.startswith("cpu"),
        )

    def _descriptor_part(self, samples: Samples, family) -> DescriptorPart:
        """Local descriptors (float16) of a stateful family, cached one file each."""
        folder = None
        if samples.keys is not None:
            description = {
                "family": [family.name, family.descriptor_params()],
                **self._cache_description(()),
                # Descriptors have their own version: a change to the plain
                # families must not throw away the costly descriptors.
                "featcls_feature_version": DESCRIPTOR_VERSION,
            }
            digest = hashlib.sha256(
                json.dumps(description, sort_keys=True, default=str).encode()
            ).hexdigest()[:16]
            folder = Path(self.cache_dir) / f"descriptors-{digest}"
        return DescriptorPart(
            samples,
            descriptor_chunk,
            (self._config(), family),
            family.descriptor_dim,
            folder,
        )

    def _descriptors(self, samples: Samples, family) -> list[np.ndarray]:
        """Local descriptors of every sample for a stateful family (to fit it)."""
        part = self._descriptor_part(samples, family)
        self.n_computed_ = max(getattr(self, "n_computed_", 0), part.n_computed)
        out: list[np.ndarray] = []
        for _, _, (descriptors,) in stream(
            [part],
            len(samples),
            block=max(int(self.chunk_size), 1),
            chunk_size=int(self.chunk_size),
            n_jobs=self.n_jobs,
            progress=self.progress,
            desc=f"{family.name} descriptors",
        ):
            out += descriptors
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Input is a sample table of images, not a 2-D feature matrix: scikit-learn's
        # common checks on random tabular data do not apply (see tests/features).
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags
