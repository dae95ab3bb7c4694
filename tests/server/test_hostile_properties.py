"""Property tests: arbitrary and hostile input never breaks the local server.

Strings may hold lone UTF-16 surrogates (``"\\udcff"`` in JSON), which Python's ``json`` accepts
and no UTF-8 encoder can write. In process, every frame the server writes must be strict JSON
that encodes as UTF-8, whatever the clients sent. Over a real websocket, every frame Reverb's
PHP could not decode is answered with 4200 and the server keeps serving everyone, with nothing
logged as an error.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection, connect

from reverb.protocol.signing import channel_auth, signed_api_query
from reverb.server.channels import ChannelManager
from reverb.server.config import AppConfig, ClientEventsFrom, Dialect
from reverb.server.frames import FrameWriter
from reverb.server.handler import handle_message
from reverb.server.http_api import ApiRequest, handle_api_request
from reverb.testing import BackgroundServer
from tests.server.hostile import INVALID, error_of, tracebacks

KEY, SECRET = "k", "s"

lone_surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
hostile_strings = st.builds(
    lambda before, bad, after: before + bad + after,
    st.text(max_size=6),  # Hypothesis leaves surrogates out of text() by default
    lone_surrogates,
    st.text(max_size=6),
)
any_strings = st.text(max_size=8) | hostile_strings
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_strings,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(any_strings, children, max_size=3)
    ),
    max_leaves=12,
)

PLACES: dict[str, Callable[[Any], dict[str, Any]]] = {
    "subscribe channel": lambda h: {"event": "pusher:subscribe", "data": {"channel": h}},
    "subscribe auth": lambda h: {
        "event": "pusher:subscribe",
        "data": {"channel": "private-a", "auth": h},
    },
    "subscribe channel_data": lambda h: {
        "event": "pusher:subscribe",
        "data": {"channel": "presence-a", "auth": "k:x", "channel_data": h},
    },
    "unsubscribe channel": lambda h: {"event": "pusher:unsubscribe", "data": {"channel": h}},
    "event name": lambda h: {"event": h, "channel": "c", "data": {}},
    "client event channel": lambda h: {"event": "client-x", "channel": h, "data": {}},
    "client event data": lambda h: {"event": "client-x", "channel": "c", "data": h},
    "nested data": lambda h: {"event": "client-x", "channel": "c", "data": [{"k": [h]}]},
    "ping data": lambda h: {"event": "pusher:ping", "data": h},
    "user_id": lambda h: {"event": "client-x", "channel": "c", "data": {}, "user_id": h},
}
"""Where a hostile value goes in a frame: always as a whole JSON value."""

SENTINEL = "__hostile__"
NOT_JSON = ["NaN", "Infinity", "-Infinity", "1e999", "-2e308", "[" * 513 + "]" * 513]
NOT_UTF8 = [
    b"\xff",
    b"\xc3",
    b"\x80",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xed\xb3\xbf",
    b"\xf4\x90\x80",
]


def _with(place: str, literal: str) -> str:
    return json.dumps(PLACES[place](SENTINEL)).replace(json.dumps(SENTINEL), literal)


places = st.sampled_from(sorted(PLACES))
escaped_surrogate_frames = st.builds(
    lambda place, h: json.dumps(PLACES[place](h)), places, hostile_strings
)
key_surrogate_frames = hostile_strings.map(
    lambda h: json.dumps({"event": "client-x", "channel": "c", "data": {h: 1}})
)
not_json_frames = st.builds(_with, places, st.sampled_from(NOT_JSON))
not_utf8_frames = st.builds(
    lambda place, bad: _with(place, f'"a{SENTINEL}b"').encode().replace(SENTINEL.encode(), bad),
    places,
    st.sampled_from(NOT_UTF8),
)
hostile_frames: st.SearchStrategy[str | bytes] = st.one_of(
    escaped_surrogate_frames, key_surrogate_frames, not_json_frames, not_utf8_frames
)
"""Frames Reverb's PHP cannot decode: each must be answered with 4200, and only that."""


def strict_json(text: str) -> Any:
    """``text`` as a client decodes it; fails on a lone surrogate, NaN or Infinity."""
    text.encode("utf-8")

    def refuse(constant: str) -> Any:
        raise AssertionError(f"{constant} in {text!r}")

    return json.loads(text, parse_constant=refuse)


class Sink:
    """A peer that checks everything the server writes to it."""

    def __init__(self, socket_id: str) -> None:
        self.socket_id = socket_id
        self.sent: list[dict[str, Any]] = []

    def send(self, text: str) -> None:
        self.sent.append(strict_json(text))

    def terminate(self) -> None:
        pass


