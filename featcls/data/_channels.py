"""Samples made of several files: one grey file per named channel (stain).

A fluorescence atlas stores each stain of a sample as its own grey file
(``abc_red.png``, ``abc_green.png`` ...). Such a sample sits in the ``image``
column of the sample table as one :class:`ChannelFiles`: the paths and the names
of its channels, in order. It is one cell like a path, so scikit-learn's splitters
slice the table as before, and every reader of samples decodes it with
:func:`featcls.data.read_image`, which stacks the files into one ``(H, W, C)``
image. Its channel names travel with it: feature columns (``intensity__green_mean``),
the CNN's input channels and the report's false-colour thumbnails.

A *channel view* keeps some named channels of every sample
(:func:`featcls.data.select_channels`, ``FeatureExtractor(channels="green,blue")``),
so that
features and CNNs can be compared on one stain or several.

This module does no I/O; decoding is :func:`featcls.data.read_image`'s.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from featcls._policies import CHANNEL_POLICIES
from featcls.exceptions import Setting, SettingError

__all__ = [
    "ChannelFiles",
    "channel_view",
    "check_channel_names",
    "parse_channels",
    "sample_channel_names",
]

#: Characters a channel name may not hold: ``,`` separates names in
#: ``channels="green,blue"``, braces are the pattern's fields, and spaces would
#: make feature column names hard to use.
_FORBIDDEN = set(",{}") | {" ", "\t", "\n", "\r"}

_POLICY_LIST = ", ".join(map(repr, CHANNEL_POLICIES))


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)


def check_channel_names(
    names: Any, *, setting: str = "channel_names"
) -> tuple[str, ...]:
    """Validated channel names, as a tuple.

    Parameters
    ----------
    names : str or sequence of str
        The names, in order; a string is split at commas (``"red,green"``).
    setting : str, default="channel_names"
        The parameter the names come from, for messages.

    Returns
    -------
    names : tuple of str

    Raises
    ------
    ValueError
        If there is no name, a name is empty, repeated, holds a comma, a brace or
        a space, or is also a channel policy (``"gray"``, ``"rgb"`` ...), which
        would make ``channels="gray"`` ambiguous.

    Examples
    --------
    >>> check_channel_names("red,green,blue,yellow")
    ('red', 'green', 'blue', 'yellow')
    """
    if isinstance(names, str):
        names = names.split(",")
    if not isinstance(names, Sequence) or not all(isinstance(n, str) for n in names):
        raise ValueError(
            f"{setting} must be channel names: a list of strings or one string of "
            f"names separated by commas, e.g. 'red,green,blue,yellow'. Got {names!r}."
        )
    out = tuple(n.strip() for n in names)
    if not out or any(not n for n in out):
        raise ValueError(
            f"{setting} must name every channel with a non-empty name, e.g. "
            f"'red,green,blue,yellow'. Got {list(names)!r}."
        )
    for name in out:
        bad = sorted(set(name) & _FORBIDDEN)
        if bad:
            raise ValueError(
                f"The channel name {name!r} of {setting} holds {_quoted(bad)}; a "
                "channel name may not hold commas, braces or spaces (they separate "
                "names and fill file patterns). Rename the channel, e.g. "
                f"{''.join(c for c in name if c not in _FORBIDDEN)!r}."
            )
        if name in CHANNEL_POLICIES:
            raise ValueError(
                f"The channel name {name!r} of {setting} is also a channel policy "
                f"({_POLICY_LIST}), so channels={name!r} would be ambiguous. Name "
                f"the channel otherwise, e.g. {name + '_stain'!r}."
            )
    repeated = sorted({n for n in out if out.count(n) > 1})
    if repeated:
        raise ValueError(
            f"{setting} names the channel(s) {_quoted(repeated)} more than once; "
            f"every channel needs its own name. Got {list(out)!r}."
        )
    return out


@dataclass(frozen=True)
class ChannelFiles:
    """One sample stored as one grey file per named channel.

    The value of the ``image`` cell of a sample table for such a sample: an
    immutable pair of tuples, ``paths[i]`` holding the channel ``names[i]``.
    :func:`~featcls.data.read_image` reads it as one ``(H, W, C)`` image whose
    channels are in ``names`` order; it refuses a missing file, a file that is not
    a single grey image, and files of different sizes, naming the file and the
    channel. ``str()`` gives a short label for messages and reports: the paths'
    common start and end around the varying parts,
    ``'/data/train/abc_{red,green}.png'``.

    Parameters
    ----------
    paths : sequence of str or os.PathLike
        One file per channel.
    names : sequence of str
        The channel names, in the same order (see :func:`check_channel_names`).

    Raises
    ------
    ValueError
        If ``paths`` and ``names`` differ in length or a name is invalid.

    Examples
    --------
    >>> files = ChannelFiles(["s1_red.png", "s1_green.png"], ["red", "green"])
    >>> str(files)
    's1_{red,green}.png'
    >>> files.select(["green"]).paths
    ('s1_green.png',)
    """

    paths: tuple[str, ...]
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        paths = self.paths
        if isinstance(paths, (str, os.PathLike)) or not isinstance(paths, Sequence):
            raise ValueError(
                f"ChannelFiles needs one path per channel (a list); got {paths!r}."
            )
        paths = tuple(os.fspath(p) for p in paths)
        names = check_channel_names(self.names, setting="ChannelFiles names")
        if len(paths) != len(names):
            raise ValueError(
                f"ChannelFiles needs one path per channel name; got {len(paths)} "
                f"path(s) for the {len(names)} channel(s) {_quoted(names)}."
            )
        object.__setattr__(self, "paths", paths)
        object.__setattr__(self, "names", names)

    def __str__(self) -> str:
        """The paths' common start and end around their varying parts."""
        if len(self.paths) == 1:
            return self.paths[0]
        head = os.path.commonprefix(list(self.paths))
        tails = [p[len(head) :] for p in self.paths]
        tail = os.path.commonprefix([t[::-1] for t in tails])[::-1]
        middles = [t[: len(t) - len(tail)] for t in tails]
        return f"{head}{{{','.join(middles)}}}{tail}"

    def path_of(self, name: str) -> str:
        """The file of the channel ``name``."""
        return self.paths[self.names.index(name)]

    def select(self, names: Sequence[str]) -> ChannelFiles:
        """The files of the channels ``names``, in that order.

        Raises
        ------
        SettingError
            If a name is not a channel of this sample; the message lists them.
        """
        unknown = [n for n in names if n not in self.names]
        if unknown:
            shown = ",".join(names)
            raise SettingError(
                f"Unknown channel(s) {_quoted(unknown)} in ",
                Setting("channels", shown),
                f"; the channels of sample {str(self)!r} are {_quoted(self.names)}. "
                f"Name some of them, or use a channel policy ({_POLICY_LIST}).",
            )
        return ChannelFiles([self.path_of(n) for n in names], list(names))


