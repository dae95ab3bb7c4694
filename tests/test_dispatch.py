from __future__ import annotations

import logging

import pytest

from reverb import Event
from reverb.dispatch import HandlerRegistry, call_handler

EVENT = Event("E", "c", 1)


def named(name: str, calls: list[str]):
    def handler(event: Event) -> None:
        calls.append(name)

    return handler


def test_named_handlers_in_order_then_catch_all() -> None:
    registry = HandlerRegistry()
    calls: list[str] = []
    catch_all = named("all", calls)
    first, second = named("first", calls), named("second", calls)
    registry.bind_global(catch_all)
    registry.bind("E", first)
    registry.bind("E", second)
    assert registry.handlers_for("E") == (first, second, catch_all)
    assert registry.handlers_for("other") == (catch_all,)
    assert len(registry) == 3


def test_unbind_variants() -> None:
    registry = HandlerRegistry()
    calls: list[str] = []
    a, b = named("a", calls), named("b", calls)
    registry.bind("E", a)
    registry.bind("E", b)
    registry.bind("F", a)
    registry.unbind(handler=a)
    assert registry.handlers_for("E") == (b,)
    assert registry.handlers_for("F") == ()
    registry.unbind("E")
    assert registry.handlers_for("E") == ()
    registry.bind("E", a)
    registry.bind_global(b)
    registry.unbind()
    assert registry.handlers_for("E") == (b,)
    registry.unbind_global()
    assert len(registry) == 0


def test_binding_handle_and_context_manager() -> None:
    registry = HandlerRegistry()
    calls: list[str] = []
    handler = named("h", calls)
    binding = registry.bind("E", handler)
    assert binding.active
    binding.unbind()
    binding.unbind()
    assert not binding.active
    with registry.bind_global(handler) as scoped:
        assert registry.handlers_for("E") == (handler,)
        assert "*" in repr(scoped)
    assert registry.handlers_for("E") == ()


def test_the_same_handler_twice_is_removed_one_at_a_time() -> None:
    registry = HandlerRegistry()
    handler = named("h", [])
    first = registry.bind("E", handler)
    registry.bind("E", handler)
    first.unbind()
    assert registry.handlers_for("E") == (handler,)


@pytest.mark.parametrize(("event", "handler"), [("", print), (5, print), ("E", "not callable")])
def test_bad_bindings_raise_type_error(event: object, handler: object) -> None:
    with pytest.raises(TypeError):
        HandlerRegistry().bind(event, handler)  # type: ignore[arg-type]


async def test_call_handler_runs_sync_and_async() -> None:
    seen: list[Event] = []

    async def coroutine(event: Event) -> None:
        seen.append(event)

    assert await call_handler(seen.append, EVENT) is True
    assert await call_handler(coroutine, EVENT) is True
    assert seen == [EVENT, EVENT]


async def test_call_handler_logs_and_swallows_exceptions(caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: Event) -> None:
        raise KeyError("boom")

    with caplog.at_level(logging.ERROR, logger="reverb.dispatch"):
        assert await call_handler(broken, EVENT) is False
    assert "broken" in caplog.text
    assert "KeyError" in caplog.text
