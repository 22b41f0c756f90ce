"""Exceptions and warnings raised by featcls."""

__all__ = ["DataWarning", "FeatureWarning", "ImageReadError"]


class ImageReadError(ValueError):
    """An image or mask could not be read or does not fit its sample.

    The message names the file (or the sample) and says what to do.
    """


class DataWarning(UserWarning):
    """Something in a dataset was unusual but could be handled."""


class FeatureWarning(UserWarning):
    """A feature could not be computed for a sample and is NaN."""
