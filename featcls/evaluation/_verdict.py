"""The answer in words: the best CNN-based model against the best feature model."""

from __future__ import annotations

import math

import numpy as np

from featcls.evaluation._metrics import corrected_interval, corrected_ttest

__all__ = ["verdict"]

#: Significance level of the verdict's paired test.
ALPHA = 0.05


def _best(board, result, kind: str, metric: str):
    models = [
        m
        for m in board.index
        if result.model_input(m) == kind and math.isfinite(board.loc[m, metric])
    ]
    return models[0] if models else None


def _paired(result, a: str, b: str, metric: str):
    """Mean difference a − b, its interval, p and the number of paired folds."""
    frame = (
        result.to_frame(curves=False)
        .set_index(["model", "repeat", "fold"])
        .sort_index()
    )
    pa, pb = frame.loc[a], frame.loc[b]
    both = pa.index.intersection(pb.index)
    va, vb = pa.loc[both, metric].to_numpy(float), pb.loc[both, metric].to_numpy(float)
    n_test = np.mean([len(f["test"]) for f in result.folds])
    test_fraction = n_test / len(result.y)
    mean, _, p = corrected_ttest(va, vb, test_fraction)
    low, high = corrected_interval(va, vb, test_fraction)
    return mean, low, high, p, int(np.isfinite(va - vb).sum())


def _seconds(value: float) -> str:
    return f"{value:.2g} s" if value < 10 else f"{value:.0f} s"


def _cost(result, a: str, b: str) -> str:
    costs = result.costs().set_index("model")["fit_time"]
    ta, tb = float(costs[a]), float(costs[b])
    if not (math.isfinite(ta) and math.isfinite(tb)) or min(ta, tb) <= 0:
        return ""
    ratio = ta / tb
    if ratio >= 1.5:
        how = f"{ratio:.0f}× as long"
    elif ratio <= 1 / 1.5:
        how = f"{1 / ratio:.0f}× less time"
    else:
        how = "about as long"
    extraction = result.timing.get("features")
    shared = (
        f"; the features took {_seconds(extraction)} once, for all feature models"
        if extraction is not None and math.isfinite(extraction)
        else ""
    )
    return (
        f" Training {a} took {_seconds(ta)} per fold against {_seconds(tb)} for "
        f"{b} ({how}{shared})."
    )


def _curves(result, metric: str) -> str:
    if not result.curve_records:
        return (
            " Learning curves were not measured (train_sizes), so this says nothing "
            "about how the gap moves with more data."
        )
    gaps = result.curve_gaps(metric).dropna(subset=["mean_diff", "train_size"])
    if len(gaps) < 2:
        return ""
    sizes = gaps["train_size"].to_numpy(float)
    diff = gaps["mean_diff"].to_numpy(float)
    low, high = f"{sizes.min():.0f}", f"{sizes.max():.0f}"
    crossings = [
        i for i in range(1, len(gaps)) if np.sign(diff[i - 1]) * np.sign(diff[i]) < 0
    ]

    def kind(d: float) -> str:
        return "the CNN-based model" if d > 0 else "the feature model"

    last = kind(diff[-1])
    if len(crossings) == 1:
        i = crossings[0]
        first = kind(diff[i - 1])
        return (
            f" The learning curves cross between {sizes[i - 1]:.0f} and "
            f"{sizes[i]:.0f} training images: {first} ahead below, {last} above "
            "(best model of each kind at each size)."
        )
    if crossings:
        return (
            f" The lead changes {len(crossings)} times within the sizes measured "
            f"({low}–{high} training images), so the curves do not settle on a "
            f"crossing; at {high} images {last} is ahead."
        )
    slope = float(np.polyfit(np.log2(sizes), diff, 1)[0])
    return (
        f" The learning curves do not cross within the sizes measured ({low}–{high} "
        f"training images): {last} stays ahead, and the difference changes by "
        f"{slope:+.3f} per doubling of the training data over that range (a trend "
        f"within the sizes measured, not a forecast beyond {high} images)."
    )


def verdict(result, metric: str = "f1_macro") -> str:
    """One paragraph answering "is a CNN better here, and by how much?".

    Generated from the stored results only: the best feature model and the best
    CNN-based model (by mean ``metric`` over the folds), their difference with its
    interval and the corrected resampled t-test (a difference is called
    significant only when that test gives p < 0.05), the training-time ratio, and
    what the learning curves say within the sizes measured.

    Parameters
    ----------
    result : ComparisonResult
    metric : str, default="f1_macro"

    Returns
    -------
    str
        The paragraph (what the report shows at the top and ``featcls compare``
        prints last).
    """
    name = "macro-F1" if metric == "f1_macro" else metric
    board = result.leaderboard(metric)
    cnn = _best(board, result, "images", metric)
    feat = _best(board, result, "features", metric)
    if cnn is None or feat is None:
        have, missing = ("CNN-based", "feature") if feat is None else ("feature", "CNN")
        best = cnn or feat
        if best is None:
            return "No model produced scores, so there is no answer: see the errors."
        return (
            f"Only {have} models produced scores; the best is {best} "
            f"({board.loc[best, metric]:.3f} {name}). Compare a {missing} model "
            "on the same folds to answer whether a CNN does better."
        )
    sa, sb = board.loc[cnn, metric], board.loc[feat, metric]
    text = (
        f"The best CNN-based model, {cnn}, scores {sa:.3f} {name} and the best "
        f"feature model, {feat}, {sb:.3f}."
    )
    mean, low, high, p, k = _paired(result, cnn, feat, metric)
    if k < 2 or not math.isfinite(p):
        text += (
            f" The difference ({cnn} − {feat}) is {mean:+.3f} on {k} paired "
            "split(s); with fewer than two folds it cannot be tested."
        )
    else:
        text += (
            f" The difference ({cnn} − {feat}) is {mean:+.3f} (95 % interval "
            f"[{low:+.3f}, {high:+.3f}] over {k} paired folds; corrected resampled "
            f"t-test p = {p:.2g}): "
        )
        if p < ALPHA:
            better = cnn if mean > 0 else feat
            text += f"{better} is significantly better at the 5 % level."
        else:
            text += (
                "not significant at the 5 % level, so these folds do not show "
                "either kind of model to be better."
            )
    return text + _cost(result, cnn, feat) + _curves(result, metric)
