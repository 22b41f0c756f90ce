"""The report's binary decisions: thresholds and the answers per group."""

from __future__ import annotations

import math

from featcls.report._facts import Facts, finite

__all__ = ["decisions_section"]

#: Scores of a binary decision, in table order, with their column labels.
DECISION_SCORES = (
    ("sensitivity", "sensitivity"),
    ("specificity", "specificity"),
    ("ppv", "PPV"),
    ("npv", "NPV"),
    ("f1", "F1"),
)


def decisions_section(facts: Facts) -> dict | None:
    """Per model and level (image, group): the decision's scores with intervals.

    None (no section) unless the comparison chose thresholds by a rule or
    answered per group.
    """
    result = facts.result
    settings = result.settings
    if settings.get("threshold") is None and settings.get("aggregate_by") is None:
        return None
    if result.multilabel:
        return None  # per label: the per-label sections show each label's scores
    summary = result.decision_summary()
    rows = []
    for model in facts.order:
        for level in ("image", "group"):
            if (model, level) not in summary.index:
                continue
            row = summary.loc[(model, level)]
            rows.append(
                {
                    "model": model,
                    "color": facts.hex_colors.get(model),
                    "level": level,
                    "threshold": finite(row["threshold"]),
                    "scores": [
                        {
                            "mean": finite(row[name]),
                            "low": finite(row[f"{name}_low"]),
                            "high": finite(row[f"{name}_high"]),
                            "has_ci": math.isfinite(finite(row[f"{name}_low"]))
                            and math.isfinite(finite(row[f"{name}_high"])),
                        }
                        for name, _ in DECISION_SCORES
                    ],
                }
            )
    groups = None
    if settings.get("aggregate_by") is not None:
        frame = result.to_frame(curves=False, level="group")
        groups = {
            "column": None
            if settings["aggregate_by"] == "given values"
            else settings["aggregate_by"],
            "how": settings.get("aggregate_with") or "mean",
            "truth": settings.get("group_labels"),
            "n_groups": int(frame.groupby(["repeat"])["n_groups"].sum().max()),
            "lost": list(settings.get("groups_without_images") or []),
        }
    return {
        "pos_label": settings.get("pos_label"),
        "rule": settings.get("threshold"),
        "labels": [label for _, label in DECISION_SCORES],
        "rows": rows,
        "groups": groups,
    }
