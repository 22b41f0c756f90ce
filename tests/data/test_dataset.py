"""The Dataset container."""

import numpy as np
import pandas as pd
import pytest

from featcls.data import Dataset


@pytest.fixture
def data():
    return Dataset(
        X=pd.DataFrame({"image": [f"{i}.png" for i in range(6)], "meta": range(6)}),
        y=np.array(["b", "a", "b", "c", "b", "a"]),
        groups=np.array([1, 1, 2, 2, 3, 3]),
        name="toy",
        meta={"loader": "test"},
    )


def test_defaults(data):
    assert len(data) == 6
    assert data.classes == ["a", "b", "c"]
    assert list(data.skipped.columns) == ["path", "reason"] and data.skipped.empty
    assert Dataset(X=np.zeros((2, 3, 3))).y is None


def test_class_counts_in_class_order_with_zeros(data):
    counts = data.subset([0, 1, 2]).class_counts()
    assert counts.index.tolist() == ["a", "b", "c"]
    assert counts.tolist() == [1, 2, 0]


def test_subset_keeps_classes_skipped_meta(data):
    data.skipped = pd.DataFrame({"path": ["x.png"], "reason": ["bad"]})
    part = data.subset(np.array([5, 3]))
    assert part.X["meta"].tolist() == [5, 3]
    assert part.X.index.tolist() == [0, 1]
    assert part.y.tolist() == ["a", "c"]
    assert part.groups.tolist() == [3, 2]
    assert part.classes == data.classes and part.meta == data.meta
    assert part.skipped["path"].tolist() == ["x.png"]
    boolean = data.subset(data.y == "b")
    assert boolean.X["meta"].tolist() == [0, 2, 4]


def test_summary(data):
    text = data.summary()
    assert text.splitlines()[0] == "Dataset 'toy': 6 images"
    assert "3 classes:" in text and "3 groups" in text
    assert ["b", "3", "50.0", "%"] in [line.split() for line in text.splitlines()]


def test_unlabelled():
    data = Dataset(X=["a.png"])
    assert "unlabelled" in data.summary()
    with pytest.raises(ValueError, match="Dataset 'dataset' is unlabelled"):
        data.class_counts()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"y": ["a"]}, r"y must hold one label per sample \(2\); got shape \(1,\)"),
        ({"groups": [1, 2, 3]}, r"groups must hold one value per sample \(2\)"),
        (
            {"y": ["a", "z"], "classes": ["a", "b"]},
            r"labels \['z'\] are not in classes",
        ),
    ],
)
def test_inconsistent(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Dataset(X=["a.png", "b.png"], **kwargs)


def test_mask_policy_is_checked_and_kept_by_views():
    with pytest.raises(ValueError, match="mask_policy must be one of 'auto', 'full'"):
        Dataset(X=np.zeros((2, 8, 8)), y=np.array(["a", "b"]), mask_policy="none")
    data = Dataset(
        X=np.zeros((3, 8, 8)), y=np.array(["a", "b", "a"]), mask_policy="full"
    )
    assert data.subset([0, 2]).mask_policy == "full"
    assert Dataset(X=np.zeros((1, 8, 8))).mask_policy == "auto"
