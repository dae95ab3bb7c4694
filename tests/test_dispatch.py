"""Handler registries, bindings, and calling handlers in isolation."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from reverb import Binding, Event
from reverb.dispatch import HandlerRegistry, run_handlers

EVENT = Event("OrderShipped", "orders", {"id": 1})


def recorder(name: str, calls: list[str]) -> Callable[[Event], None]:
    def handler(event: Event) -> None:
        calls.append(name)

    handler.__qualname__ = f"recorder.{name}"
    return handler


@pytest.fixture
def registry() -> HandlerRegistry:
    return HandlerRegistry()


@pytest.fixture
def calls() -> list[str]:
    return []


# -- order ----------------------------------------------------------------------------------------


def test_named_handlers_run_in_registration_order(
    registry: HandlerRegistry, calls: list[str]
) -> None:
    first, second, third = (recorder(n, calls) for n in ("first", "second", "third"))
    registry.bind("E", first)
    registry.bind("E", second)
    registry.bind("E", third)
    assert registry.handlers_for("E") == (first, second, third)


def test_catch_all_handlers_come_after_named_ones(
    registry: HandlerRegistry, calls: list[str]
) -> None:
    catch_all = recorder("all", calls)
    named = recorder("named", calls)
    registry.bind_global(catch_all)  # bound first, still runs last
    registry.bind("E", named)
    assert registry.handlers_for("E") == (named, catch_all)


def test_catch_all_handlers_reach_every_event(registry: HandlerRegistry, calls: list[str]) -> None:
    catch_all = recorder("all", calls)
    registry.bind_global(catch_all)
    registry.bind("E", recorder("named", calls))
    assert registry.handlers_for("other") == (catch_all,)


def test_no_handlers_for_an_unknown_event(registry: HandlerRegistry) -> None:
    assert registry.handlers_for("nothing") == ()


def test_len_counts_every_registration(registry: HandlerRegistry, calls: list[str]) -> None:
    handler = recorder("h", calls)
    registry.bind("E", handler)
    registry.bind("E", handler)
    registry.bind("F", handler)
    registry.bind_global(handler)
    assert len(registry) == 4


def test_the_same_handler_may_be_bound_twice(registry: HandlerRegistry, calls: list[str]) -> None:
    handler = recorder("h", calls)
    registry.bind("E", handler)
    registry.bind("E", handler)
    assert registry.handlers_for("E") == (handler, handler)


# -- unbind ---------------------------------------------------------------------------------------


def test_unbind_by_event_removes_all_its_handlers(
    registry: HandlerRegistry, calls: list[str]
) -> None:
    a, b = recorder("a", calls), recorder("b", calls)
    registry.bind("E", a)
    registry.bind("E", b)
    registry.bind("F", a)
    registry.unbind("E")
    assert registry.handlers_for("E") == ()
    assert registry.handlers_for("F") == (a,)


def test_unbind_one_handler_of_one_event(registry: HandlerRegistry, calls: list[str]) -> None:
    a, b = recorder("a", calls), recorder("b", calls)
    registry.bind("E", a)
    registry.bind("E", b)
    registry.bind("F", a)
    registry.unbind("E", a)
    assert registry.handlers_for("E") == (b,)
    assert registry.handlers_for("F") == (a,)


def test_unbind_by_handler_removes_it_from_every_event(
    registry: HandlerRegistry, calls: list[str]
) -> None:
    a, b = recorder("a", calls), recorder("b", calls)
    registry.bind("E", a)
    registry.bind("E", b)
    registry.bind("F", a)
    registry.unbind(handler=a)
    assert registry.handlers_for("E") == (b,)
    assert registry.handlers_for("F") == ()


def test_unbind_by_handler_leaves_catch_all_registrations(
    registry: HandlerRegistry, calls: list[str]
) -> None:
    a = recorder("a", calls)
    registry.bind("E", a)
    registry.bind_global(a)
    registry.unbind(handler=a)
    assert registry.handlers_for("E") == (a,)  # only the catch-all one is left


def test_unbind_all_removes_named_handlers_only(
    registry: HandlerRegistry, calls: list[str]
) -> None:
    a, b = recorder("a", calls), recorder("b", calls)
    registry.bind("E", a)
    registry.bind("F", a)
    registry.bind_global(b)
    registry.unbind()
    assert registry.handlers_for("E") == (b,)
    assert registry.handlers_for("F") == (b,)
    assert len(registry) == 1


def test_unbind_global_one_or_all(registry: HandlerRegistry, calls: list[str]) -> None:
    a, b = recorder("a", calls), recorder("b", calls)
    registry.bind_global(a)
    registry.bind_global(b)
    registry.unbind_global(a)
    assert registry.handlers_for("E") == (b,)
    registry.unbind_global()
    assert registry.handlers_for("E") == ()


def test_clear_removes_everything(registry: HandlerRegistry, calls: list[str]) -> None:
    registry.bind("E", recorder("a", calls))
    registry.bind_global(recorder("b", calls))
    registry.clear()
    assert len(registry) == 0
    assert registry.handlers_for("E") == ()


def test_unbinding_what_is_not_bound_is_harmless(
    registry: HandlerRegistry, calls: list[str]
) -> None:
    a, b = recorder("a", calls), recorder("b", calls)
    registry.bind("E", a)
    registry.unbind("nothing")
    registry.unbind("E", b)
    registry.unbind(handler=b)
    registry.unbind_global(b)
    assert registry.handlers_for("E") == (a,)


# -- Binding --------------------------------------------------------------------------------------


def test_bind_returns_an_active_binding(registry: HandlerRegistry, calls: list[str]) -> None:
    handler = recorder("h", calls)
    binding = registry.bind("E", handler)
    assert isinstance(binding, Binding)
    assert binding.handler is handler
    assert binding.active


def test_binding_unbind_removes_exactly_that_registration(
    registry: HandlerRegistry, calls: list[str]
) -> None:
    a, b = recorder("a", calls), recorder("b", calls)
    binding = registry.bind("E", a)
    registry.bind("E", b)
    registry.bind("F", a)
    binding.unbind()
    assert not binding.active
    assert registry.handlers_for("E") == (b,)
    assert registry.handlers_for("F") == (a,)


def test_binding_unbind_of_a_duplicate_removes_one(
    registry: HandlerRegistry, calls: list[str]
) -> None:
    handler = recorder("h", calls)
    first = registry.bind("E", handler)
    registry.bind("E", handler)
    first.unbind()
    assert registry.handlers_for("E") == (handler,)


def test_double_unbind_is_harmless(registry: HandlerRegistry, calls: list[str]) -> None:
    a, b = recorder("a", calls), recorder("b", calls)
    binding = registry.bind("E", a)
    registry.bind("E", b)
    binding.unbind()
    binding.unbind()
    assert registry.handlers_for("E") == (b,)


def test_binding_as_a_context_manager(registry: HandlerRegistry, calls: list[str]) -> None:
    handler = recorder("h", calls)
    with registry.bind("E", handler) as binding:
        assert binding.active
        assert registry.handlers_for("E") == (handler,)
    assert not binding.active
    assert registry.handlers_for("E") == ()


def test_binding_context_manager_unbinds_on_error(
    registry: HandlerRegistry, calls: list[str]
) -> None:
    handler = recorder("h", calls)
    with pytest.raises(RuntimeError, match="inside"), registry.bind_global(handler):
        raise RuntimeError("inside")
    assert registry.handlers_for("E") == ()


def test_binding_repr(registry: HandlerRegistry, calls: list[str]) -> None:
    handler = recorder("h", calls)
    assert "'E'" in repr(registry.bind("E", handler))
    assert "*" in repr(registry.bind_global(handler))
    assert "recorder.h" in repr(registry.bind("E", handler))


# -- bad registrations ----------------------------------------------------------------------------


@pytest.mark.parametrize("handler", ["not callable", None, 42])
def test_non_callable_handler_raises_type_error(registry: HandlerRegistry, handler: object) -> None:
    with pytest.raises(TypeError, match="callable"):
        registry.bind("E", handler)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callable"):
        registry.bind_global(handler)  # type: ignore[arg-type]
    assert len(registry) == 0


@pytest.mark.parametrize("event", ["", 5, None])
def test_bad_event_name_raises_type_error(registry: HandlerRegistry, event: object) -> None:
    with pytest.raises(TypeError, match="event name"):
        registry.bind(event, print)  # type: ignore[arg-type]
    assert len(registry) == 0


# -- run_handlers ---------------------------------------------------------------------------------


async def test_run_handlers_runs_a_sync_handler() -> None:
    seen: list[Event] = []

    def handler(event: Event) -> None:
        seen.append(event)

    assert await run_handlers((handler,), EVENT) == 0
    assert seen == [EVENT]


async def test_run_handlers_awaits_an_async_handler() -> None:
    seen: list[Event] = []

    async def handler(event: Event) -> None:
        seen.append(event)

    assert await run_handlers((handler,), EVENT) == 0
    assert seen == [EVENT]


def _sync_broken(event: Event) -> None:
    raise KeyError("boom")


async def _async_broken(event: Event) -> None:
    raise KeyError("boom")


@pytest.mark.parametrize("handler", [_sync_broken, _async_broken])
async def test_run_handlers_logs_and_swallows_exceptions(
    caplog: pytest.LogCaptureFixture, handler: Callable[[Event], object]
) -> None:
    with caplog.at_level(logging.ERROR, logger="reverb.dispatch"):
        assert await run_handlers((handler,), EVENT) == 1  # type: ignore[arg-type]
    records = [record for record in caplog.records if record.name == "reverb.dispatch"]
    assert len(records) == 1
    assert records[0].levelno == logging.ERROR
    assert records[0].exc_info is not None
    assert handler.__name__ in records[0].getMessage()
    assert "OrderShipped" in records[0].getMessage()
    assert "KeyError" in caplog.text


async def test_run_handlers_logs_nothing_on_success(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="reverb.dispatch"):
        assert await run_handlers((lambda event: None,), EVENT) == 0
    assert [r for r in caplog.records if r.name == "reverb.dispatch"] == []


async def test_run_handlers_does_not_swallow_base_exceptions() -> None:
    def handler(event: Event) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await run_handlers((handler,), EVENT)


def test_what_an_event_reaches_is_looked_up_again_after_every_change(
    registry: HandlerRegistry, calls: list[str]
) -> None:
    def first(event: Event) -> None: ...

    def second(event: Event) -> None: ...

    assert registry.handlers_for("E") == ()
    registry.bind("E", first)
    assert registry.handlers_for("E") == (first,)
    everything = registry.bind_global(second)
    assert registry.handlers_for("E") == (first, second)
    assert registry.handlers_for("other") == (second,)
    everything.unbind()
    assert registry.handlers_for("other") == ()
    registry.unbind("E")
    assert registry.handlers_for("E") == ()
    registry.bind("E", first)
    registry.clear()
    assert registry.handlers_for("E") == ()


def test_remembered_lookups_stay_bounded_with_many_event_names(registry: HandlerRegistry) -> None:
    from reverb.dispatch import _REMEMBERED_NAMES

    for number in range(_REMEMBERED_NAMES * 3):
        registry.handlers_for(f"event-{number}")
    assert len(registry._reached) <= _REMEMBERED_NAMES
