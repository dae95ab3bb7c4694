"""The Pusher session state machine, fed raw frames exactly as Reverb and Soketi send them.

Frames are written out as the servers put them on the wire (see the protocol reference):
Reverb sends ``data`` of server events as a JSON string, Soketi often as an object.
"""

from __future__ import annotations

import builtins
import json

import pytest

import reverb
from reverb import ClientEventError, Event
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

SOCKET_ID = "763944404.949519433"
REVERB_ESTABLISHED = (
    r'{"event":"pusher:connection_established",'
    r'"data":"{\"socket_id\":\"763944404.949519433\",\"activity_timeout\":30}"}'
)
SOKETI_ESTABLISHED = (
    r'{"event":"pusher:connection_established",'
    r'"data":"{\"socket_id\":\"8923427519.5264871021\",\"activity_timeout\":30}"}'
)
REVERB_UNAUTHORIZED = (
    r'{"event":"pusher:error","data":"{\"code\":4009,\"message\":\"Connection is unauthorized\"}"}'
)
REVERB_NOT_A_MEMBER = (
    r'{"event":"pusher:error",'
    r'"data":"{\"code\":4009,'
    r'\"message\":\"The client is not a member of the specified channel.\"}"}'
)


def succeeded(channel: str) -> str:
    return json.dumps(
        {"event": "pusher_internal:subscription_succeeded", "data": "{}", "channel": channel}
    )


@pytest.fixture
def session() -> PusherSession:
    """A session past its Reverb handshake."""
    established = PusherSession()
    assert isinstance(established.receive(REVERB_ESTABLISHED), Established)
    return established


# -- handshake ------------------------------------------------------------------------------------


def test_new_session_is_in_handshake() -> None:
    session = PusherSession()
    assert session.phase is SessionPhase.HANDSHAKE
    assert session.socket_id is None
    assert session.activity_timeout is None


@pytest.mark.parametrize(
    ("text", "socket_id"),
    [(REVERB_ESTABLISHED, SOCKET_ID), (SOKETI_ESTABLISHED, "8923427519.5264871021")],
)
def test_connection_established_with_string_data(text: str, socket_id: str) -> None:
    session = PusherSession()
    assert session.receive(text) == Established(socket_id, 30.0)


def test_connection_established_opens_the_session() -> None:
    session = PusherSession()
    session.receive(REVERB_ESTABLISHED)
    assert session.phase is SessionPhase.OPEN
    assert session.socket_id == SOCKET_ID
    assert session.activity_timeout == 30.0


def test_connection_established_with_object_data() -> None:
    text = (
        '{"event":"pusher:connection_established",'
        '"data":{"socket_id":"1.2","activity_timeout":120}}'
    )
    assert PusherSession().receive(text) == Established("1.2", 120.0)


@pytest.mark.parametrize("timeout", ['"30"', "0", "-5", "true", "null"])
def test_unusable_activity_timeout_becomes_none(timeout: str) -> None:
    data = json.dumps(f'{{"socket_id":"1.2","activity_timeout":{timeout}}}')
    event = PusherSession().receive(f'{{"event":"pusher:connection_established","data":{data}}}')
    assert event == Established("1.2", None)


@pytest.mark.parametrize(
    "data", ['"{}"', r'"{\"socket_id\":\"\"}"', r'"{\"socket_id\":12}"', '"junk"']
)
def test_established_without_a_socket_id_fails_the_handshake(data: str) -> None:
    session = PusherSession()
    event = session.receive(f'{{"event":"pusher:connection_established","data":{data}}}')
    assert isinstance(event, HandshakeFailed)
    assert session.phase is SessionPhase.CLOSED


def test_reverb_handshake_error_with_string_data() -> None:
    session = PusherSession()
    event = session.receive(
        r'{"event":"pusher:error",'
        r'"data":"{\"code\":4001,\"message\":\"Application does not exist\"}"}'
    )
    assert event == HandshakeFailed(4001, "Application does not exist")
    assert session.phase is SessionPhase.CLOSED


