"""The misclassified samples a model was most sure about, as the report shows them."""

import numpy as np

from featcls.evaluation import ComparisonResult, FoldRecord


def _result(seed: int = 0, n: int = 60) -> ComparisonResult:
    rng = np.random.default_rng(seed)
    classes = ["a", "b", "c"]
    y = rng.choice(classes, n).tolist()
    folds, records = [], []
    for f, test in enumerate(np.array_split(rng.permutation(n), 3)):
        folds.append({"repeat": 0, "fold": f, "test": test.tolist()})
        proba = rng.dirichlet(np.ones(3), len(test)).round(1)  # ties on purpose
        pred = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
        records.append(FoldRecord("m", 0, f, test, pred, proba))
    records.append(FoldRecord("m", 0, 3, np.arange(3), error="boom"))
    return ComparisonResult(
        classes=classes,
        y=y,
        sample_ids=[str(i) for i in range(n)],
        folds=folds,
        models=["m"],
        records=records,
    )


def _one_at_a_time(result: ComparisonResult, k: int) -> list[dict]:
    """The definition: every wrong prediction, most confident first, ties in order."""
    out = []
    for r in result.records:
        if r.error is not None:
            continue
        for i, idx in enumerate(r.test_index):
            if r.y_pred[i] != result.y[idx]:
                out.append(
                    {
                        "index": int(idx),
                        "true": result.y[idx],
                        "pred": r.y_pred[i],
                        "confidence": float(np.max(r.proba[i])),
                    }
                )
    out.sort(key=lambda e: -e["confidence"])
    return out[:k]


def test_confident_errors_are_the_most_confident_wrong_predictions_ties_in_order():
    for seed in range(5):
        result = _result(seed)
        for k in (1, 5, 12, 1000):
            assert result.confident_errors("m", k=k) == _one_at_a_time(result, k)


def test_no_confident_errors_without_probabilities():
    result = _result()
    for r in result.records:
        r.proba = None
    assert result.confident_errors("m") == []
