"""Samples of one grey file per named channel: load_manifest(channel_files=...)."""

import numpy as np
import pandas as pd
import pytest

from featcls.data import (
    ChannelFiles,
    Dataset,
    as_sample_table,
    find_duplicates,
    load_manifest,
    read_image,
    select_channels,
)
from featcls.exceptions import DataWarning, ImageReadError
from tests._atlas import ATLAS, BASE, SQUARE, STAINS, write_atlas, write_png


@pytest.fixture
def atlas(tmp_path):
    return write_atlas(tmp_path, n=4)


def _background(image: np.ndarray) -> list[int]:
    return image[0, 0].tolist()


def test_channels_are_stacked_in_channel_names_order(atlas):
    data = load_manifest(atlas, **ATLAS)
    assert data.channel_names == STAINS
    sample = data.X["image"].iloc[2]
    assert isinstance(sample, ChannelFiles) and sample.names == STAINS
    assert sample.paths[1] == str(atlas.parent / "train" / "s2_green.png")
    image = read_image(sample)
    assert image.shape == (16, 16, 4) and image.dtype == np.uint8
    assert _background(image) == [BASE[s] + 2 for s in STAINS]
    assert image[8, 8, 0] == BASE["red"] + 2 + SQUARE
    # The Id is the sample's relpath; the pattern and names are in the provenance.
    assert data.X["relpath"].tolist() == ["s0", "s1", "s2", "s3"]
    assert data.meta["channel_files"] == ATLAS["channel_files"]
    assert data.meta["channel_names"] == "red,green,blue,yellow"
    assert "channels: red, green, blue, yellow" in data.summary()
    # Another order of names is another order of channels.
    reverse = load_manifest(atlas, **{**ATLAS, "channel_names": STAINS[::-1]})
    assert _background(read_image(reverse.X["image"].iloc[2])) == [
        BASE[s] + 2 for s in STAINS[::-1]
    ]


def test_a_string_of_names_and_a_column_in_the_pattern(atlas):
    table = pd.read_csv(atlas)
    table["folder"] = "train"
    table.to_csv(atlas, index=False)
    data = load_manifest(
        atlas,
        image_col="Id",
        channel_files="{folder}/{Id}_{channel}.png",
        channel_names="red, green",
    )
    assert data.channel_names == ("red", "green")
    assert _background(read_image(data.X["image"].iloc[1])) == [11, 41]
    assert "folder" in data.X.columns  # pattern columns stay metadata


def test_a_view_at_load_time_reads_only_its_channels(atlas):
    (atlas.parent / "train" / "s1_yellow.png").unlink()  # not in the view
    data = load_manifest(atlas, **ATLAS, channels="blue,green")
    assert len(data) == 4 and data.channel_names == ("blue", "green")
    assert _background(read_image(data.X["image"].iloc[1])) == [71, 41]
    assert data.meta["channels"] == "blue,green"


def test_a_missing_channel_file_is_named_with_its_channel(atlas):
    missing = atlas.parent / "train" / "s2_green.png"
    missing.unlink()
    with pytest.raises(
        ImageReadError,
        match=r"Cannot read 'green' channel file '.*s2_green\.png': the file does "
        r"not exist\. Check the path\. Or pass on_error='skip'",
    ):
        load_manifest(atlas, **ATLAS)
    # Existence is checked without decoding too.
    with pytest.raises(ImageReadError, match=r"'green' channel file '.*s2_green"):
        load_manifest(atlas, **ATLAS, validate=False)


def test_skipping_a_sample_with_a_missing_channel_keeps_the_others(atlas):
    (atlas.parent / "train" / "s2_green.png").unlink()
    with pytest.warns(DataWarning, match="Skipped 1 unusable file"):
        data = load_manifest(atlas, **ATLAS, on_error="skip")
    assert data.X["relpath"].tolist() == ["s0", "s1", "s3"]
    assert data.y.tolist() == ["a", "b", "b"]
    assert _background(read_image(data.X["image"].iloc[2])) == [
        BASE[s] + 3 for s in STAINS
    ]
    (row,) = data.skipped.itertuples()
    assert row.path == str(atlas.parent / "train" / "s2_{red,green,blue,yellow}.png")
    assert "'green' channel file" in row.reason and "s2_green.png" in row.reason


def test_a_channel_of_another_size_is_refused(atlas):
    write_png(atlas.parent / "train" / "s1_blue.png", np.zeros((20, 24), np.uint8))
    with pytest.raises(
        ImageReadError,
        match=r"The 'blue' channel file '.*s1_blue\.png' is 20×24 but the 'red' "
        r"channel file '.*s1_red\.png' of the same sample is 16×16",
    ):
        load_manifest(atlas, **ATLAS)
    with pytest.warns(DataWarning):
        data = load_manifest(atlas, **ATLAS, on_error="skip")
    assert data.X["relpath"].tolist() == ["s0", "s2", "s3"]


