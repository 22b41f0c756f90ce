"""Which file format each kind of model is saved in, checked from the file name."""

from __future__ import annotations

from pathlib import Path

__all__ = ["SKOPS_SUFFIX", "TORCH_SUFFIXES", "check_model_path"]

#: File suffixes of CNN and fusion model files (torch state dicts + plain data).
TORCH_SUFFIXES = (".pt", ".pth")
#: File suffix of every other model file.
SKOPS_SUFFIX = ".skops"


def check_model_path(path: str | Path, *, torch_model: bool) -> Path:
    """Check that ``path``'s suffix fits the model's file format.

    CNN and fusion models (``torch_model=True``) are saved as ``.pt``/``.pth``,
    every other model as ``.skops``. Call it before fitting, so a long fit never
    ends in a file ``load_model`` cannot read.

    Examples
    --------
    >>> check_model_path("model.skops", torch_model=False).name
    'model.skops'
    >>> check_model_path("model.skops", torch_model=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Cannot save a CNN or fusion model to 'model.skops': ...
    """
    path = Path(path)
    if torch_model and path.suffix not in TORCH_SUFFIXES:
        raise ValueError(
            f"Cannot save a CNN or fusion model to '{path}': these models are saved "
            f"as torch files; use a .pt file name (e.g. '{path.with_suffix('.pt')}')."
        )
    if not torch_model and path.suffix != SKOPS_SUFFIX:
        raise ValueError(
            f"Cannot save a feature-table model to '{path}': these models are saved "
            "as skops files; use a .skops file name (e.g. "
            f"'{path.with_suffix(SKOPS_SUFFIX)}')."
        )
    if path.is_dir():
        raise ValueError(f"Cannot save a model to '{path}': it is a directory.")
    return path
