"""ReverbClient: the public entry point.

The client owns a :class:`~reverb.connection.Connection`, a registry of channels (durable
subscription intents, re-subscribed with fresh authorization on every new socket), handler
registries, and one *dispatcher* task.

Two paths keep it responsive:

* The **read path** runs inside the connection's read loop and never awaits: it applies each
  protocol event to the client's state at once (subscriptions confirmed or refused, presence
  members added or removed) and puts the user-facing :class:`~reverb.messages.Event` on a queue.
* The **dispatch path** is the dispatcher task: it takes events off the queue in arrival order
  and runs their handlers, sync or async, each isolated from the others' exceptions. A slow
  handler delays later handlers but never the read loop, keepalive or subscription replies.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar, overload

from .auth import Authenticator, Authorization, ChannelAuthenticator, authorize
from .channels import Channel, PresenceChannel, PrivateChannel, PublicChannel, SubscriptionState
from .config import ReverbConfig
from .connection import Connection
from .dispatch import Bindable, HandlerRegistry, Inbox, run_handlers
from .exceptions import (
    AuthenticationError,
    ClientEventError,
    ConfigurationError,
    ConnectionError,
    ReverbError,
    SubscriptionError,
)
from .messages import Event
from .protocol.names import (
    ChannelKind,
    channel_kind,
    validate_channel_name,
    validate_client_event_name,
)
from .protocol.presence import Member
from .protocol.session import (
    Dropped,
    MemberAdded,
    MemberRemoved,
    PusherSession,
    ServerError,
    SessionEvent,
    SubscriptionFailed,
    SubscriptionSucceeded,
)
from .protocol.state import ConnectionState
from .transport import TransportFactory, TransportOptions

__all__ = ["ClientStats", "ReverbClient"]

logger = logging.getLogger("reverb.client")

DisconnectCallback = Callable[[ConnectionError | None], Awaitable[None] | None]
StateChangeHandler = Callable[[ConnectionState, ConnectionState], Awaitable[None] | None]

C = TypeVar("C", bound=Channel)

_Work = Event | Callable[[], Awaitable[None]] | None
"""What the dispatcher runs: an event, a callback, or None to stop."""

_FIRST_BACKLOG_WARNING = 10_000
"""Queued events at which the first "handlers are behind" warning is logged (then doubling)."""

_ChannelClasses: dict[ChannelKind, type[Channel]] = {
    ChannelKind.PUBLIC: PublicChannel,
    ChannelKind.PRIVATE: PrivateChannel,
}


@dataclass(slots=True)
class ClientStats:
    """Counters for monitoring; they only ever grow.

    Attributes:
        events_dispatched: events whose handlers ran.
        frames_dropped: received frames that could not be used (logged at WARNING).
        handler_errors: handler calls that raised (logged with their traceback).
        subscription_errors: subscriptions the server refused or that timed out.
    """

    events_dispatched: int = 0
    frames_dropped: int = 0
    handler_errors: int = 0
    subscription_errors: int = 0


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
        transport_factory: opens the websocket; ``websockets`` by default.
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
            config = ReverbConfig(**settings)
        elif settings:
            config = ReverbConfig(**{**config.model_dump(), **settings})
        self.config = config
        self._authenticator = authenticator
        self.on_disconnect = on_disconnect
        self.stats = ClientStats()
        self._channels: dict[str, Channel] = {}
        self._handlers = HandlerRegistry()
        self._state_handlers: list[StateChangeHandler] = []
        self._inbox: Inbox[_Work] | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._backlog_warning = _FIRST_BACKLOG_WARNING
        self._connection = Connection(
            config,
            on_event=self._on_session_event,
            on_established=self._on_established,
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
        return _ReadOnly(self._channels)

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
        self._start_dispatcher()
        try:
            await self._connection.open()
        except BaseException:
            await self._stop_dispatcher()
            raise

    async def disconnect(self) -> None:
        """Close the connection and stop reconnecting; handlers queued so far still run."""
        for task in list(self._background):
            task.cancel()
        closed = ConnectionError("disconnected while waiting for the subscription")
        for channel in self._channels.values():
            channel._release_waiters(closed)
        await self._connection.close()
        await self._stop_dispatcher()

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
        dispatcher = self._dispatcher
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
            The channel: a :class:`PublicChannel`, :class:`PrivateChannel` or
            :class:`PresenceChannel` (or the object passed in).

        Raises:
            ConfigurationError: an invalid channel name, or a ``private-encrypted-`` name
                without a channel class that can decrypt.
            AuthenticationError: the authenticator could not authorize the channel.
            SubscriptionError: the server refused the subscription, or did not answer within
                the timeout. The connection stays usable.
            ConnectionError: the client is not connected.
        """
        if self.state in (
            ConnectionState.INITIALIZED,
            ConnectionState.DISCONNECTED,
            ConnectionState.FAILED,
        ):
            raise ConnectionError(f"cannot subscribe while {self.state}: connect() first")
        target, created = self._register(channel, user_data)
        waiter = target._wait_subscribed()
        if created or target.state in (SubscriptionState.UNSUBSCRIBED, SubscriptionState.FAILED):
            session = self._connection.session
            if session is not None:
                self._spawn(self._subscribe_on(session, [target]))
        limit = self.config.subscription_timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                await waiter
        except TimeoutError:
            error = SubscriptionError(
                f"no answer to the subscription of {target.name!r} within {limit} s",
                channel=target.name,
            )
            self.stats.subscription_errors += 1
            if created:
                await self._abandon(target, error)
            raise error from None
        except ReverbError as exc:
            if created:
                await self._abandon(target, exc)
            raise exc from None
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
        kind = channel_kind(name)
        if kind is ChannelKind.ENCRYPTED:
            raise ConfigurationError(
                f"{name!r} is an end-to-end encrypted channel; subscribe with a Channel "
                "subclass that decrypts its payloads (built-in support is planned)"
            )
        if user_data is not None and not isinstance(user_data, Mapping):
            raise ConfigurationError(
                f"user_data must be a mapping such as {{'user_id': ...}}, not "
                f"{type(user_data).__name__}"
            )
        if kind is ChannelKind.PRESENCE:
            created: Channel = PresenceChannel(name, self, user_data)
        elif user_data is not None:
            raise ConfigurationError("user_data is only for presence channels")
        else:
            created = _ChannelClasses[kind](name, self)
        self._channels[name] = created
        return created, True

    async def _abandon(self, channel: Channel, error: ReverbError) -> None:
        if self._channels.get(channel.name) is channel:
            del self._channels[channel.name]
        was_on_server = channel.state in (SubscriptionState.PENDING, SubscriptionState.SUBSCRIBED)
        channel._detach(error)
        session = self._connection.session
        if session is not None and was_on_server:
            frame = session.unsubscribe_frame(channel.name)
            with contextlib.suppress(ConnectionError):
                await self._connection.send(frame)

    async def _subscribe_on(self, session: PusherSession, channels: list[Channel]) -> None:
        """Authorize and send subscribes for ``channels`` on ``session``, in order."""
        for channel in channels:
            if self._connection.session is not session:
                return
            if self._channels.get(channel.name) is not channel:
                continue
            channel._set_pending()
            try:
                assert session.socket_id is not None
                payload = await channel._subscribe(session.socket_id)
            except ReverbError as exc:
                self._subscription_failed(channel, exc)
                continue
            except Exception as exc:
                logger.exception("subscribing %r raised", channel.name)
                self._subscription_failed(
                    channel,
                    SubscriptionError(
                        f"could not build the subscription of {channel.name!r}: "
                        f"{type(exc).__name__}",
                        channel=channel.name,
                    ),
                )
                continue
            if self._connection.session is not session:
                return
            if self._channels.get(channel.name) is not channel:
                continue
            frame = session.subscribe_frame(
                channel.name, payload.get("auth"), payload.get("channel_data")
            )
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("> pusher:subscribe %s", channel.name)
            try:
                await self._connection.send(frame)
            except ConnectionError:
                return

    async def _authorize(
        self, socket_id: str, channel_name: str, user_data: Mapping[str, Any] | None
    ) -> Authorization:
        authenticator = self._authenticator
        if authenticator is None:
            secret = self.config.app_secret
            if secret is None:
                raise AuthenticationError(
                    f"{channel_name!r} needs authorization: set REVERB_APP_SECRET (or "
                    "app_secret=) to sign locally, or pass authenticator=",
                    channel=channel_name,
                )
            authenticator = self._authenticator = Authenticator(
                self.config.app_key, secret.get_secret_value()
            )
        return await authorize(authenticator, socket_id, channel_name, user_data)

    async def _trigger(self, channel: Channel, event: str, data: Any) -> None:
        validate_client_event_name(event)
        if not channel.kind.accepts_client_events:
            raise ClientEventError(
                f"client events are only allowed on private and presence channels, not on "
                f"{channel.kind} channel {channel.name!r}"
            )
        if self._channels.get(channel.name) is not channel or not channel.subscribed:
            raise ClientEventError(
                f"cannot send {event!r}: not subscribed to {channel.name!r} ({channel.state})"
            )
        if data is None:
            data = {}
        if not isinstance(data, Mapping | list | tuple):
            raise ClientEventError(
                f"client event data must be a JSON object or array, not {type(data).__name__}"
            )
        session = self._connection.session
        if session is None:
            raise ClientEventError(f"cannot send {event!r}: not connected ({self.state})")
        try:
            frame = session.client_event_frame(channel.name, event, data)
        except (TypeError, ValueError) as exc:
            raise ClientEventError(f"client event data is not JSON-serializable: {exc}") from None
        size = len(frame.encode())
        if size > self.config.max_message_size:
            raise ClientEventError(
                f"client event frame is {size} bytes; max_message_size is "
                f"{self.config.max_message_size}"
            )
        await self._connection.send(frame)

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

    # -- the read path (called from the connection's read loop; never awaits) ------------------

    def _on_established(self, session: PusherSession) -> None:
        channels = list(self._channels.values())
        for channel in channels:
            channel._set_pending()
        if channels:
            self._spawn(self._subscribe_on(session, channels))

    def _on_connection_lost(self, error: ConnectionError | None) -> None:
        for channel in self._channels.values():
            channel._set_unsubscribed()
        callback = self.on_disconnect
        if callback is not None:
            self._enqueue_call(lambda: _maybe_await(callback(error)))

    def _on_state_change(self, previous: ConnectionState, current: ConnectionState) -> None:
        for handler in tuple(self._state_handlers):
            self._enqueue_call(lambda h=handler: _maybe_await(h(previous, current)))  # type: ignore[misc]

    def _on_session_event(self, event: SessionEvent) -> None:
        if type(event) is Event:
            self._enqueue(event)
        elif isinstance(event, SubscriptionSucceeded):
            self._subscription_succeeded(event)
        elif isinstance(event, MemberAdded | MemberRemoved):
            self._member_changed(event)
        elif isinstance(event, SubscriptionFailed):
            self._subscription_refused(event)
        elif isinstance(event, ServerError):
            logger.warning("server error %s: %s", event.code, event.message)
            self._enqueue(
                Event("pusher:error", event.channel, {"code": event.code, "message": event.message})
            )
        elif isinstance(event, Dropped):
            self.stats.frames_dropped += 1
            logger.warning("dropped a frame: %s", event.reason)

    def _subscription_succeeded(self, event: SubscriptionSucceeded) -> None:
        channel = self._channels.get(event.channel)
        if channel is None:
            return
        channel._set_subscribed(event.data)
        logger.info("subscribed to %s", channel.name)
        data = channel.members if isinstance(channel, PresenceChannel) else {}
        self._enqueue(Event("pusher:subscription_succeeded", channel.name, data))

    def _subscription_refused(self, event: SubscriptionFailed) -> None:
        channel = self._channels.get(event.channel)
        if channel is None:
            return
        detail = f" (code {event.code})" if event.code is not None else ""
        self._subscription_failed(
            channel,
            SubscriptionError(
                f"server refused the subscription to {event.channel!r}: {event.message}{detail}",
                channel=event.channel,
                code=event.code,
                status=event.status,
            ),
        )

    def _subscription_failed(self, channel: Channel, error: ReverbError) -> None:
        self.stats.subscription_errors += 1
        logger.error("%s", error)
        channel._set_failed(error)
        self._enqueue(
            Event(
                "pusher:subscription_error",
                channel.name,
                {
                    "type": type(error).__name__,
                    "error": str(error),
                    "code": getattr(error, "code", None),
                },
            )
        )

    def _member_changed(self, event: MemberAdded | MemberRemoved) -> None:
        channel = self._channels.get(event.channel)
        if not isinstance(channel, PresenceChannel):
            return
        if isinstance(event, MemberAdded):
            if channel.members.add(event.user_id, event.user_info):
                self._enqueue(
                    Event(
                        "pusher:member_added", channel.name, Member(event.user_id, event.user_info)
                    )
                )
        else:
            removed = channel.members.remove(event.user_id)
            if removed is not None:
                self._enqueue(Event("pusher:member_removed", channel.name, removed))

    # -- the dispatch path ----------------------------------------------------------------------

    def _enqueue(self, event: Event) -> None:
        inbox = self._inbox
        if inbox is not None:
            inbox.put(event)
            if len(inbox) >= self._backlog_warning:
                logger.warning(
                    "handlers are %d events behind; a handler is slower than the event rate",
                    len(inbox),
                )
                self._backlog_warning *= 2

    def _enqueue_call(self, call: Callable[[], Awaitable[None]]) -> None:
        inbox = self._inbox
        if inbox is not None:
            inbox.put(call)

    def _start_dispatcher(self) -> None:
        if self._dispatcher is not None and not self._dispatcher.done():
            return
        self._inbox = Inbox()
        self._dispatcher = asyncio.get_running_loop().create_task(
            self._dispatch_forever(self._inbox), name="reverb-dispatcher"
        )

    async def _stop_dispatcher(self) -> None:
        dispatcher, inbox = self._dispatcher, self._inbox
        if dispatcher is None or inbox is None:
            return
        self._inbox = None
        self._dispatcher = None
        inbox.put(None)
        if dispatcher is asyncio.current_task():
            return  # disconnect() from a handler: the dispatcher ends after that handler
        with contextlib.suppress(asyncio.CancelledError):
            await dispatcher

    async def _dispatch_forever(self, inbox: Inbox[_Work]) -> None:
        channels = self._channels
        handlers = self._handlers
        stats = self.stats
        while True:
            await inbox.wait()
            while inbox:
                item = inbox.pop()
                if item is None:
                    return
                if item.__class__ is not Event:
                    try:
                        await item()  # type: ignore[operator]
                    except Exception:
                        stats.handler_errors += 1
                        logger.exception("callback raised")
                    continue
                event: Event = item
                name = event.channel
                channel = channels.get(name) if name is not None else None
                if channel is not None:
                    try:
                        await channel._handle_event(event, event.data)
                    except Exception:
                        stats.handler_errors += 1
                        logger.exception("%r failed to handle %r", channel, event.name)
                client_handlers = handlers.handlers_for(event.name)
                if client_handlers:
                    stats.handler_errors += await run_handlers(client_handlers, event)
                stats.events_dispatched += 1

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


async def _maybe_await(result: Awaitable[None] | None) -> None:
    if inspect.isawaitable(result):
        await result


class _ReadOnly(Mapping[str, Channel]):
    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Channel]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Channel:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)
