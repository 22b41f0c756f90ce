"""Extraction and comparison on a 2-worker Dask LocalCluster give local results."""

import gc
import os
import time

import numpy as np
import pandas as pd
import pytest
from joblib import delayed
from sklearn.base import BaseEstimator, ClassifierMixin
from typer.testing import CliRunner

from featcls import FeatureExtractor, load_builtin
from featcls._scheduler import (
    active,
    parse_scheduler,
    run_ordered,
    run_unordered,
    use_scheduler,
)
from featcls.cli import app
from featcls.evaluation import compare

pytest.importorskip("distributed")

runner = CliRunner()
FAMILIES = ["shape", "intensity", "lbp"]


class DiesOnce(ClassifierMixin, BaseEstimator):
    """Predicts the majority class; its first fit kills the worker process.

    The marker file makes the death happen once, so the task Dask reschedules on
    a fresh worker succeeds.
    """

    featcls_input = "images"

    def __init__(self, marker=None):
        self.marker = marker

    def fit(self, X, y):
        if self.marker is not None and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os._exit(1)  # the worker dies mid-task
        values, counts = np.unique(y, return_counts=True)
        self.classes_ = values
        self.majority_ = values[np.argmax(counts)]
        self.rate_ = counts / counts.sum()
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)

    def predict_proba(self, X):
        return np.tile(self.rate_, (len(X), 1))


@pytest.fixture(scope="module")
def data():
    return load_builtin("synthetic", n_samples=90, image_size=32, random_state=4)


@pytest.fixture(scope="module")
def cluster():
    with use_scheduler("local:2") as client:
        yield client


def test_scheduler_specs():
    assert parse_scheduler("local:3") == ("local", 3)
    assert parse_scheduler("tcp://127.0.0.1:8786")[0] == "address"
    for bad in ("local:0", "local", "8786", "http://x"):
        with pytest.raises(ValueError, match="local:N"):
            parse_scheduler(bad)
    assert not active()


def slow_square(x: int) -> int:
    """``x * x``, the first tasks slowest: they finish out of order."""
    time.sleep(0.02 * max(0, 4 - x))
    return x * x


def _counted_tasks(n: int, pulled: list):
    for x in range(n):
        pulled.append(x)
        yield delayed(slow_square)(x)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_run_ordered_hands_results_over_in_task_order(n_jobs):
    pulled = []
    results = run_ordered(_counted_tasks(12, pulled), n_jobs)
    assert next(results) == 0
    if n_jobs == 1:
        assert pulled == [0]  # the tasks are read as the results are taken
    assert [*results] == [x * x for x in range(1, 12)]


def test_a_stream_closed_early_hands_out_no_more_tasks_and_keeps_the_pool():
    pulled = []
    stream = run_ordered(_counted_tasks(40, pulled), 2)
    assert next(stream) == 0
    stream.close()
    handed_out = len(pulled)
    assert handed_out < 40
    # The shared pool still works, and the closed stream took no more tasks.
    assert list(run_ordered(_counted_tasks(5, []), 2)) == [0, 1, 4, 9, 16]
    assert len(pulled) == handed_out


@pytest.mark.parametrize("runner", [run_ordered, run_unordered])
def test_a_stream_collected_while_another_runs_does_not_stop_it(runner):
    # Closing a joblib generator shuts down the process pool all calls share: a
    # dropped stream that the garbage collector finds during a later call must
    # not take that call's workers with it (it failed, or hung, before).
    first = runner((delayed(slow_square)(x) for x in range(40)), 2)
    next(first)
    holder = [first]
    holder.append(holder)  # only a reference cycle keeps the stream now
    del first, holder
    second = runner((delayed(slow_square)(x) for x in range(12)), 2)
    got = [next(second)]
    gc.collect()  # collects the dropped stream while the second one runs
    got += list(second)
    assert sorted(got) == [x * x for x in range(12)]
    # The dropped stream is finished when the next call starts.
    assert list(runner([delayed(slow_square)(3)], 2)) == [9]


