from __future__ import annotations

import random

import pytest

from reverb.protocol.policy import Backoff, CloseAction, close_action

R, B, N = CloseAction.REFUSED, CloseAction.BACKOFF, CloseAction.RETRY_NOW


@pytest.mark.parametrize(
    ("code", "action"),
    [
        (None, B),
        (1000, B),
        (1001, B),
        (1002, B),
        (1006, B),
        (1009, B),
        (3999, B),
        (4000, R),
        (4001, R),
        (4009, R),
        (4099, R),
        (4100, B),
        (4199, B),
        (4200, N),
        (4201, N),
        (4299, N),
        (4300, R),
        (4301, R),
        (4999, R),
    ],
)
def test_close_action_follows_the_pusher_code_ranges(code: int | None, action: CloseAction) -> None:
    assert close_action(code) is action


def test_defaults_match_the_seed() -> None:
    backoff = Backoff()
    assert (backoff.initial, backoff.maximum, backoff.multiplier) == (1.0, 30.0, 2.0)
    assert backoff.jitter == 0.25
    assert backoff.max_attempts is None


def test_base_delays_double_up_to_the_cap() -> None:
    backoff = Backoff()
    assert [backoff.base_delay(n) for n in range(8)] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_jitter_adds_zero_to_a_quarter() -> None:
    backoff = Backoff()
    assert backoff.delay(3, lambda: 0.0) == 8.0
    assert 8.0 < backoff.delay(3, lambda: 0.999) < 10.0
    rng = random.Random(1)
    for attempt in range(1000):
        base = backoff.base_delay(attempt % 10)
        assert base <= backoff.delay(attempt % 10, rng.random) <= base * 1.25


def test_huge_attempt_numbers_do_not_overflow() -> None:
    assert Backoff().base_delay(10**6) == 30.0


def test_exhausted_counts_attempts() -> None:
    assert not Backoff().exhausted(10**6)
    limited = Backoff(max_attempts=2)
    assert [limited.exhausted(n) for n in range(4)] == [False, False, True, True]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial": -1},
        {"maximum": -1},
        {"multiplier": 0.5},
        {"jitter": 1.5},
        {"jitter": -0.1},
        {"max_attempts": -1},
    ],
)
def test_invalid_backoff_settings_raise(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        Backoff(**kwargs)  # type: ignore[arg-type]


def test_negative_attempt_raises() -> None:
    with pytest.raises(ValueError, match="attempt"):
        Backoff().base_delay(-1)
