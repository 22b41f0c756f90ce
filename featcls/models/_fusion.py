"""FusionClassifier: the CNN with hand-crafted features as a second input branch."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import check_is_fitted

from featcls.features import FeatureExtractor
from featcls.models._cnn import CNNClassifier
from featcls.models._cnn_io import (
    check_estimator_name,
    network_params,
    read_payload,
    restore_network,
    write_model,
)
from featcls.models._trust import load_skops

__all__ = ["FusionClassifier"]


def _dumps(obj) -> bytes:
    import skops.io as sio

    return sio.dumps(obj)


def _loads(data: bytes):
    return load_skops(data, what="The saved feature extractor of this fusion model")


class FeatureInputs:
    """The hand-crafted feature matrix a fusion network sees beside the pixels.

    ``fit_transform`` fits a clone of ``features`` on the training images, imputes
    non-finite values with the training median of their column (0 for a column
    with no finite training value) and standardises with the training mean and
    standard deviation (constant columns are only centred); ``transform`` applies
    the same to other images.
    """

    def __init__(self, features, owner: str = "FusionClassifier"):
        self.features = FeatureExtractor() if features is None else features
        self.owner = owner

    def _matrix(self, table: pd.DataFrame) -> np.ndarray:
        matrix = np.array(self.features_.transform(table), dtype=np.float64)
        if matrix.ndim != 2 or len(matrix) != len(table):
            raise ValueError(
                f"The 'features' transformer of {self.owner} must return one row "
                f"per image; got shape {matrix.shape} for {len(table)} images."
            )
        matrix[~np.isfinite(matrix)] = np.nan
        return matrix

    def _standardise(self, matrix: np.ndarray) -> np.ndarray:
        matrix = np.where(np.isnan(matrix), self.median_, matrix)
        return ((matrix - self.mean_) / self.scale_).astype(np.float32)

    def fit_transform(self, table: pd.DataFrame, y: np.ndarray) -> np.ndarray:
        """Fit on the training images ``table`` and return their standardised matrix."""
        self.features_ = clone(self.features).fit(table, y)
        matrix = self._matrix(table)
        with warnings.catch_warnings():  # an all-NaN column: median 0 below
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(matrix, axis=0)
        self.median_ = np.where(np.isnan(median), 0.0, median)
        filled = np.where(np.isnan(matrix), self.median_, matrix)
        self.mean_ = filled.mean(axis=0)
        scale = filled.std(axis=0)
        self.scale_ = np.where(scale > 1e-12, scale, 1.0)
        return self._standardise(matrix)

    def transform(self, table: pd.DataFrame) -> np.ndarray:
        """The standardised feature matrix of other images."""
        matrix = self._matrix(table)
        if matrix.shape[1] != len(self.mean_):
            raise ValueError(
                f"The feature extractor produced {matrix.shape[1]} features; the "
                f"model was fitted with {len(self.mean_)}."
            )
        return self._standardise(matrix)

    def to_payload(self) -> dict:
        """Plain data for a model file (the extractors as skops bytes)."""
        return {
            "features": _dumps(self.features),
            "features_": _dumps(self.features_),
            "median": self.median_.tolist(),
            "mean": self.mean_.tolist(),
            "scale": self.scale_.tolist(),
        }

    @classmethod
    def from_payload(cls, extra: dict) -> FeatureInputs:
        """Rebuild fitted inputs from :meth:`to_payload` data (skops, allow-listed)."""
        inputs = cls(_loads(extra["features"]))
        inputs.features_ = _loads(extra["features_"])
        inputs.median_ = np.asarray(extra["median"], dtype=np.float64)
        inputs.mean_ = np.asarray(extra["mean"], dtype=np.float64)
        inputs.scale_ = np.asarray(extra["scale"], dtype=np.float64)
        return inputs


class FusionClassifier(ClassifierMixin, BaseEstimator):
    """A CNN whose classifier head also sees the hand-crafted features.

    The network of ``cnn`` gets a second input branch: the image embedding (global
    average pooling of the last conv layer) is concatenated with the standardised
    hand-crafted feature vector of the same image, and the linear head on the
    concatenation is trained end to end with the convolutional trunk. How the
    network is built and trained (architecture, input size, epochs, augmentation,
    early stopping, device, ...) is the ``cnn`` estimator's business: set its
    parameters, e.g. ``FusionClassifier(cnn=CNNClassifier(max_epochs=10))`` or
    ``set_params(cnn__max_epochs=10)``.

    In :meth:`fit` a clone of ``features`` is fitted on the training images and
    computes their feature matrix (set the extractor's ``cache_dir`` to make repeated
    fits cheap). Non-finite feature values (NaN where a feature is undefined,
    infinities) are imputed with the median of that column over the training rows
    (0 for a column with no finite training value); the columns are then
    standardised with the training mean and standard deviation (constant columns
    are only centred). Test images get the same imputation and scaling. The
    features are computed on the original images, so they do not follow the
    augmentation of the image branch.

    Each branch prepares its images by its own input variant: the network by
    ``cnn``'s ``channels``, ``crop``, ``margin`` and ``mask_out``, the features by
    the extractor's parameters of the same names (and its ``size``). Give both the
    same for the two branches to see the same pixels, as the command line does
    (``--crop``, ``--mask-out`` ...); the saved model keeps both.

    A 0/1 label matrix ``y`` (multi-label) trains the network as
    :class:`CNNClassifier` does: one sigmoid output per label, per-label
    positive weights and thresholds tuned on its validation images
    (``thresholds_``); :meth:`predict_proba` gives each label's probability.

    Parameters
    ----------
    cnn : CNNClassifier, default=None
        The network and how it is trained; None means ``CNNClassifier()``. A clone
        is trained with the feature branch added. Give one to set or search its
        parameters through this model (``cnn__lr`` needs a ``cnn`` to set).
    features : FeatureExtractor or transformer, default=None
        Maps the sample table to a feature matrix (fit/transform);
        None means ``FeatureExtractor()``.

    Attributes
    ----------
    cnn_ : CNNClassifier
        The trained network (a clone of ``cnn`` with the feature branch); its
        ``module_``, ``history_``, ``best_epoch_`` ... are those of
        :class:`CNNClassifier`.
    classes_ : ndarray
        Class labels, sorted; multi-label: the label names.
    multilabel_ : bool
        Whether ``y`` was a label matrix.
    thresholds_ : ndarray of float
        Multi-label only: each label's decision threshold (the network's).
    features_ : FeatureExtractor
        The fitted clone of ``features``.
    feature_median_, feature_mean_, feature_scale_ : ndarray
        Imputation values and standardisation of the feature columns.
    n_extra_ : int
        Number of hand-crafted features.
    featcls_report_ : dict
        The network's material for the HTML report (see :class:`CNNClassifier`).

    Examples
    --------
    >>> import numpy as np
    >>> from featcls import CNNClassifier, FeatureExtractor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 100, size=(16, 24, 24), dtype=np.uint8)
    >>> X[8:] += 120
    >>> y = np.array(["dark"] * 8 + ["bright"] * 8)
    >>> cnn = CNNClassifier(input_size=24, max_epochs=1, early_stopping=False)
    >>> clf = FusionClassifier(cnn=cnn, features=FeatureExtractor(["intensity"]))
    >>> clf.fit(X, y).predict(X).shape
    (16,)
    """

    featcls_input = "images"
    #: ``fit`` takes a 0/1 label matrix, as the network does.
    featcls_multilabel = True
    _parameter_constraints: dict = {
        "cnn": [CNNClassifier, None],
        "features": [HasMethods(["fit", "transform"]), None],
    }

    def __init__(self, cnn: CNNClassifier | None = None, features=None):
        self.cnn = cnn
        self.features = features

    def fit(self, X, y):
        """Train the network and its feature branch on the images ``X``.

        Parameters
        ----------
        X : sample table, (N, H, W[, C]) array or list of paths
        y : array-like of shape (N,), or (N, L) 0/1 indicator matrix
            Class labels, or one column per label (multi-label).

        Returns
        -------
        self : FusionClassifier

        Raises
        ------
        ValueError
            For an invalid parameter of this model or of ``cnn`` (named in the
            message), an empty training set or fewer than two classes.
        """
        self._validate_params()
        network = clone(CNNClassifier() if self.cnn is None else self.cnn)
        network._extra_inputs = FeatureInputs(self.features, type(self).__name__)
        self._set_fitted(network.fit(X, y))
        return self

    def _set_fitted(self, network: CNNClassifier) -> None:
        inputs = network._extra_inputs
        self.cnn_ = network
        self.classes_ = network.classes_
        self.multilabel_ = network.multilabel_
        if network.multilabel_:
            self.thresholds_ = network.thresholds_
        self.n_extra_ = network.n_extra_
        self.features_ = inputs.features_
        self.feature_median_ = inputs.median_
        self.feature_mean_ = inputs.mean_
        self.feature_scale_ = inputs.scale_
        self.featcls_report_ = network.featcls_report_

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape ``(N, n_classes)`` (multi-label: ``(N, L)``)."""
        check_is_fitted(self, "cnn_")
        return self.cnn_.predict_proba(X)

    def predict(self, X) -> np.ndarray:
        """Predicted class labels, shape ``(N,)`` (multi-label: 0/1, ``(N, L)``)."""
        check_is_fitted(self, "cnn_")
        return self.cnn_.predict(X)

    def embed(self, X) -> np.ndarray:
        """Penultimate-layer embedding of the image branch, shape ``(N, D)``."""
        check_is_fitted(self, "cnn_")
        return self.cnn_.embed(X)

    # -- persistence ---------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the fitted model to ``path`` (a ``torch.save`` file).

        As :meth:`CNNClassifier.save`: plain data and a state dict, read back with
        ``torch.load(weights_only=True)``; the feature extractors are stored as
        skops data, read back with featcls's allow-list of types.
        """
        check_is_fitted(self, "cnn_")
        return write_model(
            self.cnn_,
            path,
            estimator=type(self).__name__,
            params={"cnn": self.cnn_.get_params(deep=False)},
            extra=self.cnn_._extra_inputs.to_payload(),
        )

    @classmethod
    def load(cls, path: str | Path, *, module=None) -> FusionClassifier:
        """Read a model written by :meth:`save` (no code in the file is executed).

        ``module``: the network of a model trained on your own, as in
        :meth:`CNNClassifier.load`.
        """
        return cls.from_payload(read_payload(path), path, module=module)

    @classmethod
    def from_payload(
        cls, payload: dict, path: str | Path, *, module=None
    ) -> FusionClassifier:
        """Rebuild a model from the plain data :meth:`load` reads.

        ``path`` names the file in messages; ``module`` as in :meth:`load`.
        """
        check_estimator_name(cls, payload, path)
        params = payload["params"]
        if payload.get("version", 0) < 3:  # the CNN's parameters, stored flat
            params = {"cnn": params}
        cnn_params = network_params(params["cnn"], payload, path, module)
        inputs = FeatureInputs.from_payload(payload["extra"])
        network = CNNClassifier(**cnn_params)
        network._extra_inputs = inputs
        restore_network(network, payload, path)
        model = cls(cnn=CNNClassifier(**cnn_params), features=inputs.features)
        model._set_fitted(network)
        return model

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Input is a sample table of images, as for CNNClassifier.
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.non_deterministic = False
        tags.classifier_tags.multi_label = True
        return tags
