from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import pytest

from reverb import AuthenticationError, Authenticator, ConfigurationError
from reverb.auth import authorize
from reverb.protocol.signing import channel_auth

SECRET = "s3cr3t-value-xyz"
SOCKET = "123.456"


def test_private_channel_signature() -> None:
    result = Authenticator("key", SECRET).authenticate(SOCKET, "private-chat")
    assert result == {"auth": channel_auth("key", SECRET, SOCKET, "private-chat")}


def test_presence_channel_signs_compact_user_data() -> None:
    user_data = {"user_id": 42, "user_info": {"name": "Alice"}}
    result = Authenticator("key", SECRET).authenticate(SOCKET, "presence-room", user_data)
    assert result["channel_data"] == '{"user_id":42,"user_info":{"name":"Alice"}}'
    assert json.loads(result["channel_data"]) == user_data
    expected = hmac.new(
        SECRET.encode(),
        f"{SOCKET}:presence-room:{result['channel_data']}".encode(),
        hashlib.sha256,
    ).hexdigest()
    assert result["auth"] == f"key:{expected}"


@pytest.mark.parametrize(
    ("channel", "user_data", "message"),
    [
        ("presence-room", None, "user_id"),
        ("presence-room", {"user_info": {}}, "user_id"),
        ("presence-room", {"user_id": ""}, "user_id"),
        ("public-room", None, "public"),
    ],
)
def test_unsignable_requests_raise(
    channel: str, user_data: Mapping[str, Any] | None, message: str
) -> None:
    with pytest.raises(AuthenticationError, match=message) as caught:
        Authenticator("key", SECRET).authenticate(SOCKET, channel, user_data)
    assert caught.value.channel == channel
    assert SECRET not in str(caught.value)


def test_malformed_socket_id_raises_authentication_error() -> None:
    with pytest.raises(AuthenticationError, match="socket_id"):
        Authenticator("key", SECRET).authenticate("nonsense", "private-chat")


def test_empty_secret_or_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="secret"):
        Authenticator("key", "")
    with pytest.raises(ConfigurationError, match="key"):
        Authenticator("", SECRET)


def test_repr_hides_the_secret() -> None:
    authenticator = Authenticator("key", SECRET)
    assert SECRET not in repr(authenticator)
    assert SECRET not in str(authenticator)
    assert "key" in repr(authenticator)


class Sync:
    def authenticate(self, socket_id: str, channel_name: str, user_data: Any = None) -> Any:
        return {"auth": "k:sig", "channel_data": '{"user_id":"1"}', "shared_secret": "c2VjcmV0"}


class Async:
    async def authenticate(self, socket_id: str, channel_name: str, user_data: Any = None) -> Any:
        return {"auth": f"k:{socket_id}:{channel_name}"}


class Returns:
    def __init__(self, value: Any) -> None:
        self.value = value

    def authenticate(self, socket_id: str, channel_name: str, user_data: Any = None) -> Any:
        return self.value


class Raises:
    def authenticate(self, socket_id: str, channel_name: str, user_data: Any = None) -> Any:
        raise PermissionError("Bearer tok-123 rejected")


async def test_authorize_accepts_sync_and_async_authenticators() -> None:
    assert await authorize(Sync(), SOCKET, "presence-x", None) == {
        "auth": "k:sig",
        "channel_data": '{"user_id":"1"}',
        "shared_secret": "c2VjcmV0",
    }
    assert await authorize(Async(), SOCKET, "private-x", None) == {"auth": f"k:{SOCKET}:private-x"}


async def test_authorize_wraps_failures_without_their_text() -> None:
    with pytest.raises(AuthenticationError) as caught:
        await authorize(Raises(), SOCKET, "private-x", None)
    assert "tok-123" not in str(caught.value)
    assert "PermissionError" in str(caught.value)
    assert isinstance(caught.value.__cause__, PermissionError)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("k:sig", "no string 'auth'"),
        ({}, "no string 'auth'"),
        ({"auth": 5}, "no string 'auth'"),
        ({"auth": "k:s", "channel_data": {"user_id": 1}}, "non-string 'channel_data'"),
    ],
)
async def test_authorize_checks_the_result(value: Any, message: str) -> None:
    with pytest.raises(AuthenticationError, match=message):
        await authorize(Returns(value), SOCKET, "private-x", None)
