"""SIGKILL featcls extract / compare mid-run; the same command again resumes it."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from featcls.evaluation import ComparisonResult

TIMES = ["fit_time", "predict_time", "fit_memory"]


def _command(*args) -> list[str]:
    return [sys.executable, "-m", "featcls.cli", *args]


def _run(*args, cwd) -> subprocess.CompletedProcess:
    done = subprocess.run(
        _command(*args), cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _kill_when(args, cwd, ready, timeout=300) -> None:
    """Start the command; SIGKILL it as soon as ``ready()`` holds."""
    proc = subprocess.Popen(
        _command(*args), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    start = time.monotonic()
    try:
        while not ready():
            if proc.poll() is not None:
                pytest.fail(
                    "the command finished before it could be killed: "
                    + proc.stderr.read().decode()[-2000:]
                )
            if time.monotonic() - start > timeout:
                pytest.fail("the command made no progress to kill it at")
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


EXTRACT = [
    "extract",
    "--dataset",
    "synthetic",
    "--n-samples",
    "600",
    "--image-size",
    "56",
    "--features",
    "shape,intensity,lbp,haralick",
    "--no-progress",
]


def test_extract_killed_then_resumed_writes_the_same_bytes(tmp_path):
    _run(*EXTRACT, "--out", "reference.parquet", cwd=tmp_path)
    partial = tmp_path / ".features.parquet.partial"

    def two_chunks_done():
        return len(list(partial.glob("features/*/part-*.parquet"))) >= 2

    _kill_when([*EXTRACT, "--out", "features.parquet"], tmp_path, two_chunks_done)
    assert not (tmp_path / "features.parquet").exists()  # nothing half-written
    done = _run(*EXTRACT, "--out", "features.parquet", cwd=tmp_path)
    assert "resuming from" in done.stderr and "chunk(s) of features" in done.stderr
    assert (tmp_path / "features.parquet").read_bytes() == (
        tmp_path / "reference.parquet"
    ).read_bytes()
    assert not partial.exists()  # finished: nothing left to resume


def test_extract_fresh_discards_what_was_left(tmp_path):
    partial = tmp_path / ".f.csv.partial"
    stale = partial / "features" / "0123" / "part-stale.parquet"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"not parquet")
    args = [*EXTRACT[:4], "60", "--features", "shape", "--out", "f.csv"]
    done = _run(*args, "--fresh", cwd=tmp_path)
    assert "resuming" not in done.stderr
    assert len(pd.read_csv(tmp_path / "f.csv")) == 60 and not partial.exists()


COMPARE = [
    "compare",
    "--dataset",
    "synthetic",
    "--n-samples",
    "240",
    "--image-size",
    "48",
    "--features",
    "shape,intensity,lbp",
    "--models",
    "logreg,svm,random_forest,xgboost",
    "--folds",
    "5",
    "--no-progress",
]


def _records(folder: Path) -> list[dict]:
    result = ComparisonResult.from_json(folder / "results.json")
    frame = result.to_frame().drop(columns=TIMES)
    return json.loads(frame.to_json(orient="records")), [
        (r.model, r.fold, r.y_pred.tolist(), r.proba.tolist(), r.threshold)
        for r in result.records
    ]


def test_compare_killed_then_resumed_gives_the_uninterrupted_results(tmp_path):
    _run(*COMPARE, "--out", "reference", cwd=tmp_path)
    fits = tmp_path / "run" / "checkpoint" / "fits"

    def some_fits_done():
        return len(list(fits.glob("*.json"))) >= 3

    _kill_when([*COMPARE, "--out", "run"], tmp_path, some_fits_done)
    left = len(list(fits.glob("*.json")))
    assert 3 <= left < 20
    done = _run(*COMPARE, "--out", "run", cwd=tmp_path)
    assert f"resuming from '{Path('run') / 'checkpoint'}': {left} finished fit(s)" in (
        done.stderr
    )
    assert _records(tmp_path / "run") == _records(tmp_path / "reference")
    for name in ("leaderboard.csv", "fold_scores.csv"):
        ours = pd.read_csv(tmp_path / "run" / name)
        theirs = pd.read_csv(tmp_path / "reference" / name)
        keep = [c for c in ours.columns if c not in TIMES]
        pd.testing.assert_frame_equal(ours[keep], theirs[keep])
    assert not (tmp_path / "run" / "checkpoint").exists()