def test_run_ordered_submits_at_most_a_window_to_the_cluster(cluster):
    pulled = []
    results = run_ordered(_counted_tasks(20, pulled), None, window=3)
    assert next(results) == 0
    assert len(pulled) == 3  # three futures ahead of the results taken, no more
    assert next(results) == 1 and len(pulled) == 4
    assert [*results] == [x * x for x in range(2, 20)]


def row_sum(matrix: np.ndarray, row: int) -> float:
    return float(matrix[row].sum())


def test_an_array_several_tasks_share_goes_to_the_cluster_once(cluster, monkeypatch):
    matrix = np.arange(12.0).reshape(4, 3)
    scattered = []
    scatter = cluster.scatter

    def counted(data, **kwargs):
        scattered.append(data)
        return scatter(data, **kwargs)

    monkeypatch.setattr(cluster, "scatter", counted)
    tasks = [delayed(row_sum)(matrix, row) for row in range(4)]
    tasks.append(delayed(row_sum)(np.ones((1, 3)), 0))  # taken by one task only
    results = sorted(run_unordered(tasks, None))
    assert results == [3.0, 3.0, 12.0, 21.0, 30.0]
    assert len(scattered) == 1 and scattered[0] is matrix


def test_features_on_the_cluster_are_the_local_bytes(data, cluster):
    fx = FeatureExtractor(families=FAMILIES, chunk_size=10)
    local = fx.fit_transform(data.X)
    assert active()
    with use_scheduler(None):  # nested: still the cluster's backend
        remote = FeatureExtractor(families=FAMILIES, chunk_size=10, n_jobs=1)
        remote = remote.fit_transform(data.X)
    assert remote.tobytes() == local.tobytes()
    assert len(cluster.scheduler_info()["workers"]) == 2


def test_compare_on_the_cluster_equals_a_local_run(data, tmp_path):
    fx = FeatureExtractor(families=FAMILIES, chunk_size=10)
    kw = {"features": fx, "cv": 3, "random_state": 0, "importance": False}
    local = compare(["logreg", "svm"], data.X, data.y, **kw)
    remote = compare(["logreg", "svm"], data.X, data.y, scheduler="local:2", **kw)
    assert remote.settings["scheduler"] == "local:2"
    assert remote.folds == local.folds
    for a, b in zip(local.records, remote.records, strict=True):
        assert (a.model, a.repeat, a.fold) == (b.model, b.repeat, b.fold)
        np.testing.assert_array_equal(a.y_pred, b.y_pred)
        np.testing.assert_array_equal(a.proba, b.proba)
    pd.testing.assert_frame_equal(
        local.leaderboard().drop(columns="fit_time"),
        remote.leaderboard().drop(columns="fit_time"),
    )


def test_a_worker_that_dies_mid_fit_is_replaced_and_the_result_is_the_same(
    data, tmp_path
):
    kw = {"cv": 3, "random_state": 0, "importance": False}
    expected = compare({"dies": DiesOnce()}, data.X, data.y, **kw)
    marker = tmp_path / "died"
    result = compare(
        {"dies": DiesOnce(marker=str(marker))},
        data.X,
        data.y,
        scheduler="local:2",
        **kw,
    )
    assert marker.exists()  # a worker did die
    assert result.errors().empty
    for a, b in zip(expected.records, result.records, strict=True):
        np.testing.assert_array_equal(a.y_pred, b.y_pred)
        np.testing.assert_array_equal(a.proba, b.proba)


def test_cli_extract_and_compare_take_a_scheduler(tmp_path):
    base = ["--n-samples", "60", "--image-size", "32", "--features", "shape,intensity"]
    out = tmp_path / "local.parquet"
    assert runner.invoke(app, ["extract", *base, "--out", str(out)]).exit_code == 0
    remote = tmp_path / "remote.parquet"
    result = runner.invoke(
        app, ["extract", *base, "--scheduler", "local:2", "--out", str(remote)]
    )
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(remote))
    result = runner.invoke(app, ["compare", "--scheduler", "nowhere", "--out", "x"])
    assert result.exit_code == 1
    assert "--scheduler: Unknown scheduler 'nowhere'" in result.output
