"""Echo's channel objects: chainable listeners over a python-reverb channel.

An :class:`EchoChannel` wraps one :class:`~reverb.channels.Channel` of a
:class:`~reverb.client.ReverbClient`. It is returned at once; the subscription proceeds on a
background task (``await channel`` waits for it). Its callbacks run from one catch-all handler
bound on the wrapped channel, so they keep python-reverb's guarantees (arrival order, isolation,
sync or async, surviving reconnects) and run in pusher-js's order: ``listen_to_all`` callbacks
first, then the event's own, each in registration order.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any, Self, overload

from ..channels import Channel, PresenceChannel, SubscriptionState
from ..dispatch import Handler, run_handlers
from ..exceptions import ReverbError, SubscriptionError
from ..messages import Event
from ..protocol.presence import Member, Members
from ..protocol.state import NOT_STARTED, ConnectionState
from .naming import EventFormatter, js_key_order

if TYPE_CHECKING:
    from ..client import ReverbClient

__all__ = [
    "NOTIFICATION_EVENT",
    "Callback",
    "EchoChannel",
    "EchoPresenceChannel",
    "EchoPrivateChannel",
]

logger = logging.getLogger("reverb.echo")

Callback = Callable[..., object]
"""A callback: a function or coroutine function; it gets what Echo's callbacks get."""

NOTIFICATION_EVENT = "Illuminate\\Notifications\\Events\\BroadcastNotificationCreated"
"""The event Laravel's broadcast notifications arrive as."""


def _awaitable(result: object) -> Awaitable[None] | None:
    return result if inspect.isawaitable(result) else None


async def _call_isolated(callback: Callback, *args: Any) -> bool:
    """Call an ``error`` callback like a handler: log what it raises; return whether it did."""
    try:
        result = callback(*args)
        if inspect.isawaitable(result):
            await result
    except Exception:
        logger.exception("echo callback %s raised", getattr(callback, "__qualname__", callback))
        return True
    return False


def error_data(error: ReverbError) -> dict[str, Any]:
    """What ``error()`` callbacks get: the ``pusher:subscription_error`` data for ``error``."""
    return {"type": type(error).__name__, "error": str(error), "code": getattr(error, "code", None)}


