"""Handler registries and the isolated calling of handlers.

Channels and the client both keep handlers per event name plus catch-all ("global") handlers,
so they share :class:`HandlerRegistry`. Every registration returns a :class:`Binding` that
removes exactly that registration, directly or as a context manager. The task that runs them
is :class:`reverb.dispatcher.Dispatcher`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TypeAlias, TypeVar

from .messages import Event

__all__ = [
    "Bindable",
    "Binding",
    "Handler",
    "HandlerRegistry",
    "call_handlers",
    "log_handler_failure",
    "maybe_await",
    "run_handlers",
]

Handler: TypeAlias = Callable[[Event], Awaitable[None] | None]
"""An event handler: a function or coroutine function taking one :class:`Event`."""

H = TypeVar("H", bound=Handler)
T = TypeVar("T")
_GLOBAL = object()
_NO_FAILURE: tuple[int, None, int] = (0, None, 1)
_ONE_FAILURE: tuple[int, None, int] = (1, None, 1)
_REMEMBERED_NAMES = 256
"""Event names whose handlers a registry remembers at most."""
logger = logging.getLogger("reverb.dispatch")


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
    """Handlers by event name, and catch-all handlers, in registration order.

    What an event name reaches (its handlers, then the catch-all ones) is looked up once and
    remembered until the next change, so dispatching costs one dictionary lookup.
    """

    __slots__ = ("_by_key", "_reached")

    def __init__(self) -> None:
        self._by_key: dict[object, tuple[Handler, ...]] = {}
        self._reached: dict[str, tuple[Handler, ...]] = {}

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
                self._reached.clear()
            else:
                self._remove(key, handler)

    def unbind_global(self, handler: Handler | None = None) -> None:
        """Remove one catch-all handler, or all of them."""
        if handler is None:
            self._by_key.pop(_GLOBAL, None)
            self._reached.clear()
        else:
            self._remove(_GLOBAL, handler)

    def clear(self) -> None:
        """Remove every handler."""
        self._by_key.clear()
        self._reached.clear()

    def handlers_for(self, event: str) -> tuple[Handler, ...]:
        """The handlers an event named ``event`` reaches: its own, then the catch-all ones."""
        reached = self._reached.get(event)
        if reached is None:
            named = self._by_key.get(event, ())
            catch_all = self._by_key.get(_GLOBAL, ())
            reached = named + catch_all if catch_all else named
            if len(self._reached) >= _REMEMBERED_NAMES:
                self._reached.clear()  # many distinct names: start over rather than grow
            self._reached[event] = reached
        return reached

    def __len__(self) -> int:
        return sum(len(handlers) for handlers in self._by_key.values())

    def _add(self, key: object, handler: Handler) -> Binding:
        if not callable(handler):
            raise TypeError(f"handler must be callable, not {type(handler).__name__}")
        self._by_key[key] = (*self._by_key.get(key, ()), handler)
        self._reached.clear()
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
        self._reached.clear()

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


def call_handlers(
    handlers: tuple[Handler, ...], event: Event, start: int = 0
) -> tuple[int, Awaitable[None] | None, int]:
    """Call ``handlers[start:]`` in order until one returns an awaitable (an async handler).

    What each raises is logged and swallowed.

    Returns:
        How many raised, the awaitable (``None`` if every handler was synchronous) and the
        index of the handler after the one that returned it.
    """
    if start == 0 and len(handlers) == 1:  # the usual case, without the loop's machinery
        handler = handlers[0]
        try:
            result = handler(event)
        except Exception:
            log_handler_failure(handler, event)
            return _ONE_FAILURE
        if result is None or not inspect.isawaitable(result):
            return _NO_FAILURE
        return 0, result, 1
    failures = 0
    for index, handler in enumerate(handlers[start:] if start else handlers, start):
        try:
            result = handler(event)
        except Exception:
            failures += 1
            log_handler_failure(handler, event)
            continue
        if result is not None and inspect.isawaitable(result):
            return failures, result, index + 1
    return failures, None, len(handlers)


async def run_handlers(handlers: tuple[Handler, ...], event: Event, start: int = 0) -> int:
    """Run ``handlers[start:]`` in order, sync or async; log and swallow what each raises.

    Returns:
        How many of them raised.
    """
    failures = 0
    while True:
        failed, pending, start = call_handlers(handlers, event, start)
        failures += failed
        if pending is None:
            return failures
        try:
            await pending
        except Exception:
            failures += 1
            log_handler_failure(handlers[start - 1], event)


def log_handler_failure(handler: Handler, event: Event) -> None:
    """Log, with its traceback, that ``handler`` raised on ``event`` (call it in ``except``)."""
    logger.exception(
        "handler %s raised on %r (channel %r); other handlers still run",
        getattr(handler, "__qualname__", handler),
        event.name,
        event.channel,
    )


async def maybe_await(result: Awaitable[None] | None) -> None:
    """Await ``result`` if a callback returned an awaitable (async callbacks), else nothing."""
    if inspect.isawaitable(result):
        await result