def manager_for(
    dialect: Dialect, mode: ClientEventsFrom = ClientEventsFrom.MEMBERS
) -> ChannelManager:
    app = AppConfig(id="1", key=KEY, secret=SECRET, accept_client_events_from=mode)
    return ChannelManager(app, FrameWriter(dialect))


# -- in process -----------------------------------------------------------------------------------

SOCKETS = ("1.1", "2.2")


safe_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=8,
)
CHANNELS = ("room", "private-room", "presence-room", "cache-x", "presence-cache-x")
channels = st.sampled_from(CHANNELS)
members = st.fixed_dictionaries(
    {"user_id": st.sampled_from(["1", "2", 1]) | safe_values}, optional={"user_info": safe_values}
)


@st.composite
def plausible_frames(draw: st.DrawFn) -> tuple[int, str | None, str]:
    """What one of two sockets sends (mostly well formed, now and then with a hostile string in
    one field), or, with sender ``None``, a broadcast from Python code with hostile strings.
    """
    sender = draw(st.sampled_from([0, 1]))
    channel = draw(channels)
    kind = draw(st.sampled_from(["subscribe", "unsubscribe", "client", "ping", "other", "trigger"]))
    if kind == "trigger":
        return sender, channel, json.dumps([draw(any_strings), draw(any_strings)])
    frame: dict[str, Any]
    if kind == "subscribe":
        data: dict[str, Any] = {"channel": channel}
        channel_data = draw(st.none() | members.map(json.dumps))
        if channel_data is not None:
            data["channel_data"] = channel_data
        auth = draw(st.sampled_from(["sign", "sign", "none"]) | st.text(max_size=8))
        if auth == "sign":
            data["auth"] = channel_auth(KEY, SECRET, SOCKETS[sender], channel, channel_data)
        elif auth != "none":
            data["auth"] = auth
        frame = {"event": "pusher:subscribe", "data": data}
    elif kind == "unsubscribe":
        frame = {"event": "pusher:unsubscribe", "data": {"channel": channel}}
    elif kind == "client":
        frame = {"event": "client-x", "channel": channel, "data": draw(safe_values)}
    elif kind == "ping":
        frame = {"event": "pusher:ping", "data": draw(safe_values)}
    else:
        frame = {"event": draw(st.text(max_size=8)), "channel": channel, "data": draw(safe_values)}
    poisoned = draw(st.sampled_from([None, None, None, "event", "channel", "data"]))
    if poisoned == "data" and isinstance(frame.get("data"), dict):
        frame["data"] = {
            **frame["data"],
            draw(st.sampled_from(["channel", "auth", "channel_data"])): draw(hostile_strings),
        }
    elif poisoned is not None:
        frame[poisoned] = draw(hostile_strings)
    if draw(st.booleans()):  # data as a JSON string, as some clients send it
        frame["data"] = json.dumps(frame.get("data"))
    ascii_only = draw(st.booleans())  # escaped surrogates, or raw ones in a str
    return sender, None, json.dumps(frame, ensure_ascii=ascii_only)


modes = st.sampled_from(list(ClientEventsFrom))


