"""An exponential moving average of a network's weights, updated after every step."""

from __future__ import annotations

import contextlib

from featcls.models._cnn_device import import_torch

__all__ = ["WeightAverage"]


class WeightAverage:
    """The EMA of a module's floating-point state tensors (weights and batch norm).

    ``update`` after every optimisation step, with the usual warm-up: the decay at
    step ``t`` is ``min(decay, (1 + t) / (10 + t))``. Inside ``swapped_in()`` the
    module holds the averaged values; its own values are put back on leaving.

    Parameters
    ----------
    decay : float
        The largest decay, in ``(0, 1)``.
    live : list of tensors
        The module's own floating-point state tensors, updated in place by training.
    """

    def __init__(self, decay: float, live: list):
        self.decay = float(decay)
        self.live = live
        self.average = [t.detach().clone() for t in live]
        self.steps = 0

    @classmethod
    def of(cls, module, decay: float) -> WeightAverage:
        """The average of ``module``'s floating-point state, starting at its values."""
        state = module.state_dict()
        return cls(decay, [t for t in state.values() if t.is_floating_point()])

    def update(self) -> None:
        """One step of the moving average."""
        torch = import_torch()
        self.steps += 1
        decay = min(self.decay, (1.0 + self.steps) / (10.0 + self.steps))
        torch._foreach_lerp_(self.average, self.live, 1.0 - decay)

    @contextlib.contextmanager
    def swapped_in(self):
        """Inside the block, the live tensors hold the averaged values."""
        torch = import_torch()
        with torch.no_grad():
            saved = [t.clone() for t in self.live]
            torch._foreach_copy_(self.live, self.average)
            try:
                yield
            finally:
                torch._foreach_copy_(self.live, saved)
