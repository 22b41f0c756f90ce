"""Loading a folder of class sub-folders, and writing a Dataset as one."""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import tifffile

from featcls.data._dataset import Dataset, provenance
from featcls.data._fileinfo import special_file
from featcls.data._image import read_image, read_mask
from featcls.data._validate import (
    SKIP_HINT,
    SampleFiles,
    check_on_error,
    check_samples,
    finish_skipping,
    normalise_extensions,
)
from featcls.exceptions import DataWarning, SettingError

__all__ = ["IMAGE_EXTENSIONS", "load_folder", "load_images", "save_folder"]

#: File extensions read by default.
IMAGE_EXTENSIONS = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")
# Files that operating systems drop into folders; ignored like hidden files.
_SYSTEM_FILES = frozenset({"Thumbs.db", "desktop.ini"})
_SAVE_FORMATS = {"png": ".png", "tif": ".tif", "tiff": ".tif", "bmp": ".bmp"}


def _ignored(name: str) -> bool:
    return name.startswith(".") or name in _SYSTEM_FILES


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _link_back(link: str, root: str) -> str | None:
    """Why the directory link ``link`` is not followed, or None to follow it.

    ``root`` is the data set's resolved path. A link that resolves to the root or
    into it (``again -> .``, ``a2 -> ../a``) would list the same images twice.
    """
    target = os.path.realpath(link)
    if _inside(target, root):
        return (
            f"Skipped directory link {link!r} -> {target!r}: it leads back inside "
            f"the data set {root!r}, so following it would list the same images "
            "twice (and under other labels). Remove the link."
        )
    return None


