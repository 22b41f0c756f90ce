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


def _paired(result, a: str, b: str, metric: str) -> dict:
    """The two models on the folds where both produced scores.

    Their means there, the difference a − b with its interval and p, and the
    number of folds used and in all.
    """
    frame = result.to_frame(curves=False).set_index(["model", "repeat", "fold"])
    frame = frame.sort_index()
    pa, pb = frame.loc[a], frame.loc[b]
    both = pa.index.intersection(pb.index)
    va, vb = pa.loc[both, metric].to_numpy(float), pb.loc[both, metric].to_numpy(float)
    ok = np.isfinite(va) & np.isfinite(vb)
    test_fraction = result.test_fraction()
    mean, _, p = corrected_ttest(va, vb, test_fraction)
    low, high = corrected_interval(va, vb, test_fraction)
    return {
        "a": float(va[ok].mean()) if ok.any() else np.nan,
        "b": float(vb[ok].mean()) if ok.any() else np.nan,
        "mean": mean,
        "low": low,
        "high": high,
        "p": p,
        "k": int(ok.sum()),
        "folds": len(result.folds),
    }


def _seconds(value: float) -> str:
    return f"{value:.2g} s" if value < 10 else f"{value:.0f} s"


def _times(ratio: float) -> str:
    return f"{ratio:.1f}×" if ratio < 10 else f"{ratio:.0f}×"


def _cost(result, a: str, b: str) -> str:
    costs = result.costs().set_index("model")["fit_time"]
    ta, tb = float(costs[a]), float(costs[b])
    if not (math.isfinite(ta) and math.isfinite(tb)) or min(ta, tb) <= 0:
        return ""
    ratio = ta / tb
    if ratio >= 1.5:
        how = f"{_times(ratio)} as long"
    elif ratio <= 1 / 1.5:
        how = f"{_times(1 / ratio)} less time"
    else:
        how = "about as long"
    extraction = result.timing.get("features")
    shared = (
        "; feature extraction, shared by the feature models, took "
        f"{_seconds(extraction)} in all"
        if extraction is not None and math.isfinite(extraction)
        else ""
    )
    return (
        f" Training {a} took {_seconds(ta)} per fold against {_seconds(tb)} for "
        f"{b} ({how}{shared})."
    )


def _kind(d: float) -> str:
    return "the CNN-based model" if d > 0 else "the feature model"


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
    p = gaps["p_corrected_t"].to_numpy(float)
    low, high = f"{sizes.min():.0f}", f"{sizes.max():.0f}"
    # A size where the two are level (equal means) leads neither way.
    sign = np.where(np.abs(diff) < 1e-9, 0.0, np.sign(diff))
    leads = [i for i in range(len(sign)) if sign[i] != 0]
    crossings = [
        b for a, b in zip(leads, leads[1:], strict=False) if sign[a] != sign[b]
    ]
    end = f"at {high} images "
    if sign[-1] == 0:
        end += "the two are level"
    else:
        tested = f"p = {p[-1]:.2g}" if np.isfinite(p[-1]) else "not tested"
        if np.isfinite(p[-1]) and p[-1] >= ALPHA:
            tested += ", not significant"
        end += f"{_kind(diff[-1])} is ahead in mean ({tested})"
    where = "best model of each kind at each size"
    if len(crossings) == 1:
        b = crossings[0]
        a = leads[leads.index(b) - 1]
        return (
            f" The learning curves cross between {sizes[a]:.0f} and {sizes[b]:.0f} "
            f"training images ({where}): {_kind(diff[a])} is ahead in mean below, "
            f"{_kind(diff[b])} from {sizes[b]:.0f} images on; {end}."
        )
    if crossings:
        return (
            f" The lead changes {len(crossings)} times between {low} and {high} "
            f"training images ({where}), so the curves do not settle on a "
            f"crossing; {end}."
        )
    if not leads:
        return f" The two are level at every size measured ({low}–{high} images)."
    slope = float(np.polyfit(np.log2(sizes), diff, 1)[0])
    leader = sign[leads[0]]
    if abs(slope) < 5e-4:
        trend = "the gap stays about the same"
    else:
        trend = "the gap widens" if slope * leader > 0 else "the gap narrows"
    end = end[0].upper() + end[1:]
    return (
        f" The learning curves do not cross between {low} and {high} training "
        f"images ({where}): {_kind(diff[leads[0]])} is ahead in mean wherever they "
        f"differ, and the difference (CNN-based minus feature model) changes by "
        f"{slope:+.3f} per doubling of the training data over that range: {trend}. "
        f"{end}. This is a trend within the sizes measured, not a forecast beyond "
        f"{high} images."
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
        missing = "images" if cnn is None else "features"
        kind = "CNN-based" if cnn is None else "feature"
        compared = [m for m in result.models if result.model_input(m) == missing]
        best = cnn or feat
        if best is None:
            return "No model produced scores, so there is no answer: see the errors."
        why = (
            f"{', '.join(compared)} failed on every fold (see the errors)"
            if compared
            else f"no {kind} model was compared"
        )
        return (
            f"There is no answer to whether a CNN does better here: {why}. The "
            f"best model is {best} ({board.loc[best, metric]:.3f} {name})."
        )
    pair = _paired(result, cnn, feat, metric)
    if pair["k"] == 0:
        return (
            f"{cnn} and {feat} never produced scores on the same fold, so they "
            "cannot be compared: see the errors."
        )
    text = (
        f"The best CNN-based model, {cnn}, scores {pair['a']:.3f} {name} and the "
        f"best feature model, {feat}, {pair['b']:.3f}"
    )
    if pair["k"] < pair["folds"]:
        text += (
            f", on the {pair['k']} of {pair['folds']} folds where both produced "
            "scores (the other fits failed: see the errors)"
        )
    text += "."
    diff = f" The difference ({cnn} − {feat}) is {pair['mean']:+.3f}"
    if pair["k"] < 2 or not math.isfinite(pair["p"]):
        text += f"{diff} on a single split, which cannot be tested."
    else:
        text += (
            f"{diff} (95 % interval [{pair['low']:+.3f}, {pair['high']:+.3f}] over "
            f"{pair['k']} paired folds; corrected resampled t-test "
            f"p = {pair['p']:.2g}): "
        )
        if pair["p"] < ALPHA:
            better = cnn if pair["mean"] > 0 else feat
            text += f"{better} is significantly better at the 5 % level."
        else:
            text += (
                "not significant at the 5 % level, so these folds do not show "
                "either kind of model to be better."
            )
    return text + _cost(result, cnn, feat) + _curves(result, metric)
