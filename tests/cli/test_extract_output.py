"""featcls extract writes its table as the chunks finish: the in-memory table."""

import warnings

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from featcls import FeatureExtractor, load_builtin
from featcls.cli import _table, app

runner = CliRunner()
FEATURES = "shape,intensity"
N = 90
ARGS = [
    "extract",
    "--dataset",
    "synthetic",
    "--n-samples",
    str(N),
    "--image-size",
    "40",
    "--features",
    FEATURES,
    "--no-progress",
]


def _in_memory() -> pd.DataFrame:
    """The table as the command wrote it before it streamed: one DataFrame."""
    ds = load_builtin("synthetic", n_samples=N, image_size=40, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        features = FeatureExtractor(families=FEATURES.split(",")).fit(ds.X)
        table = features.extract(ds.X)
    front = pd.DataFrame(
        {"path": [f"{ds.name}:{i}" for i in range(N)]}, index=table.index
    )
    front["label"] = ds.y
    return pd.concat([front, table], axis=1)


@pytest.fixture(scope="module")
def reference():
    return _in_memory()


def _extract(out) -> None:
    result = runner.invoke(app, [*ARGS, "--out", str(out)])
    assert result.exit_code == 0, result.output


def test_a_table_of_one_row_group_is_the_file_to_parquet_writes(tmp_path, reference):
    out = tmp_path / "f.parquet"
    _extract(out)
    reference.to_parquet(tmp_path / "old.parquet", index=False)
    assert pq.ParquetFile(out).num_row_groups == 1
    assert out.read_bytes() == (tmp_path / "old.parquet").read_bytes()


def test_row_groups_hold_the_same_table_and_schema(tmp_path, reference, monkeypatch):
    monkeypatch.setattr(_table, "ROW_GROUP_BYTES", 1)  # the smallest groups: 64 rows
    out = tmp_path / "f.parquet"
    _extract(out)
    reference.to_parquet(tmp_path / "old.parquet", index=False)
    assert [pq.ParquetFile(out).metadata.row_group(i).num_rows for i in (0, 1)] == [
        64,
        26,
    ]
    assert pq.read_schema(out).equals(
        pq.read_schema(tmp_path / "old.parquet"), check_metadata=True
    )
    pd.testing.assert_frame_equal(pd.read_parquet(out), reference)


def test_the_csv_is_the_file_to_csv_writes(tmp_path, reference):
    out = tmp_path / "f.csv"
    _extract(out)
    reference.to_csv(tmp_path / "old.csv", index=False)
    assert out.read_bytes() == (tmp_path / "old.csv").read_bytes()
    assert not list(tmp_path.glob(".*"))  # no temporary, no resume folder left


def _frames(table: pd.DataFrame, sizes) -> list[pd.DataFrame]:
    bounds = np.cumsum([0, *sizes])
    return [table.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_how_the_rows_arrive_does_not_change_the_bytes(
    tmp_path, reference, monkeypatch, suffix
):
    monkeypatch.setattr(_table, "ROW_GROUP_BYTES", 1)
    written = []
    for name, sizes in (("a", [N]), ("b", [7] * 12 + [6]), ("c", [1, 63, 1, 25])):
        path = tmp_path / f"{name}{suffix}"
        assert _table.write_frames(path, _frames(reference, sizes)) == N
        written.append(path.read_bytes())
    assert written[0] == written[1] == written[2]


def test_a_stream_that_fails_leaves_no_table(tmp_path, reference):
    def frames():
        yield reference.iloc[:30]
        raise KeyboardInterrupt  # killed half-way

    for suffix in (".parquet", ".csv"):
        with pytest.raises(KeyboardInterrupt):
            _table.write_frames(tmp_path / f"f{suffix}", frames())
    assert list(tmp_path.iterdir()) == []