def test_soketi_handshake_error_with_object_data() -> None:
    session = PusherSession()
    event = session.receive(
        '{"event":"pusher:error","data":{"code":4001,"message":"App key nope does not exist."}}'
    )
    assert event == HandshakeFailed(4001, "App key nope does not exist.")
    assert session.phase is SessionPhase.CLOSED


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (
            r'{"event":"pusher:error",'
            r'"data":"{\"code\":4004,\"message\":\"Application is over connection quota\"}"}',
            4004,
        ),
        (
            r'{"event":"pusher:error","data":"{\"code\":4009,\"message\":\"Origin not allowed\"}"}',
            4009,
        ),
        ('{"event":"pusher:error","data":{"code":4100,"message":"Over capacity"}}', 4100),
    ],
)
def test_other_handshake_errors_carry_their_code(text: str, code: int) -> None:
    event = PusherSession().receive(text)
    assert isinstance(event, HandshakeFailed)
    assert event.code == code


def test_handshake_error_without_a_code() -> None:
    event = PusherSession().receive('{"event":"pusher:error","data":"boom"}')
    assert event == HandshakeFailed(None, "boom")


def test_established_after_a_handshake_error_is_dropped() -> None:
    session = PusherSession()
    session.receive('{"event":"pusher:error","data":{"code":4001,"message":"x"}}')
    assert isinstance(session.receive(REVERB_ESTABLISHED), Dropped)
    assert session.phase is SessionPhase.CLOSED
    assert session.socket_id is None


def test_a_second_connection_established_is_dropped(session: PusherSession) -> None:
    assert isinstance(session.receive(SOKETI_ESTABLISHED), Dropped)
    assert session.socket_id == SOCKET_ID
    assert session.phase is SessionPhase.OPEN


@pytest.mark.parametrize(
    "text",
    [
        '{"event":"OrderShipped","data":"{\\"id\\":1}","channel":"orders"}',
        succeeded("orders"),
        '{"event":"pusher_internal:member_added","data":"{\\"user_id\\":\\"2\\"}","channel":"presence-r"}',
        '{"event":"pusher:cache_miss","channel":"cache-x"}',
        '{"event":"client-x","channel":"private-a","data":{}}',
    ],
)
def test_events_before_connection_established_are_dropped(text: str) -> None:
    session = PusherSession()
    dropped = session.receive(text)
    assert isinstance(dropped, Dropped)
    assert dropped.reason == f"{json.loads(text)['event']!r} before the connection was established"
    assert session.phase is SessionPhase.HANDSHAKE


def test_a_channel_event_without_a_channel_is_dropped(session: PusherSession) -> None:
    dropped = session.receive('{"event":"OrderShipped","data":"{}"}')
    assert dropped == Dropped("'OrderShipped' names no channel")
    before = PusherSession().receive('{"event":"OrderShipped","data":"{}"}')
    assert before == Dropped("'OrderShipped' before the connection was established")


def test_a_frame_that_is_not_json_is_dropped_with_the_reason(session: PusherSession) -> None:
    dropped = session.receive("not json")
    assert isinstance(dropped, Dropped)
    assert dropped.reason == "frame is not valid JSON (JSONDecodeError)"


def test_a_channel_event_the_fast_decoder_refuses_keeps_every_field(
    session: PusherSession,
) -> None:
    # A lone surrogate escape: orjson refuses the frame, the standard library reads it; either
    # way the event is the same, data and sender included.
    text = '{"event":"client-x","channel":"private-a","data":{"s":"\\ud800"},"user_id":5}'
    assert session.receive(text) == Event("client-x", "private-a", {"s": "\ud800"}, "5")


# -- ping / pong ----------------------------------------------------------------------------------


def test_ping_is_reported(session: PusherSession) -> None:
    assert session.receive('{"event":"pusher:ping"}') == PingReceived()


def test_ping_with_data_is_reported(session: PusherSession) -> None:
    assert session.receive('{"event":"pusher:ping","data":{}}') == PingReceived()


def test_ping_during_handshake_is_reported() -> None:
    assert PusherSession().receive('{"event":"pusher:ping"}') == PingReceived()


