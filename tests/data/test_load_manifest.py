"""load_manifest: CSV of images, labels, masks and groups."""

import re

import numpy as np
import pandas as pd
import pytest

from featcls.data import load_manifest, make_synthetic, read_image, save_folder
from featcls.exceptions import DataWarning, ImageReadError


@pytest.fixture
def manifest(tmp_path):
    """A CSV next to a saved synthetic data set; returns (csv path, its table)."""
    data = make_synthetic(30, image_size=24, random_state=5)
    save_folder(data, tmp_path / "images", masks_root=tmp_path / "masks")
    paths = sorted(
        p.relative_to(tmp_path).as_posix() for p in (tmp_path / "images").rglob("*.png")
    )
    table = pd.DataFrame(
        {
            "file": paths,
            "cls": [p.split("/")[1] for p in paths],
            "mask_file": [p.replace("images/", "masks/") for p in paths],
            "plate": [i % 4 for i in range(len(paths))],
            "dose": np.linspace(0, 1, len(paths)),
        }
    )
    csv = tmp_path / "manifest.csv"
    table.to_csv(csv, index=False)
    return csv, table


def _load(csv, **kwargs):
    defaults = {
        "image_col": "file",
        "label_col": "cls",
        "mask_col": "mask_file",
        "group_col": "plate",
    }
    return load_manifest(csv, **{**defaults, **kwargs})


def test_round_trip(manifest):
    csv, table = manifest
    data = _load(csv)
    assert len(data) == 30
    assert data.y.tolist() == table["cls"].tolist()
    # Groups are read verbatim as strings (so "01" and "1" stay apart).
    assert data.groups.tolist() == [str(p) for p in table["plate"]]
    assert data.classes == ["multilamellar", "uncertain", "unilamellar"]
    assert list(data.X.columns) == ["image", "mask", "relpath", "dose"]
    assert data.X["image"].iloc[0] == str(csv.parent / table["file"].iloc[0])
    assert data.X["relpath"].tolist() == table["file"].tolist()
    np.testing.assert_allclose(data.X["dose"], table["dose"])
    assert read_image(data.X["image"].iloc[0]).shape == (24, 24)
    assert data.meta["loader"] == "load_manifest" and data.meta["csv"] == str(csv)
    assert data.name == "manifest" and data.skipped.empty


def test_unlabelled_and_root(manifest, tmp_path):
    csv, table = manifest
    table["file"] = table["file"].str.replace("images/", "")
    other = tmp_path / "elsewhere.csv"
    table[["file"]].to_csv(other, index=False)
    data = load_manifest(
        other, image_col="file", label_col=None, root=tmp_path / "images"
    )
    assert data.y is None and data.classes == [] and len(data) == 30


def test_absolute_paths(manifest, tmp_path):
    csv, table = manifest
    table["file"] = [str(tmp_path / p) for p in table["file"]]
    table.to_csv(csv, index=False)
    data = _load(csv, root="/nonexistent", mask_col=None)
    assert data.X["image"].tolist() == table["file"].tolist()
    assert "mask_file" in data.X.columns  # an extra column when not used as masks
    with pytest.raises(ImageReadError, match="Cannot read mask '/nonexistent/masks/"):
        _load(csv, root="/nonexistent")


def test_labels_are_strings(tmp_path, write, disk):
    write(tmp_path / "a.png", disk[0])
    (tmp_path / "m.csv").write_text("image,label\na.png,1\na.png,01\n")
    assert load_manifest(tmp_path / "m.csv").y.tolist() == ["1", "01"]


def test_missing_columns(manifest):
    csv, _ = manifest
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"Manifest {str(csv)!r} has no column(s) 'image', 'label'; "
            "its columns are: "
            "'file', 'cls', 'mask_file', 'plate', 'dose'."
        ),
    ):
        load_manifest(csv, on_error="skip")


def test_empty_label_cell(manifest):
    csv, table = manifest
    table.loc[2, "cls"] = None
    table.to_csv(csv, index=False)
    message = re.escape(f"Empty 'cls' cell on line 4 of {str(csv)!r}")
    with pytest.raises(ImageReadError, match=message + ".*on_error='skip'"):
        _load(csv)
    with pytest.warns(DataWarning, match="Skipped 1 unusable file"):
        data = _load(csv, on_error="skip")
    assert len(data) == 29 and re.match(message, data.skipped["reason"].iloc[0])


def test_missing_image_file(manifest):
    csv, table = manifest
    table.loc[0, "file"] = "images/gone.png"
    table.to_csv(csv, index=False)
    path = str(csv.parent / "images" / "gone.png")
    message = re.escape(f"Cannot read image {path!r}: the file does not exist")
    with pytest.raises(ImageReadError, match=message):
        _load(csv)
    with pytest.raises(ImageReadError, match=message):
        _load(csv, validate=False)
    with pytest.warns(DataWarning):
        data = _load(csv, on_error="skip")
    assert data.skipped["path"].tolist() == [path]
    assert data.X["relpath"].tolist() == table["file"].tolist()[1:]


def test_mask_of_another_size(manifest, write):
    csv, table = manifest
    mask = csv.parent / table["mask_file"].iloc[1]
    write(mask, np.ones((5, 5), np.uint8))
    with pytest.raises(ImageReadError, match="is 5×5 but its image .* is 24×24"):
        _load(csv)
    with pytest.warns(DataWarning):
        assert len(_load(csv, on_error="skip", n_jobs=2)) == 29


def test_csv_problems(tmp_path, manifest):
    with pytest.raises(FileNotFoundError, match="Manifest .*nope.csv' does not exist"):
        load_manifest(tmp_path / "nope.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match="is empty; expected a CSV header"):
        load_manifest(empty)
    header = tmp_path / "header.csv"
    header.write_text("image,label\n")
    with pytest.raises(ValueError, match="has a header but no rows"):
        load_manifest(header)
    with pytest.raises(ValueError, match="must differ"):
        load_manifest(manifest[0], image_col="file", label_col="file")
    with pytest.raises(ValueError, match="on_error must be 'raise' or 'skip'"):
        load_manifest(manifest[0], on_error="warn")


def test_a_column_of_label_lists_is_refused_not_read_as_combinations(manifest):
    csv, table = manifest
    # a protein-atlas style target: several localisations per image
    lists = ["16 0", "0", "7 1 2 0", "1", "16", "2 0", "7"]
    table["Target"] = [lists[i % len(lists)] for i in range(len(table))]
    table.to_csv(csv, index=False)
    with pytest.raises(
        ValueError,
        match=r"The label column 'Target' of manifest .* holds lists of labels "
        r"separated by ' ' \(3 of its 7 distinct values, e\.g\. '16 0', '2 0', "
        r"'7 1 2 0'\): a multi-label target",
    ):
        _load(csv, label_col="Target")


def test_class_names_with_spaces_are_not_label_lists(manifest):
    csv, table = manifest
    names = ["white blood cell", "red blood cell", "platelet", "1 2"]
    table["cls"] = [names[i % len(names)] for i in range(len(table))]
    table.to_csv(csv, index=False)
    data = _load(csv)
    assert sorted(set(data.y)) == sorted(names)
