"""Hostile inputs to featcls.data (and the folds built from it), generated in tmp_path.

Every bad input is made by the small corpus functions below inside the test's
``tmp_path``; nothing binary is committed. Each test pins the behaviour issue 13
asks for: duplicates stay in one fold, manifest cells are read verbatim, decoder
warnings are corruption and decoder chatter never reaches stderr, float/wide-int
images of unknown scale are refused, only regular files are read and a header
that declares too many pixels is refused before decoding.
"""

import os
import re
import struct
import subprocess
import sys
import threading
import time
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import tifffile

from featcls.data import (
    MAX_IMAGE_PIXELS,
    find_duplicates,
    load_folder,
    load_images,
    load_manifest,
    read_image,
    read_mask,
    split_channels,
    to_float,
)
from featcls.evaluation import make_folds
from featcls.exceptions import DataWarning, ImageReadError
from tests.hostile.corpus import jpeg as _jpeg

# --------------------------------------------------------------------------------------
# The generated corpus
from tests.hostile.corpus import png as _png
from tests.hostile.corpus import write as _write


def _disk(seed: int, size: int = 32) -> np.ndarray:
    """A uint8 image of a bright disk whose radius and brightness depend on seed."""
    yy, xx = np.mgrid[:size, :size]
    radius = 5 + seed % 7
    inside = (yy - size // 2) ** 2 + (xx - size // 2) ** 2 <= radius**2
    image = np.where(inside, 150 + seed % 100, 20 + seed % 13).astype(np.uint8)
    image[0, 0] = seed % 256  # every seed gives different bytes
    return image


def _tree(root: Path, n_per_class: int = 4) -> Path:
    """root/a/*.png and root/b/*.png, every image different."""
    for k, label in enumerate("ab"):
        for i in range(n_per_class):
            _write(root / label / f"{i:02d}.png", _png(_disk(10 * k + i)))
    return root


def _png_declaring(width: int, height: int) -> bytes:
    """A small valid PNG whose IHDR then claims ``width`` × ``height`` pixels."""
    data = bytearray(_png(_disk(1)))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def _corrupt_jpeg_mid_stream() -> bytes:
    """A JPEG with 40 zeroed bytes in its entropy-coded data; EOI marker intact."""
    rng = np.random.default_rng(0)
    data = bytearray(_jpeg((rng.random((64, 64, 3)) * 255).astype(np.uint8)))
    assert data.endswith(b"\xff\xd9")
    middle = len(data) // 2
    data[middle : middle + 40] = bytes(40)
    return bytes(data)


def _png_with_bad_crc() -> bytes:
    """A PNG whose IDAT chunk's checksum does not match its data."""
    data = bytearray(_png(_disk(2, size=48)))
    start = data.find(b"IDAT")
    length = int.from_bytes(data[start - 4 : start], "big")
    data[start + 4 + length] ^= 0xFF
    return bytes(data)


def _tiff(image: np.ndarray) -> bytes:
    import io

    stream = io.BytesIO()
    tifffile.imwrite(stream, image)
    return stream.getvalue()


# --------------------------------------------------------------------------------------
# Duplicates stay on one side of every split


def test_find_duplicates_by_content_path_and_array(tmp_path):
    a = _write(tmp_path / "a.png", _png(_disk(1)))
    copy = _write(tmp_path / "sub" / "copy.png", a.read_bytes())
    other = _write(tmp_path / "other.png", _png(_disk(2)))
    # Same size as a.png, different content: must not count as a duplicate.
    same_size = bytearray(a.read_bytes())
    same_size[-20] ^= 0xFF
    twin_size = _write(tmp_path / "same_size.png", bytes(same_size))
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    X = pd.DataFrame(
        {
            "image": [
                str(a),
                str(other),
                str(copy),
                str(a),  # the same file listed twice
                str(twin_size),
                array,
                array.copy(),
                array.reshape(4, 3),  # same bytes, another shape
                array.astype(np.int8),  # same bytes, another dtype
            ]
        }
    )
    sets = find_duplicates(X)
    assert [s.tolist() for s in sets] == [[0, 2, 3], [5, 6]]
    assert find_duplicates(X, n_jobs=2)[0].tolist() == [0, 2, 3]


def test_find_duplicates_in_threads_hashes_a_batch_at_a_time(tmp_path, monkeypatch):
    from featcls.data import _duplicates

    monkeypatch.setattr(_duplicates, "_BATCH", 2)  # copies fall in other batches
    body = [bytes([i]) * 200 for i in range(3)]
    paths = [_write(tmp_path / f"{i}.bin", body[i % 3]) for i in range(7)]
    sets = find_duplicates([str(p) for p in paths], n_jobs=2)
    assert [s.tolist() for s in sets] == [[0, 3, 6], [1, 4], [2, 5]]


def test_find_duplicates_reads_only_files_that_share_a_size(tmp_path, monkeypatch):
    paths = [_write(tmp_path / f"{i}.bin", bytes([i]) * (100 + i)) for i in range(5)]
    opened = []
    real_open = open

    def spy(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", spy)
    assert find_duplicates([str(p) for p in paths]) == []
    assert opened == []


def test_find_duplicates_of_large_files_compares_them_to_the_end(tmp_path):
    body = np.random.default_rng(0).bytes(300_000)  # beyond the 64 KiB prefix
    tail_differs = body[:-1] + bytes([body[-1] ^ 1])
    paths = [
        _write(tmp_path / "a.tif", body),
        _write(tmp_path / "b.tif", tail_differs),
        _write(tmp_path / "c.tif", body),
    ]
    sets = find_duplicates([str(p) for p in paths], n_jobs=2)
    assert [s.tolist() for s in sets] == [[0, 2]]


def test_find_duplicates_skips_files_that_are_not_regular(tmp_path):
    fifo = tmp_path / "x.png"
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    os.mkfifo(fifo)
    # Would block forever if the FIFO were opened for hashing; not an image, so it
    # is in no set (the loaders skip it).
    finished, sets = _load_in_thread(lambda: find_duplicates([str(fifo), str(fifo)]))
    assert finished and sets == []


def test_make_folds_keeps_each_duplicate_set_in_one_fold():
    y = np.array(["a", "b"] * 10)
    duplicates = [np.array([0, 2, 4]), np.array([1, 3])]
    with pytest.warns(
        DataWarning,
        match=re.escape("2 sets of identical images (5 images in all")
        + ".*kept in one fold",
    ):
        folds = make_folds(
            y, None, cv=3, repeats=2, random_state=0, duplicates=duplicates
        )
    assert len(folds) == 6
    for fold in folds:
        for members in duplicates:
            sides = {m in fold["test"] for m in members.tolist()}
            assert len(sides) == 1, (fold, members)


def test_duplicates_are_connected_with_the_users_groups():
    y = np.array(["a", "b"] * 6)
    groups = np.array(["g0", "g0", "g1", "g1", "g2", "g2", "g3", "g3"] + ["g4"] * 4)
    # Sample 1 (g0) has a copy at 3 (g1): g0 and g1 must end up together.
    with pytest.warns(DataWarning, match="1 set of identical images"):
        folds = make_folds(
            y, groups, cv=2, repeats=1, random_state=0, duplicates=[np.array([1, 3])]
        )
    for fold in folds:
        test = set(fold["test"])
        assert {0, 1, 2, 3} <= test or not ({0, 1, 2, 3} & test)


def test_no_duplicates_leaves_the_folds_unchanged():
    y = np.array(["a", "b", "c"] * 8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain = make_folds(y, None, cv=4, repeats=1, random_state=3)
        with_none = make_folds(y, None, cv=4, repeats=1, random_state=3, duplicates=[])
    assert plain == with_none


def test_given_splits_that_separate_a_duplicate_set_are_refused():
    y = np.array(["a", "b"] * 4)
    with (
        pytest.warns(DataWarning, match="1 set of identical images"),
        pytest.raises(
            ValueError,
            match=r"Split 0: .* identical images .*on both sides of the split",
        ),
    ):
        make_folds(
            y,
            None,
            cv=[([0, 1, 2, 3], [4, 5, 6, 7])],
            repeats=1,
            random_state=0,
            duplicates=[np.array([0, 5])],
        )


def test_compare_keeps_a_file_listed_twice_in_one_fold(tmp_path):
    from featcls import FeatureExtractor
    from featcls.evaluation import compare

    rows = []
    for i in range(12):
        label = "ab"[i % 2]
        path = _write(tmp_path / "img" / f"{i:02d}.png", _png(_disk(i)))
        rows.append((path.relative_to(tmp_path).as_posix(), label))
    # The same file twice, and the same content under a second name (other class).
    rows.append(rows[0])
    _write(tmp_path / "img" / "again.png", (tmp_path / rows[1][0]).read_bytes())
    rows.append(("img/again.png", "a"))
    pd.DataFrame(rows, columns=["image", "label"]).to_csv(
        tmp_path / "m.csv", index=False
    )
    data = load_manifest(tmp_path / "m.csv")
    with pytest.warns(DataWarning, match="2 sets of identical images"):
        result = compare(
            ["logreg"],
            data.X,
            data.y,
            cv=3,
            features=FeatureExtractor(families=["shape"]),
            importance=False,
            progress=False,
        )
    for fold in result.folds:
        test = set(fold["test"])
        for members in ({0, 12}, {1, 13}):
            assert members <= test or not (members & test), fold


def test_directory_link_back_into_the_dataset_is_not_followed(tmp_path):
    root = _tree(tmp_path / "data")
    (root / "again").symlink_to(".", target_is_directory=True)
    (root / "a" / "loop").symlink_to("..", target_is_directory=True)
    with pytest.warns(DataWarning, match="Skipped 2"):
        data = load_folder(root)
    assert data.classes == ["a", "b"] and len(data) == 8
    reasons = dict(zip(data.skipped["path"], data.skipped["reason"], strict=True))
    assert set(reasons) == {str(root / "again"), str(root / "a" / "loop")}
    assert re.match(
        re.escape(f"Skipped directory link {str(root / 'again')!r}")
        + ".*leads back inside the data set",
        reasons[str(root / "again")],
    )
    with pytest.warns(DataWarning, match="Skipped 2"):
        assert len(load_images(root)) == 8


def test_directory_link_to_outside_the_dataset_is_followed(tmp_path):
    root = _tree(tmp_path / "data")
    outside = tmp_path / "more"
    _write(outside / "x.png", _png(_disk(40)))
    (root / "a" / "more").symlink_to(outside, target_is_directory=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_folder(root)
    assert "a/more/x.png" in data.X["relpath"].tolist() and len(data) == 9


# --------------------------------------------------------------------------------------
# Manifest cells are strings, read verbatim


def test_manifest_labels_that_look_missing_are_labels(tmp_path):
    names = ["NA", "NaN", "None", "null", "n/a", "nan"]
    rows = []
    for i, label in enumerate(names * 2):
        _write(tmp_path / f"{i}.png", _png(_disk(i)))
        rows.append(f"{i}.png,{label},{i}")
    (tmp_path / "m.csv").write_text("image,label,dose\n" + "\n".join(rows) + "\n")
    data = load_manifest(tmp_path / "m.csv")
    assert data.y.tolist() == names * 2
    assert data.classes == sorted(names)
    assert data.X["dose"].tolist() == list(range(12))  # other columns parse as before


def test_manifest_group_ids_are_not_merged_as_numbers(tmp_path):
    rows = []
    for i, group in enumerate(["01", "1", "1.0", "NA"]):
        _write(tmp_path / f"{i}.png", _png(_disk(i)))
        rows.append(f"{i}.png,{'ab'[i % 2]},{group}")
    (tmp_path / "m.csv").write_text("image,label,plate\n" + "\n".join(rows) + "\n")
    data = load_manifest(tmp_path / "m.csv", group_col="plate")
    assert data.groups.tolist() == ["01", "1", "1.0", "NA"]
    assert len(set(data.groups.tolist())) == 4


def test_manifest_empty_label_is_still_an_empty_cell(tmp_path):
    _write(tmp_path / "0.png", _png(_disk(0)))
    (tmp_path / "m.csv").write_text("image,label\n0.png,\n")
    with pytest.raises(ImageReadError, match="Empty 'label' cell on line 2"):
        load_manifest(tmp_path / "m.csv")


# --------------------------------------------------------------------------------------
# Decoder warnings are corruption; decoder chatter never reaches stderr


def test_jpeg_corrupt_mid_stream_is_refused_quietly(tmp_path, capfd):
    path = _write(tmp_path / "x.jpg", _corrupt_jpeg_mid_stream())
    with pytest.raises(
        ImageReadError,
        match=re.escape(f"Cannot read image {str(path)!r}: the JPEG file is corrupt")
        + r".*Corrupt JPEG data: \d+ extraneous bytes.*Re-export the file",
    ):
        read_image(path)
    assert "Corrupt JPEG" not in capfd.readouterr().err


def test_png_crc_error_says_why_and_libpng_is_silent(tmp_path, capfd):
    path = _write(tmp_path / "x.png", _png_with_bad_crc())
    with pytest.raises(
        ImageReadError,
        match=re.escape(f"Cannot read image {str(path)!r}: the PNG file is corrupt")
        + r".*IDAT: CRC error",
    ):
        read_image(path)
    assert "libpng" not in capfd.readouterr().err


def test_corrupt_jpeg_among_many_is_found_by_parallel_validation(tmp_path, capfd):
    root = tmp_path / "data"
    for i in range(12):
        _write(root / "ab"[i % 2] / f"{i:02d}.jpg", _jpeg(_disk(i)))
    bad = _write(root / "a" / "bad.jpg", _corrupt_jpeg_mid_stream())
    with pytest.warns(DataWarning, match="Skipped 1"):
        data = load_folder(root, on_error="skip", n_jobs=4)
    assert data.skipped["path"].tolist() == [str(bad)] and len(data) == 12
    assert "Corrupt JPEG" not in capfd.readouterr().err


def test_benign_libpng_warning_is_silenced_and_the_image_kept(tmp_path, capfd):
    data = _png(_disk(4))
    body = b"Comment\x00hello"
    bad_crc = struct.pack(">I", zlib.crc32(b"tEXt" + body) ^ 1)
    text_chunk = struct.pack(">I", len(body)) + b"tEXt" + body + bad_crc
    path = _write(tmp_path / "x.png", data[:33] + text_chunk + data[33:])
    np.testing.assert_array_equal(read_image(path), _disk(4))
    assert "libpng" not in capfd.readouterr().err


def test_overlapping_decodes_blame_only_the_corrupt_file(tmp_path, monkeypatch, capfd):
    good = [_write(tmp_path / f"{i}.jpg", _jpeg(_disk(i))) for i in range(15)]
    bad = _write(tmp_path / "bad.jpg", _corrupt_jpeg_mid_stream())
    real_imdecode = cv2.imdecode

    def slow_imdecode(*args):  # widen every decode so that the threads overlap
        image = real_imdecode(*args)
        time.sleep(0.01)
        return image

    monkeypatch.setattr(cv2, "imdecode", slow_imdecode)

    def outcome(path):
        try:
            read_image(path)
        except ImageReadError as exc:
            return str(exc)
        return "ok"

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(outcome, good[:8] + [bad] + good[8:]))
    assert results[:8] + results[9:] == ["ok"] * 15
    assert "the JPEG file is corrupt (Corrupt JPEG data" in results[8]
    assert "Corrupt JPEG" not in capfd.readouterr().err


def test_other_stderr_output_is_passed_through(tmp_path, capfd):
    # Only decoder messages are taken; what the program itself prints stays.
    path = _write(tmp_path / "x.png", _png(_disk(3)))
    print("before", file=sys.stderr, flush=True)
    read_image(path)
    print("after", file=sys.stderr, flush=True)
    assert capfd.readouterr().err == "before\nafter\n"


# --------------------------------------------------------------------------------------
# Float and wide-integer images of unknown scale are refused


def test_float_tiff_outside_unit_range_is_refused(tmp_path):
    image = np.linspace(0, 1000, 24 * 24, dtype=np.float32).reshape(24, 24)
    path = _write(tmp_path / "data" / "a" / "x.tif", _tiff(image))
    _write(tmp_path / "data" / "b" / "y.tif", _tiff(image / 1000))
    message = (
        re.escape(f"Cannot use image {str(path)!r}: a float32 image must hold values ")
        + r"in \[0, 1\].*got 0 to 1000.*Divide by the data's full-scale value"
    )
    with pytest.raises(ImageReadError, match=message):
        read_image(path)
    with pytest.raises(ImageReadError, match=message + ".*on_error='skip'"):
        load_folder(tmp_path / "data")
    assert read_image(tmp_path / "data" / "b" / "y.tif").max() == pytest.approx(1)


def test_int32_twelve_bit_tiff_is_refused(tmp_path):
    image = np.arange(24 * 24, dtype=np.int32).reshape(24, 24) * 7 % 4096
    image[-1, -1] = 4095
    path = _write(tmp_path / "x.tif", _tiff(image))
    with pytest.raises(
        ImageReadError,
        match=re.escape(f"Cannot use image {str(path)!r}: it is int32 (values 0 to ")
        + r"4095\).*every pixel in the lowest histogram bin.*uint16",
    ):
        read_image(path)
    # As a mask it is fine: only nonzero matters.
    assert read_mask(path).sum() == np.count_nonzero(image)


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.full((4, 4), 3.5, np.float32), r"float32 image must hold values in \[0, 1"),
        (np.full((4, 4), -0.5, np.float64), r"got -0\.5 to -0\.5"),
        (np.zeros((4, 4), np.int64), "it is int64"),
        (np.zeros((4, 4), np.uint32), "it is uint32"),
    ],
)
def test_arrays_of_unknown_scale_are_refused(array, expected):
    with pytest.raises(ImageReadError, match=expected):
        to_float(array)
    with pytest.raises(ImageReadError, match=expected):
        split_channels(array, "gray")  # the histogram features' input
    with pytest.raises(ImageReadError, match=expected):
        read_image(array, name="sample 0")