class EchoChannel:
    """A channel as Laravel Echo presents it: ``listen``, ``listen_to_all``, ``notification``
    and the rest, each returning the channel so calls chain.

    Made by :class:`~reverb.echo.Echo` (``echo.channel(name)``); not constructed directly.
    ``await channel`` (or ``await channel.subscribed()``) waits until the server confirmed the
    subscription and returns the channel, or raises what made it fail.

    Args:
        client: the client that subscribes.
        channel: the python-reverb channel to wrap (registered with ``client`` or not yet).
        formatter: the event-name rules.
        on_failed: called with this object when its first subscription fails for good.
    """

    def __init__(
        self,
        client: ReverbClient,
        channel: Channel,
        formatter: EventFormatter,
        on_failed: Callable[[EchoChannel], None] | None = None,
    ) -> None:
        self.client = client
        self.channel = channel
        """The wrapped python-reverb channel (for ``bind``, ``state`` and the like)."""
        self.formatter = formatter
        self._on_failed = on_failed
        self._listeners: list[tuple[str | None, Callback, Handler]] = []
        """(event name, or None for listen_to_all; the callback; its handler), in order."""
        self._error_callbacks: list[Callback] = []
        self._confirmed = False
        self._ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        channel.bind("pusher:subscription_error", self._on_subscription_error)
        channel.bind_global(self._dispatch)
        self._task = asyncio.ensure_future(self._subscribe())

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.channel.state}>"

    @property
    def name(self) -> str:
        """The full channel name (``private-chat.1``)."""
        return self.channel.name

    @property
    def state(self) -> SubscriptionState:
        """Where the subscription stands (the wrapped channel's state)."""
        return self.channel.state

    # -- waiting for the subscription ---------------------------------------------------------

    def __await__(self) -> Generator[Any, None, Self]:
        return self._wait().__await__()

    async def _wait(self) -> Self:
        await asyncio.shield(self._ready)
        return self

    @overload
    def subscribed(self, callback: Callback) -> Self: ...

    @overload
    def subscribed(self) -> Awaitable[Self]: ...

    def subscribed(self, callback: Callback | None = None) -> Self | Awaitable[Self]:
        """With a callback: call ``callback()`` every time the subscription succeeds (the first
        time and after every reconnect), and return the channel. Without: an awaitable that
        waits for the first subscription and returns the channel.

        Raises:
            ReverbError: (when awaited) the subscription failed (``SubscriptionError``,
                ``AuthenticationError``...), or the channel was left first.
        """
        if callback is None:
            return self._wait()
        return self._on("pusher:subscription_succeeded", callback, lambda event: ())

    def error(self, callback: Callback) -> Self:
        """Call ``callback(data)`` when a subscription fails: the first one (refused, timed out,
        not authorized) or one after a reconnect. ``data`` is a dict with ``type`` (the
        exception's class name), ``error`` (its message) and ``code``.
        """
        if not callable(callback):
            raise TypeError(f"callback must be callable, not {type(callback).__name__}")
        self._error_callbacks.append(callback)
        return self

    # -- listening ------------------------------------------------------------------------------

    def listen(self, event: str, callback: Callback) -> Self:
        r"""Call ``callback(data)`` for every ``event``, named by Echo's rules: ``OrderShipped``
        hears ``App\Events\OrderShipped``, ``.price.changed`` hears ``price.changed``.
        """
        return self._on(self.formatter.format(event), callback, lambda e: (e.data,))

    def stop_listening(self, event: str, callback: Callback | None = None) -> Self:
        """Remove ``callback`` (or every callback) given to :meth:`listen` for ``event``."""
        self._off(self.formatter.format(event), callback)
        return self

    def listen_to_all(self, callback: Callback) -> Self:
        r"""Call ``callback(name, data)`` for every event except ``pusher:*`` ones.

        ``name`` is short, as Echo gives it: ``OrderShipped`` for ``App\Events\OrderShipped``
        (in the namespace), ``.price.changed`` for anything else; either can go to :meth:`listen`.
        """
        if not callable(callback):
            raise TypeError(f"callback must be callable, not {type(callback).__name__}")
        short_name = self.formatter.short_name

        def handler(event: Event) -> Awaitable[None] | None:
            if event.name.startswith("pusher:"):
                return None
            return _awaitable(callback(short_name(event.name), event.data))

        self._listeners.append((None, callback, handler))
        return self

    def stop_listening_to_all(self, callback: Callback | None = None) -> Self:
        """Remove ``callback`` (or every callback) given to :meth:`listen_to_all`."""
        self._off(None, callback)
        return self

    def listen_for_whisper(self, event: str, callback: Callback) -> Self:
        """Call ``callback(data)`` for the client event ``client-{event}`` (a whisper)."""
        return self.listen(".client-" + event, callback)

    def stop_listening_for_whisper(self, event: str, callback: Callback | None = None) -> Self:
        """Undo :meth:`listen_for_whisper`."""
        return self.stop_listening(".client-" + event, callback)

    def notification(self, callback: Callback) -> Self:
        """Call ``callback(data)`` for each broadcast notification (Laravel's
        ``BroadcastNotificationCreated``); ``data`` has the notification's ``id`` and ``type``
        beside its own fields.
        """
        return self.listen("." + NOTIFICATION_EVENT, callback)

    def stop_listening_for_notification(self, callback: Callback | None = None) -> Self:
        """Undo :meth:`notification`."""
        return self.stop_listening("." + NOTIFICATION_EVENT, callback)

    # -- plumbing -------------------------------------------------------------------------------

    def _on(self, name: str, callback: Callback, args: Callable[[Event], tuple[Any, ...]]) -> Self:
        if not callable(callback):
            raise TypeError(f"callback must be callable, not {type(callback).__name__}")

        def handler(event: Event) -> Awaitable[None] | None:
            return _awaitable(callback(*args(event)))

        self._listeners.append((name, callback, handler))
        return self

    def _off(self, key: str | None, callback: Callback | None) -> None:
        self._listeners = [
            entry
            for entry in self._listeners
            if not (entry[0] == key and callback in (None, entry[1]))
        ]

    async def _dispatch(self, event: Event) -> None:
        # As pusher-js emits: the catch-all (listen_to_all) callbacks first, then the event's
        # own, each group in registration order.
        name = event.name
        listeners = self._listeners
        handlers = tuple(h for key, _, h in listeners if key is None) + tuple(
            h for key, _, h in listeners if key == name
        )
        if handlers:
            self.client.stats.handler_errors += await run_handlers(handlers, event)

    async def _on_subscription_error(self, event: Event) -> None:
        if not self._confirmed:
            return  # the first attempt's failure is reported by _subscribe
        await self._report(event.data)

    async def _report(self, data: Any) -> None:
        for callback in tuple(self._error_callbacks):
            if await _call_isolated(callback, data):
                self.client.stats.handler_errors += 1

    async def _subscribe(self) -> None:
        try:
            await self._client_started()
            await self.client.subscribe(self.channel)
        except asyncio.CancelledError:
            self._settle(SubscriptionError(f"left {self.name!r}", channel=self.name))
            raise
        except ReverbError as exc:
            self._settle(exc)
            if self._on_failed is not None:
                self._on_failed(self)
            await self._report(error_data(exc))
        else:
            self._confirmed = True
            self._settle(None)

    async def _client_started(self) -> None:
        """Wait until the client connects (Echo's channels may be made before that)."""
        client = self.client
        if client.state not in NOT_STARTED:
            return
        started = asyncio.Event()

        def changed(previous: ConnectionState, current: ConnectionState) -> None:
            if current not in NOT_STARTED:
                started.set()

        remove = client.on_state_change(changed)
        try:
            if client.state in NOT_STARTED:
                await started.wait()
        finally:
            remove()

    def _settle(self, error: ReverbError | None) -> None:
        if self._ready.done():
            return
        if error is None:
            self._ready.set_result(None)
        else:
            self._ready.set_exception(error)
            self._ready.exception()  # retrieved: nobody need await a channel

    async def _leave(self) -> None:
        """Stop subscribing (cancel the task if it still runs) and unsubscribe."""
        task = self._task
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._settle(SubscriptionError(f"left {self.name!r}", channel=self.name))
        self._listeners.clear()
        await self.client.unsubscribe(self.channel)


