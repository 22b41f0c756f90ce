"""FusionClassifier: the CNN with hand-crafted features as a second input branch."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone

from featcls.features import FeatureExtractor
from featcls.models._cnn import CNNClassifier
from featcls.models._trust import load_skops

__all__ = ["FusionClassifier"]


def _dumps(obj) -> bytes:
    import skops.io as sio

    return sio.dumps(obj)


def _loads(data: bytes):
    return load_skops(data, what="The saved feature extractor of this fusion model")


class FusionClassifier(CNNClassifier):
    """A CNN whose classifier head also sees the hand-crafted features.

    The network of :class:`CNNClassifier` gets a second input branch: the image
    embedding (global average pooling of the last conv layer) is concatenated with
    the standardised hand-crafted feature vector of the same image, and the linear
    head on the concatenation is trained end to end with the convolutional trunk.

    In :meth:`fit` a clone of ``features`` is fitted on the training images and
    computes their feature matrix (set the extractor's ``cache_dir`` to make repeated
    fits cheap). Non-finite feature values (NaN where a feature is undefined,
    infinities) are imputed with the median of that column over the training rows
    (0 for a column with no finite training value); the columns are then
    standardised with the training mean and standard deviation (constant columns
    are only centred). Test images get the same imputation and scaling. The
    features are computed on the original images, so they do not follow the
    augmentation of the image branch. Everything else (architectures, training,
    early stopping, saving) is as in :class:`CNNClassifier`.

    Parameters
    ----------
    features : FeatureExtractor or transformer, default=None
        Maps the sample table to a feature matrix (fit/transform);
        None means ``FeatureExtractor()``.
    **CNN parameters
        As in :class:`CNNClassifier`.

    Attributes
    ----------
    features_ : FeatureExtractor
        The fitted clone of ``features``.
    feature_median_, feature_mean_, feature_scale_ : ndarray
        Imputation values and standardisation of the feature columns.
    n_extra_ : int
        Number of hand-crafted features.
    Other attributes as in :class:`CNNClassifier`.

    Examples
    --------
    >>> import numpy as np
    >>> from featcls import FeatureExtractor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 100, size=(16, 24, 24), dtype=np.uint8)
    >>> X[8:] += 120
    >>> y = np.array(["dark"] * 8 + ["bright"] * 8)
    >>> clf = FusionClassifier(features=FeatureExtractor(["intensity"]),
    ...                        input_size=24, max_epochs=1, early_stopping=False)
    >>> clf.fit(X, y).predict(X).shape
    (16,)
    """

    def __init__(
        self,
        *,
        features=None,
        architecture: str = "lipnet",
        input_size: int = 96,
        max_epochs: int = 30,
        batch_size: int = 32,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        dropout: float = 0.2,
        label_smoothing: float = 0.0,
        class_weight: str | None = "balanced",
        resample: str | None = None,
        augment: bool | dict = True,
        early_stopping: bool = True,
        patience: int = 5,
        validation_fraction: float = 0.15,
        ema_decay: float = 0.99,
        tta: bool = True,
        device: str = "auto",
        precision: str = "auto",
        n_threads: int | None = None,
        random_state: int | None = 0,
        verbose: int = 0,
    ):
        self.features = features
        super().__init__(
            architecture=architecture,
            input_size=input_size,
            max_epochs=max_epochs,
            batch_size=batch_size,
            lr=lr,
            weight_decay=weight_decay,
            dropout=dropout,
            label_smoothing=label_smoothing,
            class_weight=class_weight,
            resample=resample,
            augment=augment,
            early_stopping=early_stopping,
            patience=patience,
            validation_fraction=validation_fraction,
            ema_decay=ema_decay,
            tta=tta,
            device=device,
            precision=precision,
            n_threads=n_threads,
            random_state=random_state,
            verbose=verbose,
        )

    def _feature_matrix(self, table: pd.DataFrame) -> np.ndarray:
        matrix = np.array(self.features_.transform(table), dtype=np.float64)
        if matrix.ndim != 2 or len(matrix) != len(table):
            raise ValueError(
                f"The 'features' transformer of {type(self).__name__} must return one "
                f"row per image; got shape {matrix.shape} for {len(table)} images."
            )
        matrix[~np.isfinite(matrix)] = np.nan
        return matrix

    def _standardise(self, matrix: np.ndarray) -> np.ndarray:
        missing = np.isnan(matrix)
        matrix = np.where(missing, self.feature_median_, matrix)
        return ((matrix - self.feature_mean_) / self.feature_scale_).astype(np.float32)

    def _fit_extra(self, table: pd.DataFrame, y: np.ndarray) -> np.ndarray:
        features = FeatureExtractor() if self.features is None else self.features
        self.features_ = clone(features).fit(table, y)
        matrix = self._feature_matrix(table)
        with warnings.catch_warnings():  # an all-NaN column: median 0 below
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(matrix, axis=0)
        self.feature_median_ = np.where(np.isnan(median), 0.0, median)
        filled = np.where(np.isnan(matrix), self.feature_median_, matrix)
        self.feature_mean_ = filled.mean(axis=0)
        scale = filled.std(axis=0)
        self.feature_scale_ = np.where(scale > 1e-12, scale, 1.0)
        return self._standardise(matrix)

    def _transform_extra(self, table: pd.DataFrame) -> np.ndarray:
        matrix = self._feature_matrix(table)
        if matrix.shape[1] != self.n_extra_:
            raise ValueError(
                f"The feature extractor produced {matrix.shape[1]} features; the "
                f"model was fitted with {self.n_extra_}."
            )
        return self._standardise(matrix)

    def _saved_params(self) -> dict:
        params = self.get_params(deep=False)
        params.pop("features")
        return params

    def _save_extra(self) -> dict:
        return {
            "features": _dumps(self.features),
            "features_": _dumps(self.features_),
            "median": self.feature_median_.tolist(),
            "mean": self.feature_mean_.tolist(),
            "scale": self.feature_scale_.tolist(),
        }

    def _load_extra(self, extra: dict) -> None:
        self.features = _loads(extra["features"])
        self.features_ = _loads(extra["features_"])
        self.feature_median_ = np.asarray(extra["median"], dtype=np.float64)
        self.feature_mean_ = np.asarray(extra["mean"], dtype=np.float64)
        self.feature_scale_ = np.asarray(extra["scale"], dtype=np.float64)