@pytest.mark.parametrize(
    "text",
    [
        '{"event":"pusher:pong"}',
        '{"event":"pusher:pong","data":{}}',
        '{"event":"pusher:pong","data":"{}"}',
    ],
)
def test_pong_needs_nothing(session: PusherSession, text: str) -> None:
    assert session.receive(text) is None


def test_ping_frame_shape() -> None:
    assert json.loads(PusherSession.ping_frame()) == {"event": "pusher:ping", "data": {}}


def test_pong_frame_shape() -> None:
    assert json.loads(PusherSession.pong_frame()) == {"event": "pusher:pong", "data": {}}


# -- subscriptions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        # Reverb
        r'{"event":"pusher_internal:subscription_succeeded","data":"{}","channel":"orders"}',
        # Soketi
        '{"event":"pusher_internal:subscription_succeeded","channel":"orders"}',
    ],
)
def test_subscription_succeeded_marks_the_channel_subscribed(
    session: PusherSession, text: str
) -> None:
    session.subscribe_frame("orders")
    assert session.is_pending("orders")
    event = session.receive(text)
    assert isinstance(event, SubscriptionSucceeded)
    assert event.channel == "orders"
    assert session.is_subscribed("orders")
    assert not session.is_pending("orders")


def test_reverb_subscription_succeeded_data_is_decoded(session: PusherSession) -> None:
    session.subscribe_frame("orders")
    assert session.receive(succeeded("orders")) == SubscriptionSucceeded("orders", {})


def test_presence_subscription_succeeded_carries_the_members(session: PusherSession) -> None:
    session.subscribe_frame("presence-room", "k:sig", '{"user_id":"u1"}')
    event = session.receive(
        r'{"event":"pusher_internal:subscription_succeeded",'
        r'"data":"{\"presence\":{\"count\":1,\"ids\":[\"u1\"],\"hash\":{\"u1\":{\"name\":\"Alice\"}}}}",'
        r'"channel":"presence-room"}'
    )
    assert event == SubscriptionSucceeded(
        "presence-room",
        {"presence": {"count": 1, "ids": ["u1"], "hash": {"u1": {"name": "Alice"}}}},
    )


def test_subscription_succeeded_without_channel_is_dropped(session: PusherSession) -> None:
    event = session.receive(r'{"event":"pusher_internal:subscription_succeeded","data":"{}"}')
    assert isinstance(event, Dropped)


def test_reverb_4009_matches_the_oldest_signed_pending_subscription(
    session: PusherSession,
) -> None:
    session.subscribe_frame("public")
    session.subscribe_frame("private-a", auth="k:sig-a")
    session.subscribe_frame("private-b", auth="k:sig-b")
    event = session.receive(REVERB_UNAUTHORIZED)
    assert event == SubscriptionFailed("private-a", 4009, None, "Connection is unauthorized")
    assert not session.is_pending("private-a")


def test_reverb_4009s_match_signed_subscriptions_in_order(session: PusherSession) -> None:
    session.subscribe_frame("public")
    session.subscribe_frame("private-a", auth="k:sig-a")
    session.subscribe_frame("presence-b", auth="k:sig-b", channel_data='{"user_id":1}')
    first = session.receive(REVERB_UNAUTHORIZED)
    second = session.receive(REVERB_UNAUTHORIZED)
    assert isinstance(first, SubscriptionFailed)
    assert isinstance(second, SubscriptionFailed)
    assert [first.channel, second.channel] == ["private-a", "presence-b"]


def test_reverb_4009_never_matches_a_public_subscription(session: PusherSession) -> None:
    session.subscribe_frame("public")
    session.subscribe_frame("private-a", auth="k:sig")
    session.receive(REVERB_UNAUTHORIZED)
    third = session.receive(REVERB_UNAUTHORIZED)
    assert isinstance(third, ServerError)
    assert third == ServerError(4009, "Connection is unauthorized", None)
    assert session.is_pending("public")


def test_reverb_4009_with_nothing_pending_is_a_server_error(session: PusherSession) -> None:
    assert session.receive(REVERB_UNAUTHORIZED) == ServerError(
        4009, "Connection is unauthorized", None
    )


