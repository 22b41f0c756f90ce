"""--class-order: the *-ordinal models learn ordered classes, and say so."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from featcls.cli import app
from featcls.models import OrdinalClassifier, build_model, build_models, load_model

runner = CliRunner()
DATA = ["--dataset", "synthetic", "--n-samples", "120", "--image-size", "40"]
FEATURES = ["--features", "shape,intensity"]
#: The synthetic classes from lowest to highest number of membranes (uncertain
#: between), as a user would list them.
ORDER = "unilamellar,uncertain,multilamellar"


def test_compare_fields_ordinal_and_nominal_models_on_the_same_folds(tmp_path):
    args = ["compare", *DATA, *FEATURES, "--models", "logreg,logreg-ordinal"]
    args += ["--class-order", ORDER, "--folds", "3", "--out", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "results.json").read_text())
    assert {r["model"] for r in saved["records"]} == {"logreg", "logreg-ordinal"}
    board = pd.read_csv(tmp_path / "leaderboard.csv")
    assert set(board["model"]) == {"logreg", "logreg-ordinal"}
    report = (tmp_path / "report.html").read_text()
    assert "Ordered classes (unilamellar &lt; uncertain &lt; multilamellar)" in report


def test_train_stores_the_order_in_the_model_file(tmp_path):
    out = tmp_path / "m.skops"
    args = ["train", *DATA, *FEATURES, "--model", "svm-ordinal"]
    result = runner.invoke(app, [*args, "--class-order", ORDER, "--out", str(out)])
    assert result.exit_code == 0, result.output
    pipe, _ = load_model(out)
    model = pipe.steps[-1][1]
    assert isinstance(model, OrdinalClassifier)
    assert model.classes_.tolist() == ORDER.split(",")
    assert len(model.estimators_) == 2
    # predict writes the levels and one probability per level, in their order.
    import cv2

    from featcls import load_builtin

    folder = tmp_path / "new"
    folder.mkdir()
    for i, image in enumerate(load_builtin("synthetic", n_samples=12).X["image"]):
        cv2.imwrite(str(folder / f"{i}.png"), np.asarray(image))
    csv = tmp_path / "p.csv"
    args = ["predict", str(out), "--data", str(folder), "--out", str(csv)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(csv)
    probabilities = [c for c in table.columns if c.startswith("p_")]
    assert probabilities == [f"p_{c}" for c in ORDER.split(",")]
    assert set(table["prediction"]) <= set(ORDER.split(","))
    assert np.allclose(table[probabilities].sum(axis=1), 1.0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--models", "svm-ordinal"],
            "svm-ordinal learns ordered classes: give their order, --class-order "
            "sorted",
        ),
        (
            ["--models", "svm", "--class-order", "sorted"],
            "--class-order applies to the ordinal models (svm-ordinal, "
            "xgboost-ordinal, logreg-ordinal); add one to --models.",
        ),
        (
            ["--models", "svm-ordinal", "--class-order", "unilamellar,uncertain"],
            "--class-order does not list the class(es) 'multilamellar' of the labels",
        ),
        (
            ["--models", "svm-ordinal", "--class-order", f"{ORDER},huge"],
            "--class-order names 'huge', not a class of the labels",
        ),
        (
            ["--models", "svm-ordinal", "--class-order", "unilamellar,unilamellar"],
            "--class-order lists every class once",
        ),
    ],
)
def test_an_order_that_cannot_be_followed_stops_with_one_line(tmp_path, args, message):
    result = runner.invoke(
        app, ["compare", *DATA, *FEATURES, *args, "--out", str(tmp_path / "o")]
    )
    assert result.exit_code != 0
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "o" / "results.json").exists()


def test_the_library_refuses_an_ordinal_model_without_its_order():
    with pytest.raises(ValueError, match="'svm-ordinal' learns ordered classes"):
        build_model("svm-ordinal")
    models = build_models("svm,xgboost-ordinal", order="sorted", search=True)
    ordinal = models["xgboost-ordinal"]
    # The inner search tunes the binary models inside the ordinal one.
    assert isinstance(ordinal.estimator, OrdinalClassifier)
    assert set(ordinal.param_grid) == {"estimator__clf__max_depth"}


def test_sorted_numbers_in_folder_names_are_not_sorted_as_text(tmp_path):
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    for grade in ("1", "2", "10"):
        (tmp_path / "grades" / grade).mkdir(parents=True)
        for i in range(6):
            image = rng.integers(0, 255, size=(24, 24), dtype=np.uint8)
            cv2.imwrite(str(tmp_path / "grades" / grade / f"{i}.png"), image)
    args = ["compare", "--data", str(tmp_path / "grades"), "--features", "intensity"]
    args += ["--models", "svm-ordinal", "--folds", "2", "--out", str(tmp_path / "o")]
    result = runner.invoke(app, [*args, "--class-order", "sorted"])
    assert result.exit_code != 0
    assert (
        "--class-order sorted would sort these labels as text, not as the numbers "
        "they are; give the order: --class-order 1,2,10."
    ) in " ".join(result.output.split())
    result = runner.invoke(app, [*args, "--class-order", "1,2,10"])
    assert result.exit_code == 0, result.output
