"""The stages only import down the flow (DESIGN.md), checked by import-linter."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import featcls

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    """The stages, the modules inside features and models, and no import cycles."""
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail("import-linter is a dev dependency: pip install -e '.[dev]'")
    result = subprocess.run(
        [exe, "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken" in result.stdout


def test_public_api_names():
    for name in (
        "load_folder",
        "load_manifest",
        "load_builtin",
        "FeatureExtractor",
        "compare",
        "ComparisonResult",
    ):
        assert name in featcls.__all__
        assert callable(getattr(featcls, name))


HEAVY = ("torch", "xgboost", "skops", "sklearn", "matplotlib")


@pytest.mark.parametrize(
    "code",
    [
        "import featcls",
        "import featcls; featcls.__version__",
        "from featcls.cli import main; import sys; sys.argv = ['featcls', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass",
    ],
)
def test_start_up_imports_no_heavy_library(code):
    """``import featcls`` and ``featcls --help`` load the library lazily."""
    probe = (
        f"{code}\nimport sys\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout


@pytest.mark.parametrize("package", ["featcls", "featcls.models"])
def test_every_public_name_resolves(package):
    import importlib

    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, name


def test_public_names_load_on_first_use():
    assert set(featcls.__all__) <= set(dir(featcls))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        featcls.nothing  # noqa: B018
