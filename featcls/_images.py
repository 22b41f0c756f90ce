"""Images for the results and the report: false-colour composites, lossy data URIs."""

from __future__ import annotations

import base64

import cv2
import numpy as np

__all__ = ["COLOURS", "QUALITY", "false_colour", "lossy_uri"]

#: The colour (red, green, blue weights) of a channel named after it, for
#: :func:`false_colour`; yellow is red + green, as fluorescence atlases show it.
COLOURS = {
    "red": (1.0, 0.0, 0.0),
    "green": (0.0, 1.0, 0.0),
    "blue": (0.0, 0.0, 1.0),
    "yellow": (1.0, 1.0, 0.0),
    "cyan": (0.0, 1.0, 1.0),
    "magenta": (1.0, 0.0, 1.0),
    "grey": (1.0, 1.0, 1.0),
    "white": (1.0, 1.0, 1.0),
}
#: The colours of channels not named after one, in turn.
_PRIMARIES = ("red", "green", "blue")

#: Quality (0-100) of the lossy encoding.
QUALITY = 80

#: Encodings tried in turn: WebP, and JPEG where OpenCV was built without WebP.
_ENCODINGS = (
    (".webp", "image/webp", cv2.IMWRITE_WEBP_QUALITY),
    (".jpg", "image/jpeg", cv2.IMWRITE_JPEG_QUALITY),
)


def _colour_of(names: tuple[str, ...]) -> list[tuple[float, float, float] | None]:
    """The colour of each channel: its own name's, else a free primary, else none."""
    own = [COLOURS.get(n.lower()) for n in names]
    if own == [None]:
        return [COLOURS["grey"]]
    taken = {c for c in own if c is not None}
    free = iter(COLOURS[p] for p in _PRIMARIES if COLOURS[p] not in taken)
    return [c if c is not None else next(free, None) for c in own]


def false_colour(image: np.ndarray, names) -> np.ndarray:
    """A uint8 BGR ``(H, W, 3)`` composite of an image's named channels.

    Each channel is stretched to its own minimum and maximum and added in its
    colour: a channel named after a colour of :data:`COLOURS` (``red``,
    ``green``, ``blue``, ``yellow`` = red + green, ``cyan``, ``magenta``,
    ``grey``/``white``; any case) is shown in it, the others take in turn the
    primaries (red, green, blue) that no channel named after a colour took, and
    any further channel is left out; a sole channel not named after a colour is
    shown in grey. Sums beyond full scale are clipped. So the
    four stains ``red, green, blue, yellow`` of a protein atlas show as they do in
    the atlas, and ``dapi, actin`` as red and green.

    Parameters
    ----------
    image : ndarray
        ``(H, W, C)`` float image, or ``(H, W)`` for one channel.
    names : sequence of str
        The names of its ``C`` channels.

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)
        In OpenCV's BGR order, for :func:`lossy_uri`.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((2, 2, 2), np.float32)
    >>> image[0, 0, 1] = 1.0  # a bright yellow pixel
    >>> false_colour(image, ["blue", "yellow"])[0, 0].tolist()  # BGR
    [0, 255, 255]
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[:, :, None]
    rgb = np.zeros((*image.shape[:2], 3), dtype=np.float32)
    for c, colour in enumerate(_colour_of(tuple(names))):
        if colour is None:
            continue
        plane = image[:, :, c]
        lo, hi = float(np.nanmin(plane)), float(np.nanmax(plane))
        plane = (plane - lo) / (hi - lo if hi > lo else 1.0)
        rgb += plane[:, :, None] * np.asarray(colour, dtype=np.float32)
    u8 = (np.clip(np.nan_to_num(rgb), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return np.ascontiguousarray(u8[:, :, ::-1])


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
