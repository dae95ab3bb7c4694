"""Link: one socket's session, keepalive and the meaning of its end, with a fake clock."""

from __future__ import annotations

import json
import math

import pytest

from reverb.messages import Event
from reverb.protocol.actions import SendFrame
from reverb.protocol.keepalive import PONG_TIMEOUT_CODE, KeepaliveAction
from reverb.protocol.link import Link
from reverb.protocol.session import Dropped, Established, SessionPhase


def established(activity_timeout: int = 30) -> str:
    data = json.dumps({"socket_id": "1.2", "activity_timeout": activity_timeout})
    return json.dumps({"event": "pusher:connection_established", "data": data})


@pytest.fixture
def link() -> Link:
    opened = Link(activity_timeout=120, pong_timeout=10)
    assert isinstance(opened.receive(established(), 100.0), Established)
    return opened


def test_a_ping_is_answered_with_a_pong_during_the_handshake_and_after() -> None:
    link = Link(120, 10)
    reply = link.receive('{"event":"pusher:ping"}', 0.0)
    assert isinstance(reply, SendFrame)
    assert json.loads(reply.text) == {"event": "pusher:pong", "data": {}}
    link.receive(established(), 1.0)
    assert link.receive('{"event":"pusher:ping","data":{}}', 2.0) == reply


def test_no_keepalive_before_the_connection_is_established() -> None:
    link = Link(120, 10)
    assert link.wake_at(0.0) == math.inf
    assert link.poll(1e9) is KeepaliveAction.WAIT
    assert link.close_code(1006) == 1006


def test_the_server_activity_timeout_wins_when_lower(link: Link) -> None:
    assert link.wake_at(100.0) == 130.0
    higher = Link(activity_timeout=20, pong_timeout=10)
    higher.receive(established(30), 0.0)
    assert higher.wake_at(0.0) == 20.0


def test_silence_brings_a_ping_then_death_with_4201(link: Link) -> None:
    assert link.poll(129.9) is KeepaliveAction.WAIT
    ping = link.poll(130.0)
    assert isinstance(ping, SendFrame)
    assert json.loads(ping.text) == {"event": "pusher:ping", "data": {}}
    assert link.wake_at(131.0) == 140.0
    assert link.poll(140.0) is KeepaliveAction.DEAD
    assert link.close_code(None) == PONG_TIMEOUT_CODE == 4201
    assert link.close_code(1006) == 4201


def test_any_frame_answers_a_ping(link: Link) -> None:
    assert isinstance(link.poll(130.0), SendFrame)
    link.receive('{"event":"OrderShipped","channel":"orders","data":"{}"}', 135.0)
    assert link.poll(140.0) is KeepaliveAction.WAIT
    assert link.close_code(1000) == 1000


def test_an_early_reply_brings_the_next_ping_one_period_after_it(link: Link) -> None:
    link.poll(130.0)
    link.receive('{"event":"pusher:pong"}', 131.0)
    assert link.wake_at(131.0) == 161.0


def test_close_ends_the_session(link: Link) -> None:
    link.close()
    assert link.session.phase is SessionPhase.CLOSED
    assert "closed" in repr(link)


def test_a_channel_event_is_handed_on_as_is_and_counts_as_activity(link: Link) -> None:
    frame = json.dumps({"event": "tick", "channel": "flood", "data": '{"seq": 1}'})
    event = link.receive(frame, 150.0)
    assert event == Event("tick", "flood", {"seq": 1})
    assert link.wake_at(150.0) == 150.0 + 30  # the silence starts again at 150
    with_user = json.dumps({"event": "client-x", "channel": "private-c", "user_id": 7})
    assert link.receive(with_user.encode(), 151.0) == Event("client-x", "private-c", None, "7")


def test_a_channel_event_before_the_connection_is_established_is_dropped() -> None:
    link = Link(120, 10)
    dropped = link.receive('{"event":"tick","channel":"flood","data":"{}"}', 0.0)
    assert isinstance(dropped, Dropped)
    assert "before the connection was established" in dropped.reason


@pytest.mark.parametrize(
    "frame",
    ["not json", "[1, 2]", '{"channel": "c"}', '{"event": "tick", "channel": 5}', b"\xff\xfe"],
)
def test_a_frame_that_cannot_be_used_is_dropped(link: Link, frame: str | bytes) -> None:
    dropped = link.receive(frame, 150.0)
    assert isinstance(dropped, Dropped)
    assert dropped.reason.startswith("frame ")  # the decoder's own reason


def test_activity_reported_late_counts_once_established() -> None:
    waiting = Link(120, 10)
    waiting.activity(5.0)  # no keepalive yet: nothing to tell
    assert waiting.wake_at(0.0) == math.inf
    waiting.receive(established(), 100.0)
    waiting.activity(120.0)
    assert waiting.wake_at(120.0) == 150.0
    assert isinstance(waiting.poll(150.0), SendFrame)
    waiting.activity(149.0)  # a frame from before the ping does not answer it
    assert waiting.poll(160.0) is KeepaliveAction.DEAD


def test_a_frame_parsed_before_is_not_decoded_again(link: Link) -> None:
    """A compiled sink hands on what it made of a frame; the text is then not read at all."""
    unreadable = "not the frame's text"
    reply = link.receive(unreadable, 101.0, {"event": "pusher:ping", "data": {}})
    assert isinstance(reply, SendFrame)
    assert json.loads(reply.text)["event"] == "pusher:pong"
    event = Event("tick", "flood", {"seq": 1})
    assert link.receive(unreadable, 102.0, event) is event
    assert link.wake_at(102.0) == 102.0 + 30  # counted as activity like any frame
    assert isinstance(link.receive(unreadable, 103.0, [1, 2]), Dropped)  # not an object


def test_an_event_parsed_before_the_session_opened_is_dropped() -> None:
    waiting = Link(120, 10)
    dropped = waiting.receive("", 0.0, Event("tick", "flood", None))
    assert isinstance(dropped, Dropped)
