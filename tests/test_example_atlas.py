"""examples/four_stain_atlas.py runs at a small size and finds the green stain."""

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "four_stain_atlas.py"


def test_the_atlas_example_finds_the_stain_that_carries_the_signal(tmp_path):
    env = {
        **os.environ,
        "PYTHONWARNINGS": "error::DeprecationWarning,error::FutureWarning",
        "MPLBACKEND": "Agg",
    }
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "8"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "channels: red, green, blue, yellow (one file each)" in result.stdout
    assert len(list((tmp_path / "atlas" / "train").glob("*.png"))) == 4 * 3 * 8
    assert result.stdout.strip().splitlines()[-1] == (
        "stains that carry the signal: green"
    )
    assert result.stderr == ""  # no warning on the way
