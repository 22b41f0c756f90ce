"""--channel-files, --channel-names and channel views from the command line."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from featcls.cli import app
from featcls.evaluation import ComparisonResult
from tests._atlas import write_atlas

runner = CliRunner()

CHANNELS = [
    "--image-col",
    "Id",
    "--channel-files",
    "train/{Id}_{channel}.png",
    "--channel-names",
    "red,green,blue,yellow",
]


@pytest.fixture
def atlas(tmp_path):
    return write_atlas(tmp_path, n=6)


def _extract(csv, out, *extra):
    return runner.invoke(
        app,
        ["extract", "--manifest", str(csv), *CHANNELS, "--features", "intensity"]
        + ["--mask", "full", "-o", str(out), *extra],
    )


def test_extract_names_columns_after_the_channels(atlas, tmp_path):
    out = tmp_path / "f.csv"
    result = _extract(atlas, out, "--channels", "channels")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert {f"intensity__{s}_mean" for s in ("red", "green", "blue", "yellow")} <= set(
        table.columns
    )
    assert table["path"].iloc[0] == str(
        atlas.parent / "train" / "s0_{red,green,blue,yellow}.png"
    )


def test_a_view_keeps_only_the_named_channels(atlas, tmp_path):
    out = tmp_path / "f.csv"
    # Not in the view, so not needed.
    (atlas.parent / "train" / "s1_red.png").unlink()
    result = _extract(atlas, out, "--channels", "green,blue")
    assert result.exit_code == 0, result.output
    stains = {c.split("__")[1].split("_")[0] for c in pd.read_csv(out).columns[3:]}
    assert stains == {"green", "blue"}


def test_a_missing_channel_file_is_skipped_and_listed(atlas, tmp_path):
    (atlas.parent / "train" / "s1_red.png").unlink()
    out = tmp_path / "f.csv"
    failed = _extract(atlas, out)
    assert failed.exit_code == 1
    assert "'red' channel file" in failed.output and "--on-error skip" in failed.output
    result = _extract(atlas, out, "--on-error", "skip")
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == 5
    assert "1 file(s) skipped" in result.output and "s1_red.png" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--channels", "purple"], "Unknown channel(s) 'purple' in --channels purple"),
        (["--channel-names", "red,gray"], "The channel name 'gray'"),
    ],
)
def test_bad_channel_options_stop_with_one_line(atlas, tmp_path, args, message):
    result = _extract(atlas, tmp_path / "f.csv", *args)
    assert result.exit_code == 1
    assert message in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--channel-files", "{Id}_{channel}.png"], "give --manifest"),
        (["--channel-names", "red,green"], "give --channel-files too"),
        (["--channels", "green"], "--channels green names channels, but the data"),
    ],
)
def test_channel_options_without_channel_files(tmp_path, args, message):
    result = runner.invoke(
        app, ["extract", "--n-samples", "4", "-o", str(tmp_path / "f.csv"), *args]
    )
    assert result.exit_code == 1 and message in result.output


def test_compare_and_train_on_a_view(atlas, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["compare", "--manifest", str(atlas), *CHANNELS, "--channels", "green"]
        + ["--models", "logreg", "--features", "intensity", "--mask", "full"]
        + ["--folds", "2", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    res = ComparisonResult.from_json(out / "results.json")
    assert res.settings["features"]["channels"] == "green"
    assert res.dataset["meta"]["channels"] == "green"
    assert any(n.startswith("intensity__green_") for n in res.feature_names)
    for option in (
        "--channel-files 'train/{Id}_{channel}.png'",
        "--channel-names red,green,blue,yellow",
        "--channels green",
    ):
        assert option in res.command
    model = tmp_path / "m.skops"
    trained = runner.invoke(
        app,
        ["train", "--manifest", str(atlas), *CHANNELS, "--channels", "blue,green"]
        + ["--model", "logreg", "--features", "intensity", "--out", str(model)],
    )
    assert trained.exit_code == 0, trained.output
    assert model.is_file()


def test_a_config_file_may_name_channels(atlas, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('channels = "yellow"\nmodels = ["logreg"]\nfolds = 2\n')
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["compare", "--manifest", str(atlas), *CHANNELS, "--config", str(config)]
        + ["--features", "intensity", "--mask", "full", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    res = ComparisonResult.from_json(out / "results.json")
    assert res.settings["features"]["channels"] == "yellow"
