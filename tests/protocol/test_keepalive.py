from __future__ import annotations

import pytest

from reverb.protocol.keepalive import Keepalive, KeepaliveAction

WAIT, PING, DEAD = KeepaliveAction.WAIT, KeepaliveAction.SEND_PING, KeepaliveAction.DEAD


def test_ping_after_silence_then_dead_without_reply() -> None:
    keepalive = Keepalive(activity_timeout=30, pong_timeout=10, now=100.0)
    assert keepalive.deadline() == 130.0
    assert keepalive.poll(129.9) is WAIT
    assert keepalive.poll(130.0) is PING
    assert keepalive.awaiting_pong
    assert keepalive.deadline() == 140.0
    assert keepalive.poll(135.0) is WAIT
    assert keepalive.poll(140.0) is DEAD


def test_any_frame_resets_silence_and_answers_the_ping() -> None:
    keepalive = Keepalive(activity_timeout=30, pong_timeout=10, now=0.0)
    keepalive.activity(20.0)
    assert keepalive.poll(30.0) is WAIT
    assert keepalive.poll(50.0) is PING
    keepalive.activity(51.0)
    assert not keepalive.awaiting_pong
    assert keepalive.deadline() == 81.0
    assert keepalive.poll(60.0) is WAIT


def test_ping_is_requested_once_per_silence() -> None:
    keepalive = Keepalive(activity_timeout=1, pong_timeout=5, now=0.0)
    assert keepalive.poll(1.0) is PING
    assert keepalive.poll(1.5) is WAIT


@pytest.mark.parametrize(("activity", "pong"), [(0, 1), (1, 0), (-1, 1)])
def test_timeouts_must_be_positive(activity: float, pong: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        Keepalive(activity, pong, now=0.0)
