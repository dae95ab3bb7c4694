"""The reconnect plan: what follows each failed attempt or lost socket."""

from __future__ import annotations

import pytest

from reverb import ConnectionError
from reverb.protocol.policy import Backoff
from reverb.protocol.reconnect import GiveUp, ReconnectPlan, RetryAfter, RetryNow


def plan(**backoff: float | int | None) -> ReconnectPlan:
    settings = {"initial": 1.0, "maximum": 4.0, "multiplier": 2.0, "jitter": 0.5, **backoff}
    return ReconnectPlan(Backoff(**settings), random_fraction=lambda: 0.5)  # type: ignore[arg-type]


def test_failed_attempts_back_off_with_growing_jittered_delays() -> None:
    reconnect = plan()
    error = ConnectionError("refused by the network")
    decisions = [reconnect.attempt_failed(error) for _ in range(4)]
    assert decisions == [
        RetryAfter(1.25, 1),
        RetryAfter(2.5, 2),
        RetryAfter(5.0, 3),
        RetryAfter(5.0, 4),
    ]


def test_an_established_socket_starts_the_count_again() -> None:
    reconnect = plan()
    reconnect.attempt_failed(ConnectionError("x"))
    reconnect.attempt_failed(ConnectionError("x"))
    reconnect.established()
    assert reconnect.attempt == 0
    assert reconnect.attempt_failed(ConnectionError("x")) == RetryAfter(1.25, 1)


def test_reconnects_count_sockets_after_the_first() -> None:
    reconnect = plan()
    assert reconnect.reconnects == 0
    reconnect.established()
    assert reconnect.reconnects == 0
    reconnect.established()
    reconnect.established()
    assert (reconnect.reconnects, reconnect.established_count) == (2, 3)


@pytest.mark.parametrize("code", [4001, 4003, 4099, 4300, 4301])
def test_a_refusal_gives_up_with_that_error(code: int) -> None:
    error = ConnectionError("refused", code=code)
    assert plan().attempt_failed(error) == GiveUp(error)
    lost, decision = plan().socket_lost(code)
    assert decision == GiveUp(lost)
    assert lost.code == code


@pytest.mark.parametrize("code", [4200, 4201, 4202, 4299])
def test_a_42xx_close_reconnects_at_once_without_counting(code: int) -> None:
    reconnect = plan()
    lost, decision = reconnect.socket_lost(code)
    assert decision == RetryNow()
    assert str(lost) == f"connection lost (code {code})"
    assert reconnect.attempt == 0


@pytest.mark.parametrize("code", [None, 1000, 1001, 1006, 1009, 4100, 4199])
def test_other_ends_back_off(code: int | None) -> None:
    lost, decision = plan().socket_lost(code)
    assert decision == RetryAfter(1.25, 1)
    assert lost.code == code


def test_attempts_run_out_into_a_give_up_naming_the_last_failure() -> None:
    reconnect = plan(max_attempts=2)
    last = ConnectionError("down", code=1006)
    assert isinstance(reconnect.attempt_failed(last), RetryAfter)
    assert isinstance(reconnect.attempt_failed(last), RetryAfter)
    decision = reconnect.attempt_failed(last)
    assert isinstance(decision, GiveUp)
    assert str(decision.error) == "gave up after 2 reconnect attempts: down"
    assert decision.error.code == 1006


def test_without_reconnect_every_failure_gives_up() -> None:
    reconnect = ReconnectPlan(Backoff(), reconnect=False)
    error = ConnectionError("down")
    assert reconnect.attempt_failed(error) == GiveUp(error)
    lost, decision = reconnect.socket_lost(4200)
    assert decision == GiveUp(lost)


def test_a_lost_socket_out_of_attempts_gives_up_naming_the_loss() -> None:
    reconnect = plan(max_attempts=0)
    lost, decision = reconnect.socket_lost(1006)
    assert isinstance(decision, GiveUp)
    assert str(decision.error) == f"gave up after 0 reconnect attempts: {lost}"
    assert str(lost) == "connection lost (code 1006)"
    assert decision.error.code == 1006
