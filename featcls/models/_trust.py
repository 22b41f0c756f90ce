"""The one list of types a featcls model file may hold, and a skops reader enforcing it.

skops rebuilds objects from a JSON schema instead of unpickling them, but a schema
can name *any* importable callable as a type to construct (``builtins.exec`` with a
string of code, ``numpy.savetxt`` with a file name). skops itself refuses every type
outside its own safe defaults unless the caller trusts it; featcls trusts exactly
the fully qualified names of the types it writes itself — its estimators and
feature families and the numpy / scipy / scikit-learn / imbalanced-learn / XGBoost
types inside them — and refuses a file that holds anything else before a single
object is built. A name is trusted only as a whole: ``numpy.dtype`` is, ``numpy``
is not.
"""

from __future__ import annotations

import functools
import io
import zipfile
from pathlib import Path

__all__ = ["UntrustedModelError", "load_skops", "trusted_types"]


class UntrustedModelError(ValueError):
    """A model file holds types featcls does not write; nothing was loaded."""


def _qualified(obj) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


@functools.cache
def trusted_types() -> frozenset[str]:
    """Fully qualified names of the types featcls writes into ``.skops`` files.

    The names are taken from the imported objects, so they follow the installed
    versions of the libraries (whose private module paths move between releases).
    Types that skops trusts by default (containers, numpy arrays and dtypes,
    scikit-learn's estimators) need no entry.

    Examples
    --------
    >>> "featcls.features._extractor.FeatureExtractor" in trusted_types()
    True
    >>> any(name.startswith("builtins.") for name in trusted_types())
    False
    """
    import xgboost
    from imblearn.over_sampling import SMOTE, RandomOverSampler
    from imblearn.pipeline import Pipeline
    from imblearn.under_sampling import RandomUnderSampler
    from sklearn.calibration import _CalibratedClassifier, _SigmoidCalibration
    from sklearn.metrics import f1_score
    from sklearn.metrics._scorer import _Scorer
    from sklearn.tree._tree import Tree
    from sklearn.utils import Bunch
    from sklearn.utils._metadata_requests import (
        MetadataRequest,
        MethodMetadataRequest,
    )

    from featcls.features import FEATURE_FAMILIES, FeatureExtractor
    from featcls.features._engine import Extraction
    from featcls.models._classical import AdaptiveStratifiedKFold, SafeSMOTE
    from featcls.models._multilabel import PerLabelClassifier
    from featcls.models._ordinal import OrdinalClassifier
    from featcls.models._svm import SVMClassifier, _DecisionValues
    from featcls.models._xgb import XGBoostClassifier

    objects = [
        FeatureExtractor,
        Extraction,
        *FEATURE_FAMILIES.values(),
        SVMClassifier,
        _DecisionValues,
        XGBoostClassifier,
        SafeSMOTE,
        AdaptiveStratifiedKFold,
        Pipeline,
        SMOTE,
        RandomOverSampler,
        RandomUnderSampler,
        _CalibratedClassifier,
        _SigmoidCalibration,
        f1_score,
        _Scorer,
        # Multi-label models: one model per label (or a constant DummyClassifier,
        # trusted by skops) and its threshold.
        PerLabelClassifier,
        # Ordered classes: one binary model per threshold.
        OrdinalClassifier,
        MetadataRequest,
        MethodMetadataRequest,
        Tree,
        Bunch,
        xgboost.XGBClassifier,
        xgboost.Booster,
    ]
    # skops names every dtype instance by the class numpy.dtype.
    return frozenset({*map(_qualified, objects), "numpy.dtype"})


def load_skops(source: str | Path | bytes, *, what: str):
    """Load a skops file or byte string holding only :func:`trusted_types`.

    ``what`` names the source in messages (``"Model file 'm.skops'"``).

    Raises
    ------
    UntrustedModelError
        If the content names any type outside the trusted list (nothing is built).
    ValueError
        If the content is not a skops file (a pickle, a truncated zip ...).
    """
    import skops.io as sio

    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ValueError(
            f"{what} is not a featcls model file: not a skops zip archive (a "
            "pickle, or another format?). featcls reads only the .skops files it "
            "writes; save the model again with featcls."
        )
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:
        raise ValueError(
            f"{what} is not a featcls model file: skops cannot read it ({exc})."
        ) from exc
    foreign = sorted(set(untrusted) - trusted_types())
    if foreign:
        raise UntrustedModelError(
            f"{what} holds types featcls does not trust: {', '.join(foreign)}. "
            "featcls loads only the types it writes itself, so the file was not "
            "made by featcls or has been altered; nothing in it was run."
        )
    return sio.loads(data, trusted=list(untrusted))
