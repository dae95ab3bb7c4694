"""reverb._speedups, the compiled receive path: built here, and the same as the Python one.

The parity tests feed the compiled frame sink the frames :func:`reverb.messages.decode_received`
is tested with: a channel's event must come out as the same :class:`Event`; every other frame
must go to the pure-Python sink with what the compiled one made of it, and that must lead the
Python path to what it makes of the frame alone (each frame is decoded once). Both JSON
codecs. The dispatch half (``InlineDispatch``) runs every test of test_dispatcher.py,
test_client.py and the others that use the ``receive_path`` fixture.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import subprocess
import sys
import time
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reverb import Event, ProtocolError, compiled
from reverb.dispatch import HandlerRegistry
from reverb.dispatcher import ClientStats, Dispatcher
from reverb.messages import decode_parsed, decode_received, decoder
from reverb.protocol.session import PusherSession, SessionPhase
from tests.support.codecs import json_codec

__all__ = ["json_codec"]  # the autouse fixture: every test here runs under both codecs


@pytest.fixture(scope="module")
def speedups() -> ModuleType:
    module = compiled.speedups
    assert module is not None, "reverb._speedups is not built here: run scripts/bootstrap"
    return module


class Sink:
    """A compiled FrameSink on an open session, and what reached each side of it."""

    def __init__(self, speedups: ModuleType, clock: Any = time.monotonic) -> None:
        self.session = PusherSession()
        self.session.phase = SessionPhase.OPEN
        self.events: list[Event] = []
        self.others: list[tuple[Any, ...]] = []
        """The calls of the pure-Python sink: ``(text,)`` or ``(text, parsed)``."""
        self.sink = speedups.FrameSink(
            self.session,
            SessionPhase.OPEN,
            decoder(),
            clock,
            self.events.append,
            lambda *call: self.others.append(call),
        )

    def feed(self, text: str | bytes) -> None:
        self.sink.feed(text)


def test_the_extension_is_built_and_used(speedups: ModuleType) -> None:
    assert speedups.__name__ == "reverb._speedups"
    assert speedups.__file__ is not None
    assert not speedups.__file__.endswith((".py", ".pyx"))


def test_reverb_no_speedups_selects_the_python_path() -> None:
    code = "import reverb.compiled as c; print(c.speedups is None)"
    for value, expected in (("1", "True"), ("0", "False")):
        env = {**os.environ, "REVERB_NO_SPEEDUPS": value}
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert done.stdout.strip() == expected


# -- building events ------------------------------------------------------------------------------


def test_new_event_is_an_ordinary_event(speedups: ModuleType) -> None:
    data = {"order": 1}
    built = speedups.new_event("OrderShipped", "orders", data, "7")
    assert type(built) is Event
    assert built == Event("OrderShipped", "orders", data, "7")
    assert hash(built.name) == hash("OrderShipped")
    assert gc.is_tracked(built)
    with pytest.raises(AttributeError):
        built.name = "changed"  # type: ignore[misc]
    assert speedups.new_event("E", None) == Event("E", None)


def test_new_event_holds_its_fields_and_lets_them_go(speedups: ModuleType) -> None:
    data = {"order": 1}
    before = sys.getrefcount(data)
    built = speedups.new_event("E", "c", data, None)
    assert sys.getrefcount(data) == before + 1
    del built
    assert sys.getrefcount(data) == before


# -- the frame sink against decode_received ------------------------------------------------------

FRAMES: list[str | bytes] = [
    '{"event":"OrderShipped","channel":"orders","data":"{\\"id\\":1}"}',
    b'{"event":"OrderShipped","channel":"orders","data":"{\\"id\\":1}"}',
    '{"event":"client-typing","channel":"private-chat","data":{"a":1},"user_id":7}',
    '{"event":"client-typing","channel":"private-chat","data":{"a":1},"user_id":"u-1"}',
    '{"event":"client-typing","channel":"private-chat","data":null,"user_id":null}',
    '{"event":"E","channel":"c","data":"not json"}',
    '{"event":"E","channel":"c","data":"NaN"}',  # orjson refuses; the standard library reads it
    '{"event":"E","channel":"c","data":"[' + "[" * 2000 + '"}',  # too deep: kept raw
    '{"event":"E","channel":"c","data":"12345678901234567890123"}',  # beyond 64 bits
    '{"event":"E","channel":"c"}',
    '{"channel":"c","event":"E","data":"5","extra":true}',
    '{"event":"pusher:subscription_succeeded","channel":"c","data":"{}"}',
    '{"event":"pusher_internal:member_added","channel":"presence-c","data":"{}"}',
    '{"event":"pusher:ping","data":{}}',
    '{"event":"E","data":"{}"}',
    '{"event":"E","channel":null,"data":"{}"}',
    '{"event":"E","channel":5,"data":"{}"}',
    '{"event":5,"channel":"c","data":"{}"}',
    '{"channel":"c","data":"{}"}',
    "[1,2]",
    '"text"',
    "{broken",
    b"\xff\xfe",
    "",
    '{"event":"E","channel":"c","data":NaN}',  # orjson refuses the frame itself
]


def received(frame: str | bytes, *parsed: Any) -> Any:
    """What the Python path makes of ``frame`` (given what was parsed of it, if anything):
    an Event, the fields, or the ProtocolError's message."""
    try:
        return decode_parsed(parsed[0]) if parsed else decode_received(frame)
    except ProtocolError as exc:
        return str(exc)


