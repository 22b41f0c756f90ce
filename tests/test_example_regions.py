"""examples/large_image_regions.py: its map follows the layout it drew."""

import numpy as np
import pandas as pd

from featcls.data import read_image
from tests._scripts import load_script


def test_the_map_of_the_large_image_follows_its_regions(tmp_path, capsys):
    example = load_script("examples/large_image_regions.py", "large_image_regions")
    example.main(size=128, out=tmp_path)
    assert "match the layout" in capsys.readouterr().out

    # Judged from the files it wrote, not from what it printed.
    truth = read_image(tmp_path / "truth.png") > 0
    tiles = pd.read_csv(tmp_path / "regions.csv")
    assert read_image(tmp_path / "maps" / "large.png").shape == (128, 128, 3)
    # Each window's truth: the texture that covers most of it.
    smooth_share = np.array(
        [
            truth[y : y + h, x : x + w].mean()
            for x, y, w, h in tiles[["x", "y", "width", "height"]].itertuples(
                index=False
            )
        ]
    )
    clear = np.abs(smooth_share - 0.5) > 0.25  # windows mostly of one texture
    expected = np.where(smooth_share > 0.5, "smooth", "grainy")
    right = (tiles["prediction"] == expected)[clear].mean()
    chance = max(
        (expected[clear] == "smooth").mean(), (expected[clear] == "grainy").mean()
    )
    assert set(tiles["prediction"]) == {"grainy", "smooth"}
    assert right >= 0.85 and right > chance + 0.2, (right, chance)
