"""featcls pretrain, and the backbone through featcls compare (--pretrain fold)."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from typer.testing import CliRunner

from featcls.cli import app
from featcls.data import load_images, make_synthetic, save_folder
from featcls.evaluation import ComparisonResult
from featcls.features._cache import content_key
from featcls.models import PretrainedBackbone

runner = CliRunner()

QUICK = ["--input-size", "16", "--epochs", "2", "--batch-size", "8", "--no-progress"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A folder of 24 PNG images in class sub-folders."""
    data = make_synthetic(24, image_size=24, random_state=0)
    return save_folder(data, tmp_path_factory.mktemp("cells") / "cells")


def test_pretrain_writes_a_backbone_of_every_image_of_a_folder(folder, tmp_path):
    out = tmp_path / "bb.pt"
    done = runner.invoke(
        app, ["pretrain", "--data", str(folder), "--out", str(out), *QUICK]
    )
    assert done.exit_code == 0, done.output
    assert "lipnet pretrained without labels (VICReg, 2 epochs) on 24 images" in (
        done.output
    )
    backbone = PretrainedBackbone.load(out)
    files = load_images(folder).X["image"]
    assert backbone.image_keys == {content_key(path) for path in files}
    assert backbone.info["input_size"] == 16 and len(backbone.history) == 2
    assert not (tmp_path / ".bb.pt.partial").exists()


def test_augment_options_reach_the_file(tmp_path):
    out = tmp_path / "bb.pt"
    args = ["pretrain", "--dataset", "synthetic", "--n-samples", "12"]
    args += ["--image-size", "16", "--out", str(out), *QUICK]
    done = runner.invoke(
        app, [*args, "--augment", "brightness=0,crop_scale=0.6:1,dihedral=false"]
    )
    assert done.exit_code == 0, done.output
    augment = PretrainedBackbone.load(out).info["augment"]
    assert augment["brightness"] == 0.0 and augment["dihedral"] is False
    assert augment["crop_scale"] == [0.6, 1.0] and augment["contrast"] == 0.4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give the images: --data DIR"),
        (["--data", "{empty}"], "contains no files"),
        (["--dataset", "synthetic", "--n-samples", "1"], "at least 2 images"),
        (["--dataset", "synthetic", "--out", "bb.safetensors"], "ending in .pt"),
        (["--dataset", "synthetic", "--epochs", "0"], "--epochs must be 1 or more"),
        (["--dataset", "synthetic", "--augment", "blur=1"], "KEY=VALUE pairs"),
        (["--dataset", "synthetic", "--augment", "noise=lots"], "give a number"),
        (["--dataset", "synthetic", "--module", "nets"], "--module: A network spec"),
        (["--data", "{empty}", "--dataset", "synthetic"], "give one dataset"),
    ],
)
def test_bad_input_stops_with_one_line(tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    args = [a.replace("{empty}", str(tmp_path / "empty")) for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "bb.pt")]
    done = runner.invoke(app, ["pretrain", *args, "--no-progress"])
    assert done.exit_code == 1, done.output
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("featcls: error:"), done.output
    assert message in lines[0]


def test_an_unknown_architecture_is_a_usage_error(tmp_path):
    done = runner.invoke(
        app, ["pretrain", "--dataset", "synthetic", "--architecture", "vgg"]
    )
    assert done.exit_code == 2 and "lipnet" in done.output


def test_compare_states_what_the_backbone_saw_and_pretrain_fold_avoids_it(tmp_path):
    data = ["--dataset", "synthetic", "--n-samples", "30", "--image-size", "16"]
    out = tmp_path / "bb.pt"
    done = runner.invoke(app, ["pretrain", *data, "--out", str(out), *QUICK])
    assert done.exit_code == 0, done.output
    common = [*data, "--models", "cnn", "--cnn-epochs", "1", "--cnn-size", "16"]
    common += ["--folds", "2", "--no-progress"]
    seen = runner.invoke(
        app,
        ["compare", *common, "--cnn-weights", str(out), "--out", str(tmp_path / "a")],
    )
    assert seen.exit_code == 0, seen.output
    assert (
        "pretraining: The backbone of cnn (bb.pt, pretrained by VICReg on 30 images) "
        "saw 30 of the 30 evaluated images (100%)" in " ".join(seen.output.split())
    )
    fold = runner.invoke(
        app,
        [
            "compare",
            *common,
            "--pretrain",
            "fold",
            "--pretrain-epochs",
            "1",
            "--pretrain-augment",
            "brightness=0",
            "--out",
            str(tmp_path / "b"),
        ],
    )
    assert fold.exit_code == 0, fold.output
    assert "none of the 30 evaluated images was seen" in " ".join(fold.output.split())
    result = ComparisonResult.from_json(tmp_path / "b" / "results.json")
    assert result.settings["pretrain"] == {"epochs": 1, "augment": {"brightness": 0}}
    assert result.settings["pretrained_on"]["cnn"][0]["seen"] == 0
    assert "--pretrain fold --pretrain-epochs 1" in result.command
    html = (tmp_path / "b" / "report.html").read_text()
    assert "inside each fit, on its training images" in html


