"""A tiny four-stain atlas on disk: one grey PNG per stain and sample, and a CSV.

Sample ``i`` (``Id`` ``s<i>``) has a constant background in each stain ``k`` of
value ``BASE[k] + i`` and a bright square (``+ SQUARE``) in the middle, so the
stacking order of the channels and the sample of each file can be read back
from the pixels. Labels alternate ``a``, ``b``; ``plate`` is ``p<i % 2>``.
"""

from pathlib import Path

import cv2
import numpy as np
import pandas as pd

STAINS = ("red", "green", "blue", "yellow")
#: Background value of each stain (sample i adds i).
BASE = {"red": 10, "green": 40, "blue": 70, "yellow": 100}
#: What the square in the middle adds.
SQUARE = 100


def stain_image(stain: str, i: int, size: int = 16) -> np.ndarray:
    """The grey uint8 image of ``stain`` of sample ``i``."""
    image = np.full((size, size), BASE[stain] + i, dtype=np.uint8)
    q = size // 4
    image[q : size - q, q : size - q] += SQUARE
    return image


def write_png(path: Path, image: np.ndarray) -> Path:
    """Write a grey or RGB (RGB order) uint8/uint16 image as PNG."""
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".png", image)
    assert ok
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.tobytes())
    return path


def write_atlas(root: Path, n: int = 6, size: int = 16) -> Path:
    """Write ``root/train/s<i>_<stain>.png`` and ``root/atlas.csv``; return the CSV."""
    rows = []
    for i in range(n):
        for stain in STAINS:
            write_png(root / "train" / f"s{i}_{stain}.png", stain_image(stain, i, size))
        rows.append({"Id": f"s{i}", "label": "ab"[i % 2], "plate": f"p{i % 2}"})
    csv = root / "atlas.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    return csv


#: The load_manifest arguments of the atlas.
ATLAS = {
    "image_col": "Id",
    "label_col": "label",
    "channel_files": "train/{Id}_{channel}.png",
    "channel_names": list(STAINS),
}