def expected_of(frame: str | bytes) -> Event | None:
    """The Event the Python path makes of ``frame``, or None if it is not a channel event."""
    result = received(frame)
    return result if isinstance(result, Event) else None


def check_against_python(sink: Sink, frame: str | bytes) -> None:
    expected = expected_of(frame)
    if expected is not None:
        assert sink.events == [expected]
        assert sink.others == []
        assert sink.sink.events == 1
        return
    assert sink.events == []
    assert sink.sink.events == 0
    [call] = sink.others
    assert call[0] == frame
    assert received(*call) == received(frame)  # what was parsed leads to the same result


@pytest.mark.parametrize("frame", FRAMES)
def test_the_sink_decodes_as_decode_received_does(speedups: ModuleType, frame: str | bytes) -> None:
    sink = Sink(speedups)
    sink.feed(frame)
    check_against_python(sink, frame)


def test_a_frame_the_codec_refuses_is_left_to_the_python_sink_to_decode(
    speedups: ModuleType,
) -> None:
    sink = Sink(speedups)
    for frame in ("{broken", b"\xff\xfe"):
        sink.feed(frame)
    assert sink.others == [("{broken",), (b"\xff\xfe",)]


def test_a_control_frame_goes_on_parsed(speedups: ModuleType) -> None:
    sink = Sink(speedups)
    sink.feed('{"event":"pusher:ping","data":{}}')
    assert sink.others == [
        ('{"event":"pusher:ping","data":{}}', {"event": "pusher:ping", "data": {}})
    ]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(
    name=st.one_of(st.text(), st.sampled_from(["pusher:x", "pusher_internal:y", "E"]), json_values),
    channel=st.one_of(st.text(), json_values),
    data=st.one_of(json_values, json_values.map(json.dumps), st.text()),
    user_id=json_values,
    keys=st.sets(st.sampled_from(["event", "channel", "data", "user_id"])),
)
def test_the_sink_agrees_with_decode_received_on_any_object(
    speedups: ModuleType, name: Any, channel: Any, data: Any, user_id: Any, keys: set[str]
) -> None:
    fields = {"event": name, "channel": channel, "data": data, "user_id": user_id}
    frame = json.dumps({key: value for key, value in fields.items() if key in keys})
    sink = Sink(speedups)
    sink.feed(frame)
    check_against_python(sink, frame)


def test_events_go_to_the_python_sink_while_the_session_is_not_open(
    speedups: ModuleType,
) -> None:
    sink = Sink(speedups)
    frame = FRAMES[0]
    for phase in (SessionPhase.HANDSHAKE, SessionPhase.CLOSED):
        sink.session.phase = phase
        sink.feed(frame)
    assert sink.events == []
    event = expected_of(frame)  # built once, handed on for the session to judge
    assert sink.others == [(frame, event), (frame, event)]