class EchoPrivateChannel(EchoChannel):
    """A ``private-`` (or ``private-encrypted-``) channel: adds :meth:`whisper`."""

    async def whisper(self, event: str, data: Any) -> None:
        """Send the client event ``client-{event}`` to the channel's other subscribers, once
        the subscription is confirmed.

        Raises:
            ClientEventError: the payload or channel does not allow it (nothing was sent).
            ReverbError: the subscription failed.
        """
        await self._wait()
        await self.channel.trigger("client-" + event, data)


class EchoPresenceChannel(EchoPrivateChannel):
    """A ``presence-`` channel: adds :meth:`here`, :meth:`joining`, :meth:`leaving`."""

    channel: PresenceChannel

    @property
    def members(self) -> Members:
        """``user_id -> user_info`` of everyone here (the wrapped channel's live view)."""
        return self.channel.members

    @property
    def me(self) -> Member | None:
        """This client's own member, once subscribed."""
        return self.channel.me

    def here(self, callback: Callback) -> Self:
        """Call ``callback(infos)`` with every member's ``user_info`` when the subscription
        succeeds, the first time and after every reconnect (as Echo does).

        The list is in the order Echo gives it: numeric user ids first, ascending, then the
        others in the server's order.
        """

        def infos(event: Event) -> tuple[Any, ...]:
            members = event.data
            return ([members[key] for key in js_key_order(members)],)

        return self._on("pusher:subscription_succeeded", callback, infos)

    def joining(self, callback: Callback) -> Self:
        """Call ``callback(user_info)`` when a member joins."""
        return self._on("pusher:member_added", callback, lambda event: (event.data.user_info,))

    def leaving(self, callback: Callback) -> Self:
        """Call ``callback(user_info)`` when a member leaves."""
        return self._on("pusher:member_removed", callback, lambda event: (event.data.user_info,))
