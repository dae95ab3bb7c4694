"""What to do when a connection ends (close codes) and how long to wait (back-off)."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from reverb.protocol.policy import Backoff, CloseAction, close_action

REFUSED, BACKOFF, RETRY_NOW = CloseAction.REFUSED, CloseAction.BACKOFF, CloseAction.RETRY_NOW


@pytest.mark.parametrize(
    ("code", "action"),
    [
        (None, BACKOFF),  # TCP dropped, no code at all
        (1000, BACKOFF),
        (1001, BACKOFF),
        (1002, BACKOFF),
        (1006, BACKOFF),  # Reverb's 4001 / 4201 / restart: no close frame
        (1009, BACKOFF),  # Reverb: message too big
        (3999, BACKOFF),
        (4000, REFUSED),
        (4001, REFUSED),  # unknown app key
        (4009, REFUSED),
        (4099, REFUSED),
        (4100, BACKOFF),  # over capacity
        (4199, BACKOFF),
        (4200, RETRY_NOW),
        (4201, RETRY_NOW),  # pong not received
        (4299, RETRY_NOW),
        (4300, REFUSED),
        (4301, REFUSED),
        (4999, REFUSED),
    ],
)
def test_close_action_follows_the_pusher_code_ranges(code: int | None, action: CloseAction) -> None:
    assert close_action(code) is action


def test_close_action_values_are_stable_strings() -> None:
    assert {action.value for action in CloseAction} == {"refused", "backoff", "retry_now"}


# -- Backoff --------------------------------------------------------------------------------------


def test_backoff_defaults() -> None:
    backoff = Backoff()
    assert backoff.initial == 1.0
    assert backoff.maximum == 30.0
    assert backoff.multiplier == 2.0
    assert backoff.jitter == 0.25
    assert backoff.max_attempts is None


def test_base_delays_double_up_to_the_cap() -> None:
    backoff = Backoff()
    assert [backoff.base_delay(n) for n in range(7)] == [1, 2, 4, 8, 16, 30, 30]


def test_base_delays_follow_custom_settings() -> None:
    backoff = Backoff(initial=0.5, maximum=4, multiplier=3)
    assert [backoff.base_delay(n) for n in range(4)] == [0.5, 1.5, 4, 4]


@pytest.mark.parametrize("attempt", range(8))
def test_delay_with_zero_randomness_is_the_base_delay(attempt: int) -> None:
    backoff = Backoff()
    assert backoff.delay(attempt, lambda: 0.0) == backoff.base_delay(attempt)


@pytest.mark.parametrize("attempt", range(8))
def test_delay_with_almost_one_randomness_stays_below_a_quarter_more(attempt: int) -> None:
    backoff = Backoff()
    base = backoff.base_delay(attempt)
    assert base < backoff.delay(attempt, lambda: 0.999) < base * 1.25


def test_delay_adds_jitter_proportionally() -> None:
    assert Backoff().delay(3, lambda: 0.5) == pytest.approx(8 * 1.125)


def test_jitter_always_within_a_quarter_for_seeded_draws() -> None:
    backoff = Backoff()
    rng = random.Random(1)
    delays = []
    for draw in range(1000):
        attempt = draw % 10
        base = backoff.base_delay(attempt)
        delay = backoff.delay(attempt, rng.random)
        assert base <= delay <= base * 1.25
        delays.append(delay / base)
    # The draws are really used: the ratios spread over most of [1, 1.25].
    assert min(delays) < 1.01
    assert max(delays) > 1.24


def test_zero_jitter_gives_exact_delays() -> None:
    backoff = Backoff(jitter=0)
    assert backoff.delay(2, lambda: 0.999) == 4.0


@pytest.mark.parametrize("multiplier", [1.0, 2.0, 10.0, 1e6])
@pytest.mark.parametrize("attempt", [64, 65, 1000, 10**6, 10**18])
def test_huge_attempt_numbers_do_not_overflow(multiplier: float, attempt: int) -> None:
    backoff = Backoff(multiplier=multiplier)
    expected = 1.0 if multiplier == 1.0 else 30.0
    assert backoff.base_delay(attempt) == expected
    delay = backoff.delay(attempt, lambda: 0.999)
    assert math.isfinite(delay)
    assert expected <= delay < expected * 1.25


@pytest.mark.parametrize("attempt", [0, 10, 1023, 1024, 2000, 10**6])
def test_zero_initial_delay_stays_zero_for_every_attempt(attempt: int) -> None:
    # min(0 * 2**n, 30) is 0 however large n gets: reconnect_delay=0 means "at once".
    backoff = Backoff(initial=0)
    assert backoff.base_delay(attempt) == 0
    assert backoff.delay(attempt, lambda: 0.999) == 0


def test_multiplier_one_keeps_a_constant_delay() -> None:
    backoff = Backoff(initial=3, multiplier=1)
    assert {backoff.base_delay(n) for n in range(20)} == {3}


def test_never_exhausted_without_max_attempts() -> None:
    backoff = Backoff()
    assert not backoff.exhausted(0)
    assert not backoff.exhausted(10**6)


def test_exhausted_after_max_attempts() -> None:
    limited = Backoff(max_attempts=2)
    assert [limited.exhausted(n) for n in range(4)] == [False, False, True, True]


def test_zero_max_attempts_is_exhausted_at_once() -> None:
    assert Backoff(max_attempts=0).exhausted(0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"initial": -1}, "negative"),
        ({"maximum": -1}, "negative"),
        ({"multiplier": 0.5}, "multiplier"),
        ({"multiplier": 0}, "multiplier"),
        ({"jitter": 1.5}, "jitter"),
        ({"jitter": -0.1}, "jitter"),
        ({"max_attempts": -1}, "max_attempts"),
    ],
)
def test_invalid_backoff_settings_raise(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Backoff(**kwargs)


def test_negative_attempt_raises() -> None:
    with pytest.raises(ValueError, match="attempt"):
        Backoff().base_delay(-1)


def test_backoff_is_immutable() -> None:
    backoff = Backoff()
    with pytest.raises(AttributeError):
        backoff.initial = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial": 0},
        {"maximum": 0},
        {"initial": 0.25, "maximum": 0.5},
        {"multiplier": 1},
        {"jitter": 0},
        {"jitter": 1},
        {"max_attempts": 0},
    ],
)
def test_backoff_settings_on_the_limits_are_accepted(kwargs: dict[str, Any]) -> None:
    Backoff(**kwargs)


def test_a_cap_below_one_second_caps_the_delays() -> None:
    assert [Backoff(initial=0.25, maximum=0.5).base_delay(n) for n in range(3)] == [0.25, 0.5, 0.5]
    assert Backoff(maximum=0).delay(3, lambda: 0.999) == 0


def test_full_jitter_can_double_the_delay() -> None:
    assert Backoff(jitter=1).delay(2, lambda: 0.5) == 6.0