@pytest.mark.parametrize(
    "text",
    [
        '{"event":"pusher:error","data":{"code":null,"message":"Invalid signature: '
        'Expected HMAC SHA256 hex digest of 1.2:private-a"}}',
        r'{"event":"pusher:error","data":"{\"code\":null,\"message\":\"Invalid signature: '
        r'Expected HMAC SHA256 hex digest of 1.2:private-a\"}"}',
    ],
)
def test_hosted_pusher_null_code_signature_error_is_matched(
    session: PusherSession, text: str
) -> None:
    session.subscribe_frame("public")
    session.subscribe_frame("private-a", auth="k:sig")
    event = session.receive(text)
    assert isinstance(event, SubscriptionFailed)
    assert event.channel == "private-a"
    assert event.code is None
    assert event.message.startswith("Invalid signature")


def test_client_event_refusal_is_not_a_subscription_failure(session: PusherSession) -> None:
    session.subscribe_frame("private-a", auth="k:sig")
    event = session.receive(REVERB_NOT_A_MEMBER)
    assert event == ServerError(4009, "The client is not a member of the specified channel.", None)
    assert session.is_pending("private-a")


@pytest.mark.parametrize(
    "text",
    [
        r'{"event":"pusher:error","data":"{\"code\":4200,\"message\":\"Invalid message format\"}"}',
        r'{"event":"pusher:error","data":"{\"code\":4301,\"message\":\"Rate limit exceeded\"}"}',
    ],
)
def test_other_errors_are_not_matched_to_subscriptions(session: PusherSession, text: str) -> None:
    session.subscribe_frame("private-a", auth="k:sig")
    event = session.receive(text)
    assert isinstance(event, ServerError)
    assert session.is_pending("private-a")


def test_error_naming_a_pending_channel_fails_that_channel(session: PusherSession) -> None:
    session.subscribe_frame("private-a", auth="k:sig")
    session.subscribe_frame("orders")
    event = session.receive(
        '{"event":"pusher:error","channel":"orders","data":{"code":4100,"message":"full"}}'
    )
    assert event == SubscriptionFailed("orders", 4100, None, "full")
    assert session.is_pending("private-a")


def test_soketi_error_with_channel_in_data_object(session: PusherSession) -> None:
    session.subscribe_frame("orders")
    session.receive(succeeded("orders"))
    event = session.receive(
        '{"event":"pusher:error","data":{"code":4301,"message":"The app does not have client '
        'messaging enabled.","channel":"orders"}}'
    )
    assert event == ServerError(4301, "The app does not have client messaging enabled.", "orders")


def test_soketi_subscription_error(session: PusherSession) -> None:
    session.subscribe_frame("private-a", auth="k:bad")
    event = session.receive(
        '{"event":"pusher:subscription_error","channel":"private-a","data":'
        '{"type":"AuthError","error":"The connection is unauthorized.","status":401}}'
    )
    assert event == SubscriptionFailed("private-a", None, 401, "The connection is unauthorized.")
    assert not session.is_pending("private-a")
    assert not session.is_subscribed("private-a")


def test_soketi_subscription_error_with_a_non_int_status(session: PusherSession) -> None:
    session.subscribe_frame("private-a", auth="k:bad")
    event = session.receive(
        '{"event":"pusher:subscription_error","channel":"private-a","data":{"error":"x","status":"401"}}'
    )
    assert event == SubscriptionFailed("private-a", None, None, "x")


def test_subscription_error_without_channel_is_dropped(session: PusherSession) -> None:
    event = session.receive('{"event":"pusher:subscription_error","data":{"status":401}}')
    assert isinstance(event, Dropped)


def test_forgotten_subscription_is_not_matched(session: PusherSession) -> None:
    session.subscribe_frame("private-a", auth="k:sig")
    session.forget("private-a")
    assert not session.is_pending("private-a")
    assert isinstance(session.receive(REVERB_UNAUTHORIZED), ServerError)


