"""A learned-codebook family: dense RootSIFT descriptors encoded with VLAD.

Unlike the other families it needs fitting. Its per-image part — the dense local
descriptors — is computed (and cached) like any feature; its fitted part — a k-means
codebook — is learned by :meth:`FeatureExtractor.fit` from the training images only,
so inside cross-validation it never sees a test fold.
"""

from __future__ import annotations

from numbers import Integral, Real

import cv2
import numpy as np
from sklearn.cluster import MiniBatchKMeans
from threadpoolctl import threadpool_limits

from featcls._validation import RANDOM_STATE, NumberInterval
from featcls.features._base import FeatureFamily

__all__ = ["VLADFeatures"]

#: Codebook centres are multiples of 1 / _GRID (see ``fit_codebook``).
_GRID = 2.0**20


class VLADFeatures(FeatureFamily):
    """VLAD encoding of dense RootSIFT descriptors against a learned codebook.

    Per image, SIFT descriptors (OpenCV) are computed on a regular grid of keypoints
    every ``step`` pixels with support ``size`` pixels, on the 8-bit grey image whose
    pixels outside the mask are replaced by the object mean (keypoints whose centre
    lies outside the mask are dropped, so the family honours the mask). Each
    descriptor is L1-normalised and square-rooted (RootSIFT, Arandjelović & Zisserman
    2012). :meth:`fit` learns ``n_words`` k-means centres from at most
    ``max_descriptors`` training descriptors; an image is encoded as the sums of its
    descriptors' residuals to their nearest centre (VLAD, Jégou et al. 2010), followed
    by signed power normalisation (exponent ``power``) and L2 normalisation. Features
    ``w<word>_<dim>``: ``n_words × 128`` values.

    Parameters
    ----------
    step : int, default=12
        Grid spacing of the keypoints, in pixels.
    size : float, default=16
        Keypoint diameter (descriptor support), in pixels.
    n_words : int, default=64
        Codebook size (number of k-means words); the encoding has
        ``n_words × 128`` columns.
    max_descriptors : int, default=100000
        Descriptors sampled (uniformly, seeded) from the training images for k-means.
    power : float, default=0.5
        Exponent of the signed power normalisation (1 disables it).
    random_state : int or None, default=0

    References
    ----------
    H. Jégou, M. Douze, C. Schmid, P. Pérez, "Aggregating local descriptors into a
    compact image representation", CVPR 2010. R. Arandjelović, A. Zisserman, "Three
    things everyone should know to improve object retrieval", CVPR 2012.
    S. Deitsch et al., "Automatic classification of defective photovoltaic module
    cells in electroluminescence images", Solar Energy 185 (2019).
    """

    name = "vlad"
    per_channel = False
    stateful = True
    descriptor_dim = 128
    _parameter_constraints: dict = {
        "step": [NumberInterval(Integral, 1, None, closed="left")],
        "size": [NumberInterval(Real, 0, None, closed="neither")],
        "n_words": [NumberInterval(Integral, 2, None, closed="left")],
        "max_descriptors": [NumberInterval(Integral, 2, None, closed="left")],
        "power": [NumberInterval(Real, 0, None, closed="neither")],
        "random_state": [RANDOM_STATE, np.random.RandomState, None],
    }

    def __init__(
        self,
        *,
        step: int = 12,
        size: float = 16.0,
        n_words: int = 64,
        max_descriptors: int = 100_000,
        power: float = 0.5,
        random_state: int | None = 0,
    ):
        self.step = step
        self.size = size
        self.n_words = n_words
        self.max_descriptors = max_descriptors
        self.power = power
        self.random_state = random_state

    def feature_names(self) -> list[str]:
        self.validate()
        n_words = int(self.n_words)
        width = len(str(n_words - 1))
        return [
            f"w{w:0{width}d}_{d:03d}"
            for w in range(n_words)
            for d in range(self.descriptor_dim)
        ]

    # -- per image ------------------------------------------------------------------
    def local_descriptors(self, ctx) -> np.ndarray:
        """Dense RootSIFT descriptors of one image, float32 (n, 128)."""
        u8 = ctx.filled_u8
        h, w = u8.shape
        step, half = int(self.step), int(self.step) // 2
        ys, xs = np.mgrid[half:h:step, half:w:step]
        inside = ctx.mask[ys, xs]
        points = [
            cv2.KeyPoint(float(x), float(y), float(self.size))
            for y, x in zip(ys[inside], xs[inside], strict=True)
        ]
        if not points:
            return np.zeros((0, self.descriptor_dim), np.float32)
        _, desc = cv2.SIFT_create().compute(u8, points)
        if desc is None:
            return np.zeros((0, self.descriptor_dim), np.float32)
        desc = desc.astype(np.float32)
        desc /= np.maximum(desc.sum(axis=1, keepdims=True), 1e-12)
        return np.sqrt(desc)

    # -- fitted part ------------------------------------------------------------
    def fit_codebook(self, descriptors: list[np.ndarray]) -> VLADFeatures:
        """Learn the codebook from the training images' descriptors."""
        self.validate()
        pool = [d for d in descriptors if len(d)]
        if not pool:
            raise ValueError(
                "VLADFeatures found no local descriptors in the training "
                "images (are the masks empty or the images tiny?)."
            )
        stacked = np.concatenate(pool)
        rng = np.random.default_rng(self.random_state)
        if len(stacked) > self.max_descriptors:
            stacked = stacked[
                rng.choice(len(stacked), self.max_descriptors, replace=False)
            ]
        n_words = int(self.n_words)
        if len(stacked) < n_words:
            raise ValueError(
                f"VLADFeatures needs at least n_words={n_words} training "
                f"descriptors; got {len(stacked)}."
            )
        km = MiniBatchKMeans(
            n_words, random_state=self.random_state, n_init=3, batch_size=4096
        )
        # On one thread: k-means's sums over OpenMP and BLAS threads would make the
        # codebook depend on how many cores the process may use (fewer in a joblib
        # worker), so the same training images would not give the same codebook.
        with threadpool_limits(limits=1):
            centres = km.fit(stacked).cluster_centers_
        # Centres on a grid of 2**-20 (a change of at most 5e-7): with descriptors in
        # float16 (multiples of 2**-24, at most 1) every product and sum in
        # :meth:`encode` is then exact in float64, whatever order BLAS adds them in.
        self.codebook_ = (np.round(centres * _GRID) / _GRID).astype(np.float32)
        return self

    def encode(self, descriptors: np.ndarray) -> np.ndarray:
        """VLAD vector of one image (NaN when it has no descriptor).

        The descriptors are taken in float16, as the extractor stores them. The
        nearest centres and the residual sums are then exact (see
        :meth:`fit_codebook`), so the vector is the same bits in every process.
        """
        n_words, dim = self.codebook_.shape
        if len(descriptors) == 0:
            return np.full(n_words * dim, np.nan)
        d = np.asarray(descriptors).astype(np.float16).astype(np.float64)
        c = self.codebook_.astype(np.float64)
        # Squared distances as |c|² − 2 d·c (|d|² is the same for every centre):
        # exact in float64, so ties go to the first centre everywhere.
        nearest = ((c * c).sum(1)[None, :] - 2.0 * (d @ c.T)).argmin(axis=1)
        vlad = np.zeros((n_words, dim), np.float64)
        np.add.at(vlad, nearest, d - c[nearest])  # exact sums: order does not matter
        vlad = np.sign(vlad) * np.abs(vlad) ** float(self.power)
        norm = np.sqrt(np.sum(vlad * vlad))  # pairwise sum, not a threaded BLAS dot
        return (vlad / norm if norm > 0 else vlad).ravel()

    def compute(self, ctx) -> np.ndarray:
        if not hasattr(self, "codebook_"):
            raise RuntimeError(
                "VLADFeatures must be fitted (FeatureExtractor.fit) "
                "before it can encode images."
            )
        return self.encode(self.local_descriptors(ctx))
