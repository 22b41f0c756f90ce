"""The CNN on samples of one file per named channel, and on channel views."""

import numpy as np
import pytest

from featcls.data import load_manifest
from featcls.models._cnn_data import decode_images
from tests._atlas import ATLAS, BASE, STAINS, stain_image, write_atlas, write_png

pytest.importorskip("torch")

from featcls.models import CNNClassifier  # noqa: E402


@pytest.fixture
def atlas(tmp_path):
    csv = write_atlas(tmp_path, n=6)
    # A constant last stain (yellow) is a stain, not an opaque alpha channel.
    for i in range(6):
        write_png(
            tmp_path / "train" / f"s{i}_yellow.png", np.full((16, 16), 30, np.uint8)
        )
    return load_manifest(csv, **ATLAS)


def test_decoding_keeps_every_named_channel_in_order(atlas):
    images = decode_images(atlas.X, 16, n_jobs=1)
    assert images.shape == (6, 4, 16, 16)
    assert images[2, :, 0, 0].tolist() == [BASE["red"] + 2, BASE["green"] + 2, 72, 30]
    view = decode_images(atlas.X, 8, n_jobs=1, select=("blue", "red"))
    assert view.shape == (6, 2, 8, 8) and view[1, :, 0, 0].tolist() == [71, 11]
    with pytest.raises(ValueError, match=r"Unknown channel\(s\) 'purple'"):
        decode_images(atlas.X, 8, n_jobs=1, select=("purple",))


@pytest.mark.parametrize(("view", "n_channels"), [(None, 4), ("green", 1)])
def test_the_cnn_takes_the_channels_in_view(atlas, view, n_channels):
    data = atlas if view is None else atlas.select_channels(view)
    clf = CNNClassifier(
        max_epochs=1, input_size=8, batch_size=4, n_threads=1, random_state=0
    )
    clf.fit(data.X, data.y)
    assert clf.n_channels_ == n_channels
    assert clf.predict_proba(data.X).shape == (6, 2)


def test_changing_one_stain_changes_only_its_channel(atlas, tmp_path):
    before = decode_images(atlas.X, 16, n_jobs=1)
    write_png(tmp_path / "train" / "s3_green.png", stain_image("green", 3) // 2)
    after = decode_images(atlas.X, 16, n_jobs=1)
    differs = np.argwhere((after != before).any(axis=(2, 3)))
    assert differs.tolist() == [[3, STAINS.index("green")]]
