"""The dispatch path: handlers run in arrival order, and the client's counters.

:class:`Dispatcher` runs each event's handlers at once, from the frame reader, while nothing
is queued and they are plain functions: a flood of events costs no task switch, no queue and
no coroutine per event. Everything else waits in an :class:`Inbox` for the dispatcher's task,
in arrival order: events behind an async handler that has not finished, events of channels
that transform them first (encrypted ones), events of a channel whose ``subscribe()`` caller
has not resumed yet (so a handler bound right after ``subscribe()`` returns sees the first
one), and callbacks such as state changes. A slow async handler delays later handlers but
never the read loop, keepalive or subscription replies. :class:`ErrorHandlers` are the
client's ``on_error`` callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeAlias, TypeVar

from . import compiled
from .dispatch import (
    Handler,
    HandlerRegistry,
    call_handlers,
    log_handler_failure,
    maybe_await,
    run_handlers,
)
from .exceptions import ReverbError
from .messages import Event

__all__ = [
    "Call",
    "ClientStats",
    "Dispatcher",
    "ErrorHandler",
    "ErrorHandlers",
    "EventTarget",
    "Inbox",
]

T = TypeVar("T")
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
    it from every handler, the client-wide ones included. A channel whose ``_handled_inline``
    is true (no ``_open_event``, the stock ``_handle_event``) may have its ``_handlers``
    called directly.
    """

    @property
    def _opens_events(self) -> bool: ...

    @property
    def _handled_inline(self) -> bool: ...

    @property
    def _handlers(self) -> HandlerRegistry: ...

    async def _open_event(self, event: Event) -> Event | None: ...

    async def _handle_event(self, event: Event, data: Any) -> None: ...


Call: TypeAlias = Callable[[], Awaitable[None]]
"""A callback the dispatcher runs in turn with the events (state changes, disconnects)."""

Item: TypeAlias = "Event | Call | asyncio.Future[None] | None"
"""What the dispatcher's queue holds: an event, a callback, a hold to wait for, or the end."""