def test_forget_skips_to_the_next_signed_subscription(session: PusherSession) -> None:
    session.subscribe_frame("private-a", auth="k:sig")
    session.subscribe_frame("private-b", auth="k:sig")
    session.forget("private-a")
    event = session.receive(REVERB_UNAUTHORIZED)
    assert isinstance(event, SubscriptionFailed)
    assert event.channel == "private-b"


def test_resubscribing_moves_the_channel_to_the_back_of_the_queue(session: PusherSession) -> None:
    session.subscribe_frame("private-a", auth="k:sig")
    session.subscribe_frame("private-b", auth="k:sig")
    session.subscribe_frame("private-a", auth="k:sig2")
    event = session.receive(REVERB_UNAUTHORIZED)
    assert isinstance(event, SubscriptionFailed)
    assert event.channel == "private-b"


# -- presence members -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        # Reverb >= 1.5.1: data is a JSON string; string and numeric user ids
        r'{"event":"pusher_internal:member_added","data":"{\"user_id\":\"2\",\"user_info\":{\"name\":\"Bob\"}}","channel":"presence-room"}',
        r'{"event":"pusher_internal:member_added","data":"{\"user_id\":2,\"user_info\":{\"name\":\"Bob\"}}","channel":"presence-room"}',
        # older Reverb: data is an object
        '{"event":"pusher_internal:member_added","data":{"user_id":"2","user_info":{"name":"Bob"}},"channel":"presence-room"}',
        '{"event":"pusher_internal:member_added","data":{"user_id":2,"user_info":{"name":"Bob"}},"channel":"presence-room"}',
    ],
)
def test_member_added(session: PusherSession, text: str) -> None:
    assert session.receive(text) == MemberAdded("presence-room", "2", {"name": "Bob"})


def test_member_added_without_user_info(session: PusherSession) -> None:
    event = session.receive(
        r'{"event":"pusher_internal:member_added","data":"{\"user_id\":0}","channel":"presence-room"}'
    )
    assert event == MemberAdded("presence-room", "0", None)


@pytest.mark.parametrize(
    "text",
    [
        r'{"event":"pusher_internal:member_removed","data":"{\"user_id\":\"2\"}","channel":"presence-room"}',
        r'{"event":"pusher_internal:member_removed","data":"{\"user_id\":2}","channel":"presence-room"}',
        '{"event":"pusher_internal:member_removed","data":{"user_id":2},"channel":"presence-room"}',
    ],
)
def test_member_removed(session: PusherSession, text: str) -> None:
    assert session.receive(text) == MemberRemoved("presence-room", "2")


@pytest.mark.parametrize(
    "text",
    [
        r'{"event":"pusher_internal:member_added","data":"{}","channel":"presence-room"}',
        r'{"event":"pusher_internal:member_added","data":"{\"user_id\":\"2\"}"}',
        r'{"event":"pusher_internal:member_removed","data":"{}","channel":"presence-room"}',
        r'{"event":"pusher_internal:member_removed","data":"{\"user_id\":\"2\"}"}',
        '{"event":"pusher_internal:member_removed","data":"2","channel":"presence-room"}',
    ],
)
def test_member_events_without_user_id_or_channel_are_dropped(
    session: PusherSession, text: str
) -> None:
    assert isinstance(session.receive(text), Dropped)


# -- channel events -------------------------------------------------------------------------------


def test_broadcast_with_double_encoded_data(session: PusherSession) -> None:
    event = session.receive(
        r'{"event":"OrderShipped","data":"{\"order\":{\"id\":1,\"total\":9.5}}","channel":"orders"}'
    )
    assert event == Event("OrderShipped", "orders", {"order": {"id": 1, "total": 9.5}})


def test_laravel_namespaced_broadcast_name(session: PusherSession) -> None:
    event = session.receive(
        r'{"event":"App\\Events\\OrderShipped","data":"{\"id\":1}","channel":"private-orders.1"}'
    )
    assert event == Event("App\\Events\\OrderShipped", "private-orders.1", {"id": 1})