def test_the_sink_counts_its_events_and_stamps_the_latest(speedups: ModuleType) -> None:
    now = [10.0]
    sink = Sink(speedups, clock=lambda: now[0])
    assert (sink.sink.events, sink.sink.last_event_at) == (0, 0.0)
    sink.feed(FRAMES[0])
    now[0] = 12.5
    sink.feed(FRAMES[2])
    sink.feed('{"event":"pusher:pong"}')  # the Python sink counts and stamps its own
    assert (sink.sink.events, sink.sink.last_event_at) == (2, 12.5)


def test_the_monotonic_clock_is_read_directly(speedups: ModuleType) -> None:
    sink = Sink(speedups, clock=time.monotonic)
    before = time.monotonic()
    sink.feed(FRAMES[0])
    after = time.monotonic()
    # The coarse clock may be a few milliseconds behind, never ahead.
    assert before - 0.05 <= sink.sink.last_event_at <= after


def test_a_listener_that_raises_is_logged_and_the_sink_goes_on(
    speedups: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[Event] = []

    def explode(event: Event) -> None:
        seen.append(event)
        raise RuntimeError("listener bug")

    session = PusherSession()
    session.phase = SessionPhase.OPEN
    sink = speedups.FrameSink(session, SessionPhase.OPEN, decoder(), time.monotonic, explode, print)
    with caplog.at_level(logging.ERROR, logger="reverb.connection"):
        sink(FRAMES[0])
        sink.feed(FRAMES[0])
    assert len(seen) == 2
    assert [record.exc_info[0] for record in caplog.records if record.exc_info] == [
        RuntimeError,
        RuntimeError,
    ]


# -- InlineDispatch -------------------------------------------------------------------------------


def test_inline_dispatch_needs_plain_slots(speedups: ModuleType) -> None:
    class Loose:
        _idle = True

        def put(self, event: Event) -> None: ...

    with pytest.raises(TypeError, match="_idle is not a plain slot"):
        speedups.InlineDispatch(Loose(), {}, HandlerRegistry(), ClientStats())


def test_a_dispatcher_over_a_mapping_that_is_no_dict_keeps_put() -> None:
    from types import MappingProxyType

    dispatcher = Dispatcher(MappingProxyType({}), HandlerRegistry(), ClientStats())
    assert dispatcher.event_sink == dispatcher.put


def test_the_dispatcher_is_given_the_compiled_put(speedups: ModuleType) -> None:
    dispatcher = Dispatcher({}, HandlerRegistry(), ClientStats())
    assert type(dispatcher.event_sink) is speedups.InlineDispatch


# -- PicowsFrames ---------------------------------------------------------------------------------


class PicowsSide:
    """What PicowsFrames reads of picows' transport."""

    def __init__(self, closing: bool = False) -> None:
        self.is_close_frame_sent = closing


def test_picows_frames_hand_whole_text_frames_to_the_sink(speedups: ModuleType) -> None:
    picows = pytest.importorskip("picows")
    from picows.picows import _make_test_ws_frame

    text, binary = picows.WSMsgType.TEXT, picows.WSMsgType.BINARY
    payloads: list[bytes] = []
    others: list[tuple[Any, Any]] = []
    frames = speedups.PicowsFrames(payloads.append, lambda *call: others.append(call), text)
    open_side, closing_side = PicowsSide(), PicowsSide(closing=True)
    whole = _make_test_ws_frame(text, b"whole", True, False)
    frames.on_ws_frame(open_side, whole)
    part = _make_test_ws_frame(text, b"part", False, False)
    frames.on_ws_frame(open_side, part)
    raw = _make_test_ws_frame(binary, b"raw", True, False)
    frames.on_ws_frame(open_side, raw)
    frames.on_ws_frame(closing_side, whole)
    assert payloads == [b"whole"]
    assert others == [(open_side, part), (open_side, raw), (closing_side, whole)]


def test_picows_frames_feed_a_frame_sink_directly(speedups: ModuleType) -> None:
    picows = pytest.importorskip("picows")
    from picows.picows import _make_test_ws_frame

    sink = Sink(speedups)
    frames = speedups.PicowsFrames(sink.sink.feed, print, picows.WSMsgType.TEXT)
    frame = FRAMES[0]
    assert isinstance(frame, str)
    frames.on_ws_frame(
        PicowsSide(), _make_test_ws_frame(picows.WSMsgType.TEXT, frame.encode(), True, False)
    )
    assert sink.events == [expected_of(frame)]
    assert sink.sink.events == 1
