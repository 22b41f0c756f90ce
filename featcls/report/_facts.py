"""What every report section needs from a ComparisonResult, computed once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib.colors import to_hex

from featcls.evaluation import ComparisonResult
from featcls.report._figures import model_colors
from featcls.report._format import image_uri

__all__ = ["METRIC", "METRIC_LABEL", "Facts", "finite", "gather"]

#: The metric models are ranked by.
METRIC = "f1_macro"
METRIC_LABEL = "macro-F1"


@dataclass
class Facts:
    """Plain views of a result shared by the section builders.

    Attributes
    ----------
    result : ComparisonResult
    frame : DataFrame
        ``result.to_frame(curves=False)``: one row per (model, repeat, fold).
    board : DataFrame
        ``result.leaderboard(METRIC)``, best first.
    pairs : DataFrame
        ``result.pairwise_tests(METRIC)``.
    order : list of str
        Models in leaderboard order.
    colors : dict
        Matplotlib colour of every model.
    hex_colors : dict
        The same colours as ``#rrggbb``.
    predicted : set of str
        Models with at least one fold that produced predictions.
    repeats : list of int
        Repeat numbers of the folds.
    """

    result: ComparisonResult
    frame: pd.DataFrame
    board: pd.DataFrame
    pairs: pd.DataFrame
    order: list[str]
    colors: dict
    hex_colors: dict
    predicted: set[str] = field(default_factory=set)
    repeats: list[int] = field(default_factory=list)

    def has_proba(self, model: str) -> bool:
        """Whether every successful fold of ``model`` stored probabilities."""
        done = [
            r
            for r in self.result.records
            if r.model == model and r.error is None and r.y_pred is not None
        ]
        return bool(done) and all(r.proba is not None for r in done)

    def sample_name(self, index) -> str:
        """The sample id (file path) of sample ``index``, or ``#index`` if unknown."""
        try:
            return str(self.result.sample_ids[int(index)])
        except (IndexError, TypeError, ValueError):
            return f"#{index}"

    def thumbnail(self, index) -> str | None:
        """The stored thumbnail of sample ``index`` as a safe data URI, if any."""
        thumbs = (self.result.dataset or {}).get("thumbnails")
        if not isinstance(thumbs, Mapping):
            return None
        return image_uri(thumbs.get(str(index)))


def gather(result: ComparisonResult) -> Facts:
    """Compute the shared views of ``result`` once."""
    frame = result.to_frame(curves=False)
    board = result.leaderboard(METRIC)
    order = [str(m) for m in board.index]
    colors = model_colors(result.models)
    predicted = {
        r.model for r in result.records if r.error is None and r.y_pred is not None
    }
    repeats = sorted({int(f["repeat"]) for f in result.folds}) or [0]
    return Facts(
        result=result,
        frame=frame,
        board=board,
        pairs=result.pairwise_tests(METRIC),
        order=order,
        colors=colors,
        hex_colors={m: to_hex(c) for m, c in colors.items()},
        predicted=predicted,
        repeats=repeats,
    )


def finite(value) -> float:
    """``value`` as a float, NaN when missing or not a number."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return out if np.isfinite(out) else float("nan")
