"""Test helpers: arrays at chosen byte offsets, and OpenCV with moving buffers.

Vectorised kernels may take another code path for the elements before the first
aligned address of a buffer, so their last bit can depend on where NumPy happened to
put an array. :func:`misaligned` copies an array to a chosen byte offset;
:class:`MovingBuffers` makes every OpenCV call of the feature path see its inputs and
write its outputs at random byte offsets, so one run exercises many layouts.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import re
import types

import cv2
import numpy as np

#: The modules on the feature path that call OpenCV.
FEATURE_PATH_MODULES = (
    "featcls.data._image",
    "featcls.data._preprocess",
    "featcls.data._segment",
    "featcls.features._context",
    "featcls.features._extract",
    "featcls.features._intensity",
    "featcls.features._lbp",
    "featcls.features._moments",
    "featcls.features._profiles",
    "featcls.features._shape",
    "featcls.features._texture",
    "featcls.features._codebook",
)

# Functions that write into an argument, or are not array kernels.
_IN_PLACE = {"copyTo", "floodFill", "fillConvexPoly", "min", "max"}
_PASS = {"KeyPoint", "SIFT_create", "setNumThreads", "getNumThreads", "error"}


def misaligned(array: np.ndarray, offset: int) -> np.ndarray:
    """A C-contiguous copy of ``array`` starting ``offset`` bytes past a 64-byte line.

    ``offset`` need not be a multiple of the item size: NumPy then marks the copy
    unaligned, as an array read from a byte buffer can be.
    """
    array = np.ascontiguousarray(array)
    base = np.empty(array.nbytes + 128, np.uint8)
    start = (-base.ctypes.data) % 64 + offset
    out = base[start : start + array.nbytes].view(array.dtype).reshape(array.shape)
    out[...] = array
    return out


class MovingBuffers(types.ModuleType):
    """Stands in for ``cv2``: each call gets its array inputs copied to, and its
    output written into, buffers at random (item-aligned) byte offsets."""

    def __init__(self, seed: int):
        super().__init__("cv2")
        self._rng = np.random.default_rng(seed)

    def _moved(self, value):
        if isinstance(value, np.ndarray) and value.size > 1:
            step = value.dtype.itemsize
            return misaligned(value, int(self._rng.integers(0, 64 // step)) * step)
        if isinstance(value, list):
            return [self._moved(v) for v in value]
        return value

    def __getattr__(self, name: str):
        real = getattr(cv2, name)
        if not callable(real) or isinstance(real, type) or name in _PASS:
            return real
        # "f(src[, dst]) -> dst" or "-> retval, dst": the output array's name.
        spec = re.search(r"->\s*([\w, ]+)", real.__doc__ or "")
        outputs = [n.strip() for n in spec.group(1).split(",")] if spec else []
        if len(outputs) == 2 and outputs[0] == "retval":
            outputs = outputs[1:]
        out_name = outputs[0] if len(outputs) == 1 and outputs[0] != "retval" else None

        def call(*args, **kwargs):
            if name in _IN_PLACE or "dst" in kwargs:
                return real(*args, **kwargs)
            args = [self._moved(a) for a in args]
            result = real(*args, **kwargs)
            array = result[1] if isinstance(result, tuple) else result
            if out_name is None or not isinstance(array, np.ndarray) or array.size < 2:
                return result
            target = self._moved(np.zeros_like(array))
            try:
                return real(*args, **{out_name: target}, **kwargs)
            except (TypeError, cv2.error):
                return result

        return call


@contextlib.contextmanager
def moving_buffers(seed: int):
    """Run the block with :class:`MovingBuffers` in every feature-path module."""
    proxy = MovingBuffers(seed)
    found = [m for m in FEATURE_PATH_MODULES if importlib.util.find_spec(m)]
    modules = [importlib.import_module(m) for m in found]
    patched = [m for m in modules if getattr(m, "cv2", None) is cv2]
    for module in patched:
        module.cv2 = proxy
    try:
        yield proxy
    finally:
        for module in patched:
            module.cv2 = cv2
