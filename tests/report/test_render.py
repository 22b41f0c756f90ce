"""render_report and write_outputs on small real and hand-made results."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pandas as pd
import pytest

from featcls.evaluation import ComparisonResult
from featcls.report import render_report, write_outputs
from tests.report.conftest import Page, make_result, section_titles


def _check_page(html: str, result: ComparisonResult) -> Page:
    """What every report must satisfy, whatever the result."""
    page = Page(html)
    assert html.startswith("<!DOCTYPE html>")
    assert page.h2 == section_titles(result)
    assert "could not be rendered" not in html
    assert [t for t, _ in page.tags].count("table") >= 1
    assert ("table", {"id": "leaderboard"}) in page.tags
    return page


def test_real_result_renders_every_section(real_result, tmp_path):
    path = tmp_path / "nested" / "folder" / "report.html"
    html = render_report(real_result, path)
    assert path.read_text(encoding="utf-8") == html
    page = _check_page(html, real_result)
    board = real_result.leaderboard()
    assert [row[1] for row in page.leaderboard] == list(board.index)
    best = board.index[0]
    assert f"Best model by macro-F1: <strong>{best}</strong>" in html
    mean, std = board.iloc[0]["f1_macro"], board.iloc[0]["std"]
    assert f"{mean:.3f} ± {std:.3f}" in html
    assert 'class="best"' in html
    # figures are embedded PNGs: fold scores, 2 confusion, 2 curves, gain,
    # permutation, class counts
    images = [s for s in page.attributes("src") if s.startswith("data:image/png")]
    assert len(images) >= 8
    assert "featcls compare --models logreg,xgboost" in html
    assert "top 20" in html  # XGBoost gain chart
    assert "None: every file found was used." in html


def test_no_outside_resources(real_html):
    page = Page(real_html)
    for value in page.attributes("src") + page.attributes("href"):
        assert not re.match(r"\s*(https?:)?//", value), value
        assert value.startswith(("data:", "#")), value
    assert not [t for t, _ in page.tags if t in ("script", "iframe", "object")]
    links = [a for t, a in page.tags if t == "link"]
    assert all(a.get("rel") == "icon" and a["href"] == "data:," for a in links)


def test_write_outputs_round_trip(real_result, tmp_path):
    paths = write_outputs(real_result, tmp_path / "out")
    assert set(paths) == {"report", "results", "fold_scores", "leaderboard"}
    names = {p.name for p in paths.values()}
    assert names == {
        "report.html",
        "results.json",
        "fold_scores.csv",
        "leaderboard.csv",
    }
    assert all(p.is_file() and p.parent == tmp_path / "out" for p in paths.values())

    folds = pd.read_csv(paths["fold_scores"])
    assert len(folds) == len(real_result.records)
    board = pd.read_csv(paths["leaderboard"], index_col="model")
    assert list(board.index) == list(real_result.leaderboard().index)

    again = ComparisonResult.from_json(paths["results"])
    first = Page(paths["report"].read_text(encoding="utf-8")).leaderboard
    assert Page(render_report(again)).leaderboard == first
    assert len(first) == len(real_result.models)


def test_single_binary_model(binary_result):
    assert len(binary_result.classes) == 2
    html = render_report(binary_result)
    page = _check_page(html, binary_result)
    assert len(page.leaderboard) == 1
    assert "there are no pairs to test" in html
    assert "No command was recorded" in html


def test_failed_fold_is_reported(hostile_result, hostile_html):
    html = hostile_html
    page = _check_page(html, hostile_result)
    rows = {row[1]: row for row in page.leaderboard}
    assert rows["<b>cnn</b>"][-2] == "1 / 3"
    assert rows["broken"][-2] == "3 / 3"
    assert rows["broken"][2] == rows["broken"][3] == "—"
    assert "4 of 12 model fits failed" in html
    assert html.count('<details class="error">') == 4
    assert "RuntimeError: CUDA out of memory" in html
    assert "every fold of this model failed" in html
    assert "this model stored no class probabilities" in html
    assert "cannot be ranked by confidence" in html


def test_extras_are_rendered(hostile_html):
    page = Page(hostile_html)
    alts = page.attributes("alt")
    assert "Learning curves of <b>cnn</b>" in alts
    assert any(a.startswith("saliency ") for a in alts)
    assert "best_epoch" in hostile_html


def _drop(result: ComparisonResult, **changes) -> ComparisonResult:
    return dataclasses.replace(result, **changes)


@pytest.mark.parametrize(
    "variant",
    [
        "all_failed",
        "no_proba",
        "no_importances",
        "no_thumbnails",
        "empty_dataset",
        "repeats",
        "many_classes",
        "one_fold_class",
        "one_split",
    ],
)
def test_robust_to_missing_material(variant):
    if variant == "all_failed":
        result = make_result(models={"a": {"fail": "all"}, "b": {"fail": "all"}})
    elif variant == "no_proba":
        result = make_result(models={"a": {"proba": False}, "b": {"proba": False}})
    elif variant == "no_importances":
        result = _drop(make_result(), importances={}, feature_names=[])
    elif variant == "no_thumbnails":
        result = make_result()
        result.dataset = {**result.dataset, "thumbnails": {}}
    elif variant == "empty_dataset":
        result = _drop(
            make_result(),
            dataset={},
            settings={},
            environment={},
            timing={},
            model_info={},
            created="",
        )
    elif variant == "repeats":
        result = make_result(repeats=2, cv=2)
    elif variant == "one_split":  # e.g. compare(cv=StratifiedShuffleSplit(1, ...))
        result = make_result(cv=1, settings={"cv": "1 given split", "repeats": 1})
    elif variant == "many_classes":
        result = make_result(classes=[f"class {i:02d}" for i in range(24)], n=96)
    else:  # a class that is never in a test fold of a partial result
        result = make_result(models={"a": {"fail": {(0, 0), (0, 1)}}})
    html = render_report(result)
    page = _check_page(html, result)
    assert len(page.leaderboard) == len(result.models)
    if variant == "all_failed":
        assert "No model produced predictions" in html
    if variant == "no_thumbnails":
        assert "No thumbnails were stored" in html
    if variant == "no_importances":
        assert "No feature importances were stored" in html
    if variant == "one_split":
        assert "on a single test split" in html and "outer splits: 1 given" in html
        assert "Neither test can be computed here" in html
        assert all(" ± " not in row[2] for row in page.leaderboard)


def test_numbers_are_formatted():
    result = make_result(models={"a": {"skill": 1.0}, "b": {"skill": 0.0}}, n=60, cv=10)
    html = render_report(result)
    page = Page(html)
    row = {r[1]: r for r in page.leaderboard}["a"]
    assert row[2] == "1.000 ± 0.000"
    assert row[3] == "[1.000, 1.000]"
    assert "p<sub>t</sub> &lt;0.001" in html  # compact p-values
    assert (
        re.search(r"\d\.\d{4}", " ".join(" ".join(r) for r in page.leaderboard)) is None
    )


def test_rejects_other_objects():
    with pytest.raises(TypeError, match="expects a featcls.evaluation.Comparison"):
        render_report({"records": []})
    with pytest.raises(ValueError, match="has no models: there is nothing to report"):
        render_report(make_result(models={}))


def test_clipped_interval_is_the_same_in_report_csv_and_printout(tmp_path):
    # Macro-F1 of 1.000, 0.886 and 1.000 on 3 folds: the t interval is
    # [0.798, 1.126], past the score's range.
    result = make_result(
        models={"sharp": {"skill": 0.93}, "weak": {"skill": 0.5}}, seed=3
    )
    row = result.leaderboard().loc["sharp"]
    assert row["ci_high"] == 1.0 and row["ci_clipped"]
    expected = f"[{row['ci_low']:.3f}, 1.000]"
    paths = write_outputs(result, tmp_path)
    html = paths["report"].read_text(encoding="utf-8")
    cell = {r[1]: r for r in Page(html).leaderboard}["sharp"][3]
    assert cell == expected + "*"
    assert "it is clipped and marked *" in html
    board = pd.read_csv(paths["leaderboard"], index_col="model")
    assert board.loc["sharp", "ci_high"] == 1.0 and board.loc["sharp", "ci_clipped"]
    assert expected + "*" in result.summary()


def _write_half_then_die(monkeypatch):
    """Writers of text and tables die halfway through their file."""

    def text(self, data, *args, **kwargs):
        self.write_bytes(data[: len(data) // 2].encode())
        raise RuntimeError("killed while writing")

    def table(self, path, *args, **kwargs):
        Path(path).write_bytes(b"model,f1_ma")
        raise RuntimeError("killed while writing")

    monkeypatch.setattr(Path, "write_text", text)
    monkeypatch.setattr(pd.DataFrame, "to_csv", table)


def test_outputs_killed_while_writing_are_left_whole(tmp_path, monkeypatch):
    result = make_result()
    paths = write_outputs(result, tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    _write_half_then_die(monkeypatch)
    with pytest.raises(RuntimeError, match="killed while writing"):
        write_outputs(result, tmp_path)
    with pytest.raises(RuntimeError, match="killed while writing"):
        render_report(result, paths["report"])
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before  # every file as it was, no temporary file left
