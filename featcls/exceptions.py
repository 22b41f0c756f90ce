"""Exceptions and warnings raised by featcls."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

__all__ = [
    "DataWarning",
    "DecisionWarning",
    "FeatureWarning",
    "ImageReadError",
    "Setting",
    "SettingError",
    "spell_message",
]


class Setting(NamedTuple):
    """A parameter setting that an error message names, e.g. as the fix.

    ``str()`` spells it as the Python API does (``on_error='skip'``); a front end
    with other spellings (the command line's ``--on-error skip``) renders the same
    message with :func:`spell_message`.
    """

    name: str
    value: object

    def __str__(self) -> str:
        """The setting as the Python API spells it (``on_error='skip'``)."""
        return f"{self.name}={self.value!r}"


class _NamesSettings(Exception):
    """An error whose message is text and :class:`Setting` parts.

    ``str(exc)`` is the message in the Python API's spelling; ``exc.parts`` keeps
    the pieces, so :func:`spell_message` can spell the settings another way.
    """

    def __init__(self, *parts: object) -> None:
        self.parts = parts
        super().__init__("".join(map(str, parts)))

    def __reduce__(self):  # keep the parts across processes (joblib workers)
        return (type(self), self.parts)


def spell_message(exc: BaseException, spell: Callable[[Setting], str] = str) -> str:
    """The message of ``exc`` with every :class:`Setting` in it spelt by ``spell``.

    Examples
    --------
    >>> exc = SettingError("Or pass ", Setting("on_error", "skip"), ".")
    >>> str(exc)
    "Or pass on_error='skip'."
    >>> spell_message(exc, lambda s: f"--{s.name.replace('_', '-')} {s.value}")
    'Or pass --on-error skip.'
    """
    parts = getattr(exc, "parts", None)
    if not isinstance(exc, _NamesSettings) or parts is None:
        return str(exc)
    return "".join(spell(p) if isinstance(p, Setting) else str(p) for p in parts)


class ImageReadError(_NamesSettings, ValueError):
    """An image or mask could not be read or does not fit its sample.

    The message names the file (or the sample) and says what to do.
    """


class SettingError(_NamesSettings, ValueError):
    """A setting does not fit the data; the message names the setting that fixes it.

    The settings are :class:`Setting` parts of the message (see
    :func:`spell_message`).
    """


class DataWarning(UserWarning):
    """Something in a dataset was unusual but could be handled."""


class FeatureWarning(UserWarning):
    """A feature could not be computed for a sample and is NaN."""


class DecisionWarning(UserWarning):
    """A decision threshold could not be chosen by its rule; 0.5 was used."""
