from __future__ import annotations

import pytest

from reverb import ClientEventError, ConfigurationError
from reverb.protocol.names import (
    ChannelKind,
    channel_kind,
    is_cache_channel,
    validate_channel_name,
    validate_client_event_name,
)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("orders", ChannelKind.PUBLIC),
        ("cache-prices", ChannelKind.PUBLIC),
        ("private-chat.1", ChannelKind.PRIVATE),
        ("private-cache-x", ChannelKind.PRIVATE),
        ("private-encrypted-vault", ChannelKind.ENCRYPTED),
        ("presence-room", ChannelKind.PRESENCE),
        ("presence-cache-room", ChannelKind.PRESENCE),
        ("privateish", ChannelKind.PUBLIC),  # pusher-js reads dashed prefixes
    ],
)
def test_channel_kind_by_prefix(name: str, kind: ChannelKind) -> None:
    assert channel_kind(name) is kind


def test_kinds_that_sign_and_take_client_events() -> None:
    assert not ChannelKind.PUBLIC.needs_auth
    assert ChannelKind.ENCRYPTED.needs_auth
    assert ChannelKind.PRIVATE.accepts_client_events
    assert ChannelKind.PRESENCE.accepts_client_events
    assert not ChannelKind.ENCRYPTED.accepts_client_events
    assert not ChannelKind.PUBLIC.accepts_client_events


@pytest.mark.parametrize(
    ("name", "cached"),
    [("cache-x", True), ("private-cache-x", True), ("presence-cache-x", True), ("x", False)],
)
def test_cache_channels(name: str, cached: bool) -> None:
    assert is_cache_channel(name) is cached


@pytest.mark.parametrize("name", ["a", "A-z_0=9@,.;", "x" * 200])
def test_portable_channel_names_pass(name: str) -> None:
    assert validate_channel_name(name) == name


@pytest.mark.parametrize("name", ["", "x" * 201, "sp ace", "#hash", "é", 5, None])
def test_other_channel_names_raise(name: object) -> None:
    with pytest.raises(ConfigurationError):
        validate_channel_name(name)


@pytest.mark.parametrize("event", ["client-typing", "client-" + "x" * 193])
def test_client_event_names_pass(event: str) -> None:
    assert validate_client_event_name(event) == event


@pytest.mark.parametrize("event", ["typing", "client-", "pusher:ping", "client-" + "x" * 194, 3])
def test_other_client_event_names_raise(event: object) -> None:
    with pytest.raises(ClientEventError):
        validate_client_event_name(event)
