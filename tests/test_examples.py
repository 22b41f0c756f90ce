"""Every script of the examples gallery runs to completion as a user runs it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


def test_the_gallery_has_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(script, tmp_path):
    # Run where the outputs may go (the scripts write into the working folder);
    # an example must not teach a deprecated call.
    env = {
        **os.environ,
        "PYTHONWARNINGS": "error::DeprecationWarning,error::FutureWarning",
        "MPLBACKEND": "Agg",
    }
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert result.stdout.strip(), "an example prints what it shows"
