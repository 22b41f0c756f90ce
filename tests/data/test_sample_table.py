"""as_sample_table conversions and errors."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from featcls.data import as_sample_table


def test_dataframe_is_returned_as_is():
    table = pd.DataFrame({"image": ["a.png", "b.png"], "extra": [1, 2]}, index=[5, 9])
    assert as_sample_table(table) is table


def test_dataframe_without_image_column():
    table = pd.DataFrame({"path": ["a.png"], "label": ["x"]})
    with pytest.raises(
        ValueError,
        match="must have an 'image' column .* DataFrame has columns: 'path', 'label'",
    ):
        as_sample_table(table)


@pytest.mark.parametrize("shape", [(3, 8, 9), (3, 8, 9, 4)])
def test_array_of_images(shape):
    images = np.arange(np.prod(shape), dtype=np.uint16).reshape(shape)
    table = as_sample_table(images)
    assert list(table.columns) == ["image"]
    assert isinstance(table.index, pd.RangeIndex) and len(table) == 3
    assert table["image"].dtype == object
    for i in range(3):
        np.testing.assert_array_equal(table["image"].iloc[i], images[i])


def test_list_of_paths_and_arrays():
    image = np.zeros((4, 4))
    table = as_sample_table([Path("a/b.png"), "c.tif", image])
    assert table["image"].iloc[0] == str(Path("a/b.png"))
    assert table["image"].iloc[2] is image


def test_series_gets_a_fresh_index():
    table = as_sample_table(pd.Series(["a.png", "b.png"], index=[10, 20]))
    assert table.index.tolist() == [0, 1]
    assert table["image"].tolist() == ["a.png", "b.png"]


@pytest.mark.parametrize(
    ("X", "error", "message"),
    [
        (42, TypeError, "Expected a DataFrame with an 'image' column, .*; got int"),
        ({"image": []}, TypeError, "; got dict"),
        (["a.png", 3], TypeError, "item 1 is a int, not a path or an array"),
        ([], ValueError, "got an empty list"),
        (
            np.zeros((4, 4)),
            ValueError,
            r"shape \(N, H, W\) or \(N, H, W, C\); got shape \(4, 4\)",
        ),
        (np.zeros((0, 4, 4)), ValueError, "at least one image"),
    ],
)
def test_errors(X, error, message):
    with pytest.raises(error, match=message):
        as_sample_table(X)
