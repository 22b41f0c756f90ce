"""compare(checkpoint=...): finished fits kept, a killed run resumes, nothing stale."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from featcls import FeatureExtractor, load_builtin
from featcls.evaluation import compare
from featcls.evaluation._checkpoint import describe_config
from featcls.exceptions import DataWarning


class Logged(ClassifierMixin, BaseEstimator):
    """An image model scoring the table's ``score``; logs each fit to ``log``.

    With ``stop_file`` existing, the ``stop_at``-th fit (counted in the log)
    raises KeyboardInterrupt, as a kill would stop the run there.
    """

    featcls_input = "images"

    def __init__(self, log=None, shift=0.0, stop_file=None, stop_at=3):
        self.log = log
        self.shift = shift
        self.stop_file = stop_file
        self.stop_at = stop_at

    def fit(self, X, y):
        fits = Path(self.log).read_text().count("\n") if Path(self.log).exists() else 0
        if (
            self.stop_file
            and Path(self.stop_file).exists()
            and fits + 1 >= self.stop_at
        ):
            raise KeyboardInterrupt
        with open(self.log, "a") as fh:
            fh.write(json.dumps(sorted(X.index.tolist())) + "\n")
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        s = np.clip(X["score"].to_numpy(float) + self.shift, 0, 1)
        return np.column_stack([1 - s, s])

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    y = np.repeat(["a", "b"], 20)
    score = np.clip(0.3 + 0.3 * (y == "b") + rng.normal(0, 0.15, 40), 0, 1)
    images = [np.full((6, 6), i, np.uint8) for i in range(40)]
    return pd.DataFrame({"image": images, "score": score}), y


def _fits(log: Path) -> int:
    return log.read_text().count("\n") if log.exists() else 0


def _run(table, y, tmp_path, log, checkpoint="ckpt", **params):
    models = {
        "one": Logged(log=str(log), **params),
        "two": Logged(log=str(log), shift=0.1),
    }
    return compare(
        models,
        table,
        y,
        cv=4,
        importance=False,
        random_state=0,
        threshold="youden",
        checkpoint=None if checkpoint is None else tmp_path / checkpoint,
    )


TIMES = ["fit_time", "predict_time", "fit_memory"]


def _same(a, b, times=False):
    """The same results; with ``times``, the same measured times too."""
    drop = [] if times else TIMES
    pd.testing.assert_frame_equal(
        a.to_frame().drop(columns=drop), b.to_frame().drop(columns=drop)
    )
    for x, z in zip(a.records, b.records, strict=True):
        assert (x.model, x.fold) == (z.model, z.fold)
        np.testing.assert_array_equal(x.y_pred, z.y_pred)
        np.testing.assert_array_equal(x.proba, z.proba)
        assert x.threshold == z.threshold
        assert not times or x.fit_time == z.fit_time


def test_a_second_run_reads_every_fit_and_gives_the_same_result(table, tmp_path):
    X, y = table
    log = tmp_path / "fits.log"
    first = _run(X, y, tmp_path, log)
    n = _fits(log)
    assert n == 2 * 4 * 4  # each fit with its three inner threshold fits
    assert len(list((tmp_path / "ckpt" / "fits").glob("*.json"))) == 8
    again = _run(X, y, tmp_path, log)
    assert _fits(log) == n  # nothing refitted
    _same(first, again, times=True)


def test_a_killed_run_resumes_with_the_uninterrupted_result(table, tmp_path):
    X, y = table
    reference = _run(X, y, tmp_path, tmp_path / "ref.log", checkpoint="ref")
    log, stop = tmp_path / "fits.log", tmp_path / "stop"
    stop.touch()
    with pytest.raises(KeyboardInterrupt):
        _run(X, y, tmp_path, log, stop_file=str(stop), stop_at=10)
    done = len(list((tmp_path / "ckpt" / "fits").glob("*.json")))
    assert done == 2  # two outer fits (with their inner fits) finished
    stop.unlink()
    before = _fits(log)
    resumed = _run(X, y, tmp_path, log, stop_file=str(stop), stop_at=10)
    assert _fits(log) - before == (8 - done) * 4  # only the unfinished fits
    _same(resumed, reference)


def test_fits_of_another_configuration_or_data_are_never_reused(table, tmp_path):
    X, y = table
    log = tmp_path / "fits.log"
    _run(X, y, tmp_path, log)
    n = _fits(log)
    # Another parameter of model "one": its fits again, "two"'s are reused.
    changed = _run(X, y, tmp_path, log, shift=0.05)
    assert _fits(log) - n == 4 * 4
    fresh = _run(X, y, tmp_path, tmp_path / "other.log", checkpoint="other", shift=0.05)
    _same(changed, fresh)
    # One image's content changed: every fit again.
    n = _fits(log)
    X2 = X.copy()
    X2.at[0, "image"] = np.full((6, 6), 200, np.uint8)
    _run(X2, y, tmp_path, log)
    assert _fits(log) - n == 2 * 4 * 4
    # Other labels, another rule: every fit again.
    n = _fits(log)
    y2 = y.copy()
    y2[[0, 20]] = y2[[20, 0]]
    _run(X, y2, tmp_path, log)
    assert _fits(log) - n == 2 * 4 * 4


def test_a_damaged_checkpoint_file_is_refitted(table, tmp_path):
    X, y = table
    log = tmp_path / "fits.log"
    first = _run(X, y, tmp_path, log)
    files = sorted((tmp_path / "ckpt" / "fits").glob("*.json"))
    files[0].write_text(files[0].read_text()[:50])  # truncated
    files[1].write_text(json.dumps({"key": "another", "model": "x"}))
    n = _fits(log)
    again = _run(X, y, tmp_path, log)
    assert _fits(log) - n == 2 * 4
    _same(first, again)


def test_feature_models_resume(tmp_path):
    data = load_builtin("synthetic", n_samples=90, image_size=40, random_state=1)
    features = FeatureExtractor(families=["shape", "intensity"])

    def run():
        return compare(
            ["logreg", "svm"],
            data.X,
            data.y,
            cv=2,
            features=features,
            random_state=0,
            checkpoint=tmp_path / "ckpt",
        )

    first, again = run(), run()
    _same(first, again, times=True)
    # Everything but the run's own clock: the importances, the records, the tables.
    a, b = first.to_dict(), again.to_dict()
    assert a["importances"] and a["records"] == b["records"]
    assert {k for k in a if a[k] != b[k]} <= {"timing", "created"}


class Warns(Logged):
    def fit(self, X, y):
        warnings.warn("few images for this fold", DataWarning, stacklevel=2)
        return super().fit(X, y)


def test_a_resumed_fit_warns_as_it_did(table, tmp_path):
    X, y = table
    log = tmp_path / "fits.log"
    for _ in range(2):
        with pytest.warns(DataWarning, match="few images for this fold") as caught:
            compare(
                {"one": Warns(log=str(log))},
                X,
                y,
                cv=4,
                importance=False,
                checkpoint=tmp_path / "ckpt",
            )
        shown = [str(w.message) for w in caught]
        # Every fold's warning, restored from the checkpoint the second time.
        assert shown == [
            "one, fold 0: few images for this fold (also in 3 more fit(s): one, "
            "fold 1; one, fold 2; one, fold 3)"
        ]
    assert _fits(log) == 4  # the second run refitted nothing


def test_descriptions_do_not_depend_on_the_process():
    class Thing:
        pass

    def factory(c, k):
        return None

    text = json.dumps(describe_config({"f": factory, "t": Thing(), "a": np.arange(3)}))
    assert "0x" not in text and "factory" in text
    assert describe_config(np.arange(3)) != describe_config(np.arange(4))
    groups = np.array(["p1", "p2", 3], dtype=object)
    assert describe_config(groups) != describe_config(groups[::-1])


def test_grouped_comparisons_checkpoint(table, tmp_path):
    X, y = table
    log = tmp_path / "fits.log"
    patients = np.array([f"p{i // 2}" for i in range(40)], dtype=object)
    for _ in range(2):
        compare(
            {"one": Logged(log=str(log))},
            X.assign(patient=patients),
            y,
            cv=4,
            importance=False,
            threshold="f1",
            aggregate_by="patient",
            checkpoint=tmp_path / "ckpt",
        )
    assert _fits(log) == 4 * 4  # the second run refitted nothing


def test_a_file_parameter_is_described_by_its_content(tmp_path):
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"first")
    first = describe_config({"weights": str(weights)})
    weights.write_bytes(b"other")  # replaced at the same path
    assert describe_config({"weights": str(weights)}) != first
    assert describe_config({"weights": weights}) == describe_config(
        {"weights": str(weights)}
    )