def test_a_colour_file_is_not_a_channel(atlas):
    grey = np.full((16, 16), 9, np.uint8)
    write_png(atlas.parent / "train" / "s0_red.png", np.dstack([grey] * 3))
    with pytest.raises(
        ImageReadError,
        match=r"Cannot use 'red' channel file '.*s0_red\.png': it has 3 channels "
        r"\(shape \(16, 16, 3\)\) \(its colour channels are equal: a grey image "
        r"saved as colour\), but each channel file must be a single grey image",
    ):
        load_manifest(atlas, **ATLAS)


def test_channels_of_different_dtypes_share_the_common_scale(atlas):
    # A 16-bit green stain at the same brightness as the 8-bit other stains.
    image = (np.full((16, 16), 41, np.uint16) * 257).astype(np.uint16)
    write_png(atlas.parent / "train" / "s1_green.png", image)
    data = load_manifest(atlas, **ATLAS)
    stacked = read_image(data.X["image"].iloc[1])
    assert stacked.dtype == np.float32
    np.testing.assert_allclose(stacked[0, 0], [11 / 255, 41 / 255, 71 / 255, 101 / 255])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"channel_files": "train/{Id}.png"}, r"has no \{channel\} field"),
        ({"channel_names": None}, r"needs channel_names"),
        (
            {"channel_names": ["red", "gray"]},
            r"The channel name 'gray' of channel_names is also a channel policy",
        ),
        ({"channel_names": ["red", "red"]}, r"names the channel\(s\) 'red' more"),
        ({"channel_names": ["red", "dark red"]}, r"may not hold commas, braces"),
        ({"channels": "green,purple"}, r"Unknown channel\(s\) 'purple' in "),
        ({"channels": "gray"}, r"channels='gray' is a channel policy"),
        ({"channel_files": "train/{Plate}_{channel}.png"}, r"no column\(s\) 'Plate'"),
        ({"channel_files": "train/{}_{channel}.png"}, r"positional field"),
        ({"channel_files": "train/{Id_{channel}.png"}, r"not a valid pattern"),
    ],
)
def test_bad_channel_settings_say_what_to_do(atlas, kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_manifest(atlas, **{**ATLAS, **kwargs})


def test_channel_names_need_channel_files(atlas):
    with pytest.raises(ValueError, match=r"channel_names applies to samples of one"):
        load_manifest(atlas, image_col="Id", channel_names=["red"])


def test_an_empty_cell_of_a_pattern_column_is_a_bad_row(atlas):
    table = pd.read_csv(atlas)
    table["folder"] = ["train", "", "train", "train"]
    table.to_csv(atlas, index=False)
    kwargs = {**ATLAS, "channel_files": "{folder}/{Id}_{channel}.png"}
    with pytest.raises(ImageReadError, match=r"Empty 'folder' cell on line 3"):
        load_manifest(atlas, **kwargs)
    with pytest.warns(DataWarning):
        assert len(load_manifest(atlas, **kwargs, on_error="skip")) == 3


def test_views_of_tables_and_datasets(atlas):
    data = load_manifest(atlas, **ATLAS)
    view = data.select_channels("yellow,red")
    assert view.channel_names == ("yellow", "red")
    assert view.y.tolist() == data.y.tolist()
    assert view.meta["channels"] == "yellow,red"
    assert _background(read_image(view.X["image"].iloc[0])) == [100, 10]
    assert data.channel_names == STAINS  # the data set itself is unchanged
    assert view.subset([1]).channel_names == ("yellow", "red")
    table = select_channels(data.X, ["green"])
    assert table["image"].iloc[3].paths == (str(atlas.parent / "train/s3_green.png"),)
    with pytest.raises(ValueError, match=r"the channels of sample '.*s0_\{red,gr"):
        data.select_channels("purple")
    with pytest.raises(ValueError, match=r"has no named channels"):
        select_channels(np.zeros((2, 4, 4)), "green")


def test_channel_files_are_cells_of_a_sample_table():
    files = [ChannelFiles([f"/d/{i}_a.png", f"/d/{i}_b.png"], ["a", "b"]) for i in "xy"]
    table = as_sample_table(files)
    assert table["image"].tolist() == files
    assert str(files[0]) == "/d/x_{a,b}.png"
    assert Dataset(X=table).channel_names == ("a", "b")
    with pytest.raises(ValueError, match=r"one path per channel name; got 1 path"):
        ChannelFiles(["/d/x.png"], ["a", "b"])


def test_duplicates_compare_every_channel(atlas):
    train = atlas.parent / "train"
    for stain in STAINS:  # s4: a byte-for-byte copy of s1
        (train / f"s4_{stain}.png").write_bytes(
            (train / f"s1_{stain}.png").read_bytes()
        )
    for stain in STAINS:  # s5: s2 with another yellow stain
        source = train / f"s{3 if stain == 'yellow' else 2}_{stain}.png"
        (train / f"s5_{stain}.png").write_bytes(source.read_bytes())
    table = pd.read_csv(atlas)
    extra = pd.DataFrame({"Id": ["s4", "s5", "s0"], "label": "a", "plate": "p0"})
    pd.concat([table, extra]).to_csv(atlas, index=False)
    data = load_manifest(atlas, **ATLAS)
    found = [s.tolist() for s in find_duplicates(data.X)]
    assert found == [[0, 6], [1, 4]]  # s0 listed twice; s1 and its copy
