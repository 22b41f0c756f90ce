"""Sections on where the numbers come from: data, timings, errors, environment."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import numpy as np

from featcls.report._facts import Facts, finite
from featcls.report._figures import class_counts_figure
from featcls.report._format import is_number

__all__ = [
    "dataset_section",
    "environment_section",
    "errors_section",
    "reproduce_section",
    "skipped_section",
    "timings_section",
]

_TIMING_LABELS = {
    "features": "feature extraction",
    "cross_validation": "cross-validation (all models × folds)",
    "total": "total",
}
_SETTING_LABELS = {"random_state": "seed (random_state)", "cv": "outer folds (cv)"}


def _class_counts(facts: Facts) -> dict[str, int]:
    counts = facts.result.dataset.get("class_counts")
    if isinstance(counts, Mapping) and counts:
        return {str(c): int(n) for c, n in counts.items() if is_number(n)}
    found = Counter(str(v) for v in facts.result.y)
    return {c: found.get(c, 0) for c in facts.result.classes}


def dataset_section(facts: Facts) -> dict:
    """Class counts (table, bar chart), example thumbnails, provenance."""
    result, info = facts.result, facts.result.dataset or {}
    counts = _class_counts(facts)
    total = sum(counts.values()) or 1
    examples = info.get("examples") if isinstance(info.get("examples"), Mapping) else {}
    gallery = []
    for c in counts:
        items = [
            {"image": uri, "name": facts.sample_name(i)}
            for i in examples.get(c, []) or []
            if (uri := facts.thumbnail(i))
        ]
        gallery.append({"class": c, "images": items})
    meta = info.get("meta") if isinstance(info.get("meta"), Mapping) else {}
    settings = result.settings or {}
    return {
        "name": str(info.get("name") or "dataset"),
        "n_samples": info.get("n_samples", len(result.y)),
        "n_classes": len(result.classes),
        "rows": [
            {"class": c, "count": n, "fraction": n / total} for c, n in counts.items()
        ],
        "imbalance": (
            max(counts.values()) / min(counts.values())
            if counts and min(counts.values()) > 0
            else None
        ),
        "figure": class_counts_figure(counts) if counts else None,
        "gallery": gallery,
        "has_thumbnails": any(g["images"] for g in gallery),
        "n_groups": len(set(map(str, result.groups))) if result.groups else None,
        "dropped": list(settings.get("dropped_classes") or []),
        "meta": sorted((str(k), v) for k, v in meta.items()),
    }


def skipped_section(facts: Facts) -> dict:
    """Files the loader left out, and why."""
    rows = []
    for entry in (facts.result.dataset or {}).get("skipped") or []:
        if isinstance(entry, Mapping):
            rows.append(
                {
                    "path": str(entry.get("path", "")),
                    "reason": str(entry.get("reason", "")),
                }
            )
        else:
            rows.append({"path": str(entry), "reason": ""})
    return {"rows": rows}


def timings_section(facts: Facts) -> dict:
    """Mean fit and predict time per model, and the wall times of the stages."""
    frame = facts.frame
    rows = []
    for model in facts.order:
        part = frame[frame["model"] == model]
        fit = part["fit_time"].to_numpy(float)
        pred = part["predict_time"].to_numpy(float)

        def mean(values: np.ndarray) -> float:
            ok = values[np.isfinite(values)]
            return float(ok.mean()) if ok.size else float("nan")

        rows.append(
            {
                "model": model,
                "fit": mean(fit),
                "predict": mean(pred),
                "fit_total": float(np.nansum(fit))
                if np.isfinite(fit).any()
                else float("nan"),
                "folds": int(np.isfinite(fit).sum()),
            }
        )
    timing = facts.result.timing or {}
    stages = [
        {"stage": _TIMING_LABELS.get(k, str(k).replace("_", " ")), "seconds": finite(v)}
        for k, v in timing.items()
    ]
    settings = facts.result.settings or {}
    return {
        "rows": rows,
        "stages": stages,
        "n_jobs": settings.get("n_jobs"),
        "cpu_count": (facts.result.environment or {}).get("cpu_count"),
    }


def errors_section(facts: Facts) -> dict:
    """Every failed fit with its traceback (learning-curve fits included)."""
    rows = []
    for r in facts.result.records + facts.result.curve_records:
        if r.error is None:
            continue
        lines = [line for line in str(r.error).strip().splitlines() if line.strip()]
        rows.append(
            {
                "model": r.model,
                "repeat": r.repeat,
                "fold": r.fold,
                "subset": f"{r.fraction:.0%} of its training part"
                if r.fraction < 1
                else "",
                "summary": lines[-1].strip() if lines else "error",
                "traceback": str(r.error),
            }
        )
    return {"rows": rows}


def _flatten(mapping: Mapping, prefix: str = "") -> list[tuple[str, object]]:
    out = []
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.extend(_flatten(value, prefix=f"{name}."))
        else:
            out.append((_SETTING_LABELS.get(name, name), value))
    return out


def environment_section(facts: Facts) -> dict:
    """Versions, hardware and the comparison's settings."""
    from importlib import metadata

    env = facts.result.environment or {}
    packages = env.get("packages") if isinstance(env.get("packages"), Mapping) else {}
    unknown = "not recorded"
    machine = [
        ("Python", env.get("python") or unknown),
        ("platform", env.get("platform") or unknown),
        ("CPU", env.get("cpu") or unknown),
        ("CPU cores", env.get("cpu_count") or unknown),
        ("GPU", env.get("gpu") or ("none" if env else unknown)),
    ]
    known = {"python", "platform", "cpu", "cpu_count", "gpu", "packages"}
    machine += [(str(k), v) for k, v in env.items() if k not in known]
    try:
        renderer = metadata.version("featcls")
    except metadata.PackageNotFoundError:
        renderer = "unknown"
    result = facts.result
    run = [
        ("created", result.created or "not recorded"),
        ("results schema", result.schema_version),
        ("report rendered by featcls", renderer),
    ]
    return {
        "machine": machine,
        "packages": sorted(packages.items()),
        "settings": _flatten(result.settings or {}),
        "run": run,
    }


def reproduce_section(facts: Facts) -> dict:
    """The command that reproduces the comparison, with the versions it needs."""
    env = facts.result.environment or {}
    packages = env.get("packages") if isinstance(env.get("packages"), Mapping) else {}
    return {
        "command": str(facts.result.command or "").strip(),
        "featcls": packages.get("featcls"),
        "python": env.get("python"),
        "seed": (facts.result.settings or {}).get("random_state"),
    }
