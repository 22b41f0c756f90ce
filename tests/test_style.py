"""The code follows the project's ruff configuration (pyproject.toml)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


#: Everything Python in the repository.
PATHS = ["featcls", "tests", "benchmarks", "experiments", "examples", "docs"]


def _ruff(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which(
        "ruff"
    )
    assert exe, "ruff is a dev dependency: pip install -e '.[dev]'"
    return subprocess.run(
        [exe, *args, *PATHS], cwd=ROOT, capture_output=True, text=True
    )


def test_ruff_check_passes():
    result = _ruff("check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_code_is_formatted():
    result = _ruff("format", "--check")
    assert result.returncode == 0, "run `ruff format`:\n" + result.stdout
