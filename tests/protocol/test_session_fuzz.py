"""Property tests: no input, however odd, makes the client's or the server's parser raise."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reverb.protocol.session import Dropped, PusherSession
from reverb.protocol.signing import channel_auth
from reverb.server.channels import ChannelManager
from reverb.server.config import AppConfig, Dialect
from reverb.server.frames import FrameWriter
from reverb.server.handler import handle_message

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)
event_names = st.sampled_from(
    [
        "pusher:connection_established",
        "pusher:error",
        "pusher:ping",
        "pusher:pong",
        "pusher:subscribe",
        "pusher:unsubscribe",
        "pusher_internal:subscription_succeeded",
        "pusher_internal:member_added",
        "pusher_internal:member_removed",
        "pusher:subscription_error",
        "pusher:cache_miss",
        "client-x",
        "OrderShipped",
    ]
) | st.text(max_size=20)
frames = st.fixed_dictionaries(
    {"event": event_names},
    optional={
        "data": json_values | json_values.map(json.dumps),
        "channel": st.text(max_size=10) | json_values,
        "user_id": json_values,
    },
)
texts = frames.map(json.dumps) | st.text() | st.binary().map(lambda b: b.decode("latin-1"))


@settings(max_examples=400, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(texts, max_size=8))
def test_client_session_never_raises(inputs: list[str]) -> None:
    session = PusherSession()
    session.receive(
        '{"event":"pusher:connection_established","data":"{\\"socket_id\\":\\"1.2\\"}"}'
    )
    session.subscribe_frame("private-a", auth="k:sig")
    for text in inputs:
        session.receive(text)  # any return value is fine; raising is not


class Sink:
    def __init__(self, socket_id: str) -> None:
        self.socket_id = socket_id
        self.sent: list[str] = []

    def send(self, text: str) -> None:
        json.loads(text)  # whatever the server answers is valid JSON
        self.sent.append(text)


@settings(max_examples=300, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(texts, max_size=8), st.sampled_from(list(Dialect)))
def test_server_handler_never_raises(inputs: list[str], dialect: Dialect) -> None:
    manager = ChannelManager(AppConfig(id="1", key="k", secret="s"), FrameWriter(dialect))
    first, second = Sink("1.1"), Sink("2.2")
    for index, text in enumerate(inputs):
        handle_message(manager, first if index % 2 else second, text)
    manager.unsubscribe_all(first)
    manager.unsubscribe_all(second)
    assert manager.channels == {}


def test_deep_nesting_is_dropped() -> None:
    session = PusherSession()
    deep: Any = "[" * 100_000
    assert isinstance(session.receive(deep), Dropped)


def test_server_survives_deep_nesting_everywhere() -> None:
    manager = ChannelManager(AppConfig(id="1", key="k", secret="s"), FrameWriter(Dialect.REVERB))
    peer = Sink("1.1")
    deep = "[" * 100_000
    handle_message(manager, peer, deep)
    handle_message(manager, peer, json.dumps({"event": "client-x", "channel": "c", "data": deep}))
    auth = channel_auth("k", "s", "1.1", "presence-x", deep)
    subscribe = {
        "event": "pusher:subscribe",
        "data": {"channel": "presence-x", "auth": auth, "channel_data": deep},
    }
    handle_message(manager, peer, json.dumps(subscribe))
    assert [json.loads(frame)["event"] for frame in peer.sent] == [
        "pusher:error",  # the frame itself
        "pusher:error",  # client event data
        "pusher_internal:subscription_succeeded",  # signed, but no usable member
    ]
