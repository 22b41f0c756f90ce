"""Comparison results for the report tests: real (tiny compare runs) and hand-made."""

from __future__ import annotations

import base64
import io
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from featcls import load_builtin
from featcls.evaluation import ComparisonResult, FoldRecord, compare
from featcls.report import SECTIONS, render_report

SCRIPT = "<script>alert(1)</script>"
QUOTES = "a&b\"c'"
HOSTILE_MODEL = "<b>cnn</b>"
HOSTILE_COMMAND = f"featcls compare --classes '{SCRIPT}' && echo {QUOTES}"


def section_titles(result: ComparisonResult) -> list[str]:
    """The h2 headings a report of ``result`` has: every section, but "Additional
    analyses" only when the result carries supplementary tables, "Learning curves"
    only when it has learning curves, "Cost and quality" only when a model
    produced predictions, "Decisions and answers per group" only with a threshold
    rule or groups to answer, "Self-supervised pretraining" only when a network was
    pretrained by featcls, and "Confusion matrices" not for multi-label results."""
    predicted = any(r.error is None for r in result.records)
    settings = result.settings
    optional = {
        "analyses": result.tables,
        "learning": result.curve_records,
        "cost": predicted,
        "decisions": settings.get("threshold") is not None
        or settings.get("aggregate_by") is not None,
        "confusion": not result.multilabel,
        "pretraining": bool(settings.get("pretrained_on"))
        or settings.get("pretrain") is not None,
    }
    return [s.title for s in SECTIONS if optional.get(s.id, True)]


