"""Local channel authorization and the checks on what any authenticator returns."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from reverb import AuthenticationError, Authenticator, ChannelAuthenticator, ConfigurationError
from reverb.auth import authorize
from reverb.protocol.signing import channel_auth

SECRET = "s3cr3t-value-xyz"
KEY = "app-key"
SOCKET = "123.456"


def hmac_hex(message: str) -> str:
    return hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def authenticator() -> Authenticator:
    return Authenticator(KEY, SECRET)


# -- Authenticator --------------------------------------------------------------------------------


def test_private_channel_signature_matches_channel_auth(authenticator: Authenticator) -> None:
    result = authenticator.authenticate(SOCKET, "private-chat")
    assert result == {"auth": channel_auth(KEY, SECRET, SOCKET, "private-chat")}


def test_private_channel_signature_is_hmac_of_socket_and_channel(
    authenticator: Authenticator,
) -> None:
    result = authenticator.authenticate(SOCKET, "private-chat")
    assert result["auth"] == f"{KEY}:{hmac_hex(f'{SOCKET}:private-chat')}"


def test_private_channel_ignores_user_data(authenticator: Authenticator) -> None:
    result = authenticator.authenticate(SOCKET, "private-chat", {"user_id": 1})
    assert result == {"auth": channel_auth(KEY, SECRET, SOCKET, "private-chat")}


def test_encrypted_channel_is_signed_like_a_private_one(authenticator: Authenticator) -> None:
    result = authenticator.authenticate(SOCKET, "private-encrypted-chat")
    assert result["auth"] == channel_auth(KEY, SECRET, SOCKET, "private-encrypted-chat")


def test_presence_channel_data_is_compact_json_of_user_data(
    authenticator: Authenticator,
) -> None:
    user_data = {"user_id": 42, "user_info": {"name": "Alice", "city": "Zürich"}}
    result = authenticator.authenticate(SOCKET, "presence-room", user_data)
    assert result["channel_data"] == '{"user_id":42,"user_info":{"name":"Alice","city":"Zürich"}}'
    assert json.loads(result["channel_data"]) == user_data


def test_presence_signature_covers_the_channel_data(authenticator: Authenticator) -> None:
    result = authenticator.authenticate(SOCKET, "presence-room", {"user_id": "u1"})
    expected = hmac_hex(f"{SOCKET}:presence-room:{result['channel_data']}")
    assert result["auth"] == f"{KEY}:{expected}"


def test_presence_accepts_user_id_zero(authenticator: Authenticator) -> None:
    result = authenticator.authenticate(SOCKET, "presence-room", {"user_id": 0})
    assert result["channel_data"] == '{"user_id":0}'


@pytest.mark.parametrize(
    "user_data", [None, {}, {"user_info": {"name": "x"}}, {"user_id": None}, {"user_id": ""}]
)
def test_presence_without_user_id_raises(
    authenticator: Authenticator, user_data: Mapping[str, Any] | None
) -> None:
    with pytest.raises(AuthenticationError, match="user_id") as caught:
        authenticator.authenticate(SOCKET, "presence-room", user_data)
    assert caught.value.channel == "presence-room"


@pytest.mark.parametrize("channel", ["orders", "public-room", "cache-x", ""])
def test_public_channel_raises(authenticator: Authenticator, channel: str) -> None:
    with pytest.raises(AuthenticationError, match="public") as caught:
        authenticator.authenticate(SOCKET, channel)
    assert caught.value.channel == channel


@pytest.mark.parametrize("socket_id", ["nonsense", "1.2.3", "", "1.2\n"])
def test_malformed_socket_id_raises_authentication_error(
    authenticator: Authenticator, socket_id: str
) -> None:
    with pytest.raises(AuthenticationError, match="socket_id") as caught:
        authenticator.authenticate(socket_id, "private-chat")
    assert caught.value.__cause__ is None


def test_empty_secret_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="secret"):
        Authenticator(KEY, "")


def test_empty_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="key"):
        Authenticator("", SECRET)


def test_repr_and_str_hide_the_secret(authenticator: Authenticator) -> None:
    assert SECRET not in repr(authenticator)
    assert SECRET not in str(authenticator)
    assert KEY in repr(authenticator)


def test_secret_is_not_a_public_attribute(authenticator: Authenticator) -> None:
    public = {name: getattr(authenticator, name) for name in dir(authenticator)}
    exposed = [
        name for name, value in public.items() if not name.startswith("_") and value == SECRET
    ]
    assert exposed == []


def _public_channel(a: Authenticator) -> object:
    return a.authenticate(SOCKET, "orders")


def _presence_without_user(a: Authenticator) -> object:
    return a.authenticate(SOCKET, "presence-room", {"user_info": SECRET})


def _bad_socket(a: Authenticator) -> object:
    return a.authenticate("bad", "private-chat")


@pytest.mark.parametrize("call", [_public_channel, _presence_without_user, _bad_socket])
def test_authentication_errors_never_show_the_secret(
    authenticator: Authenticator, call: Callable[[Authenticator], object]
) -> None:
    with pytest.raises(AuthenticationError) as caught:
        call(authenticator)
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)


def test_configuration_error_never_shows_the_secret() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Authenticator("", SECRET)
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)


def test_authenticator_satisfies_the_protocol(authenticator: Authenticator) -> None:
    assert isinstance(authenticator, ChannelAuthenticator)


# -- authorize() ----------------------------------------------------------------------------------


class SyncAuth:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []

    def authenticate(self, socket_id: str, channel_name: str, user_data: Any = None) -> Any:
        self.calls.append((socket_id, channel_name, user_data))
        return {"auth": "k:sig", "channel_data": '{"user_id":"1"}', "shared_secret": "c2VjcmV0"}


class AsyncAuth:
    async def authenticate(self, socket_id: str, channel_name: str, user_data: Any = None) -> Any:
        return {"auth": f"k:{socket_id}:{channel_name}"}


class Returns:
    def __init__(self, value: Any) -> None:
        self.value = value

    def authenticate(self, socket_id: str, channel_name: str, user_data: Any = None) -> Any:
        return self.value


class Raises:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def authenticate(self, socket_id: str, channel_name: str, user_data: Any = None) -> Any:
        raise self.exc


class AsyncRaises(Raises):
    async def authenticate(self, socket_id: str, channel_name: str, user_data: Any = None) -> Any:
        raise self.exc


async def test_authorize_with_a_sync_authenticator() -> None:
    auth = SyncAuth()
    result = await authorize(auth, SOCKET, "presence-x", {"user_id": "1"})
    assert result == {
        "auth": "k:sig",
        "channel_data": '{"user_id":"1"}',
        "shared_secret": "c2VjcmV0",
    }
    assert auth.calls == [(SOCKET, "presence-x", {"user_id": "1"})]


async def test_authorize_with_an_async_authenticator() -> None:
    assert await authorize(AsyncAuth(), SOCKET, "private-x", None) == {
        "auth": f"k:{SOCKET}:private-x"
    }


async def test_authorize_with_the_local_authenticator(authenticator: Authenticator) -> None:
    result = await authorize(authenticator, SOCKET, "presence-x", {"user_id": 7})
    assert result == authenticator.authenticate(SOCKET, "presence-x", {"user_id": 7})


async def test_authorize_drops_unknown_and_none_fields() -> None:
    result = await authorize(
        Returns({"auth": "k:s", "channel_data": None, "extra": "x"}), SOCKET, "private-x", None
    )
    assert result == {"auth": "k:s"}


@pytest.mark.parametrize("raising", [Raises, AsyncRaises])
async def test_authorize_wraps_failures_without_their_text(raising: type[Raises]) -> None:
    inner = PermissionError("401: Bearer tok-123-secret rejected")
    with pytest.raises(AuthenticationError) as caught:
        await authorize(raising(inner), SOCKET, "private-x", None)
    assert caught.value.__cause__ is inner
    assert "tok-123-secret" not in str(caught.value)
    assert "tok-123-secret" not in repr(caught.value)
    assert "PermissionError" in str(caught.value)
    assert caught.value.channel == "private-x"


async def test_authorize_passes_authentication_errors_through() -> None:
    original = AuthenticationError("no", channel="private-x")
    with pytest.raises(AuthenticationError) as caught:
        await authorize(Raises(original), SOCKET, "private-x", None)
    assert caught.value is original


async def test_authorize_does_not_swallow_cancellation() -> None:
    with pytest.raises(asyncio.CancelledError):
        await authorize(AsyncRaises(asyncio.CancelledError()), SOCKET, "private-x", None)


@pytest.mark.parametrize(
    "value", ["k:sig", None, ["k:sig"], {}, {"auth": None}, {"auth": 5}, {"channel_data": "{}"}]
)
async def test_authorize_requires_a_mapping_with_a_string_auth(value: Any) -> None:
    with pytest.raises(AuthenticationError, match="no string 'auth'") as caught:
        await authorize(Returns(value), SOCKET, "private-x", None)
    assert caught.value.channel == "private-x"


@pytest.mark.parametrize("field", ["channel_data", "shared_secret"])
@pytest.mark.parametrize("value", [{"user_id": 1}, 5, b"{}"])
async def test_authorize_rejects_non_string_optional_fields(field: str, value: Any) -> None:
    with pytest.raises(AuthenticationError, match=f"non-string '{field}'"):
        await authorize(Returns({"auth": "k:s", field: value}), SOCKET, "presence-x", None)
