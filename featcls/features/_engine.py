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
import sys
from dataclasses import replace
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from joblib import delayed
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from featcls._files import atomic_path
from featcls._policies import MASK_POLICIES
from featcls._scheduler import run_unordered
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
FEATURE_VERSION = 4
#: The same for the local descriptors of stateful families.
DESCRIPTOR_VERSION = 1
#: The same for the rows of batched families (a network's embeddings).
BATCHED_VERSION = 1

_FIXED_CHANNELS = {"gray": ("gray",), "rgb": ("r", "g", "b"), "hsv": ("h", "s", "v")}


def _load_descriptors(path: Path, family: FeatureFamily) -> np.ndarray | None:
    """Cached descriptors of one image, or None when absent or not what we wrote.

    A damaged or foreign file in the cache is recomputed (and replaced), not
    trusted and not an error.
    """
    if not path.is_file():
        return None
    try:
        desc = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    ok = (
        desc.dtype == np.float16
        and desc.ndim == 2
        and desc.shape[1] == family.descriptor_dim
        and np.isfinite(desc).all()
    )
    return desc if ok else None


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
        self.families_ = self._resolve()
        table = as_sample_table(X)
        if len(table) == 0:
            raise ValueError(
                f"Cannot fit {type(self).__name__} on an empty sample table."
            )
        self.channel_names_ = self._fit_channel_names(table)
        for family in self.families_:
            if family.batched:  # its network, loaded once: its width names columns
                family.load()
        self.feature_names_out_ = np.asarray(self._names(), dtype=object)
        stateful = [f for f in self.families_ if f.stateful]
        if stateful:
            samples = self._samples(table)
            for family in stateful:  # learned from these (training) images only
                descriptors = self._descriptors(*samples, family)
                family.fit_codebook([d.astype(np.float32) for d in descriptors])
        return self

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

    def _extract(self, X) -> tuple[np.ndarray, list[str]]:
        check_is_fitted(self, "feature_names_out_")
        table = as_sample_table(X)
        samples = self._samples(table)
        images, masks = samples[0], samples[1]
        values = np.full((len(images), len(self.feature_names_out_)), np.nan)
        layout = self._layout()
        plain = [(f, cols) for f, cols in layout if not (f.stateful or f.batched)]
        sources = [_expected_source(self.mask, m) for m in masks]
        self.n_computed_ = 0
        if plain:
            columns = np.concatenate([np.arange(len(values[0]))[c] for _, c in plain])
            block, sources = self._extract_plain(*samples, [f for f, _ in plain])
            values[:, columns] = block
        for family, cols in layout:
            if family.batched:
                values[:, cols] = self._batched(*samples, family)
            elif family.stateful:
                descriptors = self._descriptors(*samples, family)
                values[:, cols] = np.vstack(
                    [family.encode(d.astype(np.float32)) for d in descriptors]
                )
                labels = samples[2]
                warn_notes(
                    {
                        labels[i]: ["no_descriptors"]
                        for i, d in enumerate(descriptors)
                        if len(d) == 0
                    }
                )
        warn_all_nan(values, list(self.feature_names_out_))
        return values, sources

    def _samples(self, table: pd.DataFrame) -> tuple[list, list, list, list | None]:
        """Images, masks, names for messages and (with a cache) content keys.

        The keys hash each file's bytes, so they are computed once per call and shared
        by the Parquet rows and the descriptor cache.
        """
        images = table["image"].tolist()
        masks = table["mask"].tolist() if "mask" in table else [None] * len(images)
        labels = [_label(im, ix) for im, ix in zip(images, table.index, strict=True)]
        keys = None
        if self.cache_dir is not None:
            keys = [content_key(im, mk) for im, mk in zip(images, masks, strict=True)]
        return images, masks, labels, keys

    def _extract_plain(self, images, masks, labels, keys, families):
        """Rows of the stateless families, from the Parquet cache where possible."""
        n = len(images)
        config = replace(self._config(), families=tuple(families))
        names = [
            name
            for name, family in zip(
                self.feature_names_out_, self._column_families(), strict=True
            )
            if family in families
        ]
        values = np.full((n, len(names)), np.nan)
        sources = [""] * n
        notes: dict[str, list[str]] = {}
        cache = None
        todo = list(range(n))
        if keys is not None:
            cache = FeatureCache(
                self.cache_dir, self._cache_description(families), names
            )
            hits = cache.load(set(keys))
            todo = []
            for i, key in enumerate(keys):
                if key in hits:
                    values[i], sources[i], found = hits[key]
                    if found:
                        notes[labels[i]] = found
                else:
                    todo.append(i)
        self.n_computed_ = len(todo)  # for diagnostics: how many missed the cache
        for done in self._run_chunks(
            extract_chunk, todo, images, masks, config, "features"
        ):
            rows, done_keys, done_sources, done_notes = [], [], [], []
            for i, row, source, sample_notes in done:
                values[i], sources[i] = row, source
                if sample_notes:
                    notes[labels[i]] = sample_notes
                if cache is not None:
                    rows.append(row)
                    done_keys.append(keys[i])
                    done_sources.append(source)
                    done_notes.append(sample_notes)
            if cache is not None:
                cache.store(done_keys, np.asarray(rows), done_sources, done_notes)
        warn_notes(notes)
        return values, sources

    def _column_families(self) -> list[FeatureFamily]:
        out = []
        for family, cols in self._layout():
            out += [family] * (cols.stop - cols.start)
        return out

    def _run_chunks(
        self, func, todo, images, masks, config, what, *args, in_process=False
    ):
        """Run ``func`` over chunks of the samples ``todo`` in parallel, as they finish.

        Chunks carry positional indices, so duplicate table indices are harmless.
        With ``in_process``, the chunks run one after another in this process (a
        network on a GPU).
        """
        size = int(self.chunk_size)
        chunks = [
            [(i, images[i], masks[i]) for i in todo[s : s + size]]
            for s in range(0, len(todo), size)
        ]
        show = self.progress
        if show is None:
            show = len(chunks) > 1 and sys.stderr.isatty()
        n_jobs = 1 if len(chunks) <= 1 else self.n_jobs
        with tqdm(
            total=len(todo), unit="img", desc=what, disable=not show, file=sys.stderr
        ) as bar:
            if in_process:
                results = (func(c, config, *args) for c in chunks)
            else:
                # Local processes, or a Dask cluster's workers (use_scheduler).
                tasks = [delayed(func)(c, config, *args) for c in chunks]
                results = run_unordered(tasks, n_jobs)
            for result in results:
                yield result
                bar.update(len(result))

    def _batched(self, images, masks, labels, keys, family) -> np.ndarray:
        """The columns of a family that runs a network over batches, cached.

        Its rows have a cache of their own, keyed by the images, the input
        variant and the family's :meth:`cache_params` (the network's
        fingerprint), so that another network, or adding hand-crafted families,
        recomputes only what changed.
        """
        network = family.load()
        names = list(family.feature_names())
        values = np.full((len(images), len(names)), np.nan)
        notes: dict[str, list[str]] = {}
        cache, todo = None, list(range(len(images)))
        if keys is not None:
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
            hits = cache.load(set(keys))
            todo = []
            for i, key in enumerate(keys):
                if key in hits:
                    values[i], _, found = hits[key]
                    if found:
                        notes[labels[i]] = found
                else:
                    todo.append(i)
        self.n_computed_ = max(getattr(self, "n_computed_", 0), len(todo))
        for done in self._run_chunks(
            batched_chunk,
            todo,
            images,
            masks,
            self._config(),
            family.name,
            family,
            network,
            in_process=not network.device.startswith("cpu"),
        ):
            for i, row, sample_notes in done:
                values[i] = row
                if sample_notes:
                    notes[labels[i]] = sample_notes
            if cache is not None:
                cache.store(
                    [keys[i] for i, _, _ in done],
                    np.asarray([row for _, row, _ in done]),
                    [_expected_source(self.mask, masks[i]) for i, _, _ in done],
                    [n for _, _, n in done],
                )
        warn_notes(notes)
        return values

    def _descriptors(self, images, masks, labels, keys, family) -> list[np.ndarray]:
        """Local descriptors (float16) of every image for a stateful family, cached."""
        n = len(images)
        out: list[np.ndarray | None] = [None] * n
        folder = None
        if keys is not None:
            description = {
                "family": [family.name, family.get_params()],
                **self._cache_description(()),
                # Descriptors have their own version: a change to the plain
                # families must not throw away the costly descriptors.
                "featcls_feature_version": DESCRIPTOR_VERSION,
            }
            digest = hashlib.sha256(
                json.dumps(description, sort_keys=True, default=str).encode()
            ).hexdigest()[:16]
            folder = Path(self.cache_dir) / f"descriptors-{digest}"
            for i, key in enumerate(keys):
                out[i] = _load_descriptors(folder / f"{key}.npy", family)
        todo = [i for i in range(n) if out[i] is None]
        self.n_computed_ = max(getattr(self, "n_computed_", 0), len(todo))
        config = self._config()
        for done in self._run_chunks(
            descriptor_chunk,
            todo,
            images,
            masks,
            config,
            f"{family.name} descriptors",
            family,
        ):
            for i, desc in done:
                out[i] = desc.astype(np.float16)
                if folder is not None:
                    # A unique temporary name, renamed when complete: a killed run
                    # leaves no half-written file, concurrent runs never clash.
                    with atomic_path(folder / f"{keys[i]}.npy") as tmp:
                        np.save(tmp, out[i])
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Input is a sample table of images, not a 2-D feature matrix: scikit-learn's
        # common checks on random tabular data do not apply (see tests/features).
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags
