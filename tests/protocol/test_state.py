from __future__ import annotations

import pytest

from reverb.protocol.state import (
    ConnectionState,
    InvalidTransition,
    allowed_transitions,
    check_transition,
)

S = ConnectionState


def test_state_names_are_pusher_js_names() -> None:
    assert [state.value for state in S] == [
        "initialized",
        "connecting",
        "connected",
        "unavailable",
        "failed",
        "disconnected",
    ]


@pytest.mark.parametrize(
    ("current", "new"),
    [(current, new) for current in S for new in allowed_transitions(current)],
)
def test_allowed_transitions_pass(current: ConnectionState, new: ConnectionState) -> None:
    assert check_transition(current, new) is new


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (S.INITIALIZED, S.CONNECTED),
        (S.INITIALIZED, S.FAILED),
        (S.CONNECTED, S.UNAVAILABLE),
        (S.CONNECTED, S.INITIALIZED),
        (S.FAILED, S.CONNECTED),
        (S.DISCONNECTED, S.CONNECTED),
        (S.UNAVAILABLE, S.CONNECTED),
    ],
)
def test_forbidden_transitions_raise(current: ConnectionState, new: ConnectionState) -> None:
    with pytest.raises(InvalidTransition, match=f"{current} to {new}"):
        check_transition(current, new)


def test_every_state_can_be_left_for_disconnected() -> None:
    for state in S:
        assert S.DISCONNECTED in allowed_transitions(state)