def png_uri(value: int = 128, size: int = 8) -> str:
    """A tiny grey PNG as a data URI."""
    buffer = io.BytesIO()
    Image.fromarray(np.full((size, size), value, np.uint8)).save(buffer, "png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _traceback(message: str) -> str:
    return (
        "Traceback (most recent call last):\n"
        '  File "model.py", line 1, in fit\n'
        f"RuntimeError: {message}\n"
    )


def make_result(
    *,
    classes=("cat", "dog", "eel"),
    n: int = 30,
    cv: int = 3,
    repeats: int = 1,
    models: dict | None = None,
    seed: int = 0,
    **fields,
) -> ComparisonResult:
    """A ComparisonResult built by hand, in milliseconds.

    ``models`` maps a name to ``{"skill": p_correct, "proba": bool, "fail": set of
    (repeat, fold) or "all"}``.
    """
    rng = np.random.default_rng(seed)
    classes = list(classes)
    y = [classes[i % len(classes)] for i in range(n)]
    folds = []
    for r in range(repeats):
        order = sorted(rng.permutation(n).tolist(), key=lambda i: y[i])  # stratified
        for f in range(cv):
            folds.append({"repeat": r, "fold": f, "test": sorted(order[f::cv])})
    models = (
        models
        if models is not None
        else {"good": {"skill": 0.8}, "weak": {"skill": 0.5}}
    )
    records = []
    for name, spec in models.items():
        fail = spec.get("fail", set())
        for fold in folds:
            key = (fold["repeat"], fold["fold"])
            if fail == "all" or key in fail:
                records.append(
                    FoldRecord(
                        name,
                        *key,
                        test_index=fold["test"],
                        error=_traceback(
                            spec.get("message", f"{name} diverged in fold {key[1]}")
                        ),
                    )
                )
                continue
            pred, proba = [], []
            for i in fold["test"]:
                right = rng.random() < spec.get("skill", 0.7)
                label = y[i] if right else rng.choice([c for c in classes if c != y[i]])
                p = rng.dirichlet(np.ones(len(classes)))
                p[classes.index(label)] += 2.0
                pred.append(str(label))
                proba.append((p / p.sum()).tolist())
            records.append(
                FoldRecord(
                    name,
                    *key,
                    test_index=fold["test"],
                    y_pred=pred,
                    proba=proba if spec.get("proba", True) else None,
                    fit_time=float(rng.uniform(0.01, 2)),
                    predict_time=float(rng.uniform(0.001, 0.1)),
                )
            )
    defaults = {
        "classes": classes,
        "y": y,
        "sample_ids": [f"images/{y[i]}/img_{i:03d}.png" for i in range(n)],
        "folds": folds,
        "models": list(models),
        "records": records,
        "settings": {"cv": cv, "repeats": repeats, "random_state": seed},
        "dataset": {
            "name": "toy",
            "n_samples": n,
            "class_counts": {c: y.count(c) for c in classes},
            "examples": {c: [i for i in range(n) if y[i] == c][:3] for c in classes},
            "thumbnails": {str(i): png_uri((40 + 7 * i) % 256) for i in range(n)},
            "skipped": [],
            "meta": {},
        },
    }
    defaults.update(fields)
    return ComparisonResult(**defaults)


@pytest.fixture(scope="session")
def real_result() -> ComparisonResult:
    """logreg and XGBoost on 60 synthetic images, 3 classes, 3 folds (~2 s)."""
    data = load_builtin(
        "synthetic", n_samples=60, image_size=48, weights=(0.45, 0.35, 0.2)
    )
    return compare(
        ["logreg", "xgboost"],
        data.X,
        data.y,
        dataset=data,
        cv=3,
        n_jobs=1,
        command="featcls compare --models logreg,xgboost",
    )


@pytest.fixture(scope="session")
def binary_result() -> ComparisonResult:
    """One model on a two-class problem: no pairs to test."""
    data = load_builtin(
        "synthetic", n_samples=40, image_size=48, weights=(0.6, 0.4, 0.0)
    )
    return compare(
        ["logreg"], data.X, data.y, dataset=data, cv=3, n_jobs=1, drop_rare_classes=True
    )


def make_hostile_result() -> ComparisonResult:
    """HTML in every user-given string, a failed fold, a model with no probabilities,
    a model that failed everywhere, CNN-like extras and unsafe thumbnail URIs."""
    classes = [SCRIPT, QUOTES, "plain"]
    result = make_result(
        classes=classes,
        n=24,
        models={
            "svm": {"skill": 0.9},
            HOSTILE_MODEL: {
                "skill": 0.6,
                "fail": {(0, 1)},
                "message": f"CUDA out of memory {SCRIPT}",
            },
            "no_proba": {"skill": 0.5, "proba": False},
            "broken": {"fail": "all", "message": "cannot fit <i>anything</i>"},
        },
        command=HOSTILE_COMMAND,
        importances={
            "svm": {"permutation_family": {"shape": 0.1, SCRIPT: 0.02}},
            HOSTILE_MODEL: {
                "gain": {f"{SCRIPT}__f{i}": i / 10 for i in range(25)},
                "permutation_family": {"shape": -0.01},
            },
        },
        feature_names=[f"{SCRIPT}__f{i}" for i in range(25)],
        extras={
            HOSTILE_MODEL: [
                {
                    "repeat": 0,
                    "fold": 0,
                    "best_epoch": 3,
                    "device": SCRIPT,
                    "history": [
                        {
                            "epoch": e,
                            "train_loss": 1 / e,
                            "val_loss": 1.2 / e,
                            "val_f1": 0.5 + e / 20,
                        }
                        for e in range(1, 6)
                    ],
                    "saliency": [
                        {
                            "index": 0,
                            "true": SCRIPT,
                            "pred": QUOTES,
                            "image": png_uri(200),
                        },
                        {
                            "index": 1,
                            "true": "x",
                            "pred": "y",
                            "image": "javascript:alert(1)",
                        },
                    ],
                }
            ]
        },
        settings={"cv": 3, "repeats": 1, "random_state": 7, "note": SCRIPT},
        environment={
            "python": "3.11",
            "gpu": SCRIPT,
            "packages": {"featcls": "0.1.0", SCRIPT: QUOTES},
        },
        timing={"features": 1.5, "cross_validation": 12.0, "total": 14.0},
    )
    result.sample_ids[0] = "<img src=x onerror=alert(1)>.png"
    result.dataset.update(
        {
            "name": f"dataset {SCRIPT}",
            "skipped": [
                {"path": f"data/{SCRIPT}.png", "reason": f"not an image: {QUOTES}"}
            ],
            "meta": {"source": SCRIPT},
        }
    )
    result.add_table(
        f"Ablation {SCRIPT}",
        pd.DataFrame(
            {SCRIPT: ["shape", QUOTES], "f1_macro": [0.8, float("nan")]}
        ).set_index(SCRIPT),
        note=f"dropped one family {SCRIPT}",
    )
    result.dataset["thumbnails"]["1"] = "javascript:alert(1)"
    result.dataset["thumbnails"]["2"] = "http://evil.example/x.png"
    return result


@pytest.fixture(scope="session")
def hostile_result() -> ComparisonResult:
    """See :func:`make_hostile_result`."""
    return make_hostile_result()


@pytest.fixture(scope="session")
def hostile_html(hostile_result) -> str:
    """The hostile result's report, rendered once."""
    return render_report(hostile_result)


@pytest.fixture(scope="session")
def real_html(real_result) -> str:
    """The real result's report, rendered once."""
    return render_report(real_result)


class Page(HTMLParser):
    """The parts of a report the tests look at, parsed with the standard library."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.h2: list[str] = []
        self.leaderboard: list[list[str]] = []
        self._stack: list[str] = []
        self._text: list[str] | None = None
        self._in_board = False
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "h2":
            self._text = []
        if tag == "table" and attrs.get("id") == "leaderboard":
            self._in_board = True
        if self._in_board and tag == "tr" and "data-model" in attrs:
            self._row = []
        if self._row is not None and tag == "td":
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "h2" and self._text is not None:
            self.h2.append("".join(self._text).strip())
            self._text = None
        if self._cell is not None and tag == "td":
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        if self._row is not None and tag == "tr":
            self.leaderboard.append(self._row)
            self._row = None
        if tag == "table" and self._in_board:
            self._in_board = False

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def attributes(self, name: str) -> list[str]:
        """Every value of attribute ``name`` on any tag."""
        return [a[name] for _, a in self.tags if a.get(name) is not None]
