"""featcls compare / report / train / predict through Typer's CliRunner."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from featcls.cli import app
from featcls.data import make_synthetic, save_folder
from featcls.evaluation import ComparisonResult

runner = CliRunner()
SMALL = [
    "--n-samples",
    "100",
    "--image-size",
    "48",
    "--folds",
    "3",
    "--features",
    "shape,intensity,radial",
]


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "out"
    result = runner.invoke(
        app,
        [
            "compare",
            *SMALL,
            "--models",
            "logreg,xgboost",
            "--out",
            str(out),
            "--seed",
            "3",
        ],
    )
    return out, result


def test_compare_writes_report_results_and_prints_leaderboard(compared):
    out, result = compared
    assert result.exit_code == 0, result.output
    for name in ("report.html", "results.json", "fold_scores.csv", "leaderboard.csv"):
        assert (out / name).is_file(), name
    assert "f1_macro" in result.output and "logreg" in result.output
    res = ComparisonResult.from_json(out / "results.json")
    assert res.models == ["logreg", "xgboost"]
    assert res.settings["cv"] == 3 and res.settings["random_state"] == 3
    assert res.command == (
        "featcls compare --n-samples 100 --image-size 48 --models "
        "logreg,xgboost --features shape,intensity,radial --folds 3 "
        f"--seed 3 --out {out}"
    )
    folds = pd.read_csv(out / "fold_scores.csv")
    assert len(folds) == 6


def test_the_recorded_command_keeps_a_given_default_that_matters(tmp_path):
    # --channels gray given makes the CNNs take the grey image: the recorded
    # command must say so, although "gray" is the option's default.
    out = tmp_path / "out"
    args = ["compare", *SMALL, "--models", "logreg", "--channels", "gray"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    command = ComparisonResult.from_json(out / "results.json").command
    assert " --channels gray " in f"{command} "
    assert "--mask" not in command  # other defaults stay out


def test_report_rerenders_without_refitting(compared, tmp_path):
    out, _ = compared
    target = tmp_path / "again.html"
    result = runner.invoke(
        app, ["report", str(out / "results.json"), "--out", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert "leaderboard" in target.read_text()
    missing = runner.invoke(app, ["report", str(tmp_path / "nope.json")])
    assert missing.exit_code == 1 and "No results file" in missing.output


def test_config_file_sets_options_and_command_line_wins(tmp_path):
    config = tmp_path / "cmp.toml"
    config.write_text(
        'models = ["logreg"]\nfolds = 2\nn-samples = 100\nimage-size = 40\n'
        'features = ["shape"]\nseed = 5\n'
    )
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["compare", "--config", str(config), "--folds", "3", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads((out / "results.json").read_text())
    assert data["models"] == ["logreg"]
    assert data["settings"]["cv"] == 3  # the command line wins
    assert data["settings"]["random_state"] == 5
    bad = tmp_path / "bad.toml"
    bad.write_text("colour = 'blue'\n")
    result = runner.invoke(app, ["compare", "--config", str(bad)])
    assert result.exit_code == 1 and "unknown setting 'colour'" in result.output


def test_compare_fails_with_one_clear_line(tmp_path):
    result = runner.invoke(
        app, ["compare", "--n-samples", "40", "--folds", "10", "--out", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "fewer members than the 10 folds" in result.output
    assert len(result.output.strip().splitlines()) == 1
    result = runner.invoke(
        app, ["compare", "--models", "svm,deep-forest", "--out", str(tmp_path)]
    )
    assert result.exit_code == 1 and "Unknown model 'deep-forest'" in result.output


def test_train_then_predict_an_unlabelled_folder(tmp_path):
    model = tmp_path / "model.skops"
    result = runner.invoke(
        app,
        [
            "train",
            "--model",
            "logreg",
            "--n-samples",
            "60",
            "--image-size",
            "48",
            "--features",
            "shape,intensity",
            "--out",
            str(model),
        ],
    )
    assert result.exit_code == 0, result.output
    images = tmp_path / "unlabelled"
    data = make_synthetic(12, image_size=48, random_state=9)
    save_folder(data, images)
    out = tmp_path / "pred.csv"
    result = runner.invoke(
        app, ["predict", str(model), "--data", str(images), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    pred = pd.read_csv(out)
    assert len(pred) == 12
    assert {
        "path",
        "prediction",
        "p_multilamellar",
        "p_uncertain",
        "p_unilamellar",
    } <= set(pred.columns)
    assert pred.filter(like="p_").sum(axis=1).round(6).eq(1).all()
    bad = tmp_path / "bad.skops"
    bad.write_bytes(b"junk")
    result = runner.invoke(app, ["predict", str(bad), "--data", str(images)])
    assert result.exit_code == 1 and "not a featcls model file" in result.output


def test_compare_cnn_and_classical_on_the_same_folds(tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "compare",
            *SMALL,
            "--models",
            "logreg,cnn",
            "--cnn-epochs",
            "1",
            "--cnn-size",
            "24",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    res = ComparisonResult.from_json(out / "results.json")
    assert res.model_info["cnn"]["input"] == "images"
    folds = {
        m: sorted(
            (r.repeat, r.fold, tuple(r.test_index)) for r in res.records if r.model == m
        )
        for m in res.models
    }
    assert folds["logreg"] == folds["cnn"]
    assert res.errors().empty
    assert "history" in res.extras["cnn"][0]


def test_train_and_predict_with_a_cnn(tmp_path, monkeypatch):
    # Without --out, a CNN goes to model.pt (torch format), not model.skops.
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(
        app, ["train", "--model", "cnn", "--n-samples", "40", "--image-size", "32"]
    )
    assert result.exit_code == 0, result.output
    model = tmp_path / "model.pt"
    assert model.is_file() and not (tmp_path / "model.skops").exists()
    images = tmp_path / "unlabelled"
    save_folder(make_synthetic(6, image_size=32, random_state=2), images)
    out = tmp_path / "pred.csv"
    result = runner.invoke(
        app, ["predict", str(model), "--data", str(images), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == 6


def test_compare_on_predefined_folds_from_a_manifest_column(tmp_path):
    data = make_synthetic(60, image_size=48, random_state=1)
    save_folder(data, tmp_path / "images")
    paths = sorted((tmp_path / "images").rglob("*.png"))
    fold = [i % 3 for i in range(len(paths))]
    fold[0] = -1  # always in training
    manifest = pd.DataFrame(
        {
            "image": [str(p.relative_to(tmp_path)) for p in paths],
            "label": [p.parent.name for p in paths],
            "site": [str(f) for f in fold],
        }
    )
    manifest.to_csv(tmp_path / "m.csv", index=False)
    base = ["compare", "--manifest", str(tmp_path / "m.csv"), "--models", "logreg"]
    base += ["--features", "shape,intensity", "--out", str(tmp_path / "out")]
    result = runner.invoke(app, [*base, "--fold-col", "site"])
    assert result.exit_code == 0, result.output
    assert "3 predefined folds ('site')" in result.output
    res = ComparisonResult.from_json(tmp_path / "out" / "results.json")
    assert res.settings["cv"] == "3 given splits"
    assert "--fold-col site" in res.command
    assert len(res.y) == len(paths)  # samples keep the manifest's row order
    for record in res.records:  # split k tests exactly the rows of fold number k
        expected = {i for i, f in enumerate(fold) if f == record.fold}
        assert set(record.test_index) == expected
    assert 0 not in {i for r in res.records for i in r.test_index}

    manifest.loc[5, "site"] = "north"
    manifest.to_csv(tmp_path / "m.csv", index=False)
    result = runner.invoke(app, [*base, "--fold-col", "site"])
    assert result.exit_code == 1
    assert "fold numbers must be integers >= -1" in result.output
    assert "'north'" in result.output and paths[5].name in result.output
    result = runner.invoke(app, [*base, "--fold-col", "plate"])
    assert result.exit_code == 1 and "no column 'plate'" in result.output
    result = runner.invoke(app, [*base, "--fold-col", "site", "--repeats", "2"])
    assert result.exit_code == 1 and "--repeats does not apply" in result.output
    result = runner.invoke(app, [*base, "--fold-col", "site", "--drop-rare"])
    assert result.exit_code == 1 and "--drop-rare applies to k-fold" in result.output
    manifest["site"] = ["0"] * len(paths)
    manifest.to_csv(tmp_path / "m.csv", index=False)
    result = runner.invoke(app, [*base, "--fold-col", "site"])
    assert result.exit_code == 1 and "names 1 test fold(s)" in result.output


def test_compare_with_learning_curves_prints_the_verdict_last(tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "compare",
            *SMALL,
            "--models",
            "logreg",
            "--train-sizes",
            "0.5,1",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    saved = ComparisonResult.from_json(out / "results.json")
    assert lines[-1] == saved.verdict()
    assert lines[-1].startswith("There is no answer to whether a CNN does better")
    assert saved.settings["train_sizes"] == [0.5, 1.0]
    assert {r.fraction for r in saved.curve_records} == {0.5}
    assert "Learning curves" in (out / "report.html").read_text()


@pytest.mark.parametrize("value", ["0,1", "half", "1.5", ""])
def test_bad_train_sizes_stop_with_one_line(tmp_path, value):
    result = runner.invoke(
        app, ["compare", "--train-sizes", value, "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "featcls: error: --train-sizes must be fractions of each fold's training "
        f"part in (0, 1], separated by commas (e.g. 0.1,0.25,0.5,1). Got {value!r}."
    ]
    assert not (tmp_path / "o").exists()
