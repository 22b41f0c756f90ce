"""--features ...,embedding: a network's features through compare, extract and train."""

import sys

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from featcls.cli import app
from featcls.data import make_synthetic, save_folder
from featcls.evaluation import ComparisonResult
from featcls.models._cnn_nets import build_network

runner = CliRunner()

DATA = ["--n-samples", "30", "--image-size", "32"]
NETS_SOURCE = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, in_channels, n_classes):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 5, 3, padding=1)
        self.fc = nn.Linear(5, n_classes)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3)))


def make(in_channels, n_classes):
    return Net(in_channels, n_classes)
"""


@pytest.fixture
def lipnet_weights(tmp_path):
    """A plain state dict of the built-in LipNet for grey images."""
    net = build_network("lipnet", 1, 2, generator=torch.Generator().manual_seed(0))
    path = tmp_path / "backbone.pt"
    torch.save(net.state_dict(), path)
    return path


@pytest.fixture
def spec(tmp_path, monkeypatch):
    """``embnets_<id>:make``, importable from a folder on sys.path."""
    name = f"embnets_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(NETS_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield f"{name}:make"
    sys.modules.pop(name, None)


def test_compare_runs_an_svm_on_shape_and_embedding_features(tmp_path, lipnet_weights):
    out = tmp_path / "out"
    args = ["compare", *DATA, "--folds", "2", "--models", "svm"]
    args += ["--features", "shape,embedding"]
    args += ["--embedding-weights", str(lipnet_weights)]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    res = ComparisonResult.from_json(out / "results.json")
    assert res.errors().empty
    deep = [n for n in res.feature_names if n.startswith("embedding__")]
    assert deep == [f"embedding__{i:03d}" for i in range(256)]  # LipNet's width
    assert any(n.startswith("shape__") for n in res.feature_names)
    assert f"--embedding-weights {lipnet_weights}" in res.command
    assert "svm" in res.to_frame()["model"].tolist()


def test_a_model_file_of_featcls_train_is_the_backbone_of_extract(tmp_path):
    model = tmp_path / "cnn.pt"
    train = ["train", "--model", "cnn", *DATA, "--cnn-epochs", "1", "--cnn-size", "16"]
    result = runner.invoke(app, [*train, "--out", str(model)])
    assert result.exit_code == 0, result.output
    table = tmp_path / "features.parquet"
    args = ["extract", *DATA, "--features", "embedding"]
    result = runner.invoke(
        app, [*args, "--embedding-weights", str(model), "--out", str(table)]
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(table)
    deep = frame.filter(like="embedding__")
    assert deep.shape == (30, 256) and np.isfinite(deep.to_numpy()).all()


def test_your_own_module_with_weights_and_a_layer(tmp_path, spec):
    import importlib

    net = importlib.import_module(spec.split(":")[0]).make(1, 4)
    weights = tmp_path / "own.pt"
    torch.save(net.state_dict(), weights)
    table = tmp_path / "features.csv"
    args = ["extract", *DATA, "--features", "intensity,embedding"]
    args += ["--embedding-module", spec, "--embedding-weights", str(weights)]
    result = runner.invoke(app, [*args, "--embedding-layer", "conv", "--out", table])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(table)
    assert list(frame.filter(like="embedding__").columns) == [
        f"embedding__{i}" for i in range(5)
    ]


def test_train_and_predict_an_svm_on_embedding_features(tmp_path, lipnet_weights):
    model = tmp_path / "svm.skops"
    args = ["train", "--model", "svm", *DATA, "--features", "shape,embedding"]
    args += ["--embedding-weights", str(lipnet_weights), "--out", str(model)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    images = tmp_path / "unlabelled"
    save_folder(make_synthetic(5, image_size=32, random_state=2), images)
    out = tmp_path / "pred.csv"
    predict = ["predict", str(model), "--data", str(images), "--out", str(out)]
    result = runner.invoke(app, predict)
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--features", "shape,embedding"], "--features embedding needs a network"),
        (
            ["--features", "shape", "--embedding-weights", "{weights}"],
            "--embedding-weights configures the 'embedding' feature family",
        ),
        (
            ["--features", "embedding", "--embedding-weights", "missing.pt"],
            "--embedding-weights 'missing.pt' is not a file",
        ),
        (
            ["--features", "embedding", "--embedding-weights", "{other}"],
            "fits none of the network's",
        ),
        (
            ["--features", "embedding", "--embedding-module", "not a spec"],
            "--embedding-module: A network spec must be",
        ),
        (
            ["--features", "embedding", "--embedding-weights", "{weights}"]
            + ["--embedding-layer", "trunk.99"],
            "names no layer of the network: 'trunk.99'",
        ),
    ],
)
def test_bad_embedding_options_stop_with_one_line(
    tmp_path, lipnet_weights, args, message
):
    other = tmp_path / "other.pt"
    torch.save({"encoder.block.weight": torch.zeros(3, 3)}, other)
    args = [a.format(weights=lipnet_weights, other=other) for a in args]
    out = tmp_path / "f.parquet"
    result = runner.invoke(app, ["extract", *DATA, *args, "--out", str(out)])
    assert result.exit_code == 1
    assert message in result.output and result.output.count("\n") == 1
    assert not out.exists()


def test_without_torch_the_error_is_one_line(tmp_path, lipnet_weights, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    args = ["extract", *DATA, "--features", "embedding"]
    args += ["--embedding-weights", str(lipnet_weights), "--out", tmp_path / "f.csv"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "pip install 'featcls[cnn]'" in result.output
    assert result.output.count("\n") == 1


def test_the_options_are_in_the_help_of_every_command():
    for command in ("compare", "extract", "train"):
        result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        for option in (
            "--embedding-weights",
            "--embedding-module",
            "--embedding-architecture",
            "--embedding-layer",
        ):
            assert option in result.output, (command, option)
