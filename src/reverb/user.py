"""User sign-in (``pusher:signin``) and the signed-in user's channel.

``await client.signin()`` gets a sign-in token for the socket (from the authenticator's
``authenticate_user(socket_id, user_data)`` if it has one, such as
:class:`~reverb.http_auth.HttpAuthenticator`, or else signed locally with the app secret), sends
``pusher:signin``, and once the server answers ``pusher:signin_success`` subscribes the user's
``#server-to-user-<id>`` channel, where the app's ``sendToUser`` events arrive. It returns a
:class:`UserChannel`: bind handlers on it as on any channel. After every reconnect the client
signs in again and subscribes the user channel again; the object and its handlers stay.

The core (:class:`~reverb.protocol.machine.ClientProtocol`) decides; :class:`SignIn` here keeps
the user channel object and wakes whoever waits in ``signin()``.

Laravel Reverb does not support sign-in: it answers ``pusher:signin`` with 4200, and
``signin()`` raises :class:`~reverb.exceptions.SignInError` saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Mapping
from typing import Any, Protocol

from .auth import ChannelAuthenticator
from .channels import Channel, ChannelHost, PublicChannel
from .config import ReverbConfig
from .exceptions import AuthenticationError, ConnectionError, ReverbError, SignInError
from .messages import encode_json
from .protocol.actions import SignedIn
from .protocol.machine import ClientProtocol
from .protocol.signing import sign, validate_socket_id
from .protocol.state import NOT_STARTED, ConnectionState
from .subscriber import Subscriber

__all__ = ["USER_CHANNEL_PREFIX", "SignIn", "SignInHost", "UserChannel", "user_authorization"]

USER_CHANNEL_PREFIX = "#server-to-user-"
"""The signed-in user's channel is this prefix plus the user's id."""


class UserChannel(PublicChannel):
    """The signed-in user's ``#server-to-user-<id>`` channel: events sent to this user.

    Bind handlers with ``bind``, ``on`` or ``bind_global``, as on any channel.

    Attributes:
        user_id: the user's id, as the server confirmed it.
        user_data: the user, as the server confirmed it (``{"id": ..., ...}``).
    """

    def __init__(self, user_id: str, user_data: Any, client: ChannelHost) -> None:
        super().__init__(f"{USER_CHANNEL_PREFIX}{user_id}", client)
        self.user_id = user_id
        self.user_data = user_data


async def user_authorization(
    authenticator: ChannelAuthenticator | None,
    app_key: str,
    app_secret: str | None,
    socket_id: str,
    user_data: Mapping[str, Any] | None,
) -> dict[str, str]:
    """The ``pusher:signin`` data for ``socket_id``: ``auth`` and ``user_data``.

    Asks ``authenticator.authenticate_user(socket_id, user_data)`` (sync or async) when the
    authenticator has it; otherwise signs ``"<socket_id>::user::<user_data as JSON>"`` with
    ``app_secret``, as the Pusher server SDKs' ``authenticateUser`` do.

    Raises:
        AuthenticationError: there is no way to sign, or ``user_data`` names no ``id``.
    """
    method = getattr(authenticator, "authenticate_user", None)
    if method is not None:
        result = method(socket_id, user_data)
        if inspect.isawaitable(result):
            result = await result
        if not isinstance(result, Mapping):
            raise AuthenticationError("authenticate_user returned no mapping")
        return {key: value for key, value in result.items() if isinstance(value, str)}
    if app_secret is None:
        raise AuthenticationError(
            "sign-in needs an authenticator with authenticate_user (HttpAuthenticator has "
            "it) or REVERB_APP_SECRET (app_secret=) to sign locally"
        )
    if not isinstance(user_data, Mapping) or user_data.get("id") in (None, ""):
        raise AuthenticationError("signing in locally needs user_data with an 'id'")
    encoded = encode_json(dict(user_data))
    try:
        subject = f"{validate_socket_id(socket_id)}::user::{encoded}"
    except ValueError as exc:
        raise AuthenticationError(str(exc)) from None
    return {"auth": f"{app_key}:{sign(app_secret, subject)}", "user_data": encoded}


class SignInHost(ChannelHost, Protocol):
    """What :class:`SignIn` needs of the client."""

    config: ReverbConfig
    _authenticator: ChannelAuthenticator | None
    _channels: dict[str, Channel]
    _core: ClientProtocol
    _subscriber: Subscriber

    @property
    def state(self) -> ConnectionState:
        """The connection's state."""
        ...

    async def _send(self, frame: str) -> None:
        """Send a frame on the current socket."""
        ...