def test_compare_pretrains_the_embedding_features_inside_each_fold(tmp_path):
    args = ["compare", "--dataset", "synthetic", "--n-samples", "30"]
    args += ["--image-size", "16", "--models", "logreg", "--folds", "2"]
    args += ["--features", "intensity,embedding", "--embedding-architecture", "simple"]
    args += ["--pretrain", "fold", "--pretrain-epochs", "1", "--no-progress"]
    args += ["--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "o")]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    assert "pretraining: The network of the embedding features of logreg" in said
    assert "none of the 30 evaluated images was seen" in said
    result = ComparisonResult.from_json(tmp_path / "o" / "results.json")
    (entry,) = result.settings["pretrained_on"]["logreg"]
    assert (entry["network"], entry["folds"], entry["seen"]) == ("embedding", 2, 0)
    backbones = list((tmp_path / "cache" / "backbones").glob("*.pt"))
    assert len(backbones) == 2
    assert PretrainedBackbone.load(backbones[0]).info["network"] == {
        "architecture": "simple"
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--models", "svm", "--pretrain", "fold"],
            "--models svm has no CNN or fusion model and --features no embedding",
        ),
        (
            ["--features", "intensity,embedding"],
            "with featcls compare, --pretrain fold",
        ),
        (["--models", "cnn", "--pretrain-epochs", "2"], "needs --pretrain fold"),
        (["--models", "cnn", "--pretrain-augment", "noise=0"], "needs --pretrain"),
        (["--models", "cnn", "--pretrain", "fold", "--pretrain-epochs", "0"], "1 or"),
    ],
)
def test_compare_refuses_pretrain_options_that_cannot_work(tmp_path, args, message):
    done = runner.invoke(app, ["compare", *args, "--out", str(tmp_path / "o")])
    assert done.exit_code == 1 and message in done.output, done.output


# -- killed and resumed ----------------------------------------------------------------
def _command(*args) -> list[str]:
    return [sys.executable, "-m", "featcls.cli", "pretrain", *args]


@pytest.mark.slow
def test_pretrain_killed_after_an_epoch_resumes_to_the_same_weights(tmp_path):
    args = ["--dataset", "synthetic", "--n-samples", "64", "--image-size", "32"]
    args += ["--input-size", "32", "--epochs", "6", "--batch-size", "8"]
    args += ["--precision", "float32", "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def run(out: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            _command(*args, "--out", out),
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done

    run("reference.pt")
    partial = tmp_path / ".bb.pt.partial"
    proc = subprocess.Popen(
        _command(*args, "--out", "bb.pt"),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    start = time.monotonic()
    try:
        while not partial.exists():
            if proc.poll() is not None:
                pytest.fail(
                    "finished before it could be killed: " + proc.stderr.read().decode()
                )
            if time.monotonic() - start > 300:
                pytest.fail("no epoch finished to kill it after")
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL and not (tmp_path / "bb.pt").exists()
    epoch = torch.load(partial, weights_only=True)["state"]["epoch"]
    assert 1 <= epoch < 6
    done = run("bb.pt")
    assert "resuming from" in done.stderr
    resumed = PretrainedBackbone.load(tmp_path / "bb.pt")
    reference = PretrainedBackbone.load(tmp_path / "reference.pt")
    assert resumed.state_dict.keys() == reference.state_dict.keys()
    assert all(
        torch.equal(resumed.state_dict[k], reference.state_dict[k])
        for k in reference.state_dict
    )
    assert resumed.history == reference.history and not partial.exists()
