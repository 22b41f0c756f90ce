"""Feature extraction and a model as one estimator, fitted and saved together."""

from __future__ import annotations

from imblearn.pipeline import Pipeline
from sklearn.pipeline import Pipeline as SklearnPipeline

__all__ = ["feature_pipeline"]


def feature_pipeline(features, estimator) -> Pipeline:
    """``Pipeline([("features", features), *steps])``: images in, predictions out.

    The steps of ``estimator`` follow the extractor when it is a pipeline (scaler
    → [sampler] → classifier), so its parameters keep their names; any other
    estimator (the ensemble's soft vote) is one step, ``"model"``. An imblearn
    pipeline, so a sampler step resamples only while fitting. Its transformers
    (the extractor included) are set to give DataFrames, so the model sees the
    features' names, as in :func:`featcls.compare` (the SVM weighs the feature
    families by them).

    Parameters
    ----------
    features : FeatureExtractor
        The feature extraction, a transformer of sample tables.
    estimator : estimator
        A model on the feature table, e.g. from :func:`build_model`.

    Returns
    -------
    imblearn.pipeline.Pipeline
        The unfitted pipeline.
    """
    steps = (
        estimator.steps
        if isinstance(estimator, SklearnPipeline)
        else [("model", estimator)]
    )
    return Pipeline([("features", features), *steps]).set_output(transform="pandas")
