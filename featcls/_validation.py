"""Parameter validation beyond scikit-learn's constraints, shared by every estimator.

The estimators declare ``_parameter_constraints`` with scikit-learn's constraint
objects and check them with ``_validate_params``. Two rules are not expressible
there, and live here:

- :class:`NumberInterval`: scikit-learn's :class:`Interval` counts ``True`` as the
  int 1, where featcls refuses a bool for a number (``n_rings=True`` or
  ``max_epochs=True`` is a mistake, not 1).
- :func:`distinct_ints`: a non-empty sequence of distinct ints (``radii``,
  ``distances``). ``make_constraint`` accepts only scikit-learn's own constraint
  classes, so a sequence constraint would have to pose as an :class:`Interval` or
  :class:`Options`; the estimators check it explicitly after ``_validate_params``
  instead, as scikit-learn's estimators do with their cross-parameter rules, and
  raise the same error (:func:`invalid`).
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

from sklearn.utils._param_validation import Interval, InvalidParameterError

__all__ = ["RANDOM_STATE", "NumberInterval", "distinct_ints", "invalid"]


class NumberInterval(Interval):
    """:class:`~sklearn.utils._param_validation.Interval` whose numbers exclude bools.

    Same parameters, bounds and message as scikit-learn's; ``True`` and ``False``
    never satisfy it.
    """

    def is_satisfied_by(self, val: Any) -> bool:
        return not isinstance(val, bool) and super().is_satisfied_by(val)


#: A seed, as scikit-learn's ``"random_state"`` constraint allows one, but no bool
#: (use it with ``np.random.RandomState`` and None, as scikit-learn does).
RANDOM_STATE = NumberInterval(Integral, 0, 2**32 - 1, closed="both")


def invalid(owner: Any, name: str, expected: str) -> InvalidParameterError:
    """The error for the parameter ``name`` of ``owner``, in scikit-learn's words."""
    return InvalidParameterError(
        f"The {name!r} parameter of {type(owner).__name__} must be {expected}. "
        f"Got {getattr(owner, name)!r} instead."
    )


def distinct_ints(owner: Any, name: str, *, low: int = 1) -> tuple[int, ...]:
    """The parameter ``name`` of ``owner``, an int or ints ``>= low``, as a tuple.

    Raises :class:`~sklearn.utils._param_validation.InvalidParameterError` (a
    ``ValueError``) unless it is one such int or a non-empty sequence of distinct
    ones.
    """
    value = getattr(owner, name)
    each = NumberInterval(Integral, low, None, closed="left")
    try:
        items = (value,) if isinstance(value, Integral) else tuple(value)
    except TypeError:
        items = ()
    if not (
        items
        and all(each.is_satisfied_by(v) for v in items)
        and len(set(items)) == len(items)
    ):
        raise invalid(
            owner, name, f"{each} or a non-empty array-like of distinct such ints"
        )
    return tuple(int(v) for v in items)
