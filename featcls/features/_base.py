"""Base class of the feature families and parameter checks shared by them."""

from __future__ import annotations

import numbers
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = ["FeatureFamily", "check_int", "check_number", "check_option"]


def _owner(obj: Any) -> str:
    return type(obj).__name__


def check_int(obj: Any, name: str, value: Any, *, low: int = 1) -> int:
    """Validate an integer parameter of ``obj`` and return it."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < low
    ):
        raise ValueError(
            f"The {name!r} parameter of {_owner(obj)} must be an int >= {low}. "
            f"Got {value!r} instead."
        )
    return int(value)


def check_number(
    obj: Any, name: str, value: Any, *, low: float = 0.0, strict: bool = True
) -> float:
    """Validate a real parameter of ``obj`` (``> low``, or ``>= low``) and return it."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    ok = ok and np.isfinite(value) and (value > low if strict else value >= low)
    if not ok:
        op = ">" if strict else ">="
        raise ValueError(
            f"The {name!r} parameter of {_owner(obj)} must be a number {op} {low}. "
            f"Got {value!r} instead."
        )
    return float(value)


def check_option(obj: Any, name: str, value: Any, options: tuple) -> Any:
    """Validate that a parameter of ``obj`` is one of ``options`` and return it."""
    if value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise ValueError(
            f"The {name!r} parameter of {_owner(obj)} must be one of {listed}. "
            f"Got {value!r} instead."
        )
    return value


def check_int_tuple(
    obj: Any, name: str, value: Any, *, low: int = 1
) -> tuple[int, ...]:
    """Validate a non-empty sequence of distinct ints ``>= low``."""
    seq = (value,) if isinstance(value, numbers.Integral) else value
    try:
        items = tuple(seq)
    except TypeError:
        items = ()
    ok = (
        len(items) > 0
        and len(set(items)) == len(items)
        and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= low
            for v in items
        )
    )
    if not ok:
        raise ValueError(
            f"The {name!r} parameter of {_owner(obj)} must be a non-empty sequence of "
            f"distinct ints >= {low}. Got {value!r} instead."
        )
    return tuple(int(v) for v in items)


class FeatureFamily(TransformerMixin, BaseEstimator):
    """A family of hand-crafted features: named columns from one image and its mask.

    Subclasses define ``name``, store their parameters in ``__init__``, and implement
    :meth:`feature_names` (known from the parameters alone) and :meth:`compute`
    (one :class:`~featcls.features._context.ImageContext` in, a float vector in
    ``feature_names()`` order out). As transformers they run the same extraction
    machinery as :class:`~featcls.features.FeatureExtractor` with this family alone.

    Families whose ``per_channel`` is False (shape) depend on the mask only and are
    computed once per image, not once per channel.
    """

    name: ClassVar[str] = ""
    per_channel: ClassVar[bool] = True
    #: Families that learn from the training images (a codebook) set this; they
    #: implement ``local_descriptors(ctx)``, ``fit_codebook(list)`` and ``encode``.
    stateful: ClassVar[bool] = False

    # -- to implement -------------------------------------------------------------
    def feature_names(self) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def compute(self, ctx) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def validate(self) -> None:
        """Check the parameters; raise ``ValueError`` naming the bad one."""
        self.feature_names()

    # -- transformer API ------------------------------------------------------------
    def _extractor(self):
        from featcls.features._extractor import FeatureExtractor

        return FeatureExtractor(families=[self], prefix=False)

    def fit(self, X, y=None):
        """Validate the parameters. Hand-crafted families learn nothing from data."""
        self.validate()
        self.extractor_ = self._extractor().fit(X, y)
        return self

    def transform(self, X) -> np.ndarray:
        """Compute this family's features for every sample of the table ``X``."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "extractor_")
        return self.extractor_.transform(X)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the produced columns (per channel when the images have several)."""
        if hasattr(self, "extractor_"):
            return self.extractor_.get_feature_names_out()
        self.validate()
        return np.asarray(self.feature_names(), dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Input is a sample table of images, not a 2-D feature matrix: scikit-learn's
        # common checks on random tabular data do not apply (see tests/features).
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = False
        tags.requires_fit = True
        return tags
