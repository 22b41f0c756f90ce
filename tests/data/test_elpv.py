"""load_elpv on the real ELPV data (needs the elpv-dataset package)."""

import sys
from pathlib import Path

import numpy as np
import pytest

from featcls.data import load_builtin, load_elpv, read_image


@pytest.fixture(scope="module")
def elpv():
    pytest.importorskip("elpv_dataset")
    return load_elpv()


@pytest.mark.elpv
def test_defective_counts(elpv):
    assert len(elpv) == 2624 and elpv.name == "elpv-defective"
    assert elpv.class_counts().to_dict() == {"defective": 821, "functional": 1803}
    assert list(elpv.X.columns) == ["image", "probability", "cell_type"]
    assert elpv.groups is None
    assert elpv.mask_policy == "full"  # whole cells: no segmentation
    assert all(Path(p).is_absolute() for p in elpv.X["image"].iloc[:5])


@pytest.mark.elpv
def test_defect_levels_and_cell_types():
    pytest.importorskip("elpv_dataset")
    levels = load_elpv(target="defect_level")
    assert levels.class_counts().to_dict() == {
        "p0.00": 1508,
        "p0.33": 295,
        "p0.67": 106,
        "p1.00": 715,
    }
    types = load_builtin("elpv", target="cell_type")
    assert types.class_counts().to_dict() == {"mono": 1074, "poly": 1550}
    mono = load_elpv(cell_type="mono")
    assert len(mono) == 1074 and set(mono.X["cell_type"]) == {"mono"}
    assert mono.X.index.tolist() == list(range(1074))


@pytest.mark.elpv
def test_images_are_300_by_300_grey(elpv):
    image = read_image(elpv.X["image"].iloc[0])
    assert image.shape == (300, 300) and image.dtype == np.uint8


def test_missing_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "elpv_dataset", None)
    with pytest.raises(ImportError, match=r'pip install "featcls\[elpv\]"'):
        load_elpv()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"target": "defects"},
            "target must be one of 'defective', 'defect_level', 'cell_type'",
        ),
        ({"cell_type": "thin-film"}, "cell_type must be 'mono', 'poly' or None"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_elpv(**kwargs)
