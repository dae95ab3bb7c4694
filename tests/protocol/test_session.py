"""The Pusher session state machine, fed frames exactly as Reverb and Soketi send them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reverb import ClientEventError, ConnectionError, Event
from reverb.protocol.session import (
    Dropped,
    Established,
    HandshakeFailed,
    MemberAdded,
    MemberRemoved,
    PingReceived,
    PusherSession,
    ServerError,
    SessionPhase,
    SubscriptionFailed,
    SubscriptionSucceeded,
)

ESTABLISHED = (
    '{"event":"pusher:connection_established",'
    '"data":"{\\"socket_id\\":\\"763944404.949519433\\",\\"activity_timeout\\":30}"}'
)


def frame(event: str, data: Any = None, channel: str | None = None, **extra: Any) -> str:
    message: dict[str, Any] = {"event": event, **extra}
    if data is not None:
        message["data"] = data
    if channel is not None:
        message["channel"] = channel
    return json.dumps(message)


def reverb_error(code: int | None, message: str) -> str:
    return frame("pusher:error", json.dumps({"code": code, "message": message}))


@pytest.fixture
def session() -> PusherSession:
    established = PusherSession()
    assert established.receive(ESTABLISHED) == Established("763944404.949519433", 30.0)
    return established


def test_handshake_establishes() -> None:
    assert PusherSession().phase is SessionPhase.HANDSHAKE
    session = PusherSession()
    session.receive(ESTABLISHED)
    assert session.phase is SessionPhase.OPEN
    assert session.socket_id == "763944404.949519433"
    assert session.activity_timeout == 30.0


@pytest.mark.parametrize(
    "text",
    [
        reverb_error(4001, "Application does not exist"),  # Reverb: data is a string
        frame("pusher:error", {"code": 4001, "message": "App key x does not exist."}),  # Soketi
    ],
)
def test_handshake_error_refuses(text: str) -> None:
    session = PusherSession()
    event = session.receive(text)
    assert isinstance(event, HandshakeFailed)
    assert event.code == 4001
    assert session.phase is SessionPhase.CLOSED


def test_established_without_socket_id_fails_the_handshake() -> None:
    event = PusherSession().receive(frame("pusher:connection_established", "{}"))
    assert isinstance(event, HandshakeFailed)


def test_second_established_and_early_events_are_dropped(session: PusherSession) -> None:
    assert isinstance(session.receive(ESTABLISHED), Dropped)
    early = PusherSession().receive(frame("OrderShipped", "{}", "orders"))
    assert isinstance(early, Dropped)


def test_ping_and_pong(session: PusherSession) -> None:
    assert session.receive('{"event":"pusher:ping"}') == PingReceived()
    assert session.receive('{"event":"pusher:pong"}') is None  # Reverb
    assert session.receive('{"event":"pusher:pong","data":{}}') is None  # Soketi
    assert json.loads(session.ping_frame()) == {"event": "pusher:ping", "data": {}}
    assert json.loads(session.pong_frame()) == {"event": "pusher:pong", "data": {}}


@pytest.mark.parametrize(
    "text",
    [
        frame("pusher_internal:subscription_succeeded", "{}", "orders"),  # Reverb
        frame("pusher_internal:subscription_succeeded", channel="orders"),  # Soketi: no data
    ],
)
def test_subscription_succeeded(session: PusherSession, text: str) -> None:
    session.subscribe_frame("orders")
    assert session.is_pending("orders")
    event = session.receive(text)
    assert isinstance(event, SubscriptionSucceeded)
    assert event.channel == "orders"
    assert session.is_subscribed("orders")
    assert not session.is_pending("orders")


def test_reverb_4009_matches_the_oldest_signed_pending_subscription(
    session: PusherSession,
) -> None:
    session.subscribe_frame("public")
    session.subscribe_frame("private-a", auth="k:sig")
    session.subscribe_frame("private-b", auth="k:sig")
    first = session.receive(reverb_error(4009, "Connection is unauthorized"))
    assert first == SubscriptionFailed("private-a", 4009, None, "Connection is unauthorized")
    second = session.receive(reverb_error(4009, "Connection is unauthorized"))
    assert isinstance(second, SubscriptionFailed)
    assert second.channel == "private-b"
    assert session.is_pending("public")


def test_hosted_pusher_null_code_signature_error_is_matched(session: PusherSession) -> None:
    session.subscribe_frame("private-a", auth="k:sig")
    event = session.receive(
        frame("pusher:error", {"code": None, "message": "Invalid signature: expected ..."})
    )
    assert isinstance(event, SubscriptionFailed)
    assert event.channel == "private-a"


def test_client_event_refusal_is_not_a_subscription_failure(session: PusherSession) -> None:
    session.subscribe_frame("private-a", auth="k:sig")
    event = session.receive(
        reverb_error(4009, "The client is not a member of the specified channel.")
    )
    assert isinstance(event, ServerError)
    assert event.code == 4009
    assert session.is_pending("private-a")


def test_forgotten_subscription_is_not_matched(session: PusherSession) -> None:
    session.subscribe_frame("private-a", auth="k:sig")
    session.forget("private-a")
    assert isinstance(
        session.receive(reverb_error(4009, "Connection is unauthorized")), ServerError
    )


def test_soketi_subscription_error(session: PusherSession) -> None:
    session.subscribe_frame("private-a", auth="k:bad")
    data = {"type": "AuthError", "error": "The connection is unauthorized.", "status": 401}
    event = session.receive(frame("pusher:subscription_error", data, "private-a"))
    assert event == SubscriptionFailed("private-a", None, 401, "The connection is unauthorized.")


def test_soketi_error_naming_a_pending_channel_fails_it(session: PusherSession) -> None:
    session.subscribe_frame("x;bad", auth=None)
    event = session.receive(frame("pusher:error", {"code": 4009, "message": "bad name"}, "x;bad"))
    assert isinstance(event, SubscriptionFailed)


@pytest.mark.parametrize(
    "data",
    [
        json.dumps({"user_id": 2, "user_info": {"name": "Bob"}}),  # Reverb >= 1.5.1
        {"user_id": 2, "user_info": {"name": "Bob"}},  # older Reverb
    ],
)
def test_member_added_and_removed(session: PusherSession, data: Any) -> None:
    added = session.receive(frame("pusher_internal:member_added", data, "presence-r"))
    assert added == MemberAdded("presence-r", "2", {"name": "Bob"})
    removed = session.receive(
        frame("pusher_internal:member_removed", json.dumps({"user_id": 2}), "presence-r")
    )
    assert removed == MemberRemoved("presence-r", "2")


def test_member_event_without_user_id_is_dropped(session: PusherSession) -> None:
    assert isinstance(
        session.receive(frame("pusher_internal:member_added", "{}", "presence-r")), Dropped
    )


def test_broadcast_with_double_encoded_data(session: PusherSession) -> None:
    event = session.receive(frame("OrderShipped", json.dumps({"id": 1}), "orders"))
    assert event == Event("OrderShipped", "orders", {"id": 1})


def test_client_event_with_object_data_and_user_id(session: PusherSession) -> None:
    event = session.receive(frame("client-hi", {"msg": "hello"}, "presence-room", user_id="u2"))
    assert event == Event("client-hi", "presence-room", {"msg": "hello"}, "u2")


def test_non_json_string_data_stays_raw(session: PusherSession) -> None:
    event = session.receive(frame("Note", "just text", "orders"))
    assert isinstance(event, Event)
    assert event.data == "just text"


def test_cache_miss_is_a_channel_event(session: PusherSession) -> None:
    event = session.receive('{"event":"pusher:cache_miss","channel":"cache-x"}')
    assert event == Event("pusher:cache_miss", "cache-x", None)


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"data":1}',
        '{"event":1}',
        '{"event":"x","channel":5}',
        b"\xff\xfe",
        '{"event":"OrderShipped"}',
    ],
)
def test_malformed_frames_are_dropped_not_raised(session: PusherSession, text: str | bytes) -> None:
    assert isinstance(session.receive(text), Dropped)
    assert session.phase is SessionPhase.OPEN


def test_subscribe_frame_passes_channel_data_byte_for_byte(session: PusherSession) -> None:
    channel_data = '{"user_id": "1", "user_info": {"name": "\\u00e9"}}'
    sent = json.loads(session.subscribe_frame("presence-r", "key:sig", channel_data))
    assert sent == {
        "event": "pusher:subscribe",
        "data": {"channel": "presence-r", "auth": "key:sig", "channel_data": channel_data},
    }


def test_unsubscribe_frame_forgets_the_channel(session: PusherSession) -> None:
    session.subscribe_frame("orders")
    session.receive(frame("pusher_internal:subscription_succeeded", "{}", "orders"))
    sent = json.loads(session.unsubscribe_frame("orders"))
    assert sent == {"event": "pusher:unsubscribe", "data": {"channel": "orders"}}
    assert not session.is_subscribed("orders")


def test_client_event_frame_needs_a_subscribed_channel(session: PusherSession) -> None:
    with pytest.raises(ClientEventError, match="not subscribed"):
        session.client_event_frame("private-a", "client-x", {})
    session.subscribe_frame("private-a", auth="k:sig")
    session.receive(frame("pusher_internal:subscription_succeeded", "{}", "private-a"))
    sent = json.loads(session.client_event_frame("private-a", "client-x", {"a": 1}))
    assert sent == {"event": "client-x", "channel": "private-a", "data": {"a": 1}}


def test_frames_before_open_raise_connection_error() -> None:
    with pytest.raises(ConnectionError, match="not connected"):
        PusherSession().subscribe_frame("orders")
    with pytest.raises(ClientEventError):
        PusherSession().client_event_frame("private-a", "client-x", {})


def test_close_forgets_everything(session: PusherSession) -> None:
    session.subscribe_frame("private-a", auth="k:sig")
    session.close()
    assert session.phase is SessionPhase.CLOSED
    assert not session.is_pending("private-a")
    assert "closed" in repr(session)
