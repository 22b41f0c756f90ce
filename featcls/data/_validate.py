"""Per-file checks shared by the folder and manifest loaders, and the skip policy."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import pandas as pd
from joblib import Parallel, delayed

from featcls._policies import ON_ERROR
from featcls.data._channels import ChannelFiles
from featcls.data._image import channel_kind, file_problem, read_image, read_mask
from featcls.exceptions import DataWarning, ImageReadError, Setting, SettingError

__all__ = [
    "ON_ERROR",
    "SKIP_HINT",
    "SampleFiles",
    "check_on_error",
    "check_samples",
    "finish_skipping",
    "normalise_extensions",
]

#: The fix appended to a loader's error: message parts (see featcls.exceptions), so
#: the command line can spell the setting its own way (``--on-error skip``).
SKIP_HINT = (
    "Or pass ",
    Setting("on_error", "skip"),
    " to skip files that cannot be used.",
)


@dataclass(slots=True)
class SampleFiles:
    """The files of one sample and any problem already known from listing them.

    ``image`` is a path, or the files of the sample's named channels. (Slots: a
    loader holds one per image at once.)
    """

    image: str | ChannelFiles
    mask: str | None = None
    problem: str | None = None


def check_on_error(on_error: str) -> None:
    """Raise ValueError unless ``on_error`` is ``'raise'`` or ``'skip'``."""
    if on_error not in ON_ERROR:
        raise ValueError(
            f"on_error must be 'raise' or 'skip'. Got {on_error!r} instead."
        )


def normalise_extensions(extensions: Iterable[str]) -> tuple[str, ...]:
    """Lower-case extensions with a leading dot: ``"PNG"`` -> ``".png"``."""
    if isinstance(extensions, str):
        extensions = (extensions,)
    out = tuple((e if e.startswith(".") else f".{e}").lower() for e in extensions)
    if not out:
        raise ValueError(
            "extensions must name at least one file extension, e.g. '.png'."
        )
    return out


def _exists(image: str | ChannelFiles) -> ImageReadError | None:
    """Why the image file (or a channel file) cannot be read, by ``stat`` alone."""
    if isinstance(image, ChannelFiles):
        for channel, path in zip(image.names, image.paths, strict=True):
            problem = file_problem(path, path, channel_kind(channel))
            if problem is not None:
                return problem
        return None
    return file_problem(image, image, "image")


def _check_one(sample: SampleFiles, validate: bool) -> ImageReadError | None:
    """The problem with one sample's files, or None when they are usable."""
    if sample.problem is not None:
        return ImageReadError(sample.problem)
    if not validate:
        # Existence only, by stat: FIFOs and devices are refused without opening.
        problem = _exists(sample.image)
        if problem is None and sample.mask is not None:
            problem = file_problem(sample.mask, sample.mask, "mask")
        return problem
    try:
        image = read_image(sample.image)
        if sample.mask is not None:
            read_mask(sample.mask, shape=image.shape, image_name=str(sample.image))
    except ImageReadError as exc:
        return exc
    return None


def _results(
    samples: Sequence[SampleFiles], validate: bool, n_jobs: int | None
) -> Iterator[ImageReadError | None]:
    if n_jobs in (None, 1) or len(samples) < 2:
        return (_check_one(s, validate) for s in samples)
    # Decoding releases the GIL (OpenCV, zlib, tifffile), so threads scale well and
    # avoid starting worker processes.
    return Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")(
        delayed(_check_one)(s, validate) for s in samples
    )


def check_samples(
    samples: Sequence[SampleFiles],
    *,
    validate: bool,
    on_error: str,
    n_jobs: int | None = 1,
) -> list[tuple[int, ImageReadError]]:
    """Check every sample's files once; the one validation routine of all loaders.

    With ``validate`` every image and mask is decoded (and masks compared with their
    image's size); otherwise only their existence is checked.

    Returns
    -------
    failures : list of (int, ImageReadError)
        Position and problem of each unusable sample (only with ``on_error='skip'``).

    Raises
    ------
    ImageReadError
        With ``on_error='raise'``, for the first unusable sample, naming the file and
        suggesting ``on_error='skip'``.
    """
    failures = []
    results = _results(samples, validate, n_jobs)
    try:
        for position, problem in enumerate(results):
            if problem is None:
                continue
            if on_error == "raise":
                raise ImageReadError(*problem.parts, " ", *SKIP_HINT) from problem
            failures.append((position, problem))
    finally:
        # Stop joblib's outstanding checks now, not when the generator is collected;
        # that their results go unused after an error is the point.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "[0-9]+ tasks have been successfully")
            results.close()
    return failures


def finish_skipping(
    skipped: list[tuple[str, str]], *, n_kept: int, where: str, on_error: str
) -> pd.DataFrame:
    """Warn once about skipped files and return the ledger; fail if nothing is left.

    Parameters
    ----------
    skipped : list of (path, reason)
    n_kept : int
        Number of usable samples.
    where : str
        The folder or CSV, for messages.
    on_error : str
        Only used to word the error when nothing is left.

    Returns
    -------
    skipped : DataFrame
        Columns ``path`` and ``reason``.
    """
    ledger = pd.DataFrame(
        {
            "path": pd.Series([p for p, _ in skipped], dtype=object),
            "reason": pd.Series([r for _, r in skipped], dtype=object),
        }
    )
    if n_kept == 0:
        first = f" The first problem: {skipped[0][1]}" if skipped else ""
        raise SettingError(
            f"No usable images in {where!r}: all {len(skipped)} were skipped (",
            Setting("on_error", on_error),
            f").{first}",
        )
    if skipped:
        warnings.warn(
            f"Skipped {len(skipped)} unusable file(s) in {where!r} and kept {n_kept} "
            f"images; see Dataset.skipped for the reasons. The first: "
            f"{skipped[0][1]}",
            DataWarning,
            stacklevel=3,
        )
    return ledger
