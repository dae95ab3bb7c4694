"""Keepalive timing, driven by plain floats as the clock."""

from __future__ import annotations

import pytest

from reverb.protocol.keepalive import Keepalive, KeepaliveAction

WAIT, PING, DEAD = KeepaliveAction.WAIT, KeepaliveAction.SEND_PING, KeepaliveAction.DEAD


@pytest.fixture
def keepalive() -> Keepalive:
    """Started at t=100 with Reverb's 30 s activity timeout and a 10 s pong timeout."""
    return Keepalive(activity_timeout=30, pong_timeout=10, now=100.0)


def test_first_deadline_is_one_activity_timeout_after_start(keepalive: Keepalive) -> None:
    assert keepalive.deadline() == 130.0
    assert not keepalive.awaiting_pong


def test_waits_before_the_activity_timeout(keepalive: Keepalive) -> None:
    assert keepalive.poll(100.0) is WAIT
    assert keepalive.poll(129.999) is WAIT
    assert not keepalive.awaiting_pong


def test_pings_at_the_activity_timeout(keepalive: Keepalive) -> None:
    assert keepalive.poll(130.0) is PING
    assert keepalive.awaiting_pong


def test_pings_only_once_per_silence(keepalive: Keepalive) -> None:
    assert keepalive.poll(130.0) is PING
    assert keepalive.poll(130.0) is WAIT
    assert keepalive.poll(135.0) is WAIT


def test_late_poll_still_pings_first(keepalive: Keepalive) -> None:
    assert keepalive.poll(500.0) is PING
    assert keepalive.deadline() == 510.0


def test_deadline_after_a_ping_is_the_pong_timeout(keepalive: Keepalive) -> None:
    keepalive.poll(131.0)
    assert keepalive.deadline() == 141.0


def test_waits_for_the_pong_until_the_pong_timeout(keepalive: Keepalive) -> None:
    keepalive.poll(130.0)
    assert keepalive.poll(139.999) is WAIT


def test_dead_without_a_reply_within_the_pong_timeout(keepalive: Keepalive) -> None:
    keepalive.poll(130.0)
    assert keepalive.poll(140.0) is DEAD
    assert keepalive.poll(141.0) is DEAD


def test_activity_after_a_ping_answers_it(keepalive: Keepalive) -> None:
    keepalive.poll(130.0)
    keepalive.activity(135.0)
    assert not keepalive.awaiting_pong
    assert keepalive.deadline() == 165.0
    assert keepalive.poll(140.0) is WAIT
    assert keepalive.poll(164.9) is WAIT
    assert keepalive.poll(165.0) is PING


def test_activity_before_the_timeout_pushes_the_ping_back(keepalive: Keepalive) -> None:
    keepalive.activity(120.0)
    assert keepalive.deadline() == 150.0
    assert keepalive.poll(130.0) is WAIT
    assert keepalive.poll(150.0) is PING


def test_a_full_cycle_can_repeat(keepalive: Keepalive) -> None:
    actions = []
    for now in (130.0, 131.0):  # ping, then the pong arrives
        actions.append(keepalive.poll(now))
        keepalive.activity(now)
    actions.append(keepalive.poll(161.0))
    actions.append(keepalive.poll(171.0))
    assert actions == [PING, WAIT, PING, DEAD]


def test_fractional_timeouts() -> None:
    keepalive = Keepalive(activity_timeout=0.5, pong_timeout=0.25, now=0.0)
    assert keepalive.poll(0.5) is PING
    assert keepalive.deadline() == 0.75
    assert keepalive.poll(0.75) is DEAD


def test_timeouts_are_exposed() -> None:
    keepalive = Keepalive(activity_timeout=30, pong_timeout=10, now=0.0)
    assert (keepalive.activity_timeout, keepalive.pong_timeout) == (30, 10)


@pytest.mark.parametrize(("activity", "pong"), [(0, 1), (1, 0), (-1, 1), (1, -1), (0, 0)])
def test_timeouts_must_be_positive(activity: float, pong: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        Keepalive(activity, pong, now=0.0)


def test_dead_only_once_poll_declares_it(keepalive: Keepalive) -> None:
    assert keepalive.dead is False
    assert keepalive.poll(130.0) is PING
    assert keepalive.dead is False
    assert keepalive.poll(140.0) is DEAD
    assert keepalive.dead is True


def test_a_late_report_of_an_older_frame_does_not_move_the_activity_back(
    keepalive: Keepalive,
) -> None:
    keepalive.activity(120.0)
    keepalive.activity(110.0)  # reported after the newer one
    assert keepalive.deadline() == 150.0
    keepalive.activity(120.0)  # the same time again counts
    assert keepalive.deadline() == 150.0


def test_a_late_report_answers_only_a_ping_sent_before_its_frame(keepalive: Keepalive) -> None:
    assert keepalive.poll(130.0) is PING
    keepalive.activity(129.0)  # arrived before the ping went out: no answer
    assert keepalive.awaiting_pong
    assert keepalive.poll(140.0) is DEAD


def test_a_frame_at_the_moment_of_the_ping_answers_it(keepalive: Keepalive) -> None:
    assert keepalive.poll(130.0) is PING
    keepalive.activity(130.0)
    assert not keepalive.awaiting_pong
    assert keepalive.deadline() == 160.0
