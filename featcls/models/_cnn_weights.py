"""Safe weights files, which live in :mod:`featcls._nets._weights`.

They moved below :mod:`featcls.features` so that the ``embedding`` feature family
reads weights files too; this module keeps the names where the CNN code imports
them.
"""

from featcls._nets._weights import (
    file_sha256,
    load_weights,
    read_state_dict,
    weights_message,
)

__all__ = ["file_sha256", "load_weights", "read_state_dict", "weights_message"]
