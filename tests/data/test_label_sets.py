"""Manifests whose label column lists several labels per sample (label_sep)."""

import numpy as np
import pandas as pd
import pytest

from featcls.data import Dataset, load_manifest
from featcls.exceptions import ImageReadError


@pytest.fixture
def manifest(tmp_path):
    import cv2

    rows = []
    for i, labels in enumerate(["16 0", "0", "", "2 16", "16", "0 2 0"]):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((12, 12), 20 * i, np.uint8))
        rows.append({"image": f"{i}.png", "label": labels})
    pd.DataFrame(rows).to_csv(tmp_path / "m.csv", index=False)
    return tmp_path / "m.csv"


def test_label_lists_become_a_label_matrix(manifest):
    data = load_manifest(manifest, label_sep=" ")
    assert data.multilabel
    assert data.classes == ["0", "2", "16"]  # numbers sort as numbers
    expected = [[1, 0, 1], [1, 0, 0], [0, 0, 0], [0, 1, 1], [0, 0, 1], [1, 1, 0]]
    np.testing.assert_array_equal(data.label_matrix.to_numpy(int), expected)
    assert data.y.tolist() == ["0 16", "0", "", "2 16", "16", "0 2"]
    assert data.class_counts().tolist() == [3, 2, 3]
    assert "multi-label: 3 labels" in data.summary()
    part = data.subset([0, 3])
    assert part.multilabel and part.label_matrix.to_numpy(int).tolist() == [
        [1, 0, 1],
        [0, 1, 1],
    ]
    assert data.targets is data.label_matrix


def test_without_label_sep_label_lists_are_still_refused(manifest):
    with (
        pytest.warns(UserWarning, match="skipped"),
        pytest.raises(ValueError, match="lists of labels separated by ' '.*label_sep"),
    ):
        load_manifest(manifest, on_error="skip")


def test_unknown_labels_are_bad_rows(manifest):
    with pytest.raises(ImageReadError, match=r"Unknown label\(s\) \['16'\]"):
        load_manifest(manifest, label_sep=" ", label_names="0,2")
    with pytest.warns(UserWarning, match="skipped"):
        data = load_manifest(
            manifest, label_sep=" ", label_names=["0", "2"], on_error="skip"
        )
    assert len(data) == 3 and len(data.skipped) == 3
    assert "Unknown label" in data.skipped["reason"].iloc[0]
    # A listed label no row names is kept, with no positives.
    data = load_manifest(manifest, label_sep=" ", label_names="0,2,16,27")
    assert data.classes == ["0", "2", "16", "27"]
    assert data.class_counts()["27"] == 0


def test_bad_label_settings(manifest):
    with pytest.raises(ValueError, match="give label_sep"):
        load_manifest(manifest, label_names="0,2")
    with pytest.raises(ValueError, match="non-empty string"):
        load_manifest(manifest, label_sep="")


def test_a_dataset_from_a_label_matrix_in_python():
    data = Dataset(
        X=np.zeros((3, 4, 4)),
        label_matrix=pd.DataFrame({"b": [1, 0, 1], "a": [0, 0, 1]}),
    )
    assert data.classes == ["a", "b"] and data.y.tolist() == ["b", "", "a b"]


def test_a_dataset_label_matrix_must_be_indicators():
    images = np.zeros((3, 4, 4))
    with pytest.raises(ValueError, match="indicator matrix of 0/1"):
        Dataset(X=images, label_matrix=pd.DataFrame({"a": [1, np.nan, 0]}))
    with pytest.raises(ValueError, match="indicator matrix of 0/1"):
        Dataset(X=images, label_matrix=pd.DataFrame({"a": [1, 2, 0]}))
    with pytest.raises(ValueError, match="give y or label_matrix, not both"):
        Dataset(
            X=images,
            y=np.array(["x", "y", "x"]),
            label_matrix=pd.DataFrame({"a": [1, 0, 0]}),
        )
    data = Dataset(
        X=images, label_matrix=pd.DataFrame({"a": [1, 0, 1], "b": [0, 0, 1]})
    )
    assert data.subset([0, 2]).y.tolist() == ["a", "a b"]
