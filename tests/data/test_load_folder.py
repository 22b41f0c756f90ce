"""load_folder and save_folder: round trips and every kind of bad input."""

import re
import warnings

import numpy as np
import pytest

from featcls.data import load_folder, make_synthetic, read_image, read_mask, save_folder
from featcls.exceptions import DataWarning, ImageReadError


@pytest.fixture(scope="module")
def synthetic():
    return make_synthetic(30, image_size=24, random_state=3)


@pytest.fixture
def tree(tmp_path, synthetic):
    """A saved synthetic data set: (root, masks root)."""
    root, masks = tmp_path / "images", tmp_path / "masks"
    save_folder(synthetic, root, masks_root=masks)
    return root, masks


def test_round_trip(tree, synthetic):
    root, masks = tree
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_folder(root, masks=masks)
    assert len(data) == 30 and data.classes == synthetic.classes
    assert data.class_counts().equals(synthetic.class_counts())
    assert list(data.X.columns) == ["image", "mask", "relpath"]
    assert data.groups is None and data.skipped.empty
    assert data.meta["loader"] == "load_folder" and data.meta["root"] == str(root)
    assert data.name == "images"
    for label in data.classes:
        loaded = data.X[data.y == label]
        original = synthetic.X[synthetic.y == label]
        assert len(loaded) == len(original)
        for (_, a), (_, b) in zip(loaded.iterrows(), original.iterrows(), strict=True):
            np.testing.assert_array_equal(read_image(a["image"]), b["image"])
            np.testing.assert_array_equal(read_mask(a["mask"]), b["mask"])


def test_tiff_round_trip_of_float_multichannel(tmp_path, rng):
    images = rng.random((4, 8, 9, 5), dtype=np.float32)
    from featcls.data import Dataset

    data = Dataset(X=images, y=np.array(["a", "b", "a", "b"]))
    with pytest.raises(
        ValueError, match="Cannot save sample 0 .* as PNG: .* Use format='tiff'"
    ):
        save_folder(data, tmp_path / "png")
    loaded = load_folder(save_folder(data, tmp_path / "tif", format="tiff"))
    np.testing.assert_array_equal(read_image(loaded.X["image"].iloc[0]), images[0])


def test_nested_hidden_and_uppercase(tmp_path, write, disk):
    image = disk[0]
    write(tmp_path / "a" / "sub" / "deep" / "x.PNG", image)
    write(tmp_path / "a" / "y.png", image)
    write(tmp_path / "b" / "z.tif", image)
    (tmp_path / "a" / ".DS_Store").write_text("junk")
    (tmp_path / "a" / ".cache").mkdir()
    (tmp_path / "a" / ".cache" / "bad.png").write_text("junk")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref")
    data = load_folder(tmp_path)
    assert data.X["relpath"].tolist() == ["a/sub/deep/x.PNG", "a/y.png", "b/z.tif"]
    assert data.y.tolist() == ["a", "a", "b"]


def test_mask_with_another_extension(tmp_path, write, disk):
    image, mask = disk
    write(tmp_path / "img" / "a" / "x.png", image)
    write(tmp_path / "m" / "a" / "x.tif", mask.astype(np.uint8))
    data = load_folder(tmp_path / "img", masks=tmp_path / "m")
    assert data.X["mask"].iloc[0] == str(tmp_path / "m" / "a" / "x.tif")


# Each case breaks the tree and returns (the bad file, the pinned message).
def _not_an_image(root, masks, write):
    path = root / "unilamellar" / "00000.png"
    path.write_text("hello")
    return path, f"Cannot read image {str(path)!r}: not a PNG/TIFF/JPEG/BMP file"


def _empty(root, masks, write):
    path = root / "unilamellar" / "00000.png"
    path.write_bytes(b"")
    return path, f"Cannot read image {str(path)!r}: the file is empty (0 bytes)"


def _truncated_png(root, masks, write):
    path = root / "unilamellar" / "00000.png"
    path.write_bytes(path.read_bytes()[:-20])
    return path, f"Cannot read image {str(path)!r}: the PNG file is truncated"


