"""Encoders and writers shared by the hostile-input tests (inputs made in tmp_path)."""

from pathlib import Path

import cv2
import numpy as np


def png(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return encoded.tobytes()


def jpeg(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return encoded.tobytes()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def textured(seed: int, size: int = 48) -> np.ndarray:
    """A bright disk with a faint texture on a darker background (uint8)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    disk = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 <= (size / 3) ** 2
    image = 0.25 + 0.4 * disk + 0.05 * np.sin(xx / 3) + 0.04 * rng.random(disk.shape)
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)
