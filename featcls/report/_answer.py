"""The answer sections: the verdict, learning curves, and cost next to quality."""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.ticker import FuncFormatter, NullFormatter

from featcls.report._facts import METRIC, METRIC_LABEL, Facts
from featcls.report._figures import _STYLE, _encode, _label, _new
from featcls.report._format import MISSING

__all__ = ["cost_section", "learning_section", "verdict"]


def verdict(facts: Facts) -> str | None:
    """The result's verdict paragraph (None when no model produced scores)."""
    if not facts.predicted:
        return None
    return facts.result.verdict(METRIC)


def learning_figure(curve, colors, input_of) -> dict:
    """``metric`` against training images per model (log x), intervals shaded."""
    with matplotlib.rc_context(_STYLE):
        fig = _new(6.4, 3.6)
        ax = fig.add_subplot()
        for model, part in curve.groupby("model", sort=False):
            part = part.sort_values("train_size")
            x = part["train_size"].to_numpy(float)
            y = part[METRIC].to_numpy(float)
            style = "-" if input_of(model) == "images" else "--"
            ax.plot(
                x,
                y,
                style,
                marker="o",
                markersize=4,
                color=colors[model],
                label=_label(model, 24),
            )
            low, high = part["ci_low"].to_numpy(float), part["ci_high"].to_numpy(float)
            ok = np.isfinite(low) & np.isfinite(high)
            if ok.sum() > 1:
                ax.fill_between(
                    x[ok], low[ok], high[ok], color=colors[model], alpha=0.12
                )
        ax.set_xscale("log")
        sizes = sorted(set(np.round(curve["train_size"].dropna().to_numpy(float))))
        ax.set_xticks(sizes, [f"{v:.0f}" for v in sizes])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("training images (log scale)")
        ax.set_ylabel(METRIC_LABEL)
        ax.legend(fontsize=8, frameon=False)
        return _encode(
            fig,
            f"{METRIC_LABEL} against the number of training images, per model "
            "(solid: CNN-based, dashed: features)",
        )


def learning_section(facts: Facts) -> dict | None:
    """Curves per model and the gap of the best of each kind, size by size."""
    result = facts.result
    if not result.curve_records:
        return None
    curve = result.learning_curve(METRIC)
    curve = curve[curve["model"].isin(facts.predicted)]
    gaps = result.curve_gaps(METRIC)
    return {
        "figure": learning_figure(curve, facts.colors, result.model_input),
        "fractions": result.settings.get("train_sizes") or [],
        "gaps": gaps.to_dict(orient="records"),
        "rows": curve.to_dict(orient="records"),
        "metric_label": METRIC_LABEL,
    }


def cost_figure(costs, colors) -> dict:
    """``metric`` against training seconds per fold (log x), the Pareto front joined."""
    with matplotlib.rc_context(_STYLE):
        fig = _new(6.0, 3.4)
        ax = fig.add_subplot()
        ok = costs[np.isfinite(costs["fit_time"]) & np.isfinite(costs[METRIC])]
        for row in ok.itertuples(index=False):
            ax.scatter(
                row.fit_time,
                getattr(row, METRIC),
                s=36,
                color=colors[row.model],
                marker="o" if row.input == "images" else "s",
                edgecolor="black" if row.pareto else "white",
                linewidth=0.8,
                zorder=3,
            )
            ax.annotate(
                _label(row.model, 20),
                (row.fit_time, getattr(row, METRIC)),
                xytext=(4, 3),
                textcoords="offset points",
                fontsize=8,
            )
        front = ok[ok["pareto"]].sort_values("fit_time")
        if len(front) > 1:
            ax.plot(
                front["fit_time"],
                front[METRIC],
                color="0.3",
                linewidth=1,
                zorder=2,
                drawstyle="steps-post",
            )
        ax.set_xscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        ax.xaxis.set_major_formatter(plain)
        ax.xaxis.set_minor_formatter(plain)
        ax.set_xlabel("training seconds per fold (log scale)")
        ax.set_ylabel(METRIC_LABEL)
        return _encode(
            fig,
            f"{METRIC_LABEL} against training time per fold; outlined points and the "
            "line are the Pareto front (circles: CNN-based, squares: features)",
        )


def cost_section(facts: Facts) -> dict | None:
    """Training time, prediction time and memory per model, with the Pareto front."""
    costs = facts.result.costs(METRIC)
    costs = costs[costs["model"].isin(facts.predicted)]
    if costs.empty:
        return None
    order = {m: i for i, m in enumerate(facts.order)}
    costs = costs.sort_values("model", key=lambda s: s.map(order))
    rows = costs.to_dict(orient="records")
    for row in rows:
        mb = row["fit_memory_mb"]
        row["memory"] = (
            f"{mb:,.0f} MiB"
            if np.isfinite(mb) and mb >= 1
            else ("< 1 MiB" if np.isfinite(mb) else MISSING)
        )
    return {
        "figure": cost_figure(costs, facts.colors),
        "rows": rows,
        "metric_label": METRIC_LABEL,
    }
