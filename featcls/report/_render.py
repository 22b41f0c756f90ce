"""Render a ComparisonResult to one self-contained HTML file, plus JSON and CSV."""

from __future__ import annotations

from pathlib import Path

import jinja2

from featcls._files import atomic_path, write_text_atomic
from featcls.evaluation import ComparisonResult
from featcls.report._context import build_context
from featcls.report._format import FILTERS

__all__ = ["ENVIRONMENT", "render_report", "write_outputs"]

#: The Jinja environment: package templates, autoescaping on, undefined names fail.
ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("featcls.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
ENVIRONMENT.filters.update(FILTERS)


def _check(result: object) -> ComparisonResult:
    if not isinstance(result, ComparisonResult):
        raise TypeError(
            "render_report expects a featcls.evaluation.ComparisonResult (from "
            f"compare() or ComparisonResult.from_json). Got {type(result).__name__}."
        )
    if not result.models:
        raise ValueError(
            "This ComparisonResult has no models: there is nothing to report."
        )
    return result


def render_report(result: ComparisonResult, path: str | Path | None = None) -> str:
    """Render a comparison as one self-contained HTML page.

    The page holds the leaderboard, per-fold scores, paired tests, the
    supplementary tables of ``result.tables`` (if any), confusion matrices,
    per-class metrics, ROC/PR curves, importances, the dataset summary, the most
    confident errors, model extras, timings, errors, the environment and the
    command that reproduces the run. CSS is inline and figures are embedded PNGs,
    so it opens offline and references no outside resource. Every user-given
    string (class, file and model names, table cells, tracebacks, the command) is
    escaped.

    Parameters
    ----------
    result : ComparisonResult
        The comparison to render; nothing is refitted and no image file is read.
    path : str or Path, optional
        Where to write the HTML (parent folders are created). It is written under
        a temporary name and renamed when complete, so an interrupted run never
        leaves a half-written report.

    Returns
    -------
    str
        The HTML.

    Raises
    ------
    TypeError
        If ``result`` is not a :class:`~featcls.evaluation.ComparisonResult`.
    ValueError
        If ``result`` has no models.

    Examples
    --------
    >>> from featcls.evaluation import ComparisonResult, FoldRecord
    >>> records = [FoldRecord("rule", 0, f, [2 * f, 2 * f + 1], ["a", "b"])
    ...            for f in range(2)]
    >>> result = ComparisonResult(
    ...     classes=["a", "b"], y=["a", "b", "a", "b"], sample_ids=list("wxyz"),
    ...     folds=[{"repeat": 0, "fold": f, "test": [2 * f, 2 * f + 1]}
    ...            for f in range(2)], models=["rule"], records=records)
    >>> html = render_report(result)
    >>> html.startswith("<!DOCTYPE html>") and 'id="leaderboard"' in html
    True
    """
    html = ENVIRONMENT.get_template("base.html").render(**build_context(_check(result)))
    if path is not None:
        write_text_atomic(path, html)
    return html


def write_outputs(result: ComparisonResult, out_dir: str | Path) -> dict[str, Path]:
    """Write the report and its data files into ``out_dir``.

    Parameters
    ----------
    result : ComparisonResult
        The comparison.
    out_dir : str or Path
        Folder to write into (created if needed); existing files are replaced.
        Each file is written under a temporary name and renamed when complete: an
        interrupted run leaves every file either as it was or complete.

    Returns
    -------
    dict of str to Path
        ``{"report": report.html, "results": results.json,
        "fold_scores": fold_scores.csv, "leaderboard": leaderboard.csv}``.
        ``results.json`` reads back with ``ComparisonResult.from_json`` and re-renders
        the same report.
    """
    _check(result)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "report": out_dir / "report.html",
        "results": out_dir / "results.json",
        "fold_scores": out_dir / "fold_scores.csv",
        "leaderboard": out_dir / "leaderboard.csv",
    }
    result.to_json(paths["results"])
    with atomic_path(paths["fold_scores"]) as part:
        result.to_frame().to_csv(part, index=False)
    with atomic_path(paths["leaderboard"]) as part:
        result.leaderboard().to_csv(part)
    render_report(result, paths["report"])
    return paths
