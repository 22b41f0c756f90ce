"""``featcls report``: the HTML report re-rendered from results.json."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from featcls.cli._common import check_out_file, run_guarded

__all__ = ["report"]


def report(
    results: Annotated[
        Path, typer.Argument(help="results.json written by 'featcls compare'.")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="HTML file to write (default: report.html next to the results).",
        ),
    ] = None,
) -> None:
    """Re-render the HTML report from results.json, without refitting anything."""
    if out is not None:
        check_out_file(out)

    def work():
        from featcls.evaluation import ComparisonResult
        from featcls.report import render_report

        result = ComparisonResult.from_json(results)
        target = out or results.with_name("report.html")
        render_report(result, target)
        typer.echo(f"report: {target}")

    run_guarded(work)
