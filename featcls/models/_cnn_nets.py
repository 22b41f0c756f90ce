"""The built-in networks, which live in :mod:`featcls._nets._builtin`.

They moved below :mod:`featcls.features` so that the ``embedding`` feature family
runs them too; this module keeps the names where the CNN code imports them.
"""

from featcls._nets._builtin import (
    NETWORKS,
    SeededDropout,
    build_network,
    glorot_,
    head_logits,
    reset_batch_norm_statistics,
    set_dropout_generator,
)

__all__ = [
    "NETWORKS",
    "SeededDropout",
    "build_network",
    "glorot_",
    "head_logits",
    "reset_batch_norm_statistics",
    "set_dropout_generator",
]
