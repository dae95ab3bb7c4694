"""Handler registries, the isolated calling of handlers, and the dispatcher task.

Channels and the client both keep handlers per event name plus catch-all ("global") handlers,
so they share :class:`HandlerRegistry`. Every registration returns a :class:`Binding` that
removes exactly that registration, directly or as a context manager.

:class:`Dispatcher` is the *dispatch path*: one task that takes events off an :class:`Inbox` in
arrival order and runs their handlers, so a slow handler delays later handlers but never the
read loop, keepalive or subscription replies.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Protocol, TypeAlias, TypeVar

from .exceptions import ReverbError
from .messages import Event

__all__ = [
    "Bindable",
    "Binding",
    "ClientStats",
    "Dispatcher",
    "ErrorHandler",
    "ErrorHandlers",
    "Handler",
    "HandlerRegistry",
    "Inbox",
    "run_handlers",
]

Handler: TypeAlias = Callable[[Event], Awaitable[None] | None]
"""An event handler: a function or coroutine function taking one :class:`Event`."""

H = TypeVar("H", bound=Handler)
T = TypeVar("T")
_GLOBAL = object()
logger = logging.getLogger("reverb.dispatch")

_FIRST_BACKLOG_WARNING = 10_000
"""Queued events at which the first "handlers are behind" warning is logged (then doubling)."""


@dataclass(slots=True)
class ClientStats:
    """Counters for monitoring; they only ever grow.

    Attributes:
        events_dispatched: events whose handlers ran.
        frames_dropped: received frames that could not be used (logged at WARNING).
        handler_errors: handler calls that raised (logged with their traceback).
        subscription_errors: subscriptions the server refused or that timed out.
        decryption_errors: events of ``private-encrypted-`` channels that could not be
            decrypted even with a fresh key (withheld from handlers, reported to ``on_error``).
    """

    events_dispatched: int = 0
    frames_dropped: int = 0
    handler_errors: int = 0
    subscription_errors: int = 0
    decryption_errors: int = 0


class Binding:
    """One handler registration; :meth:`unbind` (or leaving its ``with`` block) removes it."""

    __slots__ = ("_key", "_registry", "handler")

    def __init__(self, registry: HandlerRegistry, key: object, handler: Handler) -> None:
        self._registry = registry
        self._key = key
        self.handler = handler

    def __repr__(self) -> str:
        what = "*" if self._key is _GLOBAL else repr(self._key)
        return f"<Binding {what} -> {getattr(self.handler, '__qualname__', self.handler)!r}>"

    @property
    def active(self) -> bool:
        """Whether the handler is still registered."""
        return self._registry._contains(self._key, self.handler)

    def unbind(self) -> None:
        """Remove the handler; doing it twice is harmless."""
        self._registry._remove(self._key, self.handler)

    def __enter__(self) -> Binding:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.unbind()


class HandlerRegistry:
    """Handlers by event name, and catch-all handlers, in registration order."""

    __slots__ = ("_by_key",)

    def __init__(self) -> None:
        self._by_key: dict[object, tuple[Handler, ...]] = {}

    def bind(self, event: str, handler: Handler) -> Binding:
        """Call ``handler`` for every event named ``event``.

        Raises:
            TypeError: ``handler`` is not callable or ``event`` is not a non-empty string.
        """
        if not isinstance(event, str) or not event:
            raise TypeError("event name must be a non-empty string")
        return self._add(event, handler)

    def bind_global(self, handler: Handler) -> Binding:
        """Call ``handler`` for every event."""
        return self._add(_GLOBAL, handler)

    def unbind(self, event: str | None = None, handler: Handler | None = None) -> None:
        """Remove handlers: of ``event`` (all of them, or just ``handler``), or ``handler``
        from every event, or, with no arguments, every named-event handler.
        """
        keys = [key for key in self._by_key if key is not _GLOBAL and (event in (None, key))]
        for key in keys:
            if handler is None:
                del self._by_key[key]
            else:
                self._remove(key, handler)

    def unbind_global(self, handler: Handler | None = None) -> None:
        """Remove one catch-all handler, or all of them."""
        if handler is None:
            self._by_key.pop(_GLOBAL, None)
        else:
            self._remove(_GLOBAL, handler)

    def clear(self) -> None:
        """Remove every handler."""
        self._by_key.clear()

    def handlers_for(self, event: str) -> tuple[Handler, ...]:
        """The handlers an event named ``event`` reaches: its own, then the catch-all ones."""
        named = self._by_key.get(event, ())
        catch_all = self._by_key.get(_GLOBAL, ())
        return named + catch_all if catch_all else named

    def __len__(self) -> int:
        return sum(len(handlers) for handlers in self._by_key.values())

    def _add(self, key: object, handler: Handler) -> Binding:
        if not callable(handler):
            raise TypeError(f"handler must be callable, not {type(handler).__name__}")
        self._by_key[key] = (*self._by_key.get(key, ()), handler)
        return Binding(self, key, handler)

    def _remove(self, key: object, handler: Handler) -> None:
        handlers = self._by_key.get(key)
        if not handlers or handler not in handlers:
            return
        index = handlers.index(handler)
        remaining = handlers[:index] + handlers[index + 1 :]
        if remaining:
            self._by_key[key] = remaining
        else:
            del self._by_key[key]

    def _contains(self, key: object, handler: Handler) -> bool:
        return handler in self._by_key.get(key, ())


class Bindable:
    """The handler-binding API that channels and the client share; they own ``_handlers``."""

    _handlers: HandlerRegistry

    def bind(self, event: str, handler: Handler) -> Binding:
        """Call ``handler(event)``, sync or async, for every event named ``event``.

        Returns:
            A :class:`Binding` whose ``unbind()`` removes exactly this registration.
        """
        return self._handlers.bind(event, handler)

    def on(self, event: str) -> Callable[[H], H]:
        """Decorator form of :meth:`bind`: ``@channel.on("OrderShipped")``."""

        def register(handler: H) -> H:
            self._handlers.bind(event, handler)
            return handler

        return register

    def bind_global(self, handler: Handler) -> Binding:
        """Call ``handler`` for every event, ``pusher:*`` ones included."""
        return self._handlers.bind_global(handler)

    def unbind(self, event: str | None = None, handler: Handler | None = None) -> None:
        """Remove handlers: all of ``event``'s, one ``handler`` (of ``event`` or of every
        event), or with no arguments every named-event handler.
        """
        self._handlers.unbind(event, handler)

    def unbind_global(self, handler: Handler | None = None) -> None:
        """Remove one catch-all handler, or all of them."""
        self._handlers.unbind_global(handler)


async def run_handlers(handlers: tuple[Handler, ...], event: Event) -> int:
    """Run handlers in order, sync or async; log and swallow what each raises.

    Returns:
        How many of them raised.
    """
    failures = 0
    for handler in handlers:
        try:
            result = handler(event)
            if result is not None and inspect.isawaitable(result):
                await result
        except Exception:
            failures += 1
            logger.exception(
                "handler %s raised on %r (channel %r); other handlers still run",
                getattr(handler, "__qualname__", handler),
                event.name,
                event.channel,
            )
    return failures


class Inbox(Generic[T]):
    """A first-in first-out queue for one consumer task, cheaper than :class:`asyncio.Queue`.

    The consumer drains whatever is there with :meth:`pop_all`, then :meth:`wait` s for more;
    the producer's :meth:`put` never blocks.
    """

    __slots__ = ("_items", "_ready")

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: T) -> None:
        """Append an item and wake the consumer."""
        self._items.append(item)
        self._ready.set()

    def pop(self) -> T:
        """Take the oldest item (the caller checked ``len()``)."""
        return self._items.popleft()

    async def wait(self) -> None:
        """Wait until there is at least one item."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()


