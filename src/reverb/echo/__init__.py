r"""Laravel Echo's API over a :class:`~reverb.client.ReverbClient`.

::

    from reverb.echo import Echo

    async with ReverbClient() as client:
        echo = Echo(client)  # namespace "App.Events", as Echo's default
        echo.channel("orders").listen("OrderShipped", print)  # App\Events\OrderShipped
        echo.private("App.Models.User.1").notification(print)
        room = await echo.join("chat.1", user_data={"user_id": "1"}).here(print).joining(print)
        await room.whisper("typing", {"name": "Ada"})

Channels are returned at once and subscribe in the background; ``await`` one to wait for the
server's confirmation. Event names follow Echo's rules (:mod:`reverb.echo.naming`); callbacks
get what Echo's get (the event's data), and may be plain functions or coroutine functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from ..channels import (
    Channel,
    EncryptedChannel,
    PresenceChannel,
    PrivateChannel,
    PublicChannel,
)
from ..client import ReverbClient
from ..exceptions import ConfigurationError
from ..protocol.names import ChannelKind, channel_kind, validate_channel_name
from ..protocol.state import ConnectionState
from .channel import (
    NOTIFICATION_EVENT,
    Callback,
    EchoChannel,
    EchoPresenceChannel,
    EchoPrivateChannel,
    error_data,
)
from .naming import DEFAULT_NAMESPACE, EventFormatter, js_key_order

__all__ = [
    "DEFAULT_NAMESPACE",
    "NOTIFICATION_EVENT",
    "Callback",
    "Echo",
    "EchoChannel",
    "EchoPresenceChannel",
    "EchoPrivateChannel",
    "EventFormatter",
    "error_data",
    "js_key_order",
]

E = TypeVar("E", bound=EchoChannel)

_PREFIXES = ("", "private-", "private-encrypted-", "presence-")
"""The variants :meth:`Echo.leave` leaves, as laravel-echo 2.x's Pusher connector does."""

_STATUS = {
    ConnectionState.CONNECTED: "connected",
    ConnectionState.CONNECTING: "connecting",
    ConnectionState.UNAVAILABLE: "failed",
    ConnectionState.FAILED: "failed",
}


class Echo:
    """Laravel Echo for Python: channels by Echo's names, listeners by Echo's event names.

    Args:
        client: the client to subscribe with; it may connect after this is made (channels
            opened before then subscribe once it connects).
        namespace: where short event names live (``"App.Events"``); ``None`` or ``False``
            disables it, so ``listen("OrderShipped")`` hears ``OrderShipped``.
        user_data: the member presence channels join as, for a client that signs locally
            (``{"user_id": "1", "user_info": {...}}``); :meth:`join` may override it. With a
            Laravel authenticator the app decides it, so leave it out.

    Must be used inside a running event loop.
    """

    def __init__(
        self,
        client: ReverbClient,
        *,
        namespace: str | bool | None = DEFAULT_NAMESPACE,
        user_data: Mapping[str, Any] | None = None,
    ) -> None:
        self.client = client
        self.formatter = EventFormatter(namespace)
        self.user_data = dict(user_data) if user_data is not None else None
        self._channels: dict[str, EchoChannel] = {}

    def __repr__(self) -> str:
        return f"<Echo namespace={self.formatter.namespace!r} channels={list(self._channels)}>"

    @property
    def channels(self) -> Mapping[str, EchoChannel]:
        """The channels open through this object, by full name (read-only view)."""
        return MappingProxyType(self._channels)

    # -- opening channels -----------------------------------------------------------------------

    def channel(self, name: str) -> EchoChannel:
        """The channel ``name`` (public unless its name says otherwise), subscribing it."""
        return self._open(name, EchoChannel, None)

    def private(self, name: str) -> EchoPrivateChannel:
        """The private channel ``private-{name}``, subscribing it."""
        return self._open("private-" + name, EchoPrivateChannel, None)

    def encrypted_private(self, name: str) -> EchoPrivateChannel:
        """The end-to-end encrypted channel ``private-encrypted-{name}``, subscribing it.

        Callbacks get decrypted data; the client needs the key (``encryption_master_key_base64``
        to sign locally, or an authenticator returning ``shared_secret``).
        """
        return self._open("private-encrypted-" + name, EchoPrivateChannel, None)

    def join(self, name: str, *, user_data: Mapping[str, Any] | None = None) -> EchoPresenceChannel:
        """The presence channel ``presence-{name}``, joining it as ``user_data`` (or the
        ``user_data`` given to :class:`Echo`).
        """
        member = user_data if user_data is not None else self.user_data
        return self._open("presence-" + name, EchoPresenceChannel, member)

    def listen(self, channel: str, event: str, callback: Callback) -> EchoChannel:
        """``echo.channel(channel).listen(event, callback)``."""
        return self.channel(channel).listen(event, callback)

    # -- leaving --------------------------------------------------------------------------------

    async def leave(self, name: str) -> None:
        """Leave ``name`` and its ``private-``, ``private-encrypted-`` and ``presence-``
        variants (those open through this object).
        """
        for prefix in _PREFIXES:
            await self.leave_channel(prefix + name)

    async def leave_channel(self, name: str) -> None:
        """Leave the channel with this full name: unsubscribe and drop its callbacks."""
        channel = self._channels.pop(name, None)
        if channel is not None:
            await channel._leave()

    async def leave_all_channels(self) -> None:
        """Leave every channel open through this object."""
        for name in list(self._channels):
            await self.leave_channel(name)

    # -- the connection -------------------------------------------------------------------------

    def socket_id(self) -> str | None:
        """The socket id (send it as ``X-Socket-ID`` for Laravel's ``toOthers()``), or ``None``
        while not connected.
        """
        return self.client.socket_id

    def connection_status(self) -> str:
        """``connected``, ``connecting``, ``failed`` (also while waiting to retry) or
        ``disconnected``, as Echo's ``connectionStatus()``.
        """
        return _STATUS.get(self.client.state, "disconnected")

    def on_connection_change(self, callback: Callable[[str], object]) -> Callable[[], None]:
        """Call ``callback(status)`` (see :meth:`connection_status`) on every connection state
        change; return a function that stops it.
        """

        def changed(previous: ConnectionState, current: ConnectionState) -> None:
            callback(_STATUS.get(current, "disconnected"))

        return self.client.on_state_change(changed)

    # -- internals ------------------------------------------------------------------------------

    def _open(self, name: str, kind: type[E], user_data: Mapping[str, Any] | None) -> E:
        validate_channel_name(name)
        existing = self._channels.get(name)
        if existing is not None:
            if not isinstance(existing, kind):
                raise ConfigurationError(
                    f"{name!r} is already open as {type(existing).__name__}; leave it first"
                )
            return existing
        opened = kind(
            self.client, self._channel_object(name, user_data), self.formatter, self._forget
        )
        self._channels[name] = opened
        return opened

    def _channel_object(self, name: str, user_data: Mapping[str, Any] | None) -> Channel:
        existing = self.client.channel(name)
        if existing is not None:
            return existing
        kind = channel_kind(name)
        if kind is ChannelKind.PRESENCE:
            return PresenceChannel(name, self.client, user_data)
        if kind is ChannelKind.ENCRYPTED:
            return EncryptedChannel(name, self.client)
        if kind is ChannelKind.PRIVATE:
            return PrivateChannel(name, self.client)
        return PublicChannel(name, self.client)

    def _forget(self, channel: EchoChannel) -> None:
        if self._channels.get(channel.name) is channel:
            del self._channels[channel.name]
