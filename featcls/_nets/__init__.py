"""Plain-torch networks shared by the feature families and the models.

:mod:`featcls.features` (the ``embedding`` family, which runs a network over the
images) and :mod:`featcls.models` (:class:`~featcls.models.CNNClassifier`, which
trains one) both need networks, and the features must not import the models
(DESIGN.md: imports only point down the flow). What they share lives here, below
both: the built-in architectures (``_builtin``), a user's network from a module,
factory or spec string (``_spec``), safe weights files (``_weights``), the
first-convolution channel adaptation (``_channels``), a network made a
feature extractor: loaded from any of those sources, without its classifier,
pooled (``_backbone``), and the file of a backbone pretrained without labels
(``_pretrained``).

The submodules import torch when they load; this package itself imports nothing,
and its names load on first use.
"""

from __future__ import annotations

from featcls._lazy import lazy_names

#: The ``format`` tag of a featcls CNN model file (written by
#: :meth:`featcls.models.CNNClassifier.save`).
MODEL_FILE_FORMAT = "featcls-cnn"
#: The ``format`` tag of a backbone file (written by
#: :func:`featcls.models.pretrain`).
BACKBONE_FILE_FORMAT = "featcls-backbone"

_EXPORTS = {
    "Backbone": "featcls._nets._backbone",
    "load_backbone": "featcls._nets._backbone",
    "NETWORKS": "featcls._nets._builtin",
    "build_network": "featcls._nets._builtin",
    "adapt_first_conv": "featcls._nets._channels",
    "adapt_kernels": "featcls._nets._channels",
    "first_conv": "featcls._nets._channels",
    "PretrainedBackbone": "featcls._nets._pretrained",
    "read_backbone": "featcls._nets._pretrained",
    "import_spec": "featcls._nets._spec",
    "raw_network": "featcls._nets._spec",
    "file_sha256": "featcls._nets._weights",
    "load_weights": "featcls._nets._weights",
    "read_state_dict": "featcls._nets._weights",
}

__all__ = ["BACKBONE_FILE_FORMAT", "MODEL_FILE_FORMAT", *_EXPORTS]

__getattr__, __dir__ = lazy_names("featcls._nets", _EXPORTS, globals())