class EventTarget(Protocol):
    """A channel, as the dispatcher sees it.

    A channel whose ``_opens_events`` is true gets each event through ``_open_event`` first:
    it returns the event as handlers should see it (decrypted, say), or ``None`` to withhold
    it from every handler, the client-wide ones included.
    """

    @property
    def _opens_events(self) -> bool: ...

    async def _open_event(self, event: Event) -> Event | None: ...

    async def _handle_event(self, event: Event, data: Any) -> None: ...


Call: TypeAlias = Callable[[], Awaitable[None]]
"""A callback the dispatcher runs in turn with the events (state changes, disconnects)."""


class Dispatcher:
    """Runs handlers on one task, in arrival order, each isolated from the others' errors.

    Each event goes to its channel's ``_handle_event`` (found by name at dispatch time), then
    to the client-wide handlers.

    Args:
        channels: the channel objects by name.
        handlers: the client-wide handlers.
        stats: where dispatched events and handler errors are counted.
    """

    __slots__ = ("_backlog_warning", "_channels", "_handlers", "_inbox", "_stats", "_task")

    def __init__(
        self, channels: Mapping[str, EventTarget], handlers: HandlerRegistry, stats: ClientStats
    ) -> None:
        self._channels = channels
        self._handlers = handlers
        self._stats = stats
        self._inbox: Inbox[Event | Call | None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._backlog_warning = _FIRST_BACKLOG_WARNING

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The running dispatcher task, if any."""
        return self._task

    def start(self) -> None:
        """Start the task, unless it runs already."""
        if self._task is not None and not self._task.done():
            return
        self._inbox = inbox = Inbox[Event | Call | None]()
        self._task = asyncio.get_running_loop().create_task(
            self._run(inbox), name="reverb-dispatcher"
        )

    async def stop(self) -> None:
        """Let the queued work run, then end the task (at once, if called from a handler)."""
        task, inbox = self._task, self._inbox
        if task is None or inbox is None:
            return
        self._inbox = None
        self._task = None
        inbox.put(None)
        if task is asyncio.current_task():
            return  # stopped from a handler: the task ends after that handler
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def put(self, event: Event) -> None:
        """Queue an event; warn (at doubling backlogs) when handlers fall behind."""
        inbox = self._inbox
        if inbox is None:
            return
        inbox.put(event)
        if len(inbox) >= self._backlog_warning:
            logger.warning(
                "handlers are %d events behind; a handler is slower than the event rate",
                len(inbox),
            )
            self._backlog_warning *= 2

    def put_call(self, call: Call) -> None:
        """Queue a callback to run in order with the events."""
        inbox = self._inbox
        if inbox is not None:
            inbox.put(call)

    async def _run(self, inbox: Inbox[Event | Call | None]) -> None:
        channels = self._channels
        handlers = self._handlers
        stats = self._stats
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
                        if channel._opens_events:
                            opened = await channel._open_event(event)
                            if opened is None:
                                continue
                            event = opened
                        await channel._handle_event(event, event.data)
                    except Exception:
                        stats.handler_errors += 1
                        logger.exception("%r failed to handle %r", channel, event.name)
                client_handlers = handlers.handlers_for(event.name)
                if client_handlers:
                    stats.handler_errors += await run_handlers(client_handlers, event)
                stats.events_dispatched += 1


ErrorHandler: TypeAlias = Callable[[ReverbError], Awaitable[None] | None]
"""An error handler: a function or coroutine function taking the :class:`ReverbError`."""


class ErrorHandlers:
    """The client's ``on_error`` handlers: errors that no call raises, reported instead
    (an encrypted event that could not be decrypted, for one).

    Args:
        stats: where handlers that raise are counted (as ``handler_errors``).
    """

    __slots__ = ("_handlers", "_stats")

    def __init__(self, stats: ClientStats) -> None:
        self._stats = stats
        self._handlers: list[ErrorHandler] = []

    def add(self, handler: ErrorHandler) -> Callable[[], None]:
        """Register ``handler``; return a function that removes it."""
        if not callable(handler):
            raise TypeError(f"handler must be callable, not {type(handler).__name__}")
        self._handlers.append(handler)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._handlers.remove(handler)

        return remove

    async def report(self, error: ReverbError) -> None:
        """Call every handler in turn, sync or async; log and count what each raises."""
        for handler in tuple(self._handlers):
            try:
                await maybe_await(handler(error))
            except Exception:
                self._stats.handler_errors += 1
                logger.exception(
                    "error handler %s raised", getattr(handler, "__qualname__", handler)
                )


async def maybe_await(result: Awaitable[None] | None) -> None:
    """Await ``result`` if a callback returned an awaitable (async callbacks), else nothing."""
    if inspect.isawaitable(result):
        await result