def _walk(folder: Path, root: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Relative POSIX paths of all non-hidden files under ``folder``, sorted.

    Returned with them: the directory links not followed, as ``(path, reason)``.

    Directory links are followed unless they lead back inside ``root`` (the data
    set's resolved path) or into a folder already walked (a link loop).
    """
    found: list[str] = []
    skipped: list[tuple[str, str]] = []
    seen = {os.path.realpath(folder)}
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        keep = []
        for d in sorted(dirnames):
            if _ignored(d):
                continue
            full = os.path.join(dirpath, d)
            if os.path.islink(full):
                reason = _link_back(full, root)
                target = os.path.realpath(full)
                if reason is None and target in seen:
                    reason = (
                        f"Skipped directory link {full!r} -> {target!r}: that folder "
                        "is listed already (a link loop). Remove the link."
                    )
                if reason is not None:
                    skipped.append((full, reason))
                    continue
                seen.add(target)
            keep.append(d)
        dirnames[:] = keep
        rel_dir = Path(dirpath).relative_to(folder)
        found += [(rel_dir / f).as_posix() for f in filenames if not _ignored(f)]
    return sorted(found), skipped


def _mask_index(mask_root: Path, extensions: tuple[str, ...]) -> dict[str, str]:
    """Map relative paths, and relative paths without extension, to mask files."""
    index: dict[str, str] = {}
    for rel in _walk(mask_root, os.path.realpath(mask_root))[0]:
        suffix = Path(rel).suffix
        if suffix.lower() not in extensions:
            continue
        path = str(mask_root / rel)
        index[rel] = path
        index.setdefault(rel[: len(rel) - len(suffix)], path)
    return index


class _Listed(Sequence):
    """The samples of a folder as columns: image paths, mask paths, known problems.

    A :class:`SampleFiles` is made only when one is asked for (to check it), so
    that listing 100,000 images holds their paths and little more.
    """

    def __init__(self, with_masks: bool):
        self.images: list[str] = []
        self.masks: list[str | None] | None = [] if with_masks else None
        self.problems: dict[int, str] = {}

    def append(self, image: str, mask: str | None, problem: str | None) -> None:
        if problem is not None:
            self.problems[len(self.images)] = problem
        self.images.append(image)
        if self.masks is not None:
            self.masks.append(mask)

    def extend(self, other: _Listed) -> None:
        self.problems.update({len(self) + i: p for i, p in other.problems.items()})
        self.images += other.images
        if self.masks is not None:
            self.masks += other.masks

    def without(self, bad: set[int]) -> _Listed:
        """These samples less the positions in ``bad`` (the unusable ones)."""
        if not bad:
            return self
        kept = _Listed(self.masks is not None)
        for i in range(len(self)):
            if i not in bad:
                kept.append(*self._fields(i))
        return kept

    def _fields(self, i: int) -> tuple[str, str | None, str | None]:
        mask = None if self.masks is None else self.masks[i]
        return self.images[i], mask, self.problems.get(i)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> SampleFiles:
        if not 0 <= i < len(self):
            raise IndexError(i)
        image, mask, problem = self._fields(i)
        return SampleFiles(image=image, mask=mask, problem=problem)


def _folder_samples(
    root: Path,
    class_name: str | None,
    extensions: tuple[str, ...],
    mask_root: Path | None,
    masks: dict[str, str] | None,
) -> tuple[_Listed, list[str], list[tuple[str, str]]]:
    """Samples of one class folder, their root-relative paths, and what was skipped.

    With ``class_name=None``, the samples of the whole root. What was skipped comes as
    ``(path, reason)``: directory links back into the data set and files that are not
    regular files (FIFOs, devices, sockets), which are never opened.
    """
    samples, relpaths = _Listed(masks is not None), []
    folder = root if class_name is None else root / class_name
    where = "" if class_name is None else f" in class folder {class_name!r}"
    rels, skipped = _walk(folder, os.path.realpath(root))
    for rel_in_folder in rels:
        rel = rel_in_folder if class_name is None else f"{class_name}/{rel_in_folder}"
        image = str(root / rel)
        suffix = Path(rel).suffix
        problem = mask = None
        try:
            special = special_file(image)
        except OSError:
            special = None  # a broken link: reported as missing when validated
        if special is not None:
            skipped.append(
                (
                    image,
                    f"Skipped {image!r}: not a regular file ({special}); featcls "
                    "reads only regular files. Remove it from the folder.",
                )
            )
            continue
        if suffix.lower() not in extensions:
            problem = (
                f"Cannot use {image!r}: unsupported file extension "
                f"{suffix or '(none)'!r}{where}; expected one of "
                f"{', '.join(extensions)}. Move the file out of the folder."
            )
        elif masks is not None:
            mask = masks.get(rel) or masks.get(rel[: len(rel) - len(suffix)])
            if mask is None:
                problem = (
                    f"No mask for image {image!r}: expected {str(mask_root / rel)!r} "
                    f"(or the same name with another extension among "
                    f"{', '.join(extensions)}). Add the mask."
                )
        samples.append(image, mask, problem)
        relpaths.append(rel)
    return samples, relpaths, skipped


def _without(items: list, bad: set[int]) -> list:
    """``items`` less the positions in ``bad`` (the same list when there are none)."""
    if not bad:
        return items
    return [item for i, item in enumerate(items) if i not in bad]


def _sample_table(samples: _Listed, relpaths: list[str]) -> pd.DataFrame:
    """The sample table of a folder: ``image``, ``mask`` (with masks), ``relpath``.

    Built column by column from the samples' own strings (no copy of them).
    """
    X = pd.DataFrame({"image": pd.Series(samples.images, dtype=object)})
    if samples.masks is not None:
        X["mask"] = pd.Series(samples.masks, dtype=object)
    X["relpath"] = pd.Series(relpaths, dtype=object)
    return X


def load_folder(
    root: str | os.PathLike,
    *,
    masks: str | os.PathLike | None = None,
    on_error: str = "raise",
    extensions: tuple[str, ...] = IMAGE_EXTENSIONS,
    validate: bool = True,
    n_jobs: int | None = 1,
) -> Dataset:
    """Load a folder with one sub-folder of images per class.

    ``root/<class>/<file>``: the class name is the sub-folder's name; files may be
    nested deeper inside a class folder. Hidden files and folders (names starting with
    ``.``) and ``Thumbs.db``/``desktop.ini`` are ignored.

    Whatever ``on_error`` says, two things are always skipped, recorded in
    ``Dataset.skipped`` with the reason and counted in the warning: files that are
    not regular files (a FIFO would block the load forever, a link to
    ``/dev/zero`` would never end; they are never opened), and directory links
    that lead back inside ``root`` (``again -> .`` would list every image twice,
    under another label). Directory links that lead out of ``root`` are followed,
    once each. Identical images (copies, links to one file) are kept as samples;
    :func:`featcls.evaluation.compare` keeps each set of them in one fold.

    Parameters
    ----------
    root : str or os.PathLike
        The data set folder.
    masks : str or os.PathLike, optional
        Folder of object masks with the same relative paths as the images
        (``masks/<class>/x.png`` for ``root/<class>/x.png``); a mask with the same
        stem and another supported extension is accepted too.
    on_error : {"raise", "skip"}, default="raise"
        What to do with a file that cannot be used (corrupt, empty, truncated, not an
        image, unsupported extension, missing mask, mask of another size) and with an
        empty class folder: raise, or record it in ``Dataset.skipped``, keep the rest
        and emit one :class:`~featcls.exceptions.DataWarning`.
    extensions : tuple of str, default=IMAGE_EXTENSIONS
        Image file extensions (case-insensitive); by default ``.png``, ``.tif``,
        ``.tiff``, ``.jpg``, ``.jpeg`` and ``.bmp``.
    validate : bool, default=True
        Decode every image and mask once to check it. Otherwise only existence is
        checked and bad files surface when they are read.
    n_jobs : int, default=1
        Threads used for validation (joblib; -1 means all cores).

    Returns
    -------
    dataset : Dataset
        ``X`` holds absolute paths (column ``image``, and ``mask`` with ``masks``) and
        ``relpath``, the path relative to ``root``; ``groups`` is None.

    Raises
    ------
    FileNotFoundError
        If ``root`` or ``masks`` does not exist.
    ValueError
        If ``root`` has no class folders, ``on_error`` is invalid, a class folder has
        no images (with ``on_error='raise'``) or nothing usable is left.
    ImageReadError
        For the first unusable file, with ``on_error='raise'``.

    Examples
    --------
    >>> import tempfile
    >>> from featcls.data import make_synthetic, save_folder
    >>> data = make_synthetic(30, image_size=32)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     loaded = load_folder(save_folder(data, tmp))
    >>> len(loaded), loaded.classes == data.classes
    (30, True)
    """
    check_on_error(on_error)
    extensions = normalise_extensions(extensions)
    root = Path(root).absolute()
    if not root.exists():
        raise FileNotFoundError(f"Dataset folder {str(root)!r} does not exist.")
    if not root.is_dir():
        raise NotADirectoryError(
            f"Dataset folder {str(root)!r} is a file; expected a folder with one "
            "sub-folder per class."
        )
    mask_root = mask_index = None
    if masks is not None:
        mask_root = Path(masks).absolute()
        if not mask_root.is_dir():
            raise FileNotFoundError(f"Mask folder {str(mask_root)!r} does not exist.")
        mask_index = _mask_index(mask_root, extensions)
    entries = sorted(p for p in root.iterdir() if not _ignored(p.name))
    real_root = os.path.realpath(root)
    skipped: list[tuple[str, str]] = []
    for p in entries:
        reason = _link_back(str(p), real_root) if p.is_symlink() else None
        if reason is not None and p.is_dir():
            skipped.append((str(p), reason))
    links_back = {path for path, _ in skipped}
    class_names = [p.name for p in entries if p.is_dir() and str(p) not in links_back]
    loose = [p.name for p in entries if not p.is_dir()]
    if not class_names:
        found = (
            f" It holds {len(loose)} file(s) directly." if loose else " It is empty."
        )
        raise ValueError(
            f"Dataset folder {str(root)!r} has no class sub-folders; expected one "
            f"sub-folder per class, e.g. '{root}/<class>/image.png'.{found}"
        )
    if loose:
        warnings.warn(
            f"Ignored {len(loose)} file(s) directly in {str(root)!r} (e.g. "
            f"{loose[0]!r}); images must sit in a class sub-folder.",
            DataWarning,
            stacklevel=2,
        )

    samples = _Listed(mask_root is not None)
    relpaths: list[str] = []
    labels: list[str] = []
    for class_name in class_names:
        class_samples, class_rel, not_read = _folder_samples(
            root, class_name, extensions, mask_root, mask_index
        )
        skipped += not_read
        n_images = sum(Path(r).suffix.lower() in extensions for r in class_rel)
        if n_images == 0:
            problem = (
                f"Class folder {str(root / class_name)!r} contains no images with "
                f"extensions {', '.join(extensions)}; add images or remove the folder."
            )
            if on_error == "raise":
                raise SettingError(problem, " ", *SKIP_HINT)
            skipped.append((str(root / class_name), problem))
        samples.extend(class_samples)
        relpaths += class_rel
        labels += [class_name] * len(class_samples)

    failures = check_samples(
        samples, validate=validate, on_error=on_error, n_jobs=n_jobs
    )
    bad = {position for position, _ in failures}
    skipped += [(samples[p].image, str(problem)) for p, problem in failures]
    samples, relpaths = samples.without(bad), _without(relpaths, bad)
    y = np.asarray(_without(labels, bad), dtype=str)
    del labels
    ledger = finish_skipping(
        skipped, n_kept=len(samples), where=str(root), on_error=on_error
    )
    X = _sample_table(samples, relpaths)
    del samples, relpaths  # a sample's strings live on in X only
    return Dataset(
        X=X,
        y=y,
        groups=None,
        skipped=ledger,
        name=root.name,
        meta=provenance(
            "load_folder",
            root=str(root),
            masks=None if mask_root is None else str(mask_root),
            extensions=list(extensions),
            validate=validate,
            on_error=on_error,
        ),
    )


def load_images(
    root: str | os.PathLike,
    *,
    masks: str | os.PathLike | None = None,
    on_error: str = "raise",
    extensions: tuple[str, ...] = IMAGE_EXTENSIONS,
    validate: bool = True,
    n_jobs: int | None = 1,
) -> Dataset:
    """Load an unlabelled folder of images (any nesting), e.g. to classify it.

    Every supported image under ``root`` becomes a sample (hidden files ignored,
    other files are a problem handled by ``on_error``); ``y`` is None. ``masks``,
    ``on_error``, ``extensions``, ``validate`` and ``n_jobs`` are as in
    :func:`load_folder`.

    Examples
    --------
    >>> import tempfile
    >>> from featcls.data import make_synthetic, save_folder
    >>> data = make_synthetic(30, image_size=32)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     loaded = load_images(save_folder(data, tmp))
    >>> len(loaded), loaded.y is None
    (30, True)
    """
    check_on_error(on_error)
    extensions = normalise_extensions(extensions)
    root = Path(root).absolute()
    if not root.is_dir():
        raise FileNotFoundError(f"Image folder {str(root)!r} does not exist.")
    mask_root = mask_index = None
    if masks is not None:
        mask_root = Path(masks).absolute()
        if not mask_root.is_dir():
            raise FileNotFoundError(f"Mask folder {str(mask_root)!r} does not exist.")
        mask_index = _mask_index(mask_root, extensions)
    samples, relpaths, not_read = _folder_samples(
        root, None, extensions, mask_root, mask_index
    )
    if not samples and not not_read:
        raise ValueError(f"Image folder {str(root)!r} contains no files.")
    failures = check_samples(
        samples, validate=validate, on_error=on_error, n_jobs=n_jobs
    )
    bad = {position for position, _ in failures}
    not_read += [(samples[p].image, str(e)) for p, e in failures]
    samples, relpaths = samples.without(bad), _without(relpaths, bad)
    ledger = finish_skipping(
        not_read, n_kept=len(samples), where=str(root), on_error=on_error
    )
    X = _sample_table(samples, relpaths)
    del samples, relpaths  # a sample's strings live on in X only
    return Dataset(
        X=X,
        y=None,
        skipped=ledger,
        name=root.name,
        meta=provenance(
            "load_images",
            root=str(root),
            masks=None if mask_root is None else str(mask_root),
            on_error=on_error,
        ),
    )


def _encode(image: np.ndarray, suffix: str, what: str) -> bytes:
    """Encode an image for ``suffix``, raising ValueError when the format cannot."""
    channels = 1 if image.ndim == 2 else image.shape[2]
    if suffix == ".tif":
        photometric = "rgb" if channels in (3, 4) else "minisblack"
        planar = "contig" if image.ndim == 3 else None
        stream = io.BytesIO()
        tifffile.imwrite(stream, image, photometric=photometric, planarconfig=planar)
        return stream.getvalue()
    allowed = ("uint8", "uint16") if suffix == ".png" else ("uint8",)
    if image.dtype.name not in allowed or channels not in (1, 3, 4):
        raise ValueError(
            f"Cannot save {what} as {suffix[1:].upper()}: it stores "
            f"{'/'.join(allowed)} images with 1, 3 or 4 channels, got {image.dtype} "
            f"with {channels} channel(s). Use format='tiff'."
        )
    if channels == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    elif channels == 4:
        image = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    ok, encoded = cv2.imencode(suffix, image)
    if not ok:  # pragma: no cover - OpenCV reports failures by exception
        raise ValueError(f"Cannot encode {what} as {suffix}.")
    return encoded.tobytes()


def save_folder(
    dataset: Dataset,
    root: str | os.PathLike,
    *,
    masks_root: str | os.PathLike | None = None,
    format: str = "png",
) -> Path:
    """Write a labelled Dataset as ``root/<class>/<name>.png``, readable by load_folder.

    Files are named by the sample's position, zero-padded (``00000.png``, ...), so
    reloading keeps the order within each class. Images held as paths are decoded and
    re-encoded.

    Parameters
    ----------
    dataset : Dataset
        A labelled data set.
    root : str or os.PathLike
        Output folder (created if needed; existing files of the same name are
        overwritten).
    masks_root : str or os.PathLike, optional
        Also write the ``mask`` column as 0/255 uint8 images to
        ``masks_root/<class>/<name>.<ext>``.
    format : {"png", "tiff", "tif", "bmp"}, default="png"
        File format. PNG holds uint8/uint16 images with 1, 3 or 4 channels, BMP uint8;
        TIFF holds anything (float, multichannel).

    Returns
    -------
    root : Path

    Raises
    ------
    ValueError
        If the data set is unlabelled, has no masks while ``masks_root`` is given, or
        an image does not fit the format.
    """
    if format not in _SAVE_FORMATS:
        raise ValueError(
            f"format must be one of {', '.join(map(repr, _SAVE_FORMATS))}. "
            f"Got {format!r} instead."
        )
    if dataset.y is None:
        raise ValueError(
            f"Cannot save Dataset {dataset.name!r} as class folders: it is unlabelled."
        )
    if masks_root is not None and "mask" not in dataset.X.columns:
        raise ValueError(
            f"Cannot save masks of Dataset {dataset.name!r}: its sample table has no "
            "'mask' column."
        )
    suffix = _SAVE_FORMATS[format]
    root = Path(root)
    width = max(5, len(str(len(dataset))))
    for position in range(len(dataset)):
        row = dataset.X.iloc[position]
        label = str(dataset.y[position])
        stem = f"{position:0{width}d}"
        what = f"sample {position} of Dataset {dataset.name!r}"
        source = row["image"]
        image = read_image(
            source, name=what if isinstance(source, np.ndarray) else None
        )
        target = root / label / f"{stem}{suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_encode(image, suffix, what))
        if masks_root is not None:
            mask = read_mask(row["mask"], shape=image.shape, image_name=what)
            mask_target = Path(masks_root) / label / f"{stem}{suffix}"
            mask_target.parent.mkdir(parents=True, exist_ok=True)
            encoded = _encode(mask.astype(np.uint8) * np.uint8(255), suffix, what)
            mask_target.write_bytes(encoded)
    return root