def test_client_event_with_object_data_and_user_id(session: PusherSession) -> None:
    event = session.receive(
        '{"event":"client-hi","channel":"presence-room","data":{"msg":"hello"},"user_id":"u2"}'
    )
    assert event == Event("client-hi", "presence-room", {"msg": "hello"}, "u2")
    assert isinstance(event, Event)
    assert event.user_id == "u2"


def test_client_event_with_a_numeric_user_id(session: PusherSession) -> None:
    event = session.receive(
        '{"event":"client-typing","channel":"presence-x","data":{"id":1},"user_id":1}'
    )
    assert isinstance(event, Event)
    assert event.user_id == "1"


def test_client_event_without_user_id(session: PusherSession) -> None:
    event = session.receive('{"event":"client-x","channel":"private-a","data":{"a":1}}')
    assert event == Event("client-x", "private-a", {"a": 1}, None)


def test_non_json_string_data_stays_the_raw_string(session: PusherSession) -> None:
    event = session.receive('{"event":"Note","data":"just text","channel":"orders"}')
    assert event == Event("Note", "orders", "just text")


def test_event_without_data(session: PusherSession) -> None:
    assert session.receive('{"event":"Ping","channel":"orders"}') == Event("Ping", "orders", None)


def test_cache_miss_is_a_channel_event(session: PusherSession) -> None:
    event = session.receive('{"event":"pusher:cache_miss","channel":"cache-x"}')
    assert event == Event("pusher:cache_miss", "cache-x", None)


def test_channel_event_without_channel_is_dropped(session: PusherSession) -> None:
    assert isinstance(session.receive('{"event":"OrderShipped","data":"{}"}'), Dropped)


# -- malformed input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "",
        "[]",
        "null",
        '"string"',
        '{"data":1}',
        '{"event":1}',
        '{"event":null}',
        '{"event":"x","channel":5}',
        '{"event":"x","channel":["a"]}',
        b"\xff\xfe\x00",
        b'{"event":"x","data":"\xc3\x28"}',
    ],
)
def test_malformed_frames_are_dropped_not_raised(session: PusherSession, text: str | bytes) -> None:
    event = session.receive(text)
    assert isinstance(event, Dropped)
    assert event.reason
    assert session.phase is SessionPhase.OPEN


@pytest.mark.parametrize("text", ["not json", b"\xff", "[]", '{"event":1}'])
def test_malformed_frames_during_handshake_are_dropped(text: str | bytes) -> None:
    session = PusherSession()
    assert isinstance(session.receive(text), Dropped)
    assert session.phase is SessionPhase.HANDSHAKE


def test_utf8_bytes_frames_are_accepted(session: PusherSession) -> None:
    text = '{"event":"Note","data":"{\\"who\\":\\"Zoë\\"}","channel":"orders"}'.encode()
    assert session.receive(text) == Event("Note", "orders", {"who": "Zoë"})


def test_deeply_nested_frame_is_dropped_not_raised(session: PusherSession) -> None:
    # Soketi relays client-event data unchanged (up to 100 KB), so any channel member can
    # send this; receive() promises never to raise for bad input.
    text = '{"event":"client-x","channel":"private-a","data":' + "[" * 100_000 + "}"
    assert isinstance(session.receive(text), Dropped)


def test_deeply_nested_data_string_does_not_raise(session: PusherSession) -> None:
    text = json.dumps({"event": "OrderShipped", "channel": "orders", "data": "[" * 100_000})
    event = session.receive(text)
    assert isinstance(event, Event | Dropped)


# -- frames to send -------------------------------------------------------------------------------


def test_public_subscribe_frame(session: PusherSession) -> None:
    assert json.loads(session.subscribe_frame("orders")) == {
        "event": "pusher:subscribe",
        "data": {"channel": "orders"},
    }


def test_private_subscribe_frame(session: PusherSession) -> None:
    sent = json.loads(session.subscribe_frame("private-a", auth="key:abc123"))
    assert sent == {
        "event": "pusher:subscribe",
        "data": {"channel": "private-a", "auth": "key:abc123"},
    }


