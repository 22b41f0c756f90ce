"""Base class of the feature families."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = ["FeatureFamily"]


class FeatureFamily(TransformerMixin, BaseEstimator):
    """A family of hand-crafted features: named columns from one image and its mask.

    Subclasses define ``name``, store their parameters in ``__init__``, declare their
    allowed values in ``_parameter_constraints`` (scikit-learn's parameter
    validation; the rules constraints cannot state go in :meth:`_check_params`), and
    implement :meth:`feature_names` (known from the parameters alone, which it
    validates) and :meth:`compute` (one
    :class:`~featcls.features._context.ImageContext` in, a float vector in
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
    #: Families that run a network over batches of whole images (``embedding``)
    #: set this; they implement ``load()`` (the network, once; called in fit),
    #: ``compute_batch(images, network)`` and ``cache_params()`` (what their own
    #: cache is keyed by besides the images).
    batched: ClassVar[bool] = False
    _parameter_constraints: dict = {}

    # -- to implement -------------------------------------------------------------
    def feature_names(self) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def compute(self, ctx) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def descriptor_params(self) -> dict:
        """What a stateful family's local descriptors depend on (their cache key).

        All its parameters unless it says otherwise;
        :class:`~featcls.features.VLADFeatures` names the grid and support sizes
        only, so a new vocabulary reuses the descriptors.
        """
        return self.get_params()

    def validate(self) -> None:
        """Check the parameters; raise ``ValueError`` naming the bad one.

        The error is scikit-learn's ``InvalidParameterError`` (a ``ValueError``):
        from ``_parameter_constraints`` first, then from :meth:`_check_params`.
        """
        self._validate_params()
        self._check_params()

    def _check_params(self) -> None:
        """Check the rules that ``_parameter_constraints`` cannot state (none here)."""

    # -- transformer API ------------------------------------------------------------
    def _extractor(self):
        from featcls.features._engine import Extraction

        return Extraction(families=[self], prefix=False)

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
