"""From a ComparisonResult to the plain data of every widget, for the templates."""

from __future__ import annotations

import traceback
import warnings
from collections.abc import Callable
from typing import NamedTuple

from featcls.evaluation import ComparisonResult
from featcls.report._analyses import analyses_section
from featcls.report._answer import cost_section, learning_section, verdict
from featcls.report._decisions import decisions_section
from featcls.report._explain import (
    extras_section,
    importances_section,
    misclassified_section,
)
from featcls.report._facts import Facts, gather
from featcls.report._performance import (
    confusion_section,
    curves_section,
    fold_scores_section,
    headline,
    leaderboard_section,
    pairwise_section,
    per_class_section,
)
from featcls.report._pretraining import pretraining_section
from featcls.report._provenance import (
    dataset_section,
    environment_section,
    errors_section,
    reproduce_section,
    skipped_section,
    timings_section,
)

__all__ = ["SECTIONS", "Section", "build_context"]


class Section(NamedTuple):
    """One widget of the report: anchor id, heading, template and data builder.

    A builder that returns None has nothing to show: the section, its heading and
    its link are left out of the page (the additional analyses of a result without
    supplementary tables).
    """

    id: str
    title: str
    template: str
    build: Callable[[Facts], dict | None]


#: The report's widgets, in page order.
SECTIONS = (
    Section("leaderboard", "Leaderboard", "leaderboard.html", leaderboard_section),
    Section("fold-scores", "Per-fold scores", "fold_scores.html", fold_scores_section),
    Section("pairwise", "Pairwise tests", "pairwise.html", pairwise_section),
    Section(
        "decisions",
        "Decisions and answers per group",
        "decisions.html",
        decisions_section,
    ),
    Section(
        "pretraining",
        "Self-supervised pretraining",
        "pretraining.html",
        pretraining_section,
    ),
    Section("learning", "Learning curves", "learning.html", learning_section),
    Section("cost", "Cost and quality", "cost.html", cost_section),
    Section("analyses", "Additional analyses", "analyses.html", analyses_section),
    Section("dataset", "Dataset", "dataset.html", dataset_section),
    Section("skipped", "Skipped files", "skipped.html", skipped_section),
    Section("confusion", "Confusion matrices", "confusion.html", confusion_section),
    Section("per-class", "Per-class metrics", "per_class.html", per_class_section),
    Section("curves", "ROC and precision–recall curves", "curves.html", curves_section),
    Section(
        "misclassified",
        "Most confidently misclassified images",
        "misclassified.html",
        misclassified_section,
    ),
    Section(
        "importances", "Feature importances", "importances.html", importances_section
    ),
    Section("extras", "Model extras", "extras.html", extras_section),
    Section("timings", "Timings", "timings.html", timings_section),
    Section("errors", "Errors", "errors.html", errors_section),
    Section("environment", "Environment", "environment.html", environment_section),
    Section("reproduce", "Reproduce", "reproduce.html", reproduce_section),
)


def _verdict(facts: Facts) -> str | None:
    try:
        return verdict(facts)
    except Exception as exc:  # the paragraph is a summary: never sink the report
        warnings.warn(
            f"The report's verdict could not be written: {type(exc).__name__}: {exc}",
            RuntimeWarning,
            stacklevel=3,
        )
        return None


def build_context(result: ComparisonResult) -> dict:
    """Everything the base template needs, as plain data.

    A section whose data cannot be built (an unexpected shape in a hand-edited
    results file) is rendered as a short failure note, with a warning, instead of
    losing the whole report. A section whose builder returns None is left out.
    """
    facts = gather(result)
    sections = []
    for section in SECTIONS:
        data, failure = None, None
        try:
            data = section.build(facts)
        except Exception as exc:  # one odd widget must not sink the report
            failure = f"{type(exc).__name__}: {exc}"
            warnings.warn(
                f"Report section {section.title!r} could not be built: "
                f"{failure}\n{traceback.format_exc()}",
                RuntimeWarning,
                stacklevel=2,
            )
        if data is None and failure is None:
            continue  # nothing to show: no heading, no link
        sections.append(
            {
                "id": section.id,
                "title": section.title,
                "template": section.template,
                "data": data,
                "failure": failure,
            }
        )
    dataset = result.dataset or {}
    name = str(dataset.get("name") or "dataset")
    settings = result.settings or {}
    failed = sum(1 for r in result.records if r.error is not None)
    return {
        "title": f"featcls comparison — {name}",
        "dataset_name": name,
        "headline": headline(facts),
        "verdict": _verdict(facts),
        "facts": {
            "n_samples": len(result.y),
            "n_classes": len(result.classes),
            "n_models": len(result.models),
            "cv": settings.get("cv"),
            "repeats": settings.get("repeats"),
            "grouped": bool(result.groups),
        },
        "failed_folds": failed,
        "n_records": len(result.records),
        "created": result.created,
        "sections": sections,
    }