def test_presence_subscribe_frame_passes_channel_data_byte_for_byte(
    session: PusherSession,
) -> None:
    channel_data = '{"user_id": "1",  "user_info": {"name": "\\u00e9", "tag": "Zoë"}}'
    sent = json.loads(session.subscribe_frame("presence-r", "key:sig", channel_data))
    assert sent == {
        "event": "pusher:subscribe",
        "data": {"channel": "presence-r", "auth": "key:sig", "channel_data": channel_data},
    }
    assert isinstance(sent["data"]["channel_data"], str)


def test_subscribe_frame_records_a_pending_subscription(session: PusherSession) -> None:
    session.subscribe_frame("orders")
    assert session.is_pending("orders")
    assert not session.is_subscribed("orders")


def test_resubscribe_clears_the_subscribed_flag_until_confirmed(session: PusherSession) -> None:
    session.subscribe_frame("orders")
    session.receive(succeeded("orders"))
    session.subscribe_frame("orders")
    assert not session.is_subscribed("orders")
    assert session.is_pending("orders")


def test_unsubscribe_frame(session: PusherSession) -> None:
    session.subscribe_frame("orders")
    session.receive(succeeded("orders"))
    sent = json.loads(session.unsubscribe_frame("orders"))
    assert sent == {"event": "pusher:unsubscribe", "data": {"channel": "orders"}}
    assert not session.is_subscribed("orders")
    assert not session.is_pending("orders")


def test_unsubscribe_frame_forgets_a_pending_subscription(session: PusherSession) -> None:
    session.subscribe_frame("private-a", auth="k:sig")
    session.unsubscribe_frame("private-a")
    assert isinstance(session.receive(REVERB_UNAUTHORIZED), ServerError)


def test_client_event_frame_on_an_unsubscribed_channel_raises(session: PusherSession) -> None:
    with pytest.raises(ClientEventError, match="not subscribed"):
        session.client_event_frame("private-a", "client-x", {})


def test_client_event_frame_on_a_pending_channel_raises(session: PusherSession) -> None:
    session.subscribe_frame("private-a", auth="k:sig")
    with pytest.raises(ClientEventError, match="not subscribed"):
        session.client_event_frame("private-a", "client-x", {})


def test_client_event_frame_sends_data_as_an_object(session: PusherSession) -> None:
    session.subscribe_frame("private-a", auth="k:sig")
    session.receive(succeeded("private-a"))
    sent = json.loads(session.client_event_frame("private-a", "client-x", {"a": 1, "b": "é"}))
    assert sent == {"event": "client-x", "channel": "private-a", "data": {"a": 1, "b": "é"}}


def test_client_event_frame_after_unsubscribe_raises(session: PusherSession) -> None:
    session.subscribe_frame("private-a", auth="k:sig")
    session.receive(succeeded("private-a"))
    session.unsubscribe_frame("private-a")
    with pytest.raises(ClientEventError):
        session.client_event_frame("private-a", "client-x", {})


def test_client_event_frame_before_open_raises() -> None:
    with pytest.raises(ClientEventError, match="not open"):
        PusherSession().client_event_frame("private-a", "client-x", {})


def test_subscribe_frame_before_open_raises_connection_error() -> None:
    with pytest.raises(reverb.ConnectionError, match="not connected") as caught:
        PusherSession().subscribe_frame("orders")
    assert isinstance(caught.value, builtins.ConnectionError)


def test_unsubscribe_frame_before_open_raises_connection_error() -> None:
    with pytest.raises(reverb.ConnectionError):
        PusherSession().unsubscribe_frame("orders")


def test_subscribe_frame_after_handshake_failure_raises() -> None:
    session = PusherSession()
    session.receive('{"event":"pusher:error","data":{"code":4001,"message":"x"}}')
    with pytest.raises(reverb.ConnectionError, match="closed"):
        session.subscribe_frame("orders")


# -- close ----------------------------------------------------------------------------------------


def test_close_forgets_everything(session: PusherSession) -> None:
    session.subscribe_frame("private-a", auth="k:sig")
    session.subscribe_frame("orders")
    session.receive(succeeded("orders"))
    session.close()
    assert session.phase is SessionPhase.CLOSED
    assert not session.is_pending("private-a")
    assert not session.is_subscribed("orders")


