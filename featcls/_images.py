"""Small lossy data URIs of images, for the results and the report."""

from __future__ import annotations

import base64

import cv2
import numpy as np

__all__ = ["QUALITY", "lossy_uri"]

#: Quality (0-100) of the lossy encoding.
QUALITY = 80

#: Encodings tried in turn: WebP, and JPEG where OpenCV was built without WebP.
_ENCODINGS = (
    (".webp", "image/webp", cv2.IMWRITE_WEBP_QUALITY),
    (".jpg", "image/jpeg", cv2.IMWRITE_JPEG_QUALITY),
)


def lossy_uri(image: np.ndarray, quality: int = QUALITY) -> str:
    """A lossy data URI of a uint8 grey ``(H, W)`` or BGR ``(H, W, 3)`` image.

    WebP at ``quality`` (``data:image/webp;base64,…``): a fourth to a fifth of a
    PNG of a 64-pixel image, and every current browser shows it. JPEG at the same
    quality where OpenCV cannot write WebP.

    Raises
    ------
    ValueError
        If OpenCV can encode the image in neither format.
    """
    for ext, mime, flag in _ENCODINGS:
        try:
            ok, data = cv2.imencode(ext, image, [flag, int(quality)])
        except cv2.error:  # pragma: no cover - a build without this codec
            ok = False
        if ok:
            encoded = base64.b64encode(data.tobytes()).decode("ascii")
            return f"data:{mime};base64,{encoded}"
    raise ValueError(  # pragma: no cover - cv2 encodes any uint8 image
        "Could not encode the image as WebP or JPEG."
    )
