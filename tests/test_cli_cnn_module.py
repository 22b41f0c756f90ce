"""--cnn-module, --cnn-weights and fine-tuning through compare, train and predict."""

import json
import sys

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from featcls.cli import app
from featcls.data import make_synthetic, save_folder
from featcls.evaluation import ComparisonResult

runner = CliRunner()

NETS_SOURCE = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, in_channels, n_classes):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, n_classes)

    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).mean(dim=(2, 3)))


def make(in_channels, n_classes):
    return Net(in_channels, n_classes)
"""
CNN = ["--cnn-epochs", "1", "--cnn-size", "16"]


@pytest.fixture
def spec(tmp_path, monkeypatch):
    """``clinets_<id>:make``, importable from a folder on sys.path."""
    name = f"clinets_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(NETS_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield f"{name}:make"
    sys.modules.pop(name, None)


@pytest.fixture
def weights(tmp_path, spec):
    """A state dict of the spec's network for 3 classes (its head is replaced)."""
    import importlib

    module = importlib.import_module(spec.split(":")[0])
    path = tmp_path / "backbone.pt"
    torch.save(module.make(1, 5).state_dict(), path)
    return path


def test_compare_trains_your_network_from_a_weights_file(tmp_path, spec, weights):
    out = tmp_path / "out"
    args = [
        "compare",
        "--n-samples",
        "40",
        "--image-size",
        "32",
        "--folds",
        "2",
        "--features",
        "intensity",
        "--models",
        "logreg,cnn",
        *CNN,
        "--cnn-module",
        spec,
        "--cnn-weights",
        str(weights),
        "--cnn-freeze-epochs",
        "1",
        "--cnn-backbone-lr",
        "0.1",
        "--out",
        str(out),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    res = ComparisonResult.from_json(out / "results.json")
    assert res.errors().empty
    params = res.model_info["cnn"]["params"]
    assert params["module"] == spec and params["weights"] == str(weights)
    assert params["freeze_epochs"] == 1 and params["backbone_lr"] == 0.1
    assert "Your network" in res.model_info["cnn"]["description"]
    extras = res.extras["cnn"]
    assert len(extras) == 2 and extras[0]["architecture"] == spec
    assert len(extras[0]["weights_sha256"]) == 64
    assert extras[0]["gradcam"]  # Grad-CAM on the network's own last Conv2d
    assert "weights_sha256" in (out / "report.html").read_text(encoding="utf-8")
    assert f"--cnn-module {spec}" in res.command


def test_train_then_predict_needs_the_module_again(tmp_path, spec, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(
        app,
        ["train", "--model", "cnn", "--n-samples", "30", "--image-size", "32"]
        + [*CNN, "--cnn-module", spec],
    )
    assert result.exit_code == 0, result.output
    model = tmp_path / "model.pt"
    payload = torch.load(model, weights_only=True)
    assert payload["params"]["module"] == spec
    assert (
        payload["params"]["max_epochs"] == 1 and payload["params"]["input_size"] == 16
    )
    images = tmp_path / "unlabelled"
    save_folder(make_synthetic(5, image_size=32, random_state=2), images)
    out = tmp_path / "pred.csv"
    sys.modules.pop(spec.split(":")[0])
    predict = ["predict", str(model), "--data", str(images), "--out", str(out)]
    result = runner.invoke(app, predict)
    assert result.exit_code == 1
    assert f"--cnn-module {spec} on the command line" in result.output
    assert result.output.count("\n") == 1 and not out.exists()
    assert spec.split(":")[0] not in sys.modules  # the file named it: not imported
    result = runner.invoke(app, [*predict, "--cnn-module", spec])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cnn-module", "not a spec"], "--cnn-module: A network spec must be"),
        (["--cnn-weights", "missing.pt"], "--cnn-weights 'missing.pt' is not a file"),
        (["--cnn-freeze-epochs", "-1"], "--cnn-freeze-epochs must be 0 or more"),
        (["--cnn-backbone-lr", "0"], "--cnn-backbone-lr must be more than 0"),
    ],
)
def test_bad_cnn_options_stop_with_one_line(tmp_path, args, message):
    result = runner.invoke(
        app, ["train", "--model", "cnn", "--out", str(tmp_path / "m.pt"), *args]
    )
    assert result.exit_code == 1
    assert message in result.output and result.output.count("\n") == 1


def test_train_refuses_a_network_for_a_feature_model(tmp_path, spec):
    result = runner.invoke(
        app,
        ["train", "--model", "svm", "--out", str(tmp_path / "m.skops")]
        + ["--cnn-module", spec],
    )
    assert result.exit_code == 1
    assert "--model svm is fitted on hand-crafted features" in result.output


def test_the_options_are_in_the_help_of_every_command():
    for command in ("compare", "train"):
        result = runner.invoke(app, [command, "--help"], terminal_width=200)
        for option in (
            "--cnn-module",
            "--cnn-weights",
            "--cnn-freeze-epochs",
            "--cnn-backbone-lr",
            "--cnn-epochs",
            "--cnn-size",
        ):
            assert option in result.output, (command, option)
    result = runner.invoke(app, ["predict", "--help"], terminal_width=200)
    assert "--cnn-module" in result.output


def test_a_compare_config_file_sets_the_network(tmp_path, spec):
    config = tmp_path / "c.toml"
    config.write_text(
        f'models = ["cnn"]\ncnn_module = "{spec}"\ncnn_epochs = 1\ncnn_size = 16\n'
        'features = "intensity"\nfolds = 2\nn_samples = 30\nimage_size = 32\n'
    )
    out = tmp_path / "out"
    result = runner.invoke(app, ["compare", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 0, result.output
    info = json.loads((out / "results.json").read_text())["model_info"]
    assert info["cnn"]["params"]["module"] == spec