def parse_channels(channels: Any) -> str | tuple[str, ...]:
    """A channel policy, or the tuple of channel names of a channel view.

    Parameters
    ----------
    channels : str or sequence of str
        A policy of :data:`~featcls.data.CHANNEL_POLICIES` (``"gray"``, ``"rgb"``,
        ``"hsv"``, ``"channels"``), or channel names: ``"green"``,
        ``"green,blue"`` or ``["green", "blue"]``.

    Returns
    -------
    channels : str or tuple of str
        The policy, or the names (whitespace stripped, in the given order).

    Raises
    ------
    ValueError
        If a name is empty, repeated, or a policy among names.

    Examples
    --------
    >>> parse_channels("rgb"), parse_channels("green, blue")
    ('rgb', ('green', 'blue'))
    """
    if isinstance(channels, str) and channels in CHANNEL_POLICIES:
        return channels
    names = channels.split(",") if isinstance(channels, str) else channels
    if not isinstance(names, Sequence) or not all(isinstance(n, str) for n in names):
        raise ValueError(
            f"channels must be a channel policy ({_POLICY_LIST}) or channel names "
            f"(e.g. 'green' or 'green,blue'). Got {channels!r} instead."
        )
    names = tuple(n.strip() for n in names)
    policies = [n for n in names if n in CHANNEL_POLICIES]
    if policies and len(names) > 1:
        raise ValueError(
            f"channels={channels!r} mixes the channel policy {policies[0]!r} with "
            "channel names; give one policy, or names of channels only."
        )
    if not names or any(not n for n in names) or len(set(names)) != len(names):
        raise ValueError(
            f"channels must be a channel policy ({_POLICY_LIST}) or distinct, "
            f"non-empty channel names separated by commas (e.g. 'green,blue'). Got "
            f"{channels!r} instead."
        )
    return names if not policies else policies[0]


def channel_view(source: Any, names: Sequence[str], label: str) -> ChannelFiles:
    """The channels ``names`` of one sample, which must have named channels.

    Raises
    ------
    SettingError
        If the sample has no named channels (it is a single file or an array), or
        lacks one of the names.
    """
    if not isinstance(source, ChannelFiles):
        shown = ",".join(names)
        raise SettingError(
            "",
            Setting("channels", shown),
            f" names channels, but {label!r} has no named channels (only "
            "samples of one file per channel have them: load_manifest(..., "
            f"channel_files=..., channel_names=...)). Use a channel policy "
            f"({_POLICY_LIST}).",
        )
    return source.select(names)


def sample_channel_names(images: Sequence[Any]) -> tuple[str, ...] | None:
    """The channel names of the first sample of ``images``, or None without any."""
    if len(images) and isinstance(images[0], ChannelFiles):
        return images[0].names
    return None