def test_frames_cannot_be_built_after_close(session: PusherSession) -> None:
    session.close()
    with pytest.raises(reverb.ConnectionError):
        session.subscribe_frame("orders")


def test_repr_shows_phase_and_socket_id(session: PusherSession) -> None:
    session.subscribe_frame("orders")
    text = repr(session)
    assert "open" in text
    assert SOCKET_ID in text
    assert "pending=1" in text


def test_late_subscription_succeeded_after_unsubscribe_is_dropped() -> None:
    session = PusherSession()
    session.receive(
        '{"event":"pusher:connection_established","data":"{\\"socket_id\\":\\"1.2\\"}"}'
    )
    session.subscribe_frame("orders")
    session.unsubscribe_frame("orders")
    late = session.receive(
        '{"event":"pusher_internal:subscription_succeeded","data":"{}","channel":"orders"}'
    )
    assert isinstance(late, Dropped)
    assert not session.is_subscribed("orders")


# -- decisions a mutation run found unpinned (docs/mutation-testing.md) ---------------------------


@pytest.mark.parametrize(("timeout", "expected"), [("0.5", 0.5), ("1", 1.0)])
def test_an_activity_timeout_of_a_second_or_less_is_kept(timeout: str, expected: float) -> None:
    data = json.dumps(f'{{"socket_id":"1.2","activity_timeout":{timeout}}}')
    event = PusherSession().receive(f'{{"event":"pusher:connection_established","data":{data}}}')
    assert event == Established("1.2", expected)


def test_established_without_a_socket_id_says_so() -> None:
    event = PusherSession().receive('{"event":"pusher:connection_established","data":"{}"}')
    assert event == HandshakeFailed(None, "pusher:connection_established carried no socket_id")


@pytest.mark.parametrize(
    "text",
    [
        '{"event":"pusher:error","data":null}',
        '{"event":"pusher:error"}',
        '{"event":"pusher:error","data":{"code":4001}}',
        '{"event":"pusher:error","data":{"code":4001,"message":"","error":null}}',
    ],
)
def test_a_handshake_error_without_a_message_is_an_unknown_error(text: str) -> None:
    event = PusherSession().receive(text)
    assert isinstance(event, HandshakeFailed)
    assert event.message == "unknown error"


def test_an_error_code_that_is_not_an_int_is_no_code() -> None:
    event = PusherSession().receive('{"event":"pusher:error","data":{"code":"4001","message":"x"}}')
    assert event == HandshakeFailed(None, "x")


def test_a_server_error_naming_a_channel_that_is_not_a_string_names_none(
    session: PusherSession,
) -> None:
    event = session.receive(
        '{"event":"pusher:error","data":{"code":4301,"message":"m","channel":5}}'
    )
    assert event == ServerError(4301, "m", None)


def test_a_second_confirmation_of_a_subscribed_channel_is_reported(
    session: PusherSession,
) -> None:
    session.subscribe_frame("presence-room", "k:sig", '{"user_id":"1"}')
    assert isinstance(session.receive(succeeded("presence-room")), SubscriptionSucceeded)
    again = session.receive(succeeded("presence-room"))  # the server refreshes the members
    assert again == SubscriptionSucceeded("presence-room", {})
    assert session.is_subscribed("presence-room")


def test_a_subscription_error_with_text_data_is_its_message(session: PusherSession) -> None:
    session.subscribe_frame("private-a", auth="k:bad")
    event = session.receive(
        '{"event":"pusher:subscription_error","channel":"private-a","data":"denied"}'
    )
    assert event == SubscriptionFailed("private-a", None, None, "denied")
    assert not session.is_pending("private-a")


def test_a_subscription_error_carries_its_code(session: PusherSession) -> None:
    session.subscribe_frame("private-a", auth="k:bad")
    event = session.receive(
        '{"event":"pusher:subscription_error","channel":"private-a",'
        '"data":{"code":4009,"message":"Connection is unauthorized","status":401}}'
    )
    assert event == SubscriptionFailed("private-a", 4009, 401, "Connection is unauthorized")
