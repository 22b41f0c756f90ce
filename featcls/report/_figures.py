"""Matplotlib figures of the report, rendered off-screen (Agg) to inline PNG data URIs.

Every function takes plain data (arrays, dicts) and returns a figure dict
``{"src": "data:image/png;base64,…", "width": px, "alt": text}`` for the templates.
pyplot is never used, so no global figure state or backend is touched.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba_array
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from PIL import Image

__all__ = [
    "class_counts_figure",
    "confusion_figure",
    "curves_figure",
    "fold_scores_figure",
    "gain_figure",
    "history_figure",
    "model_colors",
    "permutation_figure",
]

#: Resolution of the PNGs: 1.25 times the CSS pixel density, so figures stay sharp
#: at about a third of the bytes of twice the density.
DPI = 120
#: CSS pixels per inch at which a figure is shown.
CSS_DPI = 96
#: Colours of a figure's PNG palette (see :func:`_palette`).
PALETTE_COLOURS = 48
#: Line styles of the folds in the learning curves, one per fold up to ten.
_FOLD_STYLES = (
    "-",
    "--",
    ":",
    "-.",
    (0, (5, 1, 1, 1, 1, 1)),
    (0, (8, 2)),
    (0, (1, 3)),
    (0, (3, 1, 1, 1)),
    (0, (6, 2, 2, 2)),
    (0, (2, 1)),
)
#: Artist methods that name the colours an artist draws with.
_COLOUR_GETTERS = (
    "get_color",
    "get_facecolor",
    "get_edgecolor",
    "get_markerfacecolor",
    "get_markeredgecolor",
)

_STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "svg.fonttype": "none",
    "text.usetex": False,
}


def _label(text: object, limit: int = 30) -> str:
    """User text safe for matplotlib: ``$`` not taken as math, long names cut."""
    text = str(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("$", r"\$")


def _new(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _drawn_colours(fig: Figure, limit: int) -> list[tuple[int, int, int]]:
    """The colours ``fig``'s artists draw with (lines, markers, bars, text).

    As 8-bit RGB over the white background, in the order found, at most ``limit``.
    """
    found: dict[tuple[int, int, int], None] = {}
    for artist in fig.findobj():
        for name in _COLOUR_GETTERS:
            getter = getattr(artist, name, None)
            if getter is None:
                continue
            try:
                rgba = to_rgba_array(getter())
            except (TypeError, ValueError):  # not a colour (a colour map, "auto")
                continue
            for *rgb, alpha in rgba.tolist():
                if alpha > 0:
                    over_white = (alpha * np.asarray(rgb) + 1 - alpha) * 255
                    found.setdefault(tuple(int(v) for v in np.rint(over_white)))
                    if len(found) == limit:
                        return list(found)
    return list(found)


def _palette(fig: Figure, rgb: Image.Image) -> Image.Image:
    """``rgb`` (the rendered ``fig``) in :data:`PALETTE_COLOURS` colours.

    The colours the artists draw with are kept exactly (up to half the palette), so
    a model or class keeps its colour however few pixels it covers (a marker among
    twenty models); a median cut of the image gives the rest, for anti-aliased
    edges and colour maps. About a third of the bytes of 256 colours.
    """
    exact = _drawn_colours(fig, PALETTE_COLOURS // 2)
    rest = PALETTE_COLOURS - len(exact)
    cut = rgb.quantize(rest, method=Image.Quantize.MEDIANCUT).getpalette()
    palette = Image.new("P", (1, 1))
    palette.putpalette([v for c in exact for v in c] + cut[: 3 * rest])
    return rgb.quantize(palette=palette, dither=Image.Dither.NONE)


def _encode(fig: Figure, alt: str) -> dict:
    """The figure as a PNG data URI in a :data:`PALETTE_COLOURS`-colour palette."""
    canvas = fig.canvas
    fig.set_dpi(DPI)
    canvas.draw()
    rgb = Image.frombuffer(
        "RGBA", canvas.get_width_height(), canvas.buffer_rgba()
    ).convert("RGB")
    buffer = io.BytesIO()
    _palette(fig, rgb).save(buffer, format="png", optimize=True)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return {
        "src": "data:image/png;base64," + data,
        "width": round(fig.get_figwidth() * CSS_DPI),
        "alt": alt,
    }


def model_colors(models: Sequence[str]) -> dict[str, tuple]:
    """One colour per model, the same in every figure."""
    cmap = matplotlib.colormaps["tab10" if len(models) <= 10 else "tab20"]
    return {m: cmap(i % cmap.N) for i, m in enumerate(models)}


def fold_scores_figure(
    scores: Mapping[str, Sequence[tuple[str, float]]],
    colors: Mapping[str, tuple],
    metric_label: str,
) -> dict:
    """Score of every fold (points, paired folds joined) and the mean (bar) per model.

    ``scores`` maps each model, in display order, to ``[(fold_key, score), …]``.
    """
    models = list(scores)
    with matplotlib.rc_context(_STYLE):
        fig = _new(max(4.0, 0.9 * len(models) + 2.0), 3.4)
        ax = fig.add_subplot()
        keys = sorted({k for pairs in scores.values() for k, _ in pairs})
        rng = np.random.default_rng(0)
        jitter = {k: rng.uniform(-0.12, 0.12) for k in keys}
        for key in keys:  # the same fold across models: a faint line shows pairing
            xs, ys = [], []
            for i, m in enumerate(models):
                v = dict(scores[m]).get(key)
                if v is not None and np.isfinite(v):
                    xs.append(i + jitter[key])
                    ys.append(v)
            ax.plot(xs, ys, color="0.75", linewidth=0.6, zorder=1)
        for i, m in enumerate(models):
            values = np.array([v for _, v in scores[m]], dtype=float)
            keys_m = [k for k, _ in scores[m]]
            ok = np.isfinite(values)
            ax.scatter(
                [i + jitter[k] for k, good in zip(keys_m, ok, strict=True) if good],
                values[ok],
                color=colors[m],
                s=18,
                zorder=3,
                edgecolor="white",
                linewidth=0.4,
            )
            if ok.any():
                mean = values[ok].mean()
                ax.hlines(
                    mean, i - 0.3, i + 0.3, color="black", linewidth=1.8, zorder=4
                )
                ax.annotate(f"{mean:.3f}", (i + 0.32, mean), va="center", fontsize=8)
            else:
                ax.annotate(
                    "all folds failed",
                    (i, 0.5),
                    ha="center",
                    color="0.4",
                    fontsize=8,
                    xycoords=("data", "axes fraction"),
                )
        ax.set_xticks(range(len(models)), [_label(m, 18) for m in models])
        ax.set_xlim(-0.6, len(models) - 0.3)
        ax.set_ylabel(metric_label)
        ax.grid(axis="x", visible=False)
        return _encode(fig, f"{metric_label} of every fold, per model")


def confusion_figure(counts: np.ndarray, classes: Sequence[str], model: str) -> dict:
    """Confusion matrix of one model: counts (left) and row-normalised (right).

    Both panels are coloured by the row-normalised value. Past 20 classes the cells
    are too small to carry numbers, so only the row-normalised panel is drawn.
    """
    counts = np.asarray(counts, dtype=float)
    n = len(classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        rows = counts / counts.sum(axis=1, keepdims=True)
    side = min(6.0, max(2.6, 0.42 * n + 1.6))
    annotate = n <= 20
    labels = [_label(c, 16) for c in classes]
    panels = [(counts, "counts", "{:.0f}")] if annotate else []
    panels.append((rows, "row-normalised", "{:.2f}"))
    with matplotlib.rc_context({**_STYLE, "axes.grid": False}):
        fig = _new(len(panels) * side + 0.8, side)
        for k, (matrix, title, fmt) in enumerate(panels):
            ax = fig.add_subplot(1, len(panels), k + 1)
            shown = np.nan_to_num(rows)  # colour: fraction of the true class
            image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1)
            ax.set_title(title)
            tilt = n > 2 or max(len(c) for c in labels) > 8
            ax.set_xticks(
                range(n),
                labels,
                rotation=40 if tilt else 0,
                ha="right" if tilt else "center",
                rotation_mode="anchor",
            )
            ax.set_yticks(range(n), labels)
            ax.set_xlabel("predicted")
            ax.set_ylabel("true")
            if annotate:
                for i in range(n):
                    for j in range(n):
                        value = matrix[i, j]
                        text = fmt.format(value) if np.isfinite(value) else "–"
                        ax.text(
                            j,
                            i,
                            text,
                            ha="center",
                            va="center",
                            fontsize=8 if n <= 10 else 6,
                            color="white" if shown[i, j] > 0.6 else "black",
                        )
            ax.spines[:].set_visible(False)
        fig.colorbar(image, ax=fig.axes, shrink=0.7, label="fraction of true class")
        return _encode(fig, f"Confusion matrices of {model}")


def curves_figure(
    y_true: np.ndarray, proba: np.ndarray, classes: Sequence[str], model: str
) -> tuple[dict, list[dict]]:
    """One-vs-rest ROC and precision–recall curves, one line per class.

    Returns the figure and, per class, ``{"class", "auc", "ap", "prevalence"}``.
    Classes absent from ``y_true`` are left out. For multi-label results
    ``y_true`` is the boolean label matrix (one column per label).
    """
    from sklearn.metrics import (
        average_precision_score,
        precision_recall_curve,
        roc_auc_score,
        roc_curve,
    )

    matrix = np.ndim(y_true) == 2
    y_true = np.asarray(y_true, dtype=bool if matrix else object)
    cmap = matplotlib.colormaps["tab10" if len(classes) <= 10 else "tab20"]
    summary = []
    with matplotlib.rc_context(_STYLE):
        fig = _new(8.4, 3.9)
        roc_ax, pr_ax = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
        roc_ax.plot([0, 1], [0, 1], color="0.7", linestyle="--", linewidth=0.8)
        for j, c in enumerate(classes):
            positive = y_true[:, j] if matrix else y_true == c
            if positive.all() or not positive.any():
                continue
            score = proba[:, j]
            fpr, tpr, _ = roc_curve(positive, score)
            precision, recall, _ = precision_recall_curve(positive, score)
            auc = float(roc_auc_score(positive, score))
            ap = float(average_precision_score(positive, score))
            color = cmap(j % cmap.N)
            roc_ax.plot(fpr, tpr, color=color, linewidth=1.3, label=_label(c, 24))
            pr_ax.plot(
                recall, precision, color=color, linewidth=1.3, drawstyle="steps-post"
            )
            pr_ax.axhline(positive.mean(), color=color, linewidth=0.6, linestyle=":")
            summary.append(
                {"class": c, "auc": auc, "ap": ap, "prevalence": float(positive.mean())}
            )
        roc_ax.set(
            xlabel="false positive rate",
            ylabel="true positive rate",
            title="ROC (one-vs-rest)",
            xlim=(-0.01, 1.01),
            ylim=(-0.01, 1.01),
        )
        pr_ax.set(
            xlabel="recall",
            ylabel="precision",
            title="precision–recall (dotted: prevalence)",
            xlim=(-0.01, 1.01),
            ylim=(-0.01, 1.01),
        )
        if summary and len(summary) <= 20:
            fig.legend(
                *roc_ax.get_legend_handles_labels(),
                loc="outside lower center",
                ncols=min(4, len(summary)),
                frameon=False,
            )
        return _encode(fig, f"ROC and precision–recall curves of {model}"), summary


def _barh(
    ax, names: Sequence[str], values: Sequence[float], color, title: str, xlabel: str
) -> None:
    y = np.arange(len(names))[::-1]
    ax.barh(y, values, color=color, height=0.7)
    ax.set_ylim(len(names) - 0.4 - max(len(names), 6), len(names) - 0.4)  # thin bars
    ax.set_yticks(y, [_label(n, 34) for n in names])
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.grid(axis="y", visible=False)


def gain_figure(gain: Mapping[str, float], model: str, color, top: int = 20) -> dict:
    """Tree gain: the ``top`` features, and the gain summed by feature family."""
    items = sorted(
        ((k, v) for k, v in gain.items() if np.isfinite(v)), key=lambda kv: -kv[1]
    )
    families: dict[str, float] = {}
    for name, value in items:
        family = name.split("__", 1)[0] if "__" in name else "(none)"
        families[family] = families.get(family, 0.0) + value
    fam = sorted(families.items(), key=lambda kv: -kv[1])
    shown = items[:top]
    height = max(2.6, 0.2 * max(len(shown), len(fam)) + 1.0)
    with matplotlib.rc_context(_STYLE):
        fig = _new(8.4, height)
        grid = fig.add_gridspec(1, 2, width_ratios=[3, 2])
        _barh(
            fig.add_subplot(grid[0]),
            [k for k, _ in shown],
            [v for _, v in shown],
            color,
            f"top {len(shown)} features",
            "normalised gain",
        )
        _barh(
            fig.add_subplot(grid[1]),
            [k for k, _ in fam],
            [v for _, v in fam],
            color,
            "summed by family",
            "normalised gain",
        )
        return _encode(fig, f"Gain importances of {model}")


def permutation_figure(
    drops: Mapping[str, Mapping[str, float]], colors: Mapping[str, tuple]
) -> dict:
    """Drop in macro-F1 when a family's columns are shuffled: one bar per model."""
    families = sorted(
        {f for d in drops.values() for f in d},
        key=lambda f: -max(d.get(f, -np.inf) for d in drops.values()),
    )
    models = list(drops)
    height = max(2.4, 0.16 * len(families) * max(1, len(models)) + 1.0)
    width = 0.8 / max(1, len(models))
    with matplotlib.rc_context(_STYLE):
        fig = _new(6.4, min(height, 12.0))
        ax = fig.add_subplot()
        y = np.arange(len(families))[::-1]
        for i, m in enumerate(models):
            values = [drops[m].get(f, np.nan) for f in families]
            ax.barh(
                y + 0.4 - width * (i + 0.5),
                values,
                height=width * 0.95,
                color=colors[m],
                label=_label(m, 24),
            )
        ax.axvline(0, color="0.3", linewidth=0.8)
        ax.set_yticks(y, [_label(f, 30) for f in families])
        ax.set_xlabel("mean drop in macro-F1 when the family is shuffled")
        ax.grid(axis="y", visible=False)
        ax.legend(frameon=False, loc="lower right")
        return _encode(fig, "Permutation importance by feature family")