def _truncated_jpeg(root, masks, write):
    path = root / "unilamellar" / "00000.png"
    data = write(root.parent / "j.jpg", np.full((24, 24, 3), 99, np.uint8)).read_bytes()
    path.unlink()
    path = path.with_suffix(".jpg")
    path.write_bytes(data[: len(data) // 2])
    (masks / "unilamellar" / "00000.png").rename(masks / "unilamellar" / "00000.jpg")
    return path, f"Cannot read image {str(path)!r}: the JPEG file is truncated"


def _unsupported_extension(root, masks, write):
    path = root / "unilamellar" / "notes.txt"
    path.write_text("a note")
    return path, (
        f"Cannot use {str(path)!r}: unsupported file extension '.txt' in class folder "
        "'unilamellar'; expected one of .png, .tif"
    )


def _missing_mask(root, masks, write):
    path = root / "unilamellar" / "00000.png"
    (masks / "unilamellar" / "00000.png").unlink()
    return path, (
        f"No mask for image {str(path)!r}: expected "
        f"{str(masks / 'unilamellar' / '00000.png')!r}"
    )


def _mask_of_another_size(root, masks, write):
    path = root / "unilamellar" / "00000.png"
    mask = masks / "unilamellar" / "00000.png"
    write(mask, np.zeros((10, 12), np.uint8))
    return path, f"Mask {str(mask)!r} is 10×12 but its image {str(path)!r} is 24×24"


BAD_FILES = [
    _not_an_image,
    _empty,
    _truncated_png,
    _truncated_jpeg,
    _unsupported_extension,
    _missing_mask,
    _mask_of_another_size,
]


@pytest.mark.parametrize("break_tree", BAD_FILES)
def test_bad_file_raises(tree, write, break_tree):
    root, masks = tree
    _, message = break_tree(root, masks, write)
    with pytest.raises(ImageReadError, match=re.escape(message) + ".*on_error='skip'"):
        load_folder(root, masks=masks)


@pytest.mark.parametrize("break_tree", BAD_FILES)
def test_bad_file_is_skipped(tree, write, break_tree):
    root, masks = tree
    path, message = break_tree(root, masks, write)
    with pytest.warns(
        DataWarning, match="Skipped 1 unusable file.* see Dataset.skipped"
    ):
        data = load_folder(root, masks=masks, on_error="skip")
    assert data.skipped["path"].tolist() == [str(path)]
    assert re.match(re.escape(message), data.skipped["reason"].iloc[0])
    n_images = 29 if break_tree is not _unsupported_extension else 30
    assert len(data) == n_images
    assert str(path) not in data.X["image"].tolist()


def test_parallel_validation_matches(tree):
    root, masks = tree
    (root / "unilamellar" / "00003.png").write_bytes(b"")
    with pytest.warns(DataWarning):
        serial = load_folder(root, masks=masks, on_error="skip")
    with pytest.warns(DataWarning):
        parallel = load_folder(root, masks=masks, on_error="skip", n_jobs=2)
    assert serial.X.equals(parallel.X) and serial.skipped.equals(parallel.skipped)
    with pytest.raises(ImageReadError, match="the file is empty"):
        load_folder(root, n_jobs=2)


def test_validate_false_does_not_decode(tree):
    root, _ = tree
    (root / "unilamellar" / "00000.png").write_text("not an image")
    assert len(load_folder(root, validate=False)) == 30


def test_empty_class_folder(tree):
    root, _ = tree
    empty = root / "empty"
    empty.mkdir()
    with pytest.raises(
        ValueError,
        match=re.escape(f"Class folder {str(empty)!r} contains no images")
        + ".*on_error='skip'",
    ):
        load_folder(root)
    with pytest.warns(DataWarning, match="Skipped 1"):
        data = load_folder(root, on_error="skip")
    assert "empty" not in data.classes and len(data) == 30
    assert data.skipped["path"].tolist() == [str(empty)]


def test_root_does_not_exist(tmp_path):
    with pytest.raises(
        FileNotFoundError,
        match=f"Dataset folder {re.escape(repr(str(tmp_path / 'no')))} does not exist",
    ):
        load_folder(tmp_path / "no")


def test_root_is_a_file(tmp_path):
    path = tmp_path / "f.png"
    path.write_bytes(b"x")
    with pytest.raises(NotADirectoryError, match="is a file; expected a folder"):
        load_folder(path)


def test_root_without_class_folders(tmp_path, write, disk):
    with pytest.raises(ValueError, match="has no class sub-folders.* It is empty"):
        load_folder(tmp_path)
    write(tmp_path / "x.png", disk[0])
    with pytest.raises(ValueError, match="has no class sub-folders.* It holds 1 file"):
        load_folder(tmp_path)


def test_loose_files_warn(tree):
    root, _ = tree
    (root / "README.md").write_text("about")
    with pytest.warns(DataWarning, match="Ignored 1 file.* 'README.md'"):
        load_folder(root)


def test_masks_folder_missing(tree):
    root, masks = tree
    with pytest.raises(FileNotFoundError, match="Mask folder .* does not exist"):
        load_folder(root, masks=masks.parent / "nope")


def test_invalid_on_error(tree):
    with pytest.raises(
        ValueError, match="on_error must be 'raise' or 'skip'. Got 'ignore'"
    ):
        load_folder(tree[0], on_error="ignore")


def test_nothing_left(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.png").write_bytes(b"")
    with pytest.raises(ValueError, match="No usable images in .*: all 1 were skipped"):
        load_folder(tmp_path, on_error="skip")


def test_save_folder_needs_labels_and_masks(tmp_path, synthetic):
    unlabelled = synthetic.subset(range(3))
    unlabelled.y = None
    with pytest.raises(ValueError, match="it is unlabelled"):
        save_folder(unlabelled, tmp_path)
    no_masks = synthetic.subset(range(3))
    no_masks.X = no_masks.X.drop(columns="mask")
    with pytest.raises(ValueError, match="has no 'mask' column"):
        save_folder(no_masks, tmp_path, masks_root=tmp_path / "m")
    with pytest.raises(
        ValueError, match="format must be one of 'png', 'tif', 'tiff', 'bmp'"
    ):
        save_folder(synthetic, tmp_path, format="jpg")


def test_load_images_reads_an_unlabelled_folder(tmp_path):
    from featcls.data import load_images, make_synthetic, save_folder
    from featcls.exceptions import ImageReadError

    data = make_synthetic(12, image_size=32, random_state=4)
    root = save_folder(data, tmp_path / "unlabelled", masks_root=tmp_path / "masks")
    loaded = load_images(root, masks=tmp_path / "masks")
    assert len(loaded) == 12 and loaded.y is None
    assert loaded.X["relpath"].str.contains("/").all()  # nested paths are kept
    bad = next(root.rglob("*.png"))
    bad.write_bytes(b"garbage")
    with pytest.raises(ImageReadError, match=bad.name):
        load_images(root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        skipped = load_images(root, on_error="skip")
    assert len(skipped) == 11 and skipped.skipped["path"].str.endswith(bad.name).any()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_images(tmp_path / "nowhere")
