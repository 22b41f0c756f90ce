"""The answer sections of the report: the verdict, learning curves, cost."""

from __future__ import annotations

import dataclasses
import html as html_lib
import re

import numpy as np
import pytest

from featcls import CNNClassifier, FeatureExtractor, compare, load_builtin
from featcls.models import build_model
from featcls.report import render_report
from tests.report.conftest import Page, section_titles


@pytest.fixture(scope="module")
def curved():
    data = load_builtin("synthetic", n_samples=60, image_size=32, random_state=2)
    models = {
        "logreg": build_model("logreg"),
        "cnn": CNNClassifier(input_size=16, max_epochs=1, early_stopping=False),
    }
    return compare(
        models,
        data.X,
        data.y,
        cv=2,
        train_sizes=[0.5],
        features=FeatureExtractor(families=["shape", "intensity"]),
        importance=False,
        dataset=data,
    )


def test_the_report_opens_with_the_verdict_and_shows_curves_and_cost(curved):
    html = render_report(curved)
    page = Page(html)
    assert page.h2 == section_titles(curved)
    assert "Learning curves" in page.h2 and "Cost and quality" in page.h2
    verdict = re.search(r'<p class="verdict" id="verdict">(.*?)</p>', html, re.S)
    assert verdict is not None
    assert html_lib.unescape(verdict.group(1)) == curved.verdict()
    assert ("table", {"id": "curve-gaps"}) in page.tags
    assert ("table", {"id": "model-costs"}) in page.tags
    gaps = curved.curve_gaps()
    for size in gaps["train_size"]:
        assert f'<td class="num">{round(size)}</td>' in html
    learning = html.split('id="section-learning"')[1].split("</section>")[0]
    assert "data:image/png;base64," in learning


def test_without_curves_there_is_no_learning_section(curved):
    plain = dataclasses.replace(curved, curve_records=[])
    html = render_report(plain)
    assert "Learning curves</h2>" not in html
    assert "Learning curves were not measured" in html  # said in the verdict
    assert ("table", {"id": "model-costs"}) in Page(html).tags


def test_pareto_front_is_marked(curved):
    costs = curved.costs()
    html = render_report(curved)
    rows = html.split('id="model-costs"')[1].split("</table>")[0]
    for model, on_front in zip(costs["model"], costs["pareto"], strict=True):
        row = rows.split(f"<td>{model}</td>")[1].split("</tr>")[0]
        assert ("<td>yes</td>" in row) == bool(on_front)
    assert np.isfinite(costs["fit_time"]).all()