def class_counts_figure(counts: Mapping[str, int]) -> dict:
    """Number of images per class."""
    names, values = list(counts), list(counts.values())
    with matplotlib.rc_context(_STYLE):
        fig = _new(6.0, max(1.8, 0.28 * len(names) + 0.9))
        ax = fig.add_subplot()
        _barh(ax, names, values, "#4C72B0", "", "images")
        for y, v in zip(np.arange(len(names))[::-1], values, strict=True):
            ax.annotate(f" {v}", (v, y), va="center", fontsize=8)
        ax.set_xlim(0, max(values + [1]) * 1.15)
        return _encode(fig, "Images per class")


def history_figure(
    histories: Sequence[tuple[str, Sequence[Mapping]]], model: str
) -> dict | None:
    """Learning curves: losses (left) and other per-epoch metrics (right), per fold.

    Colour tells the series, line style the fold (up to ten folds, in the first
    panel's legend). ``histories`` is ``[(fold_label, [{"epoch": 1, "train_loss":
    …, …}, …]), …]``. Returns None when no numeric series is found.
    """
    series: dict[str, list[tuple[str, list, list]]] = {}
    for label, history in histories:
        keys = {k for row in history if isinstance(row, Mapping) for k in row}
        for key in sorted(keys - {"epoch"}):
            xs, ys = [], []
            for n, row in enumerate(history, start=1):
                value = row.get(key) if isinstance(row, Mapping) else None
                if (
                    isinstance(value, (int, float))
                    and not isinstance(value, bool)
                    and np.isfinite(value)
                ):
                    xs.append(row.get("epoch", n))
                    ys.append(float(value))
            if ys:
                series.setdefault(key, []).append((label, xs, ys))
    if not series:
        return None
    losses = [k for k in series if "loss" in k.lower()]
    others = [k for k in series if k not in losses]
    panels = [p for p in (losses, others) if p]
    folds = list(dict.fromkeys(label for s in series.values() for label, _, _ in s))
    cmap = matplotlib.colormaps["tab10"]
    with matplotlib.rc_context(_STYLE):
        fig = _new(4.2 * len(panels) + 0.4, 3.0)
        for p, keys in enumerate(panels):
            ax = fig.add_subplot(1, len(panels), p + 1)
            for k, key in enumerate(keys):
                for label, xs, ys in series[key]:
                    ax.plot(
                        xs,
                        ys,
                        color=cmap(k % 10),
                        linewidth=1.0,
                        alpha=0.8,
                        linestyle=_FOLD_STYLES[folds.index(label) % len(_FOLD_STYLES)],
                    )
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title("losses" if keys is losses else "metrics")
            # one entry per series (colour); the first panel's also one per fold
            handles = [
                Line2D([], [], color=cmap(k % 10), label=_label(key, 30))
                for k, key in enumerate(keys)
            ]
            if p == 0 and 1 < len(folds) <= len(_FOLD_STYLES):
                handles += [
                    Line2D(
                        [],
                        [],
                        color="0.35",
                        linewidth=1.0,
                        linestyle=_FOLD_STYLES[f],
                        label=_label(label, 30),
                    )
                    for f, label in enumerate(folds)
                ]
            ax.legend(handles=handles, frameon=False, fontsize=7)
        return _encode(fig, f"Learning curves of {model}")
