"""A dataset's own mask policy: the commands follow it unless --mask is given."""

import dataclasses

import pandas as pd
import pytest
from typer.testing import CliRunner

from featcls.cli import app
from featcls.data import BUILTIN_DATASETS, make_synthetic

runner = CliRunner()


@pytest.fixture
def whole_cells(monkeypatch):
    """'--dataset elpv' answered by small images that declare mask_policy='full'."""

    def load(**kwargs):
        data = make_synthetic(12, image_size=40, random_state=1)
        table = data.X.drop(columns="mask")  # no masks of their own
        return dataclasses.replace(data, X=table, mask_policy="full")

    monkeypatch.setitem(BUILTIN_DATASETS, "elpv", load)


@pytest.mark.parametrize(
    ("options", "source"), [([], "full"), (["--mask", "auto"], "auto")]
)
def test_extract_follows_the_dataset_unless_told(
    whole_cells, tmp_path, options, source
):
    out = tmp_path / "f.parquet"
    args = ["extract", "--dataset", "elpv", "--features", "shape", "--out", str(out)]
    result = runner.invoke(app, [*args, *options])
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out)
    assert (table["mask_source"] == source).all()
    if source == "full":
        assert (table["shape__area"] == 40 * 40).all()
    else:
        assert (table["shape__area"] < 40 * 40).all()
