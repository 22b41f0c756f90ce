"""Supplementary tables attached to a ComparisonResult and kept in its JSON."""

import json

import numpy as np
import pandas as pd
import pytest

from featcls.evaluation import SCHEMA_VERSION, ComparisonResult, FoldRecord


def _result() -> ComparisonResult:
    y = ["a", "b", "a", "b"]
    folds = [{"repeat": 0, "fold": f, "test": [2 * f, 2 * f + 1]} for f in range(2)]
    records = [FoldRecord("m", 0, f["fold"], f["test"], ["a", "b"]) for f in folds]
    return ComparisonResult(
        classes=["a", "b"],
        y=y,
        sample_ids=list("wxyz"),
        folds=folds,
        models=["m"],
        records=records,
    )


def _ablation() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dropped": ["none", "shape", "lbp"],
            "f1_macro": np.array([0.81234, np.nan, 0.7], dtype=np.float32),
            "n_features": np.array([120, 100, 90], dtype=np.int64),
            "better": [True, False, np.bool_(True)],
        }
    )


def test_add_table_stores_plain_json_safe_data():
    result = _result()
    assert result.tables == []
    result.add_table("Drop one family", _ablation(), note="logreg, same folds")
    (stored,) = result.tables
    assert stored["title"] == "Drop one family"
    assert stored["note"] == "logreg, same folds"
    assert stored["columns"] == ["dropped", "f1_macro", "n_features", "better"]
    assert stored["rows"][1] == ["shape", None, 100, False]
    assert type(stored["rows"][0][2]) is int and type(stored["rows"][2][3]) is bool
    json.dumps(stored, allow_nan=False)  # strictly JSON


def test_table_gives_the_frame_back():
    result = _result()
    result.add_table("Drop one family", _ablation())
    back = result.table("Drop one family")
    assert list(back.columns) == ["dropped", "f1_macro", "n_features", "better"]
    assert back["dropped"].tolist() == ["none", "shape", "lbp"]
    assert np.isnan(back.loc[1, "f1_macro"])
    assert back.loc[0, "f1_macro"] == pytest.approx(0.81234, rel=1e-6)
    assert back["n_features"].tolist() == [120, 100, 90]


def test_named_index_becomes_a_column_and_odd_values_become_text():
    result = _result()
    frame = pd.DataFrame(
        {"f1": [0.5, 0.75], "when": pd.to_datetime(["2024-01-01", None])},
        index=pd.Index(["round", "elongated"], name="cell type"),
    )
    frame[("a", "b")] = [np.inf, 1]
    result.add_table("Per cell type", frame)
    stored = result.tables[0]
    assert stored["columns"] == ["cell type", "f1", "when", "a / b"]
    assert stored["rows"][0][:2] == ["round", 0.5]
    assert (
        stored["rows"][0][2].startswith("2024-01-01") and stored["rows"][1][2] is None
    )
    assert stored["rows"][0][3] is None  # inf is not JSON
    unnamed = pd.DataFrame({"x": [1, 2]}, index=[7, 9])
    result.add_table("Unnamed index", unnamed)
    assert result.tables[1]["columns"] == ["x"]


def test_tables_survive_the_json_round_trip(tmp_path):
    result = _result()
    result.add_table("Drop one family", _ablation(), note="same folds")
    back = ComparisonResult.from_json(result.to_json(tmp_path / "results.json"))
    assert back.tables == result.tables
    pd.testing.assert_frame_equal(
        back.table("Drop one family"), result.table("Drop one family")
    )


def test_results_written_before_tables_existed_still_read(tmp_path):
    data = _result().to_dict()
    del data["tables"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    back = ComparisonResult.from_json(path)
    assert back.tables == [] and back.schema_version == SCHEMA_VERSION


def test_add_table_errors():
    result = _result()
    result.add_table("Drop one family", _ablation())
    with pytest.raises(
        ValueError, match=r"already has a table titled 'Drop one family'; titles"
    ):
        result.add_table("Drop one family", _ablation())
    with pytest.raises(ValueError, match=r"A table needs a non-empty title\. Got ''"):
        result.add_table("", _ablation())
    with pytest.raises(
        TypeError, match=r"add_table expects a pandas DataFrame\. Got Series"
    ):
        result.add_table("A series", _ablation()["dropped"])
    with pytest.raises(
        ValueError,
        match=r"No table titled 'Nope'; this result has \['Drop one family'\]\.",
    ):
        result.table("Nope")
