"""First-convolution channel adaptation, which lives in :mod:`featcls._nets._channels`.

It moved below :mod:`featcls.features` so that the ``embedding`` feature family
adapts networks too; this module keeps the names where the CNN code imports them.
"""

from featcls._nets._channels import adapt_first_conv, adapt_kernels, first_conv

__all__ = ["adapt_first_conv", "adapt_kernels", "first_conv"]
