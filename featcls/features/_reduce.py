"""Dot products whose bits depend only on their inputs.

A matrix product (``a @ b``) goes to BLAS, which may split a long dot product over
its threads and add the partial sums in another order: OpenBLAS does so for a
vector-matrix product with 16384 rows, and the number of threads differs between the
parent process and joblib's workers, so ``n_jobs`` changed the last bit of a feature.
The features therefore take their dot products from :func:`rowdot`: an elementwise
product summed along the last, contiguous axis by NumPy's pairwise summation, whose
order is fixed by the length alone (not by threads, memory alignment or chunks).
"""

from __future__ import annotations

import numpy as np

__all__ = ["rowdot"]


def rowdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``sum(a * b, axis=-1)`` (broadcast), in an order fixed by the length alone.

    Examples
    --------
    >>> import numpy as np
    >>> rowdot(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([10.0, 1.0])).tolist()
    [12.0, 34.0]
    """
    return np.multiply(a, b).sum(axis=-1)
