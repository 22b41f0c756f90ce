"""The command line, called through Typer's CliRunner on synthetic data."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from featcls.cli import app
from featcls.data import make_synthetic, save_folder

runner = CliRunner()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    data = make_synthetic(40, image_size=48, random_state=3)
    save_folder(data, root / "images", masks_root=root / "masks")
    return root


def test_help_documents_every_option():
    result = runner.invoke(app, ["extract", "--help"])
    assert result.exit_code == 0
    for option in (
        "--data",
        "--manifest",
        "--dataset",
        "--out",
        "--cache-dir",
        "--n-jobs",
        "--on-error",
        "--features",
        "--masks",
    ):
        assert option in result.output


def test_extract_builtin_synthetic_to_parquet(tmp_path):
    out = tmp_path / "f.parquet"
    result = runner.invoke(
        app,
        [
            "extract",
            "--n-samples",
            "30",
            "--image-size",
            "48",
            "--features",
            "shape,intensity",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out)
    assert list(table.columns[:3]) == ["path", "label", "mask_source"]
    assert len(table) == 30
    assert (table["mask_source"] == "user").all()
    assert "shape__diameter" in table.columns and "lbp__r1_00" not in table.columns


def test_extract_folder_with_masks_to_csv_and_cache(folder, tmp_path):
    out = tmp_path / "f.csv"
    args = [
        "extract",
        "--data",
        str(folder / "images"),
        "--masks",
        str(folder / "masks"),
        "--features",
        "shape",
        "--out",
        str(out),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--n-jobs",
        "2",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert len(table) == 40
    assert set(table["label"]) == {"unilamellar", "multilamellar", "uncertain"}
    assert table["path"].str.endswith(".png").all()
    assert (table["mask_source"] == "user").all()
    assert list((tmp_path / "cache").glob("*/part-*.parquet"))
    again = runner.invoke(app, args)
    assert again.exit_code == 0
    pd.testing.assert_frame_equal(pd.read_csv(out), table)


def test_bad_file_fails_with_one_line_or_is_skipped(folder, tmp_path):
    import shutil

    root = tmp_path / "images"
    shutil.copytree(folder / "images", root)
    bad = next((root / "unilamellar").iterdir())
    bad.write_bytes(b"\x00\x01 not an image")
    out = tmp_path / "f.csv"
    result = runner.invoke(
        app, ["extract", "--data", str(root), "--features", "shape", "--out", str(out)]
    )
    assert result.exit_code == 1
    assert bad.name in result.output
    assert result.output.count("\n") <= 2
    skipped = runner.invoke(
        app,
        [
            "extract",
            "--data",
            str(root),
            "--features",
            "shape",
            "--out",
            str(out),
            "--on-error",
            "skip",
        ],
    )
    assert skipped.exit_code == 0, skipped.output
    assert len(pd.read_csv(out)) == 39
    assert "1 file(s) skipped" in skipped.output and bad.name in skipped.output


def test_missing_folder_and_bad_suffix_fail_clearly(tmp_path):
    result = runner.invoke(app, ["extract", "--data", str(tmp_path / "nope")])
    assert result.exit_code == 1 and "nope" in result.output
    result = runner.invoke(app, ["extract", "--out", str(tmp_path / "f.xlsx")])
    assert result.exit_code == 1 and ".parquet or .csv" in result.output
    result = runner.invoke(app, ["extract", "--features", "colour"])
    assert result.exit_code == 1 and "Unknown feature family 'colour'" in result.output


def test_datasets_lists_builtins_and_families():
    result = runner.invoke(app, ["datasets"])
    assert "synthetic" in result.output and "elpv" in result.output
    result = runner.invoke(app, ["datasets", "--features"])
    assert "haralick" in result.output and "52 features" in result.output


def test_the_model_options_and_listing_come_from_the_model_table():
    import typer.main

    from featcls.cli import Imbalance
    from featcls.models import IMBALANCE_STRATEGIES, MODEL_SPECS

    result = runner.invoke(app, ["datasets", "--models"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == len(MODEL_SPECS)
    for line, (name, spec) in zip(lines, MODEL_SPECS.items(), strict=True):
        assert line.split()[:2] == [name, spec.consumes]
        assert line.endswith(spec.description)
    options = {
        p.name: p for p in typer.main.get_command(app).commands["compare"].params
    }
    for consumes in ("features", "images"):
        names = [n for n, s in MODEL_SPECS.items() if s.consumes == consumes]
        assert ", ".join(names) in options["models"].help
    assert [e.value for e in Imbalance] == list(IMBALANCE_STRATEGIES)


def test_feature_values_match_library(tmp_path):
    from featcls import FeatureExtractor

    out = tmp_path / "f.parquet"
    runner.invoke(
        app,
        [
            "extract",
            "--n-samples",
            "30",
            "--image-size",
            "48",
            "--features",
            "moments",
            "--out",
            str(out),
        ],
    )
    table = pd.read_parquet(out)
    data = make_synthetic(30, image_size=48, random_state=0)
    expected = FeatureExtractor(families=["moments"]).fit_transform(data.X)
    np.testing.assert_allclose(table.iloc[:, 3:].to_numpy(), expected)


def test_version():
    from featcls import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"featcls {__version__}"


@pytest.mark.parametrize(
    ("error", "one_line"),
    [
        (ValueError("Cannot read image 'x.png': not a PNG file."), True),
        (FileNotFoundError("No such file: 'x.png'"), True),
        (TypeError("a bug in featcls"), False),
        (KeyError("a bug in featcls"), False),
        (AttributeError("a bug in featcls"), False),
    ],
)
def test_user_errors_are_one_line_and_bugs_keep_their_traceback(
    monkeypatch, tmp_path, error, one_line
):
    def load_builtin(*args, **kwargs):
        raise error

    monkeypatch.setattr("featcls.data.load_builtin", load_builtin)
    result = runner.invoke(app, ["extract", "-o", str(tmp_path / "f.csv")])
    assert result.exit_code == 1
    if one_line:
        assert result.output.strip() == f"featcls: error: {error.args[0]}"
    else:  # not turned into a line: the exception propagates with its traceback
        assert result.exception is error
        assert "featcls: error" not in result.output
