"""Channel kinds by name prefix, and the naming rules for channels and client events."""

from __future__ import annotations

import re
from enum import StrEnum

from ..exceptions import ClientEventError, ConfigurationError

__all__ = [
    "MAX_CHANNEL_NAME_LENGTH",
    "ChannelKind",
    "channel_kind",
    "is_cache_channel",
    "validate_channel_name",
    "validate_client_event_name",
]

MAX_CHANNEL_NAME_LENGTH = 200
"""Longest channel name Soketi and hosted Pusher accept (Reverb sets no limit)."""

_PORTABLE_NAME = re.compile(r"[A-Za-z0-9_\-=@,.;]+")
_MAX_EVENT_NAME_LENGTH = 200


class ChannelKind(StrEnum):
    """What a channel's name makes it, as pusher-js reads the prefixes."""

    PUBLIC = "public"
    PRIVATE = "private"
    ENCRYPTED = "private-encrypted"
    PRESENCE = "presence"

    @property
    def needs_auth(self) -> bool:
        """Whether subscribing needs a signature."""
        return self is not ChannelKind.PUBLIC

    @property
    def accepts_client_events(self) -> bool:
        """Whether clients may trigger ``client-`` events on it (never on encrypted channels)."""
        return self in (ChannelKind.PRIVATE, ChannelKind.PRESENCE)


def channel_kind(name: str) -> ChannelKind:
    """Classify a channel name by its prefix (``presence-cache-x`` is a presence channel)."""
    if name.startswith("private-encrypted-"):
        return ChannelKind.ENCRYPTED
    if name.startswith("private-"):
        return ChannelKind.PRIVATE
    if name.startswith("presence-"):
        return ChannelKind.PRESENCE
    return ChannelKind.PUBLIC


def is_cache_channel(name: str) -> bool:
    """Whether the server keeps the channel's last event (``cache-``, ``private-cache-``,
    ``presence-cache-``).
    """
    return name.startswith(("cache-", "private-cache-", "presence-cache-"))


def validate_channel_name(name: object) -> str:
    """Return ``name`` if every server accepts it as a channel name.

    The portable rule (Soketi's and hosted Pusher's) is 1 to 200 characters from
    ``A-Z a-z 0-9 _ - = @ , . ;``. Reverb is more lenient, but a name it alone accepts would
    break the moment the app moves servers.

    Raises:
        ConfigurationError: the name breaks the rule.
    """
    if not isinstance(name, str):
        raise ConfigurationError(f"channel name must be a string, not {type(name).__name__}")
    if not name:
        raise ConfigurationError("channel name must not be empty")
    if len(name) > MAX_CHANNEL_NAME_LENGTH:
        raise ConfigurationError(
            f"channel name is {len(name)} characters long; the limit is {MAX_CHANNEL_NAME_LENGTH}"
        )
    if not _PORTABLE_NAME.fullmatch(name):
        raise ConfigurationError(
            f"channel name {name!r} may only contain letters, digits and _ - = @ , . ;"
        )
    return name


def validate_client_event_name(event: object) -> str:
    """Return ``event`` if it is a valid client event name (``client-`` and at most 200 chars).

    Raises:
        ClientEventError: the name is not a string, lacks the prefix or is too long.
    """
    if not isinstance(event, str) or not event.startswith("client-") or event == "client-":
        raise ClientEventError(
            f"client event names must start with 'client-' and name something, got {event!r}"
        )
    if len(event) > _MAX_EVENT_NAME_LENGTH:
        raise ClientEventError(
            f"event name is {len(event)} characters long; the limit is {_MAX_EVENT_NAME_LENGTH}"
        )
    return event
