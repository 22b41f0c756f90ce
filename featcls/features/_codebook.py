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
from sklearn.decomposition import PCA
from threadpoolctl import threadpool_limits

from featcls._validation import RANDOM_STATE, NumberInterval, invalid
from featcls.features._base import FeatureFamily

__all__ = ["VLADFeatures"]

#: Codebook centres are multiples of 1 / _GRID (see ``fit_codebook``).
_GRID = 2.0**20
#: With ``pca_components``: the projection's entries are multiples of 1 / _W_GRID,
#: at most _W_BOUND in size (whitening divides by a standard deviation of at least
#: 1 / _W_BOUND); projected descriptors are multiples of 1 / _P_GRID within
#: ±_P_BOUND, and centres multiples of 1 / _PC_GRID (see ``_project``).
_W_GRID, _W_BOUND = 2.0**12, 2.0**10
_P_GRID, _P_BOUND = 2.0**8, 2.0**8
_PC_GRID = 2.0**16
#: The descriptor of one keypoint at one support size.
_SIFT_DIM = 128


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
    by signed power normalisation (exponent ``power``) and L2 normalisation.

    With several support sizes (multi-scale descriptors on the same grid), each size
    has its own codebook and its own normalised VLAD vector, and the vectors are
    concatenated. With ``pca_components``, each size's descriptors are first
    PCA-whitened (Jégou & Chum 2012), the projection fitted on the same training
    descriptors as the codebook.

    Features ``w<word>_<dim>`` (``s<size>_w<word>_<dim>`` with several sizes):
    ``n_words × pca_components`` values per size (``n_words × 128`` without PCA).

    Parameters
    ----------
    step : int, default=12
        Grid spacing of the keypoints, in pixels.
    size : float or sequence of float, default=16
        Keypoint diameter (descriptor support), in pixels; several distinct sizes
        for multi-scale descriptors (for example ``(16, 24, 32)``).
    n_words : int, default=128
        Codebook size (number of k-means words) per support size.
    max_descriptors : int, default=100000
        Descriptors sampled (uniformly, seeded) from the training images for k-means
        (and the PCA).
    power : float, default=0.5
        Exponent of the signed power normalisation (1 disables it).
    pca_components : int or None, default=64
        The descriptors are projected on their first ``pca_components`` principal
        components and whitened (each divided by its standard deviation) before the
        codebook; None keeps the 128 RootSIFT dimensions. With the default 128
        words the encoding has 8,192 columns, as 64 words without PCA have; on the
        ELPV cells it scores higher (``experiments/elpv/codebook.py``: SVM
        macro-F1 0.814 against 0.804).
    random_state : int or None, default=0

    References
    ----------
    H. Jégou, M. Douze, C. Schmid, P. Pérez, "Aggregating local descriptors into a
    compact image representation", CVPR 2010. R. Arandjelović, A. Zisserman, "Three
    things everyone should know to improve object retrieval", CVPR 2012. H. Jégou,
    O. Chum, "Negative evidences and co-occurrences in image retrieval: the benefit
    of PCA and whitening", ECCV 2012. S. Deitsch et al., "Automatic classification
    of defective photovoltaic module cells in electroluminescence images", Solar
    Energy 185 (2019).
    """

    name = "vlad"
    per_channel = False
    stateful = True
    _parameter_constraints: dict = {
        "step": [NumberInterval(Integral, 1, None, closed="left")],
        "size": [NumberInterval(Real, 0, None, closed="neither"), "array-like"],
        "n_words": [NumberInterval(Integral, 2, None, closed="left")],
        "max_descriptors": [NumberInterval(Integral, 2, None, closed="left")],
        "power": [NumberInterval(Real, 0, None, closed="neither")],
        "pca_components": [
            NumberInterval(Integral, 1, _SIFT_DIM, closed="both"),
            None,
        ],
        "random_state": [RANDOM_STATE, np.random.RandomState, None],
    }

    def __init__(
        self,
        *,
        step: int = 12,
        size: float = 16.0,
        n_words: int = 128,
        max_descriptors: int = 100_000,
        power: float = 0.5,
        pca_components: int | None = 64,
        random_state: int | None = 0,
    ):
        self.step = step
        self.size = size
        self.n_words = n_words
        self.max_descriptors = max_descriptors
        self.power = power
        self.pca_components = pca_components
        self.random_state = random_state

    def _check_params(self) -> None:
        self._sizes()

    def _sizes(self) -> tuple[float, ...]:
        """The support sizes, as a tuple of floats (one for a single size)."""
        if isinstance(self.size, Real):
            return (float(self.size),)
        each = NumberInterval(Real, 0, None, closed="neither")
        items = tuple(np.ravel(np.asarray(self.size, dtype=object)))
        if not (
            items
            and all(each.is_satisfied_by(v) for v in items)
            and len(set(items)) == len(items)
        ):
            raise invalid(
                self, "size", f"{each} or a non-empty array-like of distinct such"
            )
        return tuple(float(v) for v in items)

    @property
    def descriptor_dim(self) -> int:
        """Columns of one keypoint's descriptors (128 per support size)."""
        return _SIFT_DIM * len(self._sizes())

    def descriptor_params(self) -> dict:
        """The parameters the local descriptors depend on (their cache key)."""
        return {"step": self.step, "size": self._sizes()}

    def feature_names(self) -> list[str]:
        self.validate()
        n_words = int(self.n_words)
        dim = _SIFT_DIM if self.pca_components is None else int(self.pca_components)
        width = len(str(n_words - 1))
        words = [f"w{w:0{width}d}_{d:03d}" for w in range(n_words) for d in range(dim)]
        sizes = self._sizes()
        if len(sizes) == 1:
            return words
        return [f"s{size:g}_{word}" for size in sizes for word in words]

    # -- per image ------------------------------------------------------------------
    def local_descriptors(self, ctx) -> np.ndarray:
        """Dense RootSIFT descriptors of one image, float32 (n, 128 × sizes).

        One row per keypoint; its descriptors at every support size side by side.
        """
        sizes = self._sizes()
        u8 = ctx.filled_u8
        h, w = u8.shape
        step, half = int(self.step), int(self.step) // 2
        ys, xs = np.mgrid[half:h:step, half:w:step]
        inside = ctx.mask[ys, xs]
        centres = list(zip(xs[inside].tolist(), ys[inside].tolist(), strict=True))
        empty = np.zeros((0, self.descriptor_dim), np.float32)
        if not centres:
            return empty
        points = [
            cv2.KeyPoint(float(x), float(y), size) for size in sizes for x, y in centres
        ]
        kept, desc = cv2.SIFT_create().compute(u8, points)
        if desc is None:
            return empty
        if len(kept) != len(points):  # OpenCV keeps every given keypoint
            raise RuntimeError(
                f"OpenCV's SIFT returned {len(kept)} descriptors for {len(points)} "
                "keypoints."
            )
        desc = desc.astype(np.float32)
        desc /= np.maximum(desc.sum(axis=1, keepdims=True), 1e-12)
        desc = np.sqrt(desc)
        return np.hstack(np.split(desc, len(sizes))) if len(sizes) > 1 else desc

    # -- fitted part ------------------------------------------------------------
    def fit_codebook(self, descriptors: list[np.ndarray]) -> VLADFeatures:
        """Learn the codebook (and projection) from the training descriptors."""
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
        books, projections, offsets = [], [], []
        # On one thread: the sums of k-means and the PCA over OpenMP and BLAS threads
        # would make the codebook depend on how many cores the process may use (fewer
        # in a joblib worker), so the same training images would not give the same
        # codebook.
        with threadpool_limits(limits=1):
            for s in range(len(self._sizes())):
                block = stacked[:, s * _SIFT_DIM : (s + 1) * _SIFT_DIM]
                grid = _GRID
                if self.pca_components is not None:
                    block = block.astype(np.float16).astype(np.float64)
                    projection, offset = self._fit_projection(block)
                    projections.append(projection)
                    offsets.append(offset)
                    block = _project(block, projection, offset)
                    grid = _PC_GRID
                km = MiniBatchKMeans(
                    n_words, random_state=self.random_state, n_init=3, batch_size=4096
                )
                centres = km.fit(block).cluster_centers_
                # Centres on a grid (2**-20, a change of at most 5e-7; 2**-16 for
                # whitened descriptors): with descriptors on their own grid, every
                # product and sum in :meth:`encode` is then exact in float64,
                # whatever order BLAS adds them in.
                books.append(np.round(centres * grid) / grid)
        self.codebook_ = np.concatenate(books).astype(np.float32)
        self.projection_ = np.stack(projections) if projections else None
        self.offset_ = np.stack(offsets) if offsets else None
        return self

    def _fit_projection(self, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The whitening projection (128, k) of one size's descriptors, and offset."""
        k = int(self.pca_components)
        if len(block) <= k:
            raise ValueError(
                f"VLADFeatures needs more than pca_components={k} training "
                f"descriptors; got {len(block)}."
            )
        pca = PCA(k, random_state=self.random_state).fit(block)
        std = np.sqrt(np.maximum(pca.explained_variance_, _W_BOUND**-2))
        projection = pca.components_.T / std
        projection = np.clip(
            np.round(projection * _W_GRID) / _W_GRID, -_W_BOUND, _W_BOUND
        )
        return projection, pca.mean_ @ projection

    def encode(self, descriptors: np.ndarray) -> np.ndarray:
        """VLAD vector of one image (NaN when it has no descriptor).

        The descriptors are taken in float16, as the extractor stores them. The
        projection, the nearest centres and the residual sums are then exact (see
        :meth:`fit_codebook` and ``_project``), so the vector is the same bits in
        every process.
        """
        sizes = self._sizes()
        n_words = int(self.n_words)
        dim = self.codebook_.shape[1]
        if len(descriptors) == 0:
            return np.full(len(sizes) * n_words * dim, np.nan)
        all_d = np.asarray(descriptors).astype(np.float16).astype(np.float64)
        # Fitted before the projection existed (an older model file): none.
        projection = getattr(self, "projection_", None)
        blocks = []
        for s in range(len(sizes)):
            d = all_d[:, s * _SIFT_DIM : (s + 1) * _SIFT_DIM]
            if projection is not None:
                d = _project(d, projection[s], self.offset_[s])
            c = self.codebook_[s * n_words : (s + 1) * n_words].astype(np.float64)
            # Squared distances as |c|² − 2 d·c (|d|² is the same for every centre):
            # exact in float64, so ties go to the first centre everywhere.
            nearest = ((c * c).sum(1)[None, :] - 2.0 * (d @ c.T)).argmin(axis=1)
            vlad = np.zeros((n_words, dim), np.float64)
            np.add.at(vlad, nearest, d - c[nearest])  # exact sums: any order
            vlad = np.sign(vlad) * np.abs(vlad) ** float(self.power)
            norm = np.sqrt(np.sum(vlad * vlad))  # pairwise sum, not a threaded BLAS dot
            blocks.append((vlad / norm if norm > 0 else vlad).ravel())
        return np.concatenate(blocks) if len(blocks) > 1 else blocks[0]

    def compute(self, ctx) -> np.ndarray:
        if not hasattr(self, "codebook_"):
            raise RuntimeError(
                "VLADFeatures must be fitted (FeatureExtractor.fit) "
                "before it can encode images."
            )
        return self.encode(self.local_descriptors(ctx))


def _project(d: np.ndarray, projection: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Whitened descriptors ``d @ projection - offset``, on the grid of 1 / _P_GRID.

    ``d`` holds float16 values (multiples of 2**-24, unit L2 norm, so their absolute
    sum is at most √128) and ``projection`` multiples of 2**-12 of at most 2**10: every
    product is a multiple of 2**-36 and every partial sum below 2**14, so the matrix
    product is exact in float64 in any order. The rounding that follows is then the
    same everywhere, and the result (multiples of 2**-8 within ±2**8) keeps the
    distances of :meth:`VLADFeatures.encode` exact too.
    """
    out = d @ projection - offset
    return np.clip(np.round(out * _P_GRID) / _P_GRID, -_P_BOUND, _P_BOUND)
