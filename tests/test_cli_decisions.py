"""featcls compare --threshold / --aggregate-by / --group-label-col."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from featcls.cli import app
from featcls.data import make_synthetic, save_folder
from featcls.evaluation import ComparisonResult

runner = CliRunner()


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    """60 binary images of 15 patients, four each, as a manifest."""
    root = tmp_path_factory.mktemp("patients")
    data = make_synthetic(64, image_size=40, weights=(0.5, 0.5, 0.0), random_state=2)
    data = data.subset(data.y != "uncertain")
    data = data.subset(range(60))
    save_folder(data, root / "images")
    paths = sorted((root / "images").rglob("*.png"))
    table = pd.DataFrame(
        {
            "image": [str(p.relative_to(root)) for p in paths],
            "label": [p.parent.name for p in paths],
        }
    )
    table = table.sort_values("label", kind="stable").reset_index(drop=True)
    # Patients of one class each, so a patient's truth is its images' label.
    table["patient"] = [f"p{i // 4:02d}" for i in range(len(table))]
    table["status"] = table.groupby("patient")["label"].transform("first")
    table.to_csv(root / "m.csv", index=False)
    return root / "m.csv"


def _compare(manifest, tmp_path, *extra):
    args = ["compare", "--manifest", str(manifest), "--models", "logreg"]
    args += ["--features", "shape,intensity", "--folds", "3", "--out"]
    return runner.invoke(app, [*args, str(tmp_path / "out"), *extra])


def test_compare_answers_per_patient_with_a_threshold_rule(manifest, tmp_path):
    result = _compare(
        manifest,
        tmp_path,
        "--aggregate-by",
        "patient",
        "--threshold",
        "youden",
        "--pos-label",
        "multilamellar",
    )
    assert result.exit_code == 0, result.output
    assert "positive class: multilamellar; threshold: youden; groups: patient" in (
        result.output
    )
    assert "logreg             group" in result.output
    res = ComparisonResult.from_json(tmp_path / "out" / "results.json")
    assert res.settings["aggregate_by"] == "patient"
    groups = res.to_frame(level="group")
    assert groups["n_groups"].sum() == 15  # every patient answered once
    assert all(r.threshold is not None for r in res.records)
    # The folds are grouped by patient.
    patients = pd.read_csv(manifest)["patient"].to_numpy()
    for fold in res.folds:
        test = set(patients[fold["test"]])
        train = set(patients) - test
        assert not test & train
    html = (tmp_path / "out" / "report.html").read_text()
    assert 'id="section-decisions"' in html
    assert 'data-level="group"' in html


def test_group_label_column_and_max_aggregation(manifest, tmp_path):
    result = _compare(
        manifest,
        tmp_path,
        "--aggregate-by",
        "patient",
        "--group-label-col",
        "status",
        "--aggregate",
        "max",
    )
    assert result.exit_code == 0, result.output
    res = ComparisonResult.from_json(tmp_path / "out" / "results.json")
    assert res.settings["aggregate_with"] == "max"
    assert res.settings["threshold"] is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--threshold", "youdens"], "--threshold: Unknown threshold rule"),
        (["--group-label-col", "status"], "--group-label-col needs --aggregate-by"),
        (["--aggregate-by", "ward"], "--aggregate-by 'ward' is not a column"),
        (["--aggregate", "median"], "Invalid value for '--aggregate'"),
    ],
)
def test_bad_decision_options_stop_with_one_line(manifest, tmp_path, extra, message):
    result = _compare(manifest, tmp_path, *extra)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_threshold_on_three_classes_is_refused(tmp_path):
    result = runner.invoke(
        app,
        ["compare", "--n-samples", "90", "--image-size", "32", "--folds", "3"]
        + ["--models", "logreg", "--features", "shape", "--threshold", "f1"]
        + ["--out", str(tmp_path / "out")],
    )
    assert result.exit_code == 1
    assert "for two classes" in result.output


def test_holdout_is_one_grouped_split_reported_as_such(manifest, tmp_path):
    args = ["compare", "--manifest", str(manifest), "--models", "logreg"]
    args += ["--features", "shape,intensity", "--out", str(tmp_path / "out")]
    result = runner.invoke(app, [*args, "--holdout", "0.25", "--group-col", "patient"])
    assert result.exit_code == 0, result.output
    assert "one hold-out split (25% test)" in result.output
    res = ComparisonResult.from_json(tmp_path / "out" / "results.json")
    assert len(res.folds) == 1
    assert res.settings["cv"] == "HoldOut(test_size=0.25, random_state=0)"
    patients = pd.read_csv(manifest)["patient"].to_numpy()
    test = res.folds[0]["test"]
    # A quarter of the 15 patients of four images each: 3 or 4 whole patients.
    assert len(test) in (12, 16)
    train = [i for i in range(60) if i not in set(test)]
    assert not set(patients[test]) & set(patients[train])
    for bad, message in [
        (["--holdout", "0.25", "--folds", "3"], "does not combine with --folds"),
        (["--holdout", "0.25", "--repeats", "2"], "does not combine with --repeats"),
        (["--holdout", "0.7"], "in (0, 0.5]"),
    ]:
        result = runner.invoke(app, [*args, *bad])
        assert result.exit_code == 1
        assert message in result.output


def test_a_patient_whose_images_all_failed_is_named(manifest, tmp_path):
    table = pd.read_csv(manifest)
    root = manifest.parent
    # Patient p00's four files are corrupt; one image of p01 too.
    for rel in table.loc[table["patient"] == "p00", "image"].tolist() + [
        table.loc[table["patient"] == "p01", "image"].iloc[0]
    ]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"not a png")
    for rel in table["image"]:
        if not (tmp_path / rel).exists():
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / rel).write_bytes((root / rel).read_bytes())
    table.to_csv(tmp_path / "m.csv", index=False)
    result = _compare(
        tmp_path / "m.csv", tmp_path, "--aggregate-by", "patient", "--on-error", "skip"
    )
    assert result.exit_code == 0, result.output
    assert "1 patient group(s) have no usable image" in result.output
    assert ": p00." in result.output
    res = ComparisonResult.from_json(tmp_path / "out" / "results.json")
    assert res.settings["groups_without_images"] == ["p00"]
    assert len(res.y) == 55  # everything else was kept
    assert "p00" not in set(res.group_oof("logreg").index)
    html = (tmp_path / "out" / "report.html").read_text()
    assert "have no usable image" in html


def test_patient_ids_with_leading_zeros_stay_text(manifest, tmp_path):
    table = pd.read_csv(manifest)
    # Patient "001" is not patient 1: read as numbers the ids would lose zeros.
    table["patient"] = [
        f"{i // 4:03d}" if (i // 4) % 2 else f"{i // 4}" for i in range(len(table))
    ]
    path = manifest.parent / "zeros.csv"
    table.to_csv(path, index=False)
    result = _compare(path, tmp_path, "--aggregate-by", "patient")
    assert result.exit_code == 0, result.output
    res = ComparisonResult.from_json(tmp_path / "out" / "results.json")
    ids = {g for r in res.records for g in r.group["ids"]}
    assert ids == set(table["patient"].astype(str)) and "001" in ids


def test_aggregate_without_aggregate_by_is_refused(manifest, tmp_path):
    result = _compare(manifest, tmp_path, "--aggregate", "max")
    assert result.exit_code == 1
    assert "--aggregate needs --aggregate-by" in result.output
