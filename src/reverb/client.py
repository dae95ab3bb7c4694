"""ReverbClient: the public entry point.

The client is the public face: lifecycle, ``subscribe``/``unsubscribe``, handlers, ``listen``
and stats. The work happens below it, each part with one job:

* :class:`~reverb.connection.Connection` keeps a websocket open (the core's reconnect plan
  and keepalive decide when);
* :class:`~reverb.protocol.machine.ClientProtocol`, the sans-I/O core, owns every
  subscription's state, presence members and the client-event rules;
* :class:`~reverb.subscriber.Subscriber` executes what the core decides (authorize, send,
  settle, deliver), feeding it what the read loop sees;
* :class:`~reverb.dispatcher.Dispatcher` runs handlers on one task, in arrival order, so a slow
  handler never delays reading, keepalive or subscription replies.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType, TracebackType
from typing import Any, TypeVar, overload

from .auth import Authorization, ChannelAuthenticator, authorize, local_authenticator
from .channels import Channel, PresenceChannel, SubscriptionState, channel_for
from .config import ReverbConfig
from .connection import Connection
from .dispatch import Bindable, HandlerRegistry, maybe_await
from .dispatcher import ClientStats, Dispatcher, ErrorHandler, ErrorHandlers
from .exceptions import ConfigurationError, ConnectionError, ReverbError, SubscriptionError
from .protocol.failures import SubscriptionTimedOut, to_exception
from .protocol.machine import ClientProtocol
from .protocol.names import validate_channel_name
from .protocol.state import NOT_STARTED, ConnectionState
from .subscriber import Subscriber
from .transport import TransportFactory, TransportOptions
from .user import SignIn, UserChannel

__all__ = ["ClientStats", "ReverbClient"]

DisconnectCallback = Callable[[ConnectionError | None], Awaitable[None] | None]
StateChangeHandler = Callable[[ConnectionState, ConnectionState], Awaitable[None] | None]

C = TypeVar("C", bound=Channel)

_RETRYABLE = (SubscriptionState.UNSUBSCRIBED, SubscriptionState.FAILED)


class ReverbClient(Bindable):
    """An asyncio client for Laravel Reverb and other Pusher protocol 7 servers.

    Handlers bound on the client (``bind``, ``on``, ``bind_global``) see events of every
    channel, plus connection-level ``pusher:error`` events.

    Args:
        config: the settings; by default read from ``REVERB_*`` variables and ``.env``.
        authenticator: authorizes private and presence channels; by default an
            :class:`~reverb.auth.Authenticator` signing with ``app_secret``. Any object with an
            ``authenticate(socket_id, channel_name, user_data=None)`` method, sync or async.
        on_disconnect: called (sync or async) whenever an established connection ends, with
            the :class:`~reverb.ConnectionError` describing why, or ``None`` after
            :meth:`disconnect`.
        transport_factory: opens the websocket; by default the ``transport`` setting picks it.
        transport_options: TLS context, extra upgrade headers, frame size limit.
        **settings: individual settings (``app_key=``, ``host=``, ...) overriding ``config``
            or, without ``config``, the environment.

    Use it as an async context manager::

        async with ReverbClient(app_key="app-key", host="127.0.0.1", port=8080, scheme="http") as c:
            orders = await c.subscribe("orders")
            orders.bind("OrderShipped", handle)
            await c.listen()
    """

    def __init__(
        self,
        config: ReverbConfig | None = None,
        *,
        authenticator: ChannelAuthenticator | None = None,
        on_disconnect: DisconnectCallback | None = None,
        transport_factory: TransportFactory | None = None,
        transport_options: TransportOptions | None = None,
        **settings: Any,
    ) -> None:
        if config is None:
            config = ReverbConfig.shared(**settings)
        elif settings:
            config = ReverbConfig.shared(**{**config.model_dump(), **settings})
        self.config = config
        self._authenticator = authenticator
        self.on_disconnect = on_disconnect
        self.stats = ClientStats()
        self._channels: dict[str, Channel] = {}
        """The channel objects by name: handles on the core's subscription records."""
        self._handlers = HandlerRegistry()
        self._state_handlers: list[StateChangeHandler] = []
        self._error_handlers = ErrorHandlers(self.stats)
        self._core = ClientProtocol()
        self._dispatcher = Dispatcher(self._channels, self._handlers, self.stats)
        self._subscriber = Subscriber(
            self._core, self._channels, self._dispatcher, self.stats, self._send
        )
        self._connection = Connection(
            config,
            on_event=self._subscriber.on_event,
            on_channel_event=self._dispatcher.event_sink,
            on_established=self._subscriber.on_established,
            on_lost=self._on_connection_lost,
            on_state_change=self._on_state_change,
            transport_factory=transport_factory,
            transport_options=transport_options,
        )

    def __repr__(self) -> str:
        return (
            f"<ReverbClient {self.config.host}:{self.config.effective_port} "
            f"{self.state} socket_id={self.socket_id!r} channels={len(self._channels)}>"
        )

    # -- state ------------------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        """``initialized``, ``connecting``, ``connected``, ``unavailable``, ``failed`` or
        ``disconnected``.
        """
        return self._connection.state

    @property
    def socket_id(self) -> str | None:
        """The socket id the server assigned, while connected (for Laravel's ``toOthers()``)."""
        return self._connection.socket_id

    @property
    def is_connected(self) -> bool:
        """Connected, and the websocket itself still open."""
        return self._connection.is_connected

    @property
    def channels(self) -> Mapping[str, Channel]:
        """The channels subscribed or being subscribed, by name (read-only view)."""
        return MappingProxyType(self._channels)

    def channel(self, name: str) -> Channel | None:
        """The channel object for ``name``, if subscribed."""
        return self._channels.get(name)

    @property
    def frames_received(self) -> int:
        """Frames read from the server since the client was created."""
        return self._connection.frames_received

    @property
    def reconnects(self) -> int:
        """How many times the connection was re-established after a drop."""
        return self._connection.reconnects

    # -- lifecycle ----------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect and wait for ``pusher:connection_established``.

        Channels already registered (from before a :meth:`disconnect`) are subscribed again.

        Raises:
            ConnectionError: refused by the server (``code`` says why, e.g. 4001 for an unknown
                app key), or not established within ``connect_timeout``.
        """
        self._dispatcher.start()
        try:
            await self._connection.open()
        except BaseException:
            await self._dispatcher.stop()
            raise

    async def disconnect(self) -> None:
        """Close the connection and stop reconnecting; handlers queued so far still run."""
        self._subscriber.cancel()
        closed = ConnectionError("disconnected while waiting for the subscription")
        for channel in self._channels.values():
            channel._release_waiters(closed)
        await self._connection.close()
        await self._dispatcher.stop()

    async def __aenter__(self) -> ReverbClient:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.disconnect()

    async def listen(self) -> None:
        """Wait while events are handled, until :meth:`disconnect` is called.

        Cancelling the call stops waiting but leaves the client connected.

        Raises:
            ConnectionError: the connection failed for good (refused, or reconnect attempts
                exhausted), or the client was never connected.
        """
        if self.state in (ConnectionState.INITIALIZED, ConnectionState.DISCONNECTED):
            raise ConnectionError("not connected: call connect() or use 'async with' first")
        await self._connection.wait_closed()
        dispatcher = self._dispatcher.task
        if dispatcher is not None:
            await asyncio.shield(dispatcher)

    # -- subscriptions ------------------------------------------------------------------------

    @overload
    async def subscribe(
        self,
        channel: C,
        *,
        user_data: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> C: ...

    @overload
    async def subscribe(
        self,
        channel: str,
        *,
        user_data: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Channel: ...

    async def subscribe(
        self,
        channel: str | Channel,
        *,
        user_data: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Channel:
        """Subscribe to a channel and wait until the server confirms it.

        Passing a channel object returns that object with its own type, which helps type
        checkers: ``room = await client.subscribe(PresenceChannel("presence-r", client, me))``.

        Subscribing to a channel already subscribed returns the same object. The channel
        stays subscribed across reconnects until :meth:`unsubscribe`.

        Args:
            channel: a channel name, or a :class:`~reverb.channels.Channel` object (for custom
                channel types).
            user_data: for presence channels: ``{"user_id": ..., "user_info": {...}}``.
            timeout: seconds to wait for the server; ``subscription_timeout`` by default.

        Returns:
            The channel: a :class:`PublicChannel`, :class:`PrivateChannel`,
            :class:`EncryptedChannel` or :class:`PresenceChannel` (or the object passed in).

        Raises:
            ConfigurationError: an invalid channel name.
            AuthenticationError: the authenticator could not authorize the channel.
            SubscriptionError: the server refused the subscription, or did not answer within
                the timeout. The connection stays usable.
            ConnectionError: the client is not connected.
        """
        if self.state in NOT_STARTED:
            raise ConnectionError(f"cannot subscribe while {self.state}: connect() first")
        target, created = self._register(channel, user_data)
        waiter = target._wait_subscribed(hold=True)
        if created:
            self._subscriber.apply(self._core.add(target._subscription))
        elif target.state in _RETRYABLE:
            self._subscriber.apply(self._core.request(target._subscription))
        limit = self.config.subscription_timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                try:
                    await waiter
                finally:
                    target._resumed(waiter)  # its events flow once the caller has them
        except TimeoutError:
            error = to_exception(SubscriptionTimedOut(target.name, limit))
            self.stats.subscription_errors += 1
            if created:
                await self._abandon(target, error)
            raise error from None
        except ReverbError as exc:
            if created:
                await self._abandon(target, exc)
            raise exc from exc.__cause__  # AuthorizationFailed keeps its authenticator's error
        except BaseException:
            if created:
                await self._abandon(target, SubscriptionError("cancelled", channel=target.name))
            raise
        return target

    async def unsubscribe(self, channel: str | Channel) -> None:
        """Leave a channel: tell the server, stop re-subscribing it, drop its handlers.

        Unknown channels are ignored.
        """
        name = channel.name if isinstance(channel, Channel) else channel
        target = self._channels.get(name)
        if target is None:
            return
        await self._abandon(target, SubscriptionError(f"unsubscribed from {name!r}", channel=name))

    def _register(
        self, channel: str | Channel, user_data: Mapping[str, Any] | None
    ) -> tuple[Channel, bool]:
        if isinstance(channel, Channel):
            if channel.client is not self:
                raise ConfigurationError(f"channel {channel.name!r} belongs to another client")
            name = validate_channel_name(channel.name)
            existing = self._channels.get(name)
            if existing is not None and existing is not channel:
                raise ConfigurationError(f"another object is already subscribed to {name!r}")
            if existing is None:
                self._channels[name] = channel
            return channel, existing is None
        name = validate_channel_name(channel)
        existing = self._channels.get(name)
        if existing is not None:
            if (
                isinstance(existing, PresenceChannel)
                and user_data is not None
                and dict(user_data) != existing.user_data
            ):
                raise ConfigurationError(
                    f"already subscribed to {name!r} with other user_data; unsubscribe first"
                )
            return existing, False
        created = channel_for(name, self, user_data)
        self._channels[name] = created
        return created, True

    async def _abandon(self, channel: Channel, error: ReverbError) -> None:
        if self._channels.get(channel.name) is channel:
            del self._channels[channel.name]
        frames = self._subscriber.apply(self._core.remove(channel._subscription))
        channel._detach(error)
        for frame in frames:
            with contextlib.suppress(ConnectionError):
                await self._send(frame)

    async def _send(self, frame: str) -> None:
        await self._connection.send(frame)

    async def _authorize(
        self, socket_id: str, channel_name: str, user_data: Mapping[str, Any] | None
    ) -> Authorization:
        authenticator = self._authenticator
        if authenticator is None:
            secret = self.config.app_secret
            authenticator = self._authenticator = local_authenticator(
                self.config.app_key,
                secret.get_secret_value() if secret is not None else None,
                channel_name,
                self.config.encryption_master_key,
            )
        return await authorize(authenticator, socket_id, channel_name, user_data)

    async def _trigger(self, channel: Channel, event: str, data: Any) -> None:
        frame = self._core.client_event_frame(
            channel._subscription, event, data, self.config.max_message_size
        )
        await self._send(frame)

    _signin: SignIn | None = None  # user sign-in (reverb.user), made by the first signin()

    @property
    def user(self) -> UserChannel | None:
        """The signed-in user's channel (see :meth:`signin`), or ``None``."""
        return self._signin.user if self._signin is not None else None

    async def signin(self, user_data: Any = None, *, timeout: float | None = None) -> UserChannel:
        """Sign in, subscribe ``#server-to-user-<id>``; see :meth:`reverb.user.SignIn.start`."""
        self._signin = self._signin or SignIn(self)
        return await self._signin.start(user_data, timeout)

    # -- state listeners ---------------------------------------------------------------------------

    def on_state_change(self, handler: StateChangeHandler) -> Callable[[], None]:
        """Call ``handler(previous, current)`` on every connection state change.

        Returns:
            A function that removes the handler.
        """
        self._state_handlers.append(handler)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._state_handlers.remove(handler)

        return remove

    def on_error(self, handler: ErrorHandler) -> Callable[[], None]:
        """Call ``handler(error)``, sync or async, for errors no call raises: for now a
        :class:`~reverb.DecryptionError` (an encrypted event withheld). Runs on the handler
        task, in order with the events.

        Returns:
            A function that removes the handler.
        """
        return self._error_handlers.add(handler)

    async def _report_error(self, error: ReverbError) -> None:
        await self._error_handlers.report(error)

    # -- callbacks from the connection (never await) -------------------------------------------

    def _on_connection_lost(self, error: ConnectionError | None) -> None:
        self._subscriber.on_lost()
        callback = self.on_disconnect
        if callback is not None:
            self._dispatcher.put_call(lambda: maybe_await(callback(error)))

    def _on_state_change(self, previous: ConnectionState, current: ConnectionState) -> None:
        for handler in tuple(self._state_handlers):
            self._dispatcher.put_call(lambda h=handler: maybe_await(h(previous, current)))  # type: ignore[misc]
