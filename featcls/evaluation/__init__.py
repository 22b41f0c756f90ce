"""The comparison engine: every model on the same folds, results as plain data."""

from featcls._scheduler import use_scheduler
from featcls.evaluation._compare import compare, takes_images
from featcls.evaluation._metrics import corrected_ttest, per_class_table, wilcoxon_test
from featcls.evaluation._result import (
    N_CONFIDENT_ERRORS,
    SCHEMA_VERSION,
    ComparisonResult,
    FoldRecord,
)
from featcls.evaluation._splits import HoldOut, make_folds, predefined_splits
from featcls.evaluation._transduction import pretraining_notes

__all__ = [
    "N_CONFIDENT_ERRORS",
    "HoldOut",
    "SCHEMA_VERSION",
    "ComparisonResult",
    "FoldRecord",
    "compare",
    "corrected_ttest",
    "make_folds",
    "per_class_table",
    "predefined_splits",
    "pretraining_notes",
    "takes_images",
    "use_scheduler",
    "wilcoxon_test",
]
