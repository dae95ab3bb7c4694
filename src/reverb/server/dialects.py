"""Channel types and channel-name rules, where Reverb and Soketi disagree.

Soketi follows the Pusher conventions the client core already knows
(:mod:`reverb.protocol.names`): dashed prefixes, portable names of at most 200 characters.
Reverb deliberately departs from them; each departure is a named function here, so that none
hides in a copy (``reverb-protocol.md`` §3 and its last section).
"""

from __future__ import annotations

from typing import NamedTuple

from ..exceptions import ConfigurationError
from ..protocol.names import (
    MAX_CHANNEL_NAME_LENGTH,
    ChannelKind,
    channel_kind,
    is_cache_channel,
    validate_channel_name,
)
from .config import Dialect

__all__ = [
    "ChannelType",
    "channel_type",
    "reverb_channel_type",
    "soketi_channel_type",
    "soketi_name_allowed",
    "soketi_name_too_long",
]


class ChannelType(NamedTuple):
    """What a channel's name makes it on the server."""

    is_private: bool
    """Subscribing needs a signature (private, encrypted and presence channels)."""
    is_presence: bool
    """Members are tracked."""
    is_cache: bool
    """The last event is replayed to new subscribers."""


def reverb_channel_type(name: str) -> ChannelType:
    """Reverb's reading of a channel name.

    Reverb deliberately checks *undashed* prefixes, in this order: ``private-cache-``,
    ``presence-cache-``, ``cache``, ``private``, ``presence``. So ``privateroom`` is private,
    ``cachefoo`` is a cache channel, and ``private-encrypted-cache-x`` is private but not cached.
    """
    if name.startswith("private-cache-"):
        return ChannelType(is_private=True, is_presence=False, is_cache=True)
    if name.startswith("presence-cache-"):
        return ChannelType(is_private=True, is_presence=True, is_cache=True)
    if name.startswith("cache"):
        return ChannelType(is_private=False, is_presence=False, is_cache=True)
    if name.startswith("private"):
        return ChannelType(is_private=True, is_presence=False, is_cache=False)
    if name.startswith("presence"):
        return ChannelType(is_private=True, is_presence=True, is_cache=False)
    return ChannelType(is_private=False, is_presence=False, is_cache=False)


def soketi_channel_type(name: str) -> ChannelType:
    """Soketi's reading: the Pusher prefixes, as the client core reads them.

    Soketi also caches ``private-encrypted-cache-`` channels. (Its private and cache patterns
    are unanchored regexes, so it would also count ``my-private-x`` as private; the dialect
    reads prefixes, as the Pusher documentation defines them.)
    """
    kind = channel_kind(name)
    return ChannelType(
        is_private=kind.needs_auth,
        is_presence=kind is ChannelKind.PRESENCE,
        is_cache=is_cache_channel(name) or name.startswith("private-encrypted-cache-"),
    )


def channel_type(name: str, dialect: Dialect) -> ChannelType:
    """The channel's type in ``dialect``."""
    if dialect is Dialect.SOKETI:
        return soketi_channel_type(name)
    return reverb_channel_type(name)


def soketi_name_too_long(name: str) -> bool:
    """Whether Soketi refuses the name for its length (over 200 characters).

    Reverb deliberately sets no limit on channel names, not even on ``""``.
    """
    return len(name) > MAX_CHANNEL_NAME_LENGTH


def soketi_name_allowed(name: str) -> bool:
    """Whether Soketi accepts the name's characters: the portable rule, after an optional ``#``.

    Reverb deliberately accepts any string as a channel name.
    """
    try:
        validate_channel_name(name.removeprefix("#"))
    except ConfigurationError:
        return False
    return True
