"""Hostile command lines and inputs to the featcls CLI, generated in tmp_path.

Every bad input (broken images, odd manifests and config files, impossible option
values, output paths that cannot be written) is made by the small corpus
functions below inside the test's ``tmp_path``; nothing binary is committed. Each
test pins what issue 13 asks of the command line: a run where nothing succeeded
does not exit 0; bad options stop with one ``featcls: error:`` line before any
work; messages use the command line's spelling; warnings are one line each;
decoder chatter never reaches the terminal; output files are never half-written.
"""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from typer.testing import CliRunner

from featcls.cli import app
from tests.hostile.corpus import png as _png
from tests.hostile.corpus import write as _write

runner = CliRunner()
FAST = ["--features", "shape", "--models", "logreg"]

# --------------------------------------------------------------------------------------
# The generated corpus


def _disk(seed: int, radius: int, size: int = 32) -> np.ndarray:
    """A uint8 grey image of a bright disk of ``radius`` px; seed varies the bytes."""
    yy, xx = np.mgrid[:size, :size]
    inside = (yy - size // 2) ** 2 + (xx - size // 2) ** 2 <= radius**2
    image = np.where(inside, 160 + seed % 60, 20 + seed % 15).astype(np.uint8)
    image[0, 0] = seed % 256
    return image


def _corpus(root: Path, counts: dict[str, int] | None = None) -> Path:
    """root/<class>/*.png: class 'a' small disks, 'b' large ones, 'c' medium."""
    counts = counts or {"a": 8, "b": 8}
    radius = {"a": 5, "b": 11, "c": 8}
    for label, n in counts.items():
        for i in range(n):
            image = _disk(i + 20 * ord(label), radius[label])
            _write(root / label / f"{i:02d}.png", _png(image))
    return root


def _manifest(root: Path, labels: list[str], **columns) -> Path:
    """A manifest of the images under ``root``, with the given labels."""
    paths = sorted(root.rglob("*.png"))
    table = pd.DataFrame(
        {"image": [str(p.relative_to(root)) for p in paths], "label": labels, **columns}
    )
    path = root / "manifest.csv"
    table.to_csv(path, index=False)
    return path


def _corrupt_jpeg() -> bytes:
    """A JPEG with 40 zeroed bytes in its entropy-coded data (libjpeg warns)."""
    rng = np.random.default_rng(0)
    ok, encoded = cv2.imencode(".jpg", (rng.random((48, 48, 3)) * 255).astype(np.uint8))
    data = bytearray(encoded.tobytes())
    middle = len(data) // 2
    data[middle : middle + 40] = bytes(40)
    return bytes(data)


def _png_with_bad_crc() -> bytes:
    """A PNG whose IDAT checksum does not match (libpng prints an error)."""
    data = bytearray(_png(_disk(2, 9, size=48)))
    start = data.find(b"IDAT")
    length = int.from_bytes(data[start - 4 : start], "big")
    data[start + 4 + length] ^= 0xFF
    return bytes(data)


def _one_error_line(result, *fragments: str) -> str:
    """The run stopped with exit 1 and exactly one ``featcls: error:`` line."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("featcls: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


class _Unfittable(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        raise RuntimeError("this model cannot be fitted")


# --------------------------------------------------------------------------------------
# A run where nothing succeeded does not exit 0


def test_cnn_epochs_zero_is_refused_before_any_work(tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["compare", "--data", str(_corpus(tmp_path / "d")), *FAST, "--folds", "2"]
        + ["--models", "logreg,cnn", "--cnn-epochs", "0", "--out", str(out)],
    )
    _one_error_line(result, "--cnn-epochs must be 1 or more. Got 0.")
    assert not out.exists()


def test_a_model_that_fails_on_every_fold_exits_1_after_writing_the_report(
    tmp_path, monkeypatch
):
    # No option can be checked for this: the failure only shows when fitting.
    monkeypatch.setattr(
        "featcls.models._registry.build_model", lambda name, **kw: _Unfittable()
    )
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["compare", "--data", str(_corpus(tmp_path / "d")), *FAST, "--folds", "2"]
        + ["--out", str(out)],
    )
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert (out / "report.html").is_file()  # the tracebacks are there
    assert (
        "featcls: error: logreg failed on every fold (RuntimeError: this model "
        f"cannot be fitted); the tracebacks are in {out / 'report.html'}."
    ) in result.output


def test_a_dataset_of_one_class_is_refused_before_any_fit(tmp_path):
    root = _corpus(tmp_path / "d", {"a": 6})
    manifest = _manifest(root, ["a"] * 6)
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["compare", "--manifest", str(manifest), *FAST, "--folds", "2"]
        + ["--out", str(out)],
    )
    _one_error_line(result, "needs at least two classes", "only 'a' (6 samples)")
    assert not out.exists()


# --------------------------------------------------------------------------------------
# train: the format follows the model, checked before anything is loaded or fitted


@pytest.mark.parametrize(
    ("model", "name", "expected"),
    [("svm", "m.pt", "use a .skops file name"), ("cnn", "m.skops", "use a .pt file")],
)
def test_train_refuses_a_suffix_that_does_not_fit_the_model(
    tmp_path, model, name, expected
):
    out = tmp_path / name
    # A missing --data folder would stop the run when loading: the suffix is
    # checked before that.
    result = runner.invoke(
        app,
        ["train", "--model", model, "--data", str(tmp_path / "nope")]
        + ["--out", str(out)],
    )
    line = _one_error_line(result, expected)
    assert "nope" not in line and not out.exists()


def test_train_ensemble_then_predict(tmp_path):
    model = tmp_path / "ensemble.skops"
    root = _corpus(tmp_path / "d")
    result = runner.invoke(
        app,
        ["train", "--model", "ensemble", "--data", str(root), "--features", "shape"]
        + ["--out", str(model)],
    )
    assert result.exit_code == 0, result.output
    out = tmp_path / "pred.csv"
    result = runner.invoke(
        app, ["predict", str(model), "--data", str(root), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    pred = pd.read_csv(out)
    assert len(pred) == 16 and set(pred["prediction"]) <= {"a", "b"}
    assert pred[["p_a", "p_b"]].sum(axis=1).round(6).eq(1).all()


# --------------------------------------------------------------------------------------
# Bad options: one clear line each, before any work


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            'imbalance = "smoot"\n',
            "setting 'imbalance' in '{config}' must be one of class_weight, smote, "
            "oversample, undersample, none; got 'smoot'.",
        ),
        ('folds = "three"\n', "setting 'folds' in '{config}': "),
        ("folds = 2.5\n", "setting 'folds' in '{config}': "),
        ("search = 3\n", "setting 'search' in '{config}': "),
        ("compare = 3\n", "[compare] must be a table of settings"),
        ("[compare.models]\nsvm = 1\n", "setting 'models' in '{config}' is a table"),
        (None, "--config '{config}' is a folder; give a TOML file."),
        (b"\xff\xfe folds = 2", "cannot read config file '{config}'"),
    ],
)
def test_config_with_a_bad_value_is_one_line(tmp_path, content, expected):
    config = tmp_path / "cmp.toml"
    if content is None:
        config.mkdir()
    elif isinstance(content, bytes):
        config.write_bytes(content)
    else:
        config.write_text(content)
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["compare", "--config", str(config), "--n-samples", "20", "-o", str(out)]
    )
    _one_error_line(result, expected.format(config=config))
    assert not out.exists()


def test_out_that_cannot_be_written_is_refused_before_any_work(tmp_path):
    missing = str(tmp_path / "nope")  # loading it would fail: the --out check is first
    afile = _write(tmp_path / "afile", b"keep me")
    result = runner.invoke(app, ["compare", "--data", missing, "--out", str(afile)])
    _one_error_line(result, f"--out '{afile}' is a file; the results go into a folder")
    result = runner.invoke(
        app, ["compare", "--data", missing, "--out", str(afile / "sub")]
    )
    _one_error_line(result, f"'{afile}' is a file, so the folder cannot be made")
    assert afile.read_bytes() == b"keep me"
    folder = tmp_path / "table.csv"
    folder.mkdir()
    result = runner.invoke(app, ["extract", "--data", missing, "--out", str(folder)])
    _one_error_line(result, f"--out '{folder}' is a folder; give a file name.")
    result = runner.invoke(
        app,
        ["predict", str(tmp_path / "m.skops"), "--data", missing, "-o", str(folder)],
    )
    _one_error_line(result, f"--out '{folder}' is a folder; give a file name.")
    result = runner.invoke(
        app, ["report", str(tmp_path / "results.json"), "-o", str(folder)]
    )
    _one_error_line(result, f"--out '{folder}' is a folder; give a file name.")


@pytest.mark.parametrize("n_jobs", ["0", "-3"])
@pytest.mark.parametrize("command", ["extract", "compare", "train", "predict"])
def test_n_jobs_zero_and_below_minus_one_are_refused_alike(tmp_path, command, n_jobs):
    args = [command, "--data", str(tmp_path / "nope"), "--n-jobs", n_jobs]
    if command == "predict":
        args.insert(1, str(tmp_path / "m.skops"))
    result = runner.invoke(app, args)
    _one_error_line(
        result,
        "--n-jobs must be a number of worker processes (1 or more), or -1 for all "
        f"cores. Got {n_jobs}.",
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--dataset", "synthetic", "--target", "foo"],
            "--target does not apply to --dataset synthetic, which has one target; "
            "built-in datasets with a choice of targets: elpv.",
        ),
        (["--target", "foo"], "--target does not apply to --dataset synthetic"),
        (
            ["--data", "somewhere", "--target", "foo"],
            "--target applies to a built-in --dataset (elpv); with --data the labels "
            "come from the class folders.",
        ),
        (["--dataset", "mnist"], "--dataset 'mnist' is not a built-in dataset"),
    ],
)
@pytest.mark.parametrize("command", ["extract", "compare"])
def test_dataset_options_that_do_not_fit_are_one_line(
    tmp_path, command, args, expected
):
    result = runner.invoke(app, [command, *args, "--out", str(tmp_path / "o.csv")])
    _one_error_line(result, expected)


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--folds", "1", "--folds must be 2 or more. Got 1."),
        ("--repeats", "0", "--repeats must be 1 or more. Got 0."),
        ("--cnn-size", "4", "--cnn-size must be 8 or more. Got 4."),
        ("--image-size", "8", "--image-size must be 16 or more. Got 8."),
    ],
)
def test_integer_options_out_of_range_are_one_line(tmp_path, option, value, expected):
    out = tmp_path / "out"
    result = runner.invoke(app, ["compare", option, value, "--out", str(out)])
    _one_error_line(result, expected)
    assert not out.exists()


def test_predefined_fold_values_are_quoted_as_text(tmp_path):
    root = _corpus(tmp_path / "d", {"a": 4, "b": 4})
    manifest = _manifest(root, ["a"] * 4 + ["b"] * 4, site=[0, 1, 0, 1.5, 0, 1, 0, 1])
    result = runner.invoke(
        app,
        ["compare", "--manifest", str(manifest), "--fold-col", "site", *FAST]
        + ["--out", str(tmp_path / "out")],
    )
    line = _one_error_line(result, "got '1.5' for")
    assert "np." not in line


# --------------------------------------------------------------------------------------
# What the user reads: the command line's spelling, class names as text


def test_unreadable_file_suggests_the_option_not_the_parameter(tmp_path):
    root = _corpus(tmp_path / "d")
    _write(root / "a" / "broken.png", b"\x00\x01 not an image")
    result = runner.invoke(
        app, ["extract", "--data", str(root), "-o", str(tmp_path / "f.csv")]
    )
    line = _one_error_line(result, "broken.png", "Or pass --on-error skip to skip")
    assert "on_error" not in line


def test_nothing_usable_names_the_option(tmp_path):
    root = tmp_path / "d"
    for label in "ab":
        _write(root / label / "x.png", b"junk")
    result = runner.invoke(
        app,
        ["extract", "--data", str(root), "--on-error", "skip"]
        + ["-o", str(tmp_path / "f.csv")],
    )
    line = _one_error_line(result, "No usable images", "(--on-error skip)")
    assert "on_error" not in line


def test_rare_class_suggests_folds_and_drop_rare_options(tmp_path):
    root = _corpus(tmp_path / "d", {"a": 8, "b": 8, "c": 2})
    result = runner.invoke(
        app,
        ["compare", "--data", str(root), *FAST, "--folds", "3"]
        + ["--out", str(tmp_path / "out")],
    )
    line = _one_error_line(
        result,
        "Class(es) 'c' (2) have fewer members than the 3 folds",
        "use 2 folds or fewer (--folds 2), or leave those classes out with "
        "--drop-rare.",
    )
    assert "drop_rare_classes" not in line and "cv=" not in line


def test_colour_policy_on_grey_images_suggests_the_option(tmp_path):
    root = _corpus(tmp_path / "d")
    result = runner.invoke(
        app,
        ["extract", "--data", str(root), "--features", "shape", "--channels", "rgb"]
        + ["-o", str(tmp_path / "f.csv")],
    )
    line = _one_error_line(
        result, "--channels rgb needs an RGB or RGBA image", "Use --channels gray or"
    )
    assert "channels='" not in line


def test_dropped_rare_classes_are_printed_as_text(tmp_path):
    root = _corpus(tmp_path / "d", {"a": 8, "b": 8, "c": 2})
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["compare", "--data", str(root), *FAST, "--folds", "3", "--drop-rare"]
        + ["--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "left out rare classes (--drop-rare): 'c'\n" in result.output
    assert "np.str_" not in result.output
    data = json.loads((out / "results.json").read_text())
    assert data["settings"]["dropped_classes"] == ["c"]


def test_compare_lists_skipped_files_as_extract_does(tmp_path):
    root = _corpus(tmp_path / "d")
    bad = _write(root / "b" / "broken.png", b"\x00\x01 not an image")
    args = ["--data", str(root), "--features", "shape", "--on-error", "skip"]
    extracted = runner.invoke(app, ["extract", *args, "-o", str(tmp_path / "f.csv")])
    compared = runner.invoke(
        app,
        ["compare", *args, "--models", "logreg", "--folds", "2"]
        + ["--out", str(tmp_path / "out")],
    )
    for result in (extracted, compared):
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        at = lines.index("1 file(s) skipped:")
        assert lines[at + 1].startswith(f"  {bad}: Cannot read image"), lines[at + 1]


# --------------------------------------------------------------------------------------
# Warnings are one line each; decoder chatter never reaches the terminal


def test_a_warning_is_one_featcls_line(tmp_path):
    root = _corpus(tmp_path / "d")
    masks = tmp_path / "m"
    for image in root.rglob("*.png"):
        mask = (_disk(0, 6) > 100).astype(np.uint8) * 255
        _write(masks / image.relative_to(root), _png(mask))
    empty = masks / "a" / "03.png"
    _write(empty, _png(np.zeros((32, 32), np.uint8)))
    # A real process: under pytest, warnings would be recorded, not printed.
    run = subprocess.run(
        [sys.executable, "-m", "featcls.cli", "extract", "--data", str(root)]
        + ["--masks", str(masks), "--features", "shape"]
        + ["-o", str(tmp_path / "f.csv")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    warned = [line for line in run.stderr.splitlines() if "mask is empty" in line]
    assert len(warned) == 1, run.stderr
    assert warned[0].startswith("featcls: warning: ") and "03.png" in warned[0]
    assert "FeatureWarning" not in run.stderr and ".py:" not in run.stderr
    assert run.stderr.count("\n") == 2, run.stderr  # the warning and the summary


def test_decoder_chatter_never_reaches_the_terminal(tmp_path, capfd):
    root = _corpus(tmp_path / "d")
    jpeg = _write(root / "a" / "damaged.jpg", _corrupt_jpeg())
    png = _write(root / "b" / "bad_crc.png", _png_with_bad_crc())
    result = runner.invoke(
        app,
        ["extract", "--data", str(root), "--features", "shape", "--on-error", "skip"]
        + ["-o", str(tmp_path / "f.csv")],
    )
    assert result.exit_code == 0, result.output
    # Both are featcls's own skip entries, naming the file and the problem ...
    assert f"  {jpeg}: Cannot read image" in result.output
    assert f"  {png}: Cannot read image" in result.output
    assert len(pd.read_csv(tmp_path / "f.csv")) == 16
    # ... and nothing the C decoders print gets past featcls.
    err = capfd.readouterr().err
    assert "libpng" not in err and "Corrupt JPEG" not in err, err


# --------------------------------------------------------------------------------------
# Output files are written whole or not at all


def _dies_halfway(monkeypatch, cls, method: str) -> None:
    """Make ``cls.method(path, ...)`` write part of a file, then die."""

    def write_part_then_die(self, path, *args, **kwargs):
        Path(path).write_bytes(b"half a file")
        raise RuntimeError("killed while writing")

    monkeypatch.setattr(cls, method, write_part_then_die)


def _dies_after_the_first_row_group(monkeypatch) -> None:
    """Make the Parquet writer die once it has begun the file (one row group in)."""
    import pyarrow.parquet as pq

    write_table = pq.ParquetWriter.write_table

    def write_then_die(self, *args, **kwargs):
        write_table(self, *args, **kwargs)
        raise RuntimeError("killed while writing")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", write_then_die)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_extract_killed_while_writing_leaves_the_old_table(
    tmp_path, monkeypatch, suffix
):
    root = _corpus(tmp_path / "d")
    out = _write(tmp_path / "out" / f"features{suffix}", b"the previous table")
    if suffix == ".csv":  # CSV lines are appended with to_csv, Parquet row groups
        _dies_halfway(monkeypatch, pd.DataFrame, "to_csv")  # go through the writer
    else:
        _dies_after_the_first_row_group(monkeypatch)
    result = runner.invoke(
        app, ["extract", "--data", str(root), "--features", "shape", "-o", str(out)]
    )
    assert isinstance(result.exception, RuntimeError)
    assert out.read_bytes() == b"the previous table"
    # No temporary file; the finished features are kept to resume from.
    names = sorted(p.name for p in out.parent.iterdir())
    assert names == sorted([out.name, f".{out.name}.partial"])


def test_predict_killed_while_writing_leaves_no_half_written_csv(tmp_path, monkeypatch):
    root = _corpus(tmp_path / "d")
    model = tmp_path / "m.skops"
    result = runner.invoke(
        app,
        [
            "train",
            "--data",
            str(root),
            *FAST[:2],
            "--model",
            "logreg",
            "-o",
            str(model),
        ],
    )
    assert result.exit_code == 0, result.output
    out = tmp_path / "out" / "predictions.csv"
    _dies_halfway(monkeypatch, pd.DataFrame, "to_csv")
    result = runner.invoke(
        app, ["predict", str(model), "--data", str(root), "-o", str(out)]
    )
    assert isinstance(result.exception, RuntimeError)
    assert not out.exists() and list(out.parent.glob("*")) == []
