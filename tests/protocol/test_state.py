"""Connection states: pusher-js names and the transition table."""

from __future__ import annotations

import itertools

import pytest

from reverb.protocol.state import (
    ConnectionState,
    InvalidTransition,
    allowed_transitions,
    check_transition,
)

S = ConnectionState

# Written out independently of the module, so that widening or narrowing the table shows up.
ALLOWED = {
    (S.INITIALIZED, S.CONNECTING),
    (S.INITIALIZED, S.DISCONNECTED),
    (S.CONNECTING, S.CONNECTED),
    (S.CONNECTING, S.UNAVAILABLE),
    (S.CONNECTING, S.FAILED),
    (S.CONNECTING, S.DISCONNECTED),
    (S.CONNECTED, S.CONNECTING),
    (S.CONNECTED, S.FAILED),
    (S.CONNECTED, S.DISCONNECTED),
    (S.UNAVAILABLE, S.CONNECTING),
    (S.UNAVAILABLE, S.FAILED),
    (S.UNAVAILABLE, S.DISCONNECTED),
    (S.FAILED, S.CONNECTING),
    (S.FAILED, S.DISCONNECTED),
    (S.DISCONNECTED, S.CONNECTING),
    (S.DISCONNECTED, S.DISCONNECTED),
}
FORBIDDEN = sorted(set(itertools.product(S, S)) - ALLOWED)


@pytest.mark.parametrize(
    ("state", "name"),
    [
        (S.INITIALIZED, "initialized"),
        (S.CONNECTING, "connecting"),
        (S.CONNECTED, "connected"),
        (S.UNAVAILABLE, "unavailable"),
        (S.FAILED, "failed"),
        (S.DISCONNECTED, "disconnected"),
    ],
)
def test_state_values_are_pusher_js_names(state: ConnectionState, name: str) -> None:
    assert state.value == name
    assert state == name
    assert str(state) == name
    assert ConnectionState(name) is state


def test_there_are_exactly_the_six_pusher_js_states() -> None:
    assert len(ConnectionState) == 6


@pytest.mark.parametrize(("current", "new"), sorted(ALLOWED))
def test_allowed_transitions_pass(current: ConnectionState, new: ConnectionState) -> None:
    assert check_transition(current, new) is new


@pytest.mark.parametrize(("current", "new"), FORBIDDEN)
def test_forbidden_transitions_raise(current: ConnectionState, new: ConnectionState) -> None:
    with pytest.raises(InvalidTransition, match=f"from {current} to {new}"):
        check_transition(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (S.INITIALIZED, S.CONNECTED),
        (S.CONNECTED, S.UNAVAILABLE),
        (S.FAILED, S.CONNECTED),
    ],
)
def test_named_forbidden_transitions_raise(current: ConnectionState, new: ConnectionState) -> None:
    with pytest.raises(InvalidTransition):
        check_transition(current, new)


@pytest.mark.parametrize("state", list(S))
def test_allowed_transitions_lists_the_table(state: ConnectionState) -> None:
    assert allowed_transitions(state) == {new for current, new in ALLOWED if current is state}


@pytest.mark.parametrize("state", list(S))
def test_every_state_can_be_left_for_disconnected(state: ConnectionState) -> None:
    assert check_transition(state, S.DISCONNECTED) is S.DISCONNECTED


def test_nothing_returns_to_initialized() -> None:
    assert all(S.INITIALIZED not in allowed_transitions(state) for state in S)


def test_invalid_transition_is_a_runtime_error() -> None:
    assert issubclass(InvalidTransition, RuntimeError)
