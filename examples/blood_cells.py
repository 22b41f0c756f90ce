"""
White blood cells: class folders to learn from, a folder to classify
====================================================================

The usual layout of a blood-smear project: one folder per cell type to learn from,
and a folder of new, unlabelled cells to classify. This script draws stained
white blood cells (a purple nucleus in a pale cell on a pink background of red
cells) of three types — *lymphocytes* (one large round nucleus), *monocytes* (a
kidney-shaped nucleus) and *neutrophils* (three to five lobes) — into
``wbc/train/<type>/`` and ``wbc/unlabelled/``, compares two feature models on the
colour images (HSV channels: the stain is in the hue and saturation), trains the
better one on all labelled cells, saves it, and classifies the unlabelled folder
with the loaded model. The same from the command line::

    featcls compare --data wbc/train --channels hsv --models svm,xgboost
    featcls train --data wbc/train --channels hsv --model svm --out wbc.skops
    featcls predict wbc.skops --data wbc/unlabelled --out predictions.csv

Run ``python examples/blood_cells.py [CELLS_PER_TYPE]`` (default 40).
"""

import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from featcls import FeatureExtractor, compare, load_folder
from featcls.data import load_images
from featcls.models import build_model, feature_pipeline, load_model, save_model

per_type = int(sys.argv[1]) if len(sys.argv) > 1 else 40
SIZE = 64
rng = np.random.default_rng(0)
yy, xx = np.mgrid[:SIZE, :SIZE]


def nucleus(kind: str, cy: float, cx: float, r: float) -> np.ndarray:
    """The nucleus mask of a cell of radius ``r`` centred at (cy, cx)."""
    if kind == "lymphocyte":
        return np.hypot(yy - cy, xx - cx) < r * rng.uniform(0.7, 0.8)
    if kind == "monocyte":  # a disc with a bite out of one side: a kidney
        angle = rng.uniform(0, 2 * np.pi)
        by, bx = cy + 0.55 * r * np.sin(angle), cx + 0.55 * r * np.cos(angle)
        disc = np.hypot(yy - cy, xx - cx) < r * 0.62
        return disc & (np.hypot(yy - by, xx - bx) > r * 0.35)
    lobes = np.zeros((SIZE, SIZE), bool)  # neutrophil: small lobes on a ring
    start = rng.uniform(0, 2 * np.pi)
    for k in range(rng.integers(3, 6)):
        a = start + k * rng.uniform(1.0, 1.4)
        ly, lx = cy + 0.4 * r * np.sin(a), cx + 0.4 * r * np.cos(a)
        lobes |= np.hypot(yy - ly, xx - lx) < r * rng.uniform(0.2, 0.27)
    return lobes


def cell(kind: str) -> np.ndarray:
    """A stained white blood cell among red cells, as an 8-bit BGR image."""
    image = np.empty((SIZE, SIZE, 3), np.float64)
    image[:] = (200, 170, 235)  # pink background (BGR)
    for _ in range(4):  # red cells around
        ry, rx = rng.uniform(0, SIZE, 2)
        red = np.hypot(yy - ry, xx - rx) < rng.uniform(8, 11)
        image[red] = (170, 120, 225)
    r = rng.uniform(17, 21)
    cy, cx = SIZE / 2 + rng.normal(0, 1.5, 2)
    image[np.hypot(yy - cy, xx - cx) < r] = (225, 205, 225)  # pale cytoplasm
    shade = rng.uniform(0.85, 1.15)
    image[nucleus(kind, cy, cx, r)] = np.array([150, 60, 110]) * shade  # purple
    image += rng.normal(0, 10, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


root = Path("wbc")
truth = []
for kind in ("lymphocyte", "monocyte", "neutrophil"):
    (root / "train" / kind).mkdir(parents=True, exist_ok=True)
    for i in range(per_type):
        cv2.imwrite(str(root / "train" / kind / f"{kind}-{i:03d}.png"), cell(kind))
    truth += [kind] * (per_type // 4)
(root / "unlabelled").mkdir(parents=True, exist_ok=True)
order = rng.permutation(len(truth))
for n, j in enumerate(order):
    cv2.imwrite(str(root / "unlabelled" / f"cell-{n:03d}.png"), cell(truth[j]))
hidden = pd.Series([truth[j] for j in order], name="truth")  # kept aside

train = load_folder(root / "train")
print(train.summary(), "\n")
features = FeatureExtractor(channels="hsv", families=["shape", "intensity", "lbp"])
result = compare(["svm", "xgboost"], train.X, train.y, cv=4, features=features)
print(result.summary(), "\n")

best = result.leaderboard().index[0]
model = feature_pipeline(features, build_model(best)).fit(train.X, train.y)
save_model(model, root / "wbc.skops", metadata={"trained_on": str(root / "train")})
loaded, _ = load_model(root / "wbc.skops")

new = load_images(root / "unlabelled")
predictions = pd.DataFrame(
    {"path": new.X["relpath"], "prediction": loaded.predict(new.X)}
)
predictions.to_csv(root / "predictions.csv", index=False)
print(predictions.head().to_string(index=False))
agreement = (predictions["prediction"].to_numpy() == hidden.to_numpy()).mean()
print(f"\n{best} on the unlabelled folder: {agreement:.0%} of the cells right")