def test_rounding_noise_just_outside_unit_range_is_accepted():
    image = np.array([[-1e-7, 1 + 1e-7]], dtype=np.float32)
    np.testing.assert_array_equal(to_float(image), image)


# --------------------------------------------------------------------------------------
# Only regular files are read


def _load_in_thread(fn, timeout=20):
    """Run fn in a daemon thread; (finished, result or exception)."""
    box = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            box["value"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    return not thread.is_alive(), box.get("value")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_in_a_class_folder_is_skipped_not_read(tmp_path):
    root = _tree(tmp_path / "data")
    fifo = root / "a" / "x.png"
    os.mkfifo(fifo)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            finished, data = _load_in_thread(lambda: load_folder(root))
        assert finished, "load_folder blocked on a FIFO"
        assert not isinstance(data, BaseException), data
        assert len(data) == 8
        assert data.skipped["path"].tolist() == [str(fifo)]
        assert re.match(
            re.escape(f"Skipped {str(fifo)!r}: not a regular file (a FIFO)"),
            data.skipped["reason"].iloc[0],
        )
        assert any("Skipped 1" in str(w.message) for w in caught)
        finished, error = _load_in_thread(lambda: read_image(fifo))
        assert finished, "read_image blocked on a FIFO"
        assert isinstance(error, ImageReadError)
        assert "not a regular file (a FIFO)" in str(error)
    finally:
        # Unblock a reader that old code left waiting on the FIFO.
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        except OSError:
            pass


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_link_to_dev_zero_is_skipped_not_read(tmp_path):
    # In a child process with a 3 GiB address-space limit, so that code that does
    # read /dev/zero fails fast instead of exhausting the machine's memory.
    root = _tree(tmp_path / "data")
    (root / "b" / "z.png").symlink_to("/dev/zero")
    script = f"""
import resource, sys, warnings
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
from featcls.data import load_folder, read_image
from featcls.exceptions import ImageReadError
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    data = load_folder({str(root)!r}, on_error="raise")
print(len(data), data.skipped["reason"].iloc[0])
try:
    read_image({str(root / "b" / "z.png")!r})
except ImageReadError as exc:
    print(exc)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("8 Skipped ") and "a character device" in lines[0]
    assert "not a regular file (a link to '/dev/zero', a character device)" in lines[1]


def test_manifest_row_naming_a_device_is_an_unusable_row(tmp_path):
    if not Path("/dev/null").exists():
        pytest.skip("needs /dev/null")
    _write(tmp_path / "0.png", _png(_disk(0)))
    _write(tmp_path / "1.png", _png(_disk(1)))
    (tmp_path / "m.csv").write_text("image,label\n0.png,a\n/dev/null,b\n1.png,b\n")
    with pytest.raises(
        ImageReadError,
        match=re.escape("Cannot read image '/dev/null': not a regular file (a "),
    ):
        load_manifest(tmp_path / "m.csv")
    with pytest.raises(ImageReadError, match="not a regular file"):
        load_manifest(tmp_path / "m.csv", validate=False)
    with pytest.warns(DataWarning, match="Skipped 1"):
        assert len(load_manifest(tmp_path / "m.csv", on_error="skip")) == 2


# --------------------------------------------------------------------------------------
# Too many pixels: refused from the header, before decoding


def test_png_declaring_60000_squared_pixels_is_refused_from_its_header(tmp_path):
    data = _png_declaring(60000, 60000)
    assert len(data) < 12_000
    path = _write(tmp_path / "bomb.png", data)
    with pytest.raises(
        ImageReadError,
        match=re.escape(
            f"Cannot read image {str(path)!r}: its header declares 60000×60000 "
            f"pixels (height×width), more than the limit of {MAX_IMAGE_PIXELS:,}"
        )
        + ".*FEATCLS_MAX_IMAGE_PIXELS.*tile or downscale",
    ):
        read_image(path)


def test_tiff_declaring_20000_squared_pixels_is_refused_without_decoding(tmp_path):
    tile = np.zeros((1024, 1024), np.uint8)
    path = tmp_path / "big.tif"
    tifffile.imwrite(
        path,
        (tile for _ in range(20 * 20)),
        shape=(20480, 20480),
        dtype=np.uint8,
        tile=(1024, 1024),
        compression="zlib",
    )
    assert path.stat().st_size < 4_000_000
    with pytest.raises(
        ImageReadError,
        match=re.escape("its header declares 20480×20480 pixels (height×width)"),
    ):
        read_image(path)


@pytest.mark.parametrize("fmt", ["png", "jpeg", "bmp", "tiff"])
def test_pixel_limit_is_configurable(tmp_path, monkeypatch, fmt):
    image = _disk(5, size=40)
    encode = {
        "png": _png,
        "jpeg": _jpeg,
        "bmp": lambda im: cv2.imencode(".bmp", im)[1].tobytes(),
        "tiff": _tiff,
    }[fmt]
    path = _write(tmp_path / f"x.{fmt}", encode(image))
    assert read_image(path).shape == (40, 40)
    assert read_image(path, max_pixels=1600).shape == (40, 40)
    with pytest.raises(
        ImageReadError,
        match=r"declares 40×40 pixels \(height×width\), more than the limit of 1,599",
    ):
        read_image(path, max_pixels=1599)
    with pytest.raises(ImageReadError, match="declares 40×40 pixels"):
        read_mask(path, max_pixels=1000)
    monkeypatch.setenv("FEATCLS_MAX_IMAGE_PIXELS", "1000")
    with pytest.raises(ImageReadError, match="more than the limit of 1,000"):
        read_image(path)
    with pytest.raises(ImageReadError, match="declares 40×40 pixels"):
        load_images(tmp_path)


def test_invalid_pixel_limit_setting_is_reported(tmp_path, monkeypatch):
    path = _write(tmp_path / "x.png", _png(_disk(1)))
    monkeypatch.setenv("FEATCLS_MAX_IMAGE_PIXELS", "lots")
    with pytest.raises(
        ValueError,
        match=re.escape(
            "The environment variable FEATCLS_MAX_IMAGE_PIXELS must be an int >= 1. "
            "Got 'lots' instead."
        ),
    ):
        read_image(path)
