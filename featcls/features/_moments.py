"""Image moments of the object: central, normalised, Hu invariants and Zernike."""

from __future__ import annotations

from functools import lru_cache
from math import factorial
from numbers import Integral

import cv2
import numpy as np
from sklearn.utils._param_validation import StrOptions

from featcls._validation import NumberInterval
from featcls.features._base import FeatureFamily
from featcls.features._reduce import rowdot

__all__ = ["MomentFeatures", "moment_features"]

_ORDERS = ("20", "11", "02", "30", "21", "12", "03")


def _zernike_names(degree: int) -> list[str]:
    return [
        f"zernike_{n}_{m}"
        for n in range(degree + 1)
        for m in range(n + 1)
        if (n - m) % 2 == 0
    ]


def _log_scale(values: np.ndarray) -> np.ndarray:
    """``sign(x) log10(|x|)``, with 0 for exact zeros (Hu invariants span decades)."""
    out = np.zeros_like(values)
    nz = values != 0
    out[nz] = np.sign(values[nz]) * np.log10(np.abs(values[nz]))
    return out


class MomentFeatures(FeatureFamily):
    """Moments of the object's intensity distribution (or of its mask).

    The object is the image multiplied by the mask, so pixels outside the mask do not
    count. Central moments ``mu_pq`` (p + q = 2, 3; translation invariant, px units),
    normalised central moments ``nu_pq`` (also scale invariant), Hu's seven rotation
    invariants (Hu 1962) log-scaled as ``sign(h) log10|h|``, and the magnitudes of the
    Zernike moments ``|A_nm|`` up to ``zernike_degree`` (Teague 1980; the definition
    of mahotas's ``zernike_moments``) on the disk of the object's maximum radius
    around its centroid. The disk is resampled to ``zernike_size`` pixels, which
    makes the moments scale invariant and lets one precomputed basis serve every
    image.

    Parameters
    ----------
    weighting : {"intensity", "binary"}, default="intensity"
        Weight pixels by their intensity (0–1 scale) or count the mask only.
    zernike_degree : int, default=8
        Highest Zernike order (25 moments for 8).
    zernike_size : int, default=32
        Side of the resampled object square for the Zernike moments, in pixels.

    References
    ----------
    M.-K. Hu, "Visual pattern recognition by moment invariants", IRE Trans. Inf.
    Theory 8 (1962). M. R. Teague, "Image analysis via the general theory of moments",
    JOSA 70 (1980).
    """

    name = "moments"
    _parameter_constraints: dict = {
        "weighting": [StrOptions({"intensity", "binary"})],
        "zernike_degree": [NumberInterval(Integral, 0, None, closed="left")],
        "zernike_size": [NumberInterval(Integral, 8, None, closed="left")],
    }

    def __init__(
        self,
        *,
        weighting: str = "intensity",
        zernike_degree: int = 8,
        zernike_size: int = 32,
    ):
        self.weighting = weighting
        self.zernike_degree = zernike_degree
        self.zernike_size = zernike_size

    def feature_names(self) -> list[str]:
        self.validate()
        return (
            [f"mu{o}" for o in _ORDERS]
            + [f"nu{o}" for o in _ORDERS]
            + [f"hu_{i}" for i in range(7)]
            + _zernike_names(int(self.zernike_degree))
        )

    def compute(self, ctx) -> np.ndarray:
        g = ctx.geometry
        if self.weighting == "binary":
            weights = g.mask.astype(np.float32)
        else:
            weights = ctx.image * g.mask
        m = cv2.moments(weights)
        n_z = len(_zernike_names(self.zernike_degree))
        if m["m00"] <= 0:  # a black object: moments are undefined
            ctx.note("black_object")
            return np.full(21 + n_z, np.nan)
        mu = np.array([m[f"mu{o}"] for o in _ORDERS])
        nu = np.array([m[f"nu{o}"] for o in _ORDERS])
        hu = _log_scale(cv2.HuMoments(m).ravel())
        zernike = self._zernike(weights, m, g)
        if np.isnan(zernike).any():
            ctx.note("black_object")
        return np.concatenate([mu, nu, hu, zernike])

    def _zernike(self, weights: np.ndarray, m: dict, g) -> np.ndarray:
        cy, cx = m["m01"] / m["m00"], m["m10"] / m["m00"]
        radius = g.max_radius + 0.5
        size = int(self.zernike_size)
        # Resample so that the centroid lands on the centre of a size×size square and
        # the object's radius on its half-width: the Zernike basis is then the same
        # for every image and is computed once.
        scale = (size / 2.0) / radius
        centre = (size - 1) / 2.0
        warp = np.float32(
            [[scale, 0, centre - scale * cx], [0, scale, centre - scale * cy]]
        )
        flags = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        small = cv2.warpAffine(
            weights,
            warp,
            (size, size),
            flags=flags,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
        parts, inside = _zernike_basis_parts(size, int(self.zernike_degree))
        n_moments = parts.shape[0] // 2
        values = small.ravel().astype(np.float64)
        total = float(values[inside].sum())  # mass inside the unit disk
        if total <= 0:
            return np.full(n_moments, np.nan)
        moments = rowdot(parts, values / total)
        return np.hypot(moments[:n_moments], moments[n_moments:])


@lru_cache(maxsize=8)
def _zernike_basis(size: int, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """``(n + 1) / pi * conj(V_nl)`` on a size×size grid whose unit disk fills it.

    Columns in the order of :func:`_zernike_names`; zero outside the unit disk,
    whose pixels are also returned. The same definition as mahotas's
    ``zernike_moments`` (Teague 1980: moments of the mass inside the disk), vectorised.
    """
    centre = (size - 1) / 2.0
    yy, xx = np.mgrid[:size, :size]
    x, y = (xx.ravel() - centre) / (size / 2.0), (yy.ravel() - centre) / (size / 2.0)
    rho = np.maximum(np.hypot(x, y), 1e-9)
    angle = (x + 1j * y) / rho
    inside = rho <= 1.0
    columns = []
    for n in range(degree + 1):
        for ell in range(n + 1):
            if (n - ell) % 2:
                continue
            radial = np.zeros_like(rho)
            for k in range((n - ell) // 2 + 1):
                coeff = (
                    (-1) ** k
                    * factorial(n - k)
                    / (
                        factorial(k)
                        * factorial((n + ell) // 2 - k)
                        * factorial((n - ell) // 2 - k)
                    )
                )
                radial += coeff * rho ** (n - 2 * k)
            v = radial * angle**ell
            columns.append(np.where(inside, np.conj(v), 0) * (n + 1) / np.pi)
    return np.stack(columns, axis=1), inside


@lru_cache(maxsize=8)
def _zernike_basis_parts(size: int, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_zernike_basis` as one real matrix: real parts, then imaginary parts.

    One row per part (shape ``(2 n_moments, size²)``), so that each moment is a dot
    product along a contiguous row, taken by :func:`~featcls.features._reduce.rowdot`
    in a fixed order: a BLAS product splits a long one over its threads (and its
    threads cost more than the product when other processes keep the cores busy).
    """
    basis, inside = _zernike_basis(size, degree)
    parts = np.ascontiguousarray(np.concatenate([basis.real, basis.imag], axis=1).T)
    parts.flags.writeable = False
    return parts, inside


def moment_features(image, mask=None, **params) -> dict[str, float]:
    """Moment features of the object in ``image``; see :class:`MomentFeatures`."""
    from featcls.features._extract import compute_family

    return compute_family(MomentFeatures(**params), image, mask)