class Dispatcher:
    """Runs handlers in arrival order, each isolated from the others' errors.

    Each event goes to its channel's handlers (found by name at dispatch time), then to the
    client-wide handlers: at once while nothing waits, else on the dispatcher's task, which
    exists only once something had to wait.

    Args:
        channels: the channel objects by name.
        handlers: the client-wide handlers.
        stats: where dispatched events and handler errors are counted.
    """

    __slots__ = (
        "_backlog_warning",
        "_busy",
        "_channels",
        "_handlers",
        "_holds",
        "_idle",
        "_inbox",
        "_running",
        "_stats",
        "_task",
        "event_sink",
    )

    def __init__(
        self, channels: Mapping[str, EventTarget], handlers: HandlerRegistry, stats: ClientStats
    ) -> None:
        self._channels = channels
        self._handlers = handlers
        self._stats = stats
        self._running = False
        self._inbox: Inbox[Item] | None = None
        self._task: asyncio.Task[None] | None = None
        self._busy = False
        """Whether queued work is unfinished (queued, or its handler still awaited)."""
        self._holds: list[asyncio.Future[None]] = []
        """Holds (see :meth:`hold_until`) that no queued item waits behind yet."""
        self._idle = False
        """Running, nothing queued or unfinished, no hold: events may be handled at once."""
        self._backlog_warning = _FIRST_BACKLOG_WARNING
        self.event_sink: Callable[[Event], None] = self.put
        """What the connection hands each channel event to: :meth:`put`, compiled when
        :mod:`reverb.compiled` has the speedups (the same decisions, at a fraction of the cost).
        """
        speedups = compiled.speedups
        if speedups is not None and type(channels) is dict:
            self.event_sink = speedups.InlineDispatch(self, channels, handlers, stats)

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The dispatcher's task, if something had to be queued since :meth:`start`."""
        return self._task

    def start(self) -> None:
        """Accept events (until :meth:`stop`)."""
        if not self._running:
            self._running = True
            self._update_idle()

    async def stop(self) -> None:
        """Let the queued work run, then end the task (at once, if called from a handler)."""
        self._running = False
        self._idle = False
        self._holds.clear()
        task, inbox = self._task, self._inbox
        self._task = self._inbox = None
        self._busy = False
        if task is None or inbox is None:
            return
        inbox.put(None)
        if task is asyncio.current_task():
            return  # stopped from a handler: the task ends after that handler
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def put(self, event: Event) -> None:
        """Handle an event now if nothing waits, else queue it.

        Handled now: the channel's handlers, then the client-wide ones, are called here; if
        one is async, its awaitable and the handlers after it are queued. Warns (at doubling
        backlogs) when handlers fall behind.
        """
        if self._idle:
            name = event.channel
            channel = self._channels.get(name) if name is not None else None
            if channel is None or channel._handled_inline:
                if channel is not None:
                    handlers = channel._handlers.handlers_for(event.name)
                    if handlers and self._call_now(event, handlers, True):
                        return
                handlers = self._handlers.handlers_for(event.name)
                if handlers and self._call_now(event, handlers, False):
                    return
                self._stats.events_dispatched += 1
                return
        if not self._running:
            return
        inbox = self._enqueue(event)
        if len(inbox) >= self._backlog_warning:
            logger.warning(
                "handlers are %d events behind; a handler is slower than the event rate",
                len(inbox),
            )
            self._backlog_warning *= 2

    def hold_until(self, resumed: asyncio.Future[None]) -> None:
        """Keep every later event and callback waiting until ``resumed`` is done."""
        if self._running and not resumed.done():
            self._holds.append(resumed)
            self._idle = False
            resumed.add_done_callback(self._hold_ended)

    def put_call(self, call: Call) -> None:
        """Queue a callback to run in order with the events."""
        if self._running:
            self._enqueue(call)

    def _enqueue(self, item: Item) -> Inbox[Item]:
        inbox = self._inbox
        if inbox is None:
            inbox = self._inbox = Inbox[Item]()
        for hold in self._holds:  # items queued from now on wait behind the holds
            inbox.put(hold)
        self._holds.clear()
        inbox.put(item)
        self._busy = True
        self._idle = False
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(inbox), name="reverb-dispatcher"
            )
        return inbox

    def _hold_ended(self, hold: asyncio.Future[None]) -> None:
        if hold in self._holds:
            self._holds.remove(hold)
            self._update_idle()

    def _update_idle(self) -> None:
        self._idle = self._running and not self._busy and not self._holds

    def _call_now(
        self, event: Event, handlers: tuple[Handler, ...], then_client_handlers: bool
    ) -> bool:
        """Call ``handlers`` here; return whether an async one left the rest queued."""
        failures, pending, after = call_handlers(handlers, event)
        if failures:
            self._stats.handler_errors += failures
        if pending is None:
            return False
        self.put_call(self._finishing(event, handlers, pending, after, then_client_handlers))
        return True

    def _finishing(
        self,
        event: Event,
        handlers: tuple[Handler, ...],
        pending: Awaitable[None],
        after: int,
        then_client_handlers: bool,
    ) -> Call:
        """The rest of an event's handling once an async handler returned ``pending``."""

        async def finish() -> None:
            stats = self._stats
            try:
                await pending
            except Exception:
                stats.handler_errors += 1
                log_handler_failure(handlers[after - 1], event)
            stats.handler_errors += await run_handlers(handlers, event, after)
            if then_client_handlers:
                client_handlers = self._handlers.handlers_for(event.name)
                if client_handlers:
                    stats.handler_errors += await run_handlers(client_handlers, event)
            stats.events_dispatched += 1

        return finish

    async def _run(self, inbox: Inbox[Item]) -> None:
        channels = self._channels
        handlers = self._handlers
        stats = self._stats
        while True:
            if not inbox:
                if self._inbox is inbox:
                    self._busy = False
                    self._update_idle()
                await inbox.wait()
            while inbox:
                item = inbox.pop()
                if item is None:
                    return
                if isinstance(item, asyncio.Future):
                    await asyncio.shield(item)
                    continue
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