@settings(max_examples=400, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(plausible_frames(), max_size=10), st.sampled_from(list(Dialect)), modes)
def test_everything_the_server_writes_is_strict_utf8_json(
    frames: list[tuple[int, str | None, str]], dialect: Dialect, mode: ClientEventsFrom
) -> None:
    manager = manager_for(dialect, mode)
    peers = [Sink(socket_id) for socket_id in SOCKETS]
    for index, channel in enumerate(CHANNELS * 2):  # everyone everywhere, to relay to
        peer = peers[index // len(CHANNELS)]
        member = json.dumps({"user_id": peer.socket_id})
        auth = channel_auth(KEY, SECRET, peer.socket_id, channel, member)
        data = {"channel": channel, "auth": auth, "channel_data": member}
        handle_message(manager, peer, json.dumps({"event": "pusher:subscribe", "data": data}))
    for sender, broadcast_to, text in frames:
        if broadcast_to is None:
            handle_message(manager, peers[sender], text)
        else:
            event, data = json.loads(text)
            manager.broadcast(broadcast_to, event, data)
    for peer in peers:
        manager.unsubscribe_all(peer)
    assert manager.channels == {}


@settings(max_examples=300, derandomize=True)
@given(
    hostile_frames | hostile_strings.map(lambda h: json.dumps({"event": h}, ensure_ascii=False)),
    st.sampled_from(list(Dialect)),
)
def test_every_frame_php_cannot_decode_is_4200_in_process(
    frame: str | bytes, dialect: Dialect
) -> None:
    manager = manager_for(dialect, ClientEventsFrom.ALL)
    bystander, attacker = Sink("1.1"), Sink("2.2")
    handle_message(manager, bystander, '{"event":"pusher:subscribe","data":{"channel":"c"}}')
    handle_message(manager, attacker, frame)
    assert [error_of(sent) for sent in attacker.sent] == [INVALID]
    assert list(manager.channels) == ["c"]
    assert [sent["event"] for sent in bystander.sent] == ["pusher_internal:subscription_succeeded"]


api_paths = st.sampled_from(
    [
        "/apps/1/events",
        "/apps/1/batch_events",
        "/apps/1/channels",
        "/apps/1/channels/c",
        "/apps/1/channels/presence-c/users",
        "/apps/1/users/u/terminate_connections",
        "/apps/1/connections",
        "/up",
        "/apps/2/events",
        "/nowhere",
    ]
) | any_strings.map("/apps/1/channels/".__add__)
api_bodies = st.one_of(
    st.binary(max_size=40),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.builds(
        lambda name, channel, data: json.dumps(
            {"name": name, "channel": channel, "data": data, "info": "subscription_count"}
        ).encode(),
        any_strings,
        any_strings,
        any_strings,
    ),
    st.builds(
        lambda literal: _with("client event data", literal).encode(), st.sampled_from(NOT_JSON)
    ),
)


@settings(max_examples=300, derandomize=True)
@given(
    st.sampled_from(["GET", "POST", "PUT"]),
    api_paths,
    st.dictionaries(any_strings, any_strings, max_size=3),
    api_bodies,
    st.booleans(),
    st.sampled_from(list(Dialect)),
)
def test_the_http_api_answers_any_request_with_a_status(
    method: str,
    path: str,
    params: dict[str, str],
    body: bytes,
    signed: bool,
    dialect: Dialect,
) -> None:
    manager = manager_for(dialect)
    watcher = Sink("1.1")
    handle_message(manager, watcher, '{"event":"pusher:subscribe","data":{"channel":"c"}}')
    query = dict(params)
    if signed:
        with contextlib.suppress(UnicodeEncodeError):  # nobody can sign a lone surrogate
            query = signed_api_query(
                key=KEY,
                secret=SECRET,
                method=method,
                path=path,
                timestamp=1,
                body=body,
                params=params,
            )
    response = handle_api_request(
        ApiRequest(method, path, query, body),
        lambda app_id: manager.app if app_id == "1" else None,
        lambda app: manager,
        lambda app: 1,
    )
    assert response.status in {200, 400, 401, 404, 405, 422, 500}
    if response.content_type == "application/json":
        strict_json(response.body.decode("utf-8"))
    else:
        response.body.decode("utf-8")
    assert list(manager.channels) == ["c"]


# -- over a real websocket ------------------------------------------------------------------------


@dataclass
class Live:
    server: BackgroundServer
    attacker: ClientConnection
    bystander: ClientConnection


def established(server: BackgroundServer, stack: contextlib.ExitStack) -> ClientConnection:
    url = f"ws://{server.host}:{server.port}/app/{server.app_key}"
    ws = stack.enter_context(connect(url, ping_interval=None))
    assert json.loads(ws.recv(timeout=5))["event"] == "pusher:connection_established"
    return ws


@pytest.fixture(scope="module", params=["reverb", "soketi"])
def live(request: pytest.FixtureRequest) -> Iterator[Live]:
    with BackgroundServer(dialect=request.param) as server, contextlib.ExitStack() as stack:
        bystander = established(server, stack)
        bystander.send('{"event":"pusher:subscribe","data":{"channel":"bystanders"}}')
        subscribed = json.loads(bystander.recv(timeout=5))
        assert subscribed["event"] == "pusher_internal:subscription_succeeded"
        yield Live(server, established(server, stack), bystander)


@pytest.mark.integration
@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(frame=hostile_frames)
def test_the_running_server_answers_every_hostile_frame_with_4200(
    live: Live, caplog: pytest.LogCaptureFixture, frame: str | bytes
) -> None:
    live.attacker.send(frame)  # bytes go as a binary frame, which Reverb reads like text
    reply = json.loads(live.attacker.recv(timeout=5))
    assert error_of(reply) == INVALID
    live.server.trigger("bystanders", "StillServed", {"frame": repr(frame)})
    delivered = json.loads(live.bystander.recv(timeout=5))
    assert delivered["event"] == "StillServed"
    assert live.server.channels() == {"bystanders": 1}
    assert tracebacks(caplog.records) == []
