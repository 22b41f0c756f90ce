"""The ELPV data set of electroluminescence images of solar cells."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from featcls.data._dataset import Dataset, provenance

__all__ = ["ELPV_TARGETS", "load_elpv"]

#: Valid values of the ``target`` argument of :func:`load_elpv`.
ELPV_TARGETS = ("defective", "defect_level", "cell_type")
_CELL_TYPES = ("mono", "poly")


def _import_elpv():
    try:
        import elpv_dataset
    except ImportError as exc:
        raise ImportError(
            "load_elpv needs the optional 'elpv-dataset' package, which ships the "
            'images. Install it with: pip install "featcls[elpv]" (or pip install '
            "elpv-dataset)."
        ) from exc
    return elpv_dataset


def _package_version() -> str | None:
    try:
        return metadata.version("elpv-dataset")
    except metadata.PackageNotFoundError:
        return None


def load_elpv(*, target: str = "defective", cell_type: str | None = None) -> Dataset:
    """Load the ELPV data set of solar-cell images (Buerhop-Lutz et al. 2018).

    2,624 electroluminescence images (300×300, 8-bit grey) of cells of 44 solar
    modules, each with a defect probability (0, 1/3, 2/3 or 1) given by an expert and
    a cell type (mono- or polycrystalline). The images come with the PyPI package
    ``elpv-dataset``; they are not loaded into memory: ``X`` holds absolute paths into
    the package's data folder, plus the metadata columns ``probability`` and
    ``cell_type``.

    Counts: probability 0: 1,508, 1/3: 295, 2/3: 106, 1: 715 (821 defective at
    probability >= 0.5); 1,074 mono and 1,550 poly cells.

    The package records no module of origin for the cells, so ``groups`` is None and
    cells of one module can land on both sides of a split.

    Each image is one whole cell, so the data set's ``mask_policy`` is ``"full"``:
    the features take the whole image as the object instead of segmenting it (a
    dark, defective region would otherwise fall outside the automatic mask).

    Parameters
    ----------
    target : {"defective", "defect_level", "cell_type"}, default="defective"
        ``"defective"``: classes ``defective`` (probability >= 0.5) and
        ``functional``. ``"defect_level"``: the four probabilities as classes
        ``p0.00``, ``p0.33``, ``p0.67``, ``p1.00`` (they sort in order).
        ``"cell_type"``: ``mono`` and ``poly``.
    cell_type : {"mono", "poly"}, optional
        Keep only cells of this type.

    Returns
    -------
    dataset : Dataset

    Raises
    ------
    ImportError
        If ``elpv-dataset`` is not installed.
    ValueError
        If ``target`` or ``cell_type`` is invalid.

    References
    ----------
    C. Buerhop-Lutz, S. Deitsch, A. Maier, F. Gallwitz, S. Berger, B. Doll,
    J. Hauch, C. Camus, C. J. Brabec, "A Benchmark for Visual Identification of
    Defective Solar Cells in Electroluminescence Imagery", EU PVSEC 2018.
    S. Deitsch, V. Christlein, S. Berger, C. Buerhop-Lutz, A. Maier, F. Gallwitz,
    C. Riess, "Automatic classification of defective photovoltaic module cells in
    electroluminescence images", Solar Energy 185, 455-468, 2019.
    """
    if target not in ELPV_TARGETS:
        raise ValueError(
            f"target must be one of {', '.join(map(repr, ELPV_TARGETS))}. "
            f"Got {target!r} instead."
        )
    if cell_type is not None and cell_type not in _CELL_TYPES:
        raise ValueError(
            f"cell_type must be 'mono', 'poly' or None. Got {cell_type!r} instead."
        )
    package = _import_elpv()
    data_dir = Path(package.__file__).resolve().parent / "data"
    labels_csv = data_dir / "labels.csv"
    if not labels_csv.is_file():
        raise FileNotFoundError(
            f"The elpv-dataset package has no {str(labels_csv)!r}; reinstall it with "
            "pip install --force-reinstall elpv-dataset."
        )
    # The same parsing as elpv_dataset.utils.load_dataset, without loading pixels.
    labels = np.genfromtxt(
        labels_csv, dtype=["|S19", "<f8", "|S4"], names=["path", "probability", "type"]
    )
    paths = np.char.decode(labels["path"]).tolist()
    probability = labels["probability"].astype(float)
    types = np.char.decode(labels["type"]).astype(str)

    X = pd.DataFrame(
        {
            "image": pd.Series([str(data_dir / p) for p in paths], dtype=object),
            "probability": probability,
            "cell_type": pd.Series(types, dtype=object),
        }
    )
    if target == "defective":
        y = np.where(probability >= 0.5, "defective", "functional")
    elif target == "defect_level":
        y = np.array([f"p{p:.2f}" for p in probability])
    else:
        y = types
    if cell_type is not None:
        keep = types == cell_type
        X = X.loc[keep].reset_index(drop=True)
        y = y[keep]
    suffix = "" if cell_type is None else f"-{cell_type}"
    return Dataset(
        X=X,
        y=y,
        groups=None,
        name=f"elpv-{target}{suffix}",
        meta=provenance(
            "load_elpv",
            root=str(data_dir),
            target=target,
            cell_type=cell_type,
            elpv_version=_package_version(),
        ),
        mask_policy="full",
    )
