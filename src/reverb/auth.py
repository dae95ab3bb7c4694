"""Authorizing private and presence subscriptions.

The client asks an *authenticator* for every private or presence subscription, on every new
socket id (so again after each reconnect). Anything with this method works, sync or async::

    def authenticate(self, socket_id, channel_name, user_data=None) -> Mapping[str, Any]
    async def authenticate(self, socket_id, channel_name, user_data=None) -> Mapping[str, Any]

It returns what Laravel's ``/broadcasting/auth`` returns: ``{"auth": "key:signature"}``, plus
``"channel_data"`` for presence channels (sent to the server untouched, as the signature covers
its exact bytes). :class:`Authenticator` signs locally with the application secret, which suits
backend services that hold the secret; an endpoint-backed authenticator can replace it.
"""

from __future__ import annotations

import base64
import inspect
from collections.abc import Awaitable, Mapping
from typing import Any, Protocol, TypedDict, runtime_checkable

from .exceptions import AuthenticationError, ConfigurationError
from .messages import encode_json
from .protocol.names import ChannelKind, channel_kind
from .protocol.signing import channel_auth, channel_shared_secret

__all__ = [
    "Authenticator",
    "Authorization",
    "ChannelAuthenticator",
    "authorize",
    "local_authenticator",
]


class Authorization(TypedDict, total=False):
    """What an authenticator returns for one channel.

    Attributes:
        auth: ``"<app key>:<hex signature>"``. Required.
        channel_data: the presence ``user_data`` as a JSON string, exactly as signed.
        shared_secret: the channel key of a ``private-encrypted-`` channel (base64).
    """

    auth: str
    channel_data: str
    shared_secret: str


@runtime_checkable
class ChannelAuthenticator(Protocol):
    """Anything that authorizes subscriptions; ``authenticate`` may be sync or async."""

    def authenticate(
        self, socket_id: str, channel_name: str, user_data: Mapping[str, Any] | None = None
    ) -> Mapping[str, Any] | Awaitable[Mapping[str, Any]]:
        """Authorize ``socket_id`` to subscribe to ``channel_name``."""
        ...


class Authenticator:
    """Signs subscriptions locally with HMAC-SHA256 and the application secret.

    Private channels sign ``"{socket_id}:{channel}"``; presence channels sign
    ``"{socket_id}:{channel}:{channel_data}"``, where ``channel_data`` is ``user_data`` as
    compact JSON. ``user_data`` must name a ``user_id``. ``private-encrypted-`` channels also
    get their ``shared_secret``, derived from the encryption master key as the server SDKs do,
    when there is one.

    Args:
        app_key: the application key (``REVERB_APP_KEY``).
        app_secret: the application secret (``REVERB_APP_SECRET``); never shown in reprs.
        encryption_master_key: the app's 32-byte encryption master key
            (``REVERB_ENCRYPTION_MASTER_KEY_BASE64``, decoded); never shown in reprs.
    """

    __slots__ = ("_app_secret", "_encryption_master_key", "app_key")

    def __init__(
        self, app_key: str, app_secret: str, *, encryption_master_key: bytes | None = None
    ) -> None:
        if not app_key:
            raise ConfigurationError("the authenticator needs an app key")
        if not app_secret:
            raise ConfigurationError(
                "signing private and presence channels needs the app secret (REVERB_APP_SECRET)"
            )
        if encryption_master_key is not None and len(encryption_master_key) != 32:
            raise ConfigurationError("the encryption master key must be 32 bytes")
        self.app_key = app_key
        self._app_secret = app_secret
        self._encryption_master_key = encryption_master_key

    def __repr__(self) -> str:
        return f"Authenticator(app_key={self.app_key!r}, app_secret=<hidden>)"

    def authenticate(
        self, socket_id: str, channel_name: str, user_data: Mapping[str, Any] | None = None
    ) -> Authorization:
        """Sign ``socket_id`` for ``channel_name``.

        Raises:
            AuthenticationError: the socket id is malformed, the channel is public, or a
                presence channel lacks ``user_data`` with a ``user_id``.
        """
        kind = channel_kind(channel_name)
        if not kind.needs_auth:
            raise AuthenticationError(
                f"channel {channel_name!r} is public and needs no authorization",
                channel=channel_name,
            )
        channel_data: str | None = None
        if kind is ChannelKind.PRESENCE:
            if not isinstance(user_data, Mapping) or user_data.get("user_id") in (None, ""):
                raise AuthenticationError(
                    f"presence channel {channel_name!r} needs user_data with a 'user_id'",
                    channel=channel_name,
                )
            channel_data = encode_json(dict(user_data))
        try:
            auth = channel_auth(
                self.app_key, self._app_secret, socket_id, channel_name, channel_data
            )
        except ValueError as exc:
            raise AuthenticationError(str(exc), channel=channel_name) from None
        result: Authorization = {"auth": auth}
        if channel_data is not None:
            result["channel_data"] = channel_data
        master_key = self._encryption_master_key
        if kind is ChannelKind.ENCRYPTED and master_key is not None:
            key = channel_shared_secret(channel_name, master_key)
            result["shared_secret"] = base64.b64encode(key).decode()
        return result


def local_authenticator(
    app_key: str,
    app_secret: str | None,
    channel_name: str,
    encryption_master_key: bytes | None = None,
) -> Authenticator:
    """The default authenticator: local signing with the app secret (and, for
    ``private-encrypted-`` channels, the encryption master key).

    Raises:
        AuthenticationError: there is no secret to sign ``channel_name`` with.
    """
    if app_secret is None:
        raise AuthenticationError(
            f"{channel_name!r} needs authorization: set REVERB_APP_SECRET (or "
            "app_secret=) to sign locally, or pass authenticator=",
            channel=channel_name,
        )
    return Authenticator(app_key, app_secret, encryption_master_key=encryption_master_key)


async def authorize(
    authenticator: ChannelAuthenticator,
    socket_id: str,
    channel_name: str,
    user_data: Mapping[str, Any] | None,
) -> Authorization:
    """Call ``authenticator`` (sync or async) and check what it returned.

    Raises:
        AuthenticationError: the authenticator raised, or returned no string ``auth``. The
            original exception is chained; its message is not repeated, since an HTTP
            authenticator's errors may quote credentials.
    """
    try:
        result = authenticator.authenticate(socket_id, channel_name, user_data)
        if inspect.isawaitable(result):
            result = await result
    except AuthenticationError:
        raise
    except Exception as exc:
        raise AuthenticationError(
            f"authenticator failed for channel {channel_name!r}: {type(exc).__name__}",
            channel=channel_name,
        ) from exc
    if not isinstance(result, Mapping) or not isinstance(result.get("auth"), str):
        raise AuthenticationError(
            f"authenticator returned no string 'auth' for channel {channel_name!r}",
            channel=channel_name,
        )
    authorization: Authorization = {"auth": result["auth"]}
    for optional in ("channel_data", "shared_secret"):
        value = result.get(optional)
        if value is not None:
            if not isinstance(value, str):
                raise AuthenticationError(
                    f"authenticator returned a non-string {optional!r} for {channel_name!r}",
                    channel=channel_name,
                )
            authorization[optional] = value
    return authorization
