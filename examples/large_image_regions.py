"""
A large image mapped by regions
===============================

A model trained on small patches classifies every window of a large image with
:func:`featcls.models.predict_tiles`; :func:`featcls.models.save_tile_maps` draws
the result: the image in grey, each region in the colour of its class, regions
where the model is unsure faded in white. The threshold of "unsure" is fitted on
the training patches by :func:`featcls.models.confidence_threshold` (Youden's J
on out-of-fold predictions), as ``featcls train`` does.

The data are made here, in a second: two textures of equal mean and contrast
(``smooth``, blurred noise, and ``grainy``, fine-grained noise), patches of each
for training, and a large image whose regions follow a random blob layout,
which the script also saves (``truth.png``) to compare the map with. Run it with
a smaller side for a quicker run: ``python examples/large_image_regions.py 128``.
The command line does the same with ``featcls predict model.skops --data DIR
--tile 32 --maps maps/``.
"""

import sys
from pathlib import Path

import cv2
import numpy as np

from featcls.features import FeatureExtractor
from featcls.models import (
    build_model,
    confidence_threshold,
    feature_pipeline,
    predict_tiles,
    save_tile_maps,
)

CLASSES = ("grainy", "smooth")
TILE = 32
#: Blur (pixels) of the noise behind each texture: training patches vary within
#: these ranges, which overlap, so some patches are ambiguous.
BLUR = {"grainy": (0.5, 1.4), "smooth": (1.0, 3.0)}


def texture(kind, shape, rng, blur=None):
    """``shape`` pixels of one texture, uint8, mean 128 and standard deviation 32."""
    noise = rng.standard_normal(shape).astype(np.float32)
    blur = rng.uniform(*BLUR[kind]) if blur is None else blur
    field = cv2.GaussianBlur(noise, (0, 0), blur)
    field = (field - field.mean()) / field.std()
    return np.clip(128 + 32 * field, 0, 255).astype(np.uint8)


def large_image(size, seed=0):
    """A ``size`` × ``size`` image of both textures and its truth (True: smooth)."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((size, size)).astype(np.float32)
    blobs = cv2.GaussianBlur(noise, (0, 0), size / 8)
    truth = blobs > np.median(blobs)
    smooth = texture("smooth", (size, size), rng, blur=1.8)
    grainy = texture("grainy", (size, size), rng, blur=0.8)
    return np.where(truth, smooth, grainy), truth


def training_patches(n_per_class, seed=1):
    """``n_per_class`` patches of each texture, each with its own blur."""
    rng = np.random.default_rng(seed)
    images = [
        texture(k, (TILE, TILE), rng) for k in CLASSES for _ in range(n_per_class)
    ]
    return images, np.repeat(CLASSES, n_per_class)


def main(size=256, out="."):
    """Train, map the large image, write the map; return the tiles and the truth."""
    out = Path(out)
    images, labels = training_patches(40)
    model = feature_pipeline(
        FeatureExtractor(families=["haralick", "lbp"], mask="full"),
        build_model("logreg"),
    )
    model.fit(images, labels)
    found = confidence_threshold(model, images, labels, cv=3)
    print(
        f"confidence threshold {found['threshold']:.2f} (Youden's J "
        f"{found['youden_j']:.2f} on {found['folds']}-fold out-of-fold predictions)"
    )

    image, truth = large_image(size)
    out.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out / "large.png"), image)
    cv2.imwrite(str(out / "truth.png"), truth.astype(np.uint8) * 255)
    samples = [str(out / "large.png")]
    tiles = predict_tiles(model, samples, tile=TILE, stride=TILE // 2)
    tiles.to_csv(out / "regions.csv", index=False)
    maps = save_tile_maps(samples, tiles, out / "maps", threshold=found["threshold"])

    # How well the map follows the layout: each window's class against the truth
    # at its centre, next to always answering the commoner texture.
    centre = truth[tiles["y"] + TILE // 2, tiles["x"] + TILE // 2]
    right = (tiles["prediction"] == np.where(centre, "smooth", "grainy")).mean()
    baseline = max(centre.mean(), 1 - centre.mean())
    unsure = (tiles.filter(like="p_").max(axis=1) < found["threshold"]).mean()
    print(
        f"{len(tiles)} windows: {right:.0%} match the layout (the commoner texture "
        f"alone: {baseline:.0%}); {unsure:.0%} are uncertain"
    )
    print(f"map → {maps[0]}")
    return tiles, truth


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 256)