class SignIn:
    """The client's sign-in: the user channel object, and the callers waiting in ``signin()``.

    Args:
        client: the client signing in.
    """

    __slots__ = ("_client", "_waiters", "user")

    def __init__(self, client: SignInHost) -> None:
        self._client = client
        self._waiters: list[asyncio.Future[UserChannel]] = []
        self.user: UserChannel | None = None
        """The signed-in user's channel, once a sign-in succeeded."""
        client._subscriber.on_signed_in = self._signed_in

    async def start(self, user_data: Any = None, timeout: float | None = None) -> UserChannel:
        """Sign in; return the user channel once it is subscribed.

        Args:
            user_data: ``{"id": ..., ...}`` to sign locally with the app secret; an
                authenticator with ``authenticate_user`` (HttpAuthenticator asks the app) gets
                it and may ignore it.
            timeout: seconds to wait; the client's ``subscription_timeout`` by default.

        Raises:
            SignInError: the server refused or does not support sign-in (Laravel Reverb), the
                token could not be had (``__cause__`` says why), or nothing was settled in time.
            ConnectionError: the client is not connected.
        """
        client = self._client
        if client.state in NOT_STARTED:
            raise ConnectionError(f"cannot sign in while {client.state}: connect() first")

        async def authorizer(socket_id: str) -> dict[str, str]:
            # Read at each sign-in (reconnects too): the authenticator may have been replaced.
            secret = client.config.app_secret
            plain = secret.get_secret_value() if secret is not None else None
            return await user_authorization(
                client._authenticator, client.config.app_key, plain, socket_id, user_data
            )

        client._subscriber.signin_authorizer = authorizer
        limit = client.config.subscription_timeout if timeout is None else timeout
        waiter: asyncio.Future[UserChannel] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            for frame in client._subscriber.apply(client._core.signin()):
                await client._send(frame)
            async with asyncio.timeout(limit):
                user = await waiter
                await user._wait_subscribed()
        except TimeoutError:
            raise SignInError(f"the sign-in was not settled within {limit:g} s") from None
        except (SignInError, ConnectionError):
            raise
        except ReverbError as exc:
            raise SignInError(f"the user channel could not be subscribed: {exc}") from exc
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        return user

    def _signed_in(self, signed: SignedIn) -> None:
        if signed.error is not None or signed.user_id is None:
            self._release(signed.error or SignInError("sign-in failed"))
            return
        client, user = self._client, self.user
        if user is None or user.user_id != signed.user_id:
            fresh = UserChannel(signed.user_id, signed.user_data, client)
            if user is not None:  # another user now: the handlers carry over
                fresh._handlers = user._handlers
                if client._channels.get(user.name) is user:
                    del client._channels[user.name]
            client._channels[fresh.name] = user = self.user = fresh
        user.user_data = signed.user_data
        for frame in client._subscriber.apply(client._core.set_user(user._subscription)):
            client._subscriber.start_task(self._send_quietly(frame))
        self._release(None)

    async def _send_quietly(self, frame: str) -> None:
        with contextlib.suppress(ReverbError):  # the socket is gone: the next one signs in
            await self._client._send(frame)

    def _release(self, error: ReverbError | None) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if waiter.done():
                continue
            if error is None:
                assert self.user is not None
                waiter.set_result(self.user)
            else:
                waiter.set_exception(error)
