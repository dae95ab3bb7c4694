"""ClientProtocol: subscriptions across sockets, fed frames as Reverb and Soketi send them.

No sockets and no event loop: a socket is a PusherSession fed its handshake text, and every
assertion is on the actions the core returns.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from reverb import ClientEventError, Event, SubscriptionError
from reverb.exceptions import AuthenticationError
from reverb.protocol.actions import Action, Authorize, Deliver, Dropped, SendFrame, Settled
from reverb.protocol.machine import ClientProtocol
from reverb.protocol.names import ChannelKind
from reverb.protocol.presence import Member, Members
from reverb.protocol.session import PusherSession
from reverb.protocol.subscriptions import Subscription, SubscriptionState

REVERB_UNAUTHORIZED = (
    r'{"event":"pusher:error","data":"{\"code\":4009,\"message\":\"Connection is unauthorized\"}"}'
)


def socket(socket_id: str = "1.1") -> PusherSession:
    """A session past a Reverb handshake."""
    session = PusherSession()
    session.receive(
        json.dumps(
            {
                "event": "pusher:connection_established",
                "data": json.dumps({"socket_id": socket_id, "activity_timeout": 30}),
            }
        )
    )
    return session


def server_frame(event: str, channel: str | None, data: Any) -> str:
    frame: dict[str, Any] = {"event": event, "data": json.dumps(data)}
    if channel is not None:
        frame["channel"] = channel
    return json.dumps(frame)


def frames(actions: list[Action]) -> list[dict[str, Any]]:
    return [json.loads(action.text) for action in actions if isinstance(action, SendFrame)]


def delivered(actions: list[Action]) -> list[Event]:
    return [action.event for action in actions if isinstance(action, Deliver)]


def settled(actions: list[Action]) -> list[Settled]:
    return [action for action in actions if isinstance(action, Settled)]


def only_authorize(actions: list[Action]) -> Authorize:
    assert len(actions) == 1
    assert isinstance(actions[0], Authorize)
    return actions[0]


class Harness:
    """A core with one established socket, and helpers that play the asyncio layer's part."""

    def __init__(self) -> None:
        self.core = ClientProtocol()
        self.session = socket("1.1")
        assert self.core.established(self.session) == []

    def add(
        self, name: str, user_data: dict[str, Any] | None = None
    ) -> tuple[Subscription, Authorize]:
        subscription = Subscription(name, user_data)
        return subscription, only_authorize(self.core.add(subscription))

    def subscribe(self, name: str, payload: dict[str, str] | None = None) -> Subscription:
        """Add, authorize and send the subscribe of ``name`` (not yet confirmed)."""
        subscription, request = self.add(name)
        sent = self.core.authorized(subscription, request.attempt, payload or {})
        assert frames(sent)[0]["event"] == "pusher:subscribe"
        return subscription

    def feed(self, text: str) -> list[Action]:
        event = self.session.receive(text)
        assert event is not None
        return self.core.receive(event)

    def confirm(self, name: str, data: Any = None) -> list[Action]:
        payload = {} if data is None else data
        return self.feed(server_frame("pusher_internal:subscription_succeeded", name, payload))


@pytest.fixture
def harness() -> Harness:
    return Harness()


# -- subscribing ----------------------------------------------------------------------------------


def test_adding_asks_for_an_authorization_for_the_current_socket(harness: Harness) -> None:
    subscription, request = harness.add("private-orders")
    assert request.subscription is subscription
    assert request.socket_id == "1.1"
    assert request.attempt == subscription.attempt
    assert subscription.state is SubscriptionState.PENDING
    assert harness.core.get("private-orders") is subscription
    assert len(harness.core) == 1


def test_an_authorized_subscribe_is_sent_with_auth_and_channel_data_byte_for_byte(
    harness: Harness,
) -> None:
    subscription, request = harness.add("presence-room")
    channel_data = '{"user_id":"7",  "user_info":{"n":"x"}}'
    actions = harness.core.authorized(
        subscription, request.attempt, {"auth": "k:sig", "channel_data": channel_data}
    )
    assert frames(actions) == [
        {
            "event": "pusher:subscribe",
            "data": {"channel": "presence-room", "auth": "k:sig", "channel_data": channel_data},
        }
    ]
    assert harness.session.is_pending("presence-room")
    assert subscription.members.me_id == "7"


def test_a_public_subscribe_carries_only_the_channel(harness: Harness) -> None:
    subscription, request = harness.add("orders")
    sent = frames(harness.core.authorized(subscription, request.attempt, {"channel": "orders"}))
    assert sent == [{"event": "pusher:subscribe", "data": {"channel": "orders"}}]


def test_confirmation_settles_and_delivers_subscription_succeeded(harness: Harness) -> None:
    subscription = harness.subscribe("orders")
    actions = harness.confirm("orders")
    assert settled(actions) == [Settled("orders", None)]
    assert delivered(actions) == [Event("pusher:subscription_succeeded", "orders", {})]
    assert subscription.state is SubscriptionState.SUBSCRIBED


def test_adding_without_a_socket_waits_for_the_next_one() -> None:
    core = ClientProtocol()
    subscription = Subscription("orders")
    assert core.add(subscription) == []
    assert subscription.state is SubscriptionState.UNSUBSCRIBED
    request = only_authorize(core.established(socket("2.2")))
    assert (request.subscription, request.socket_id) == (subscription, "2.2")


def test_adding_a_second_record_under_one_name_is_refused(harness: Harness) -> None:
    harness.add("orders")
    with pytest.raises(ValueError, match="already registered"):
        harness.core.add(Subscription("orders"))


def test_request_retries_a_failed_subscription_but_not_a_pending_one(harness: Harness) -> None:
    subscription, request = harness.add("private-a")
    assert harness.core.request(subscription) == []  # pending: nothing more to do
    harness.core.authorization_failed(subscription, request.attempt, AuthenticationError("no"))
    assert subscription.state is SubscriptionState.FAILED
    retry = only_authorize(harness.core.request(subscription))
    assert retry.attempt != request.attempt
    assert harness.core.request(Subscription("unregistered")) == []


# -- refusals -------------------------------------------------------------------------------------


def test_an_authorization_failure_fails_the_subscription_with_that_error(harness: Harness) -> None:
    subscription, request = harness.add("private-a")
    error = AuthenticationError("nope", channel="private-a")
    actions = harness.core.authorization_failed(subscription, request.attempt, error)
    assert settled(actions) == [Settled("private-a", error)]
    assert delivered(actions) == [
        Event(
            "pusher:subscription_error",
            "private-a",
            {"type": "AuthenticationError", "error": "nope", "code": None},
        )
    ]
    assert subscription.state is SubscriptionState.FAILED
    assert subscription.error is error
    assert frames(actions) == []


def test_reverb_4009_refuses_the_oldest_signed_pending_subscription(harness: Harness) -> None:
    public = harness.subscribe("orders")
    first = harness.subscribe("private-a", {"auth": "k:a"})
    second = harness.subscribe("private-b", {"auth": "k:b"})
    actions = harness.feed(REVERB_UNAUTHORIZED)
    [refusal] = settled(actions)
    assert refusal.channel == "private-a"
    assert isinstance(refusal.error, SubscriptionError)
    assert refusal.error.code == 4009
    assert "Connection is unauthorized" in str(refusal.error)
    assert (public.state, first.state, second.state) == (
        SubscriptionState.PENDING,
        SubscriptionState.FAILED,
        SubscriptionState.PENDING,
    )
    assert delivered(actions)[0].data["code"] == 4009


def test_soketi_subscription_error_carries_status(harness: Harness) -> None:
    subscription = harness.subscribe("private-a", {"auth": "k:bad"})
    text = json.dumps(
        {
            "event": "pusher:subscription_error",
            "channel": "private-a",
            "data": {"type": "AuthError", "error": "bad sig", "status": 401},
        }
    )
    [refusal] = settled(harness.feed(text))
    assert isinstance(refusal.error, SubscriptionError)
    assert (refusal.error.status, refusal.error.channel) == (401, "private-a")
    assert subscription.error is refusal.error


def test_a_refusal_of_a_subscribed_channel_is_dropped_not_applied(harness: Harness) -> None:
    subscription = harness.subscribe("private-a", {"auth": "k:a"})
    harness.confirm("private-a")
    text = json.dumps(
        {"event": "pusher:subscription_error", "channel": "private-a", "data": {"status": 401}}
    )
    actions = harness.feed(text)
    assert len(actions) == 1
    assert isinstance(actions[0], Dropped)
    assert subscription.state is SubscriptionState.SUBSCRIBED


def test_a_refusal_of_an_unknown_channel_is_ignored(harness: Harness) -> None:
    harness.session.subscribe_frame("private-ghost", "k:x")
    text = json.dumps(
        {"event": "pusher:subscription_error", "channel": "private-ghost", "data": {}}
    )
    assert harness.feed(text) == []


def test_fail_refuses_a_pending_subscription_once(harness: Harness) -> None:
    subscription = harness.subscribe("private-a", {"auth": "k:a"})
    error = SubscriptionError("timed out", channel="private-a")
    assert settled(harness.core.fail(subscription, error)) == [Settled("private-a", error)]
    assert not harness.session.is_pending("private-a")  # a late 4009 cannot match it
    assert harness.core.fail(subscription, error) == []


# -- sockets --------------------------------------------------------------------------------------


def test_a_new_socket_reauthorizes_everything_in_registration_order(harness: Harness) -> None:
    names = ["orders", "private-a", "presence-b", "cache-c"]
    records = [harness.subscribe(name) for name in names]
    for name in names:
        harness.confirm(name)
    harness.core.lost()
    assert {record.state for record in records} == {SubscriptionState.UNSUBSCRIBED}
    assert harness.core.socket_id is None
    actions = harness.core.established(socket("9.9"))
    assert [a.subscription.name for a in actions if isinstance(a, Authorize)] == names
    assert {a.socket_id for a in actions if isinstance(a, Authorize)} == {"9.9"}
    assert {record.state for record in records} == {SubscriptionState.PENDING}
    assert harness.core.socket_id == "9.9"


def test_a_failed_subscription_stays_failed_while_disconnected_and_retries_after(
    harness: Harness,
) -> None:
    subscription, request = harness.add("private-a")
    harness.core.authorization_failed(subscription, request.attempt, AuthenticationError("x"))
    harness.core.lost()
    assert subscription.state is SubscriptionState.FAILED
    assert only_authorize(harness.core.established(socket("2.2"))).subscription is subscription


def test_an_authorization_for_an_older_socket_is_ignored(harness: Harness) -> None:
    subscription, old = harness.add("private-a")
    harness.core.lost()
    new = only_authorize(harness.core.established(socket("2.2")))
    assert harness.core.authorized(subscription, old.attempt, {"auth": "k:old"}) == []
    assert (
        harness.core.authorization_failed(subscription, old.attempt, AuthenticationError("x")) == []
    )
    assert subscription.state is SubscriptionState.PENDING
    assert frames(harness.core.authorized(subscription, new.attempt, {"auth": "k:new"}))


def test_an_authorization_after_the_socket_closed_is_ignored(harness: Harness) -> None:
    subscription, request = harness.add("private-a")
    harness.core.lost()
    assert harness.core.authorized(subscription, request.attempt, {"auth": "k:a"}) == []


def test_an_authorization_for_a_record_since_replaced_is_ignored(harness: Harness) -> None:
    old, request = harness.add("private-a")
    harness.core.remove(old)
    new, _ = harness.add("private-a")
    assert harness.core.authorized(old, request.attempt, {"auth": "k:a"}) == []
    assert new.state is SubscriptionState.PENDING


# -- leaving --------------------------------------------------------------------------------------


def test_removing_a_subscription_on_the_server_sends_unsubscribe(harness: Harness) -> None:
    subscription = harness.subscribe("orders")
    harness.confirm("orders")
    actions = harness.core.remove(subscription)
    assert frames(actions) == [{"event": "pusher:unsubscribe", "data": {"channel": "orders"}}]
    assert harness.core.get("orders") is None
    assert subscription.state is SubscriptionState.UNSUBSCRIBED
    assert not harness.session.is_subscribed("orders")


def test_removing_a_failed_or_offline_subscription_sends_nothing(harness: Harness) -> None:
    subscription, request = harness.add("private-a")
    harness.core.authorization_failed(subscription, request.attempt, AuthenticationError("x"))
    assert harness.core.remove(subscription) == []
    offline = Subscription("orders")
    core = ClientProtocol()
    core.add(offline)
    assert core.remove(offline) == []


def test_a_confirmation_after_leaving_is_ignored(harness: Harness) -> None:
    subscription = harness.subscribe("orders")
    harness.core.remove(subscription)
    actions = harness.confirm("orders")  # the session forgot it too
    assert [type(action) for action in actions] == [Dropped]
    assert subscription.state is SubscriptionState.UNSUBSCRIBED


# -- presence -------------------------------------------------------------------------------------


def presence_data(members: dict[str, Any]) -> dict[str, Any]:
    return {"presence": {"count": len(members), "ids": list(members), "hash": members}}


def joined(harness: Harness) -> Subscription:
    subscription, request = harness.add("presence-room")
    harness.core.authorized(
        subscription, request.attempt, {"auth": "k:s", "channel_data": '{"user_id":"me"}'}
    )
    harness.confirm("presence-room", presence_data({"me": None, "1": {"n": "Ann"}}))
    return subscription


def test_presence_members_come_from_subscription_succeeded_with_me(harness: Harness) -> None:
    subscription = joined(harness)
    assert dict(subscription.members) == {"me": None, "1": {"n": "Ann"}}
    assert subscription.members.me == Member("me", None)


def test_subscription_succeeded_hands_handlers_a_snapshot(harness: Harness) -> None:
    subscription, request = harness.add("presence-room")
    harness.core.authorized(subscription, request.attempt, {"auth": "k:s"})
    actions = harness.confirm("presence-room", presence_data({"1": None}))
    [event] = delivered(actions)
    assert isinstance(event.data, Members)
    assert dict(event.data) == {"1": None}
    harness.feed(server_frame("pusher_internal:member_added", "presence-room", {"user_id": "2"}))
    assert dict(event.data) == {"1": None}  # the snapshot did not change
    assert event.data is not subscription.members
    assert "2" in subscription.members


def test_member_added_updates_members_before_delivering(harness: Harness) -> None:
    subscription = joined(harness)
    added = {"user_id": 2, "user_info": {"n": "Bob"}}
    actions = harness.feed(server_frame("pusher_internal:member_added", "presence-room", added))
    assert delivered(actions) == [
        Event("pusher:member_added", "presence-room", Member("2", {"n": "Bob"}))
    ]
    assert subscription.members["2"] == {"n": "Bob"}
    again = harness.feed(server_frame("pusher_internal:member_added", "presence-room", added))
    assert again == []  # a second connection of the same user is not news


def test_member_removed_delivers_the_removed_member_once(harness: Harness) -> None:
    subscription = joined(harness)
    removed = server_frame("pusher_internal:member_removed", "presence-room", {"user_id": "1"})
    assert delivered(harness.feed(removed)) == [
        Event("pusher:member_removed", "presence-room", Member("1", {"n": "Ann"}))
    ]
    assert "1" not in subscription.members
    assert harness.feed(removed) == []


def test_member_events_for_channels_not_subscribed_change_nothing(harness: Harness) -> None:
    subscription, _ = harness.add("presence-room")  # pending, not yet confirmed
    added = server_frame("pusher_internal:member_added", "presence-room", {"user_id": "2"})
    assert harness.feed(added) == []
    assert len(subscription.members) == 0
    public = harness.subscribe("orders")
    harness.confirm("orders")
    assert (
        harness.feed(server_frame("pusher_internal:member_added", "orders", {"user_id": "2"})) == []
    )
    assert public.kind is ChannelKind.PUBLIC


def test_losing_the_socket_clears_presence_members(harness: Harness) -> None:
    subscription = joined(harness)
    harness.core.lost()
    assert len(subscription.members) == 0
    assert subscription.members.me is None


# -- other frames ---------------------------------------------------------------------------------


def test_channel_events_are_delivered_as_they_are(harness: Harness) -> None:
    event = Event("OrderShipped", "orders", {"id": 1})
    assert harness.core.receive(event) == [Deliver(event)]


def test_server_errors_are_delivered_as_pusher_error_events(harness: Harness) -> None:
    text = r'{"event":"pusher:error","data":"{\"code\":4301,\"message\":\"slow down\"}"}'
    assert delivered(harness.feed(text)) == [
        Event("pusher:error", None, {"code": 4301, "message": "slow down"})
    ]


def test_dropped_frames_are_passed_on_to_be_counted(harness: Harness) -> None:
    actions = harness.feed("not json")
    assert len(actions) == 1
    assert isinstance(actions[0], Dropped)


# -- client events --------------------------------------------------------------------------------


@pytest.fixture
def chat(harness: Harness) -> Subscription:
    subscription = harness.subscribe("private-chat", {"auth": "k:c"})
    harness.confirm("private-chat")
    return subscription


def test_client_event_frame_on_a_subscribed_private_channel(
    harness: Harness, chat: Subscription
) -> None:
    frame = harness.core.client_event_frame(chat, "client-typing", {"u": 1}, 10_000)
    assert json.loads(frame) == {
        "event": "client-typing",
        "channel": "private-chat",
        "data": {"u": 1},
    }
    none = harness.core.client_event_frame(chat, "client-typing", None, 10_000)
    assert json.loads(none)["data"] == {}


@pytest.mark.parametrize(
    ("event", "data", "message"),
    [
        ("typing", {}, "client-"),
        ("client-x", "text", "JSON object or array"),
        ("client-x", {"n": object()}, "not JSON-serializable"),
        ("client-x", {"s": "\udcff"}, "not valid Unicode"),
        ("client-x", {"big": "x" * 200}, "max_message_size is 100"),
    ],
)
def test_client_events_that_break_the_rules_are_refused(
    harness: Harness, chat: Subscription, event: str, data: Any, message: str
) -> None:
    with pytest.raises(ClientEventError, match=message):
        harness.core.client_event_frame(chat, event, data, 100)


def test_client_events_need_a_private_or_presence_channel(harness: Harness) -> None:
    public = harness.subscribe("orders")
    harness.confirm("orders")
    with pytest.raises(ClientEventError, match="only allowed on private and presence"):
        harness.core.client_event_frame(public, "client-x", {}, 10_000)


def test_client_events_need_a_confirmed_registered_subscription(
    harness: Harness, chat: Subscription
) -> None:
    pending = harness.subscribe("private-later", {"auth": "k:l"})
    with pytest.raises(ClientEventError, match=r"not subscribed to 'private-later' \(pending\)"):
        harness.core.client_event_frame(pending, "client-x", {}, 10_000)
    stranger = Subscription("private-chat")  # same name, not the registered record
    with pytest.raises(ClientEventError, match="not subscribed"):
        harness.core.client_event_frame(stranger, "client-x", {}, 10_000)
    harness.core.lost()
    with pytest.raises(ClientEventError, match="not subscribed"):
        harness.core.client_event_frame(chat, "client-x", {}, 10_000)


def test_repr_shows_socket_and_count(harness: Harness) -> None:
    harness.add("orders")
    assert repr(harness.core) == "<ClientProtocol socket_id='1.1' subscriptions=1>"
    assert [record.name for record in harness.core] == ["orders"]


# -- decisions a mutation run found unpinned (docs/mutation-testing.md) ---------------------------


def test_a_new_socket_takes_over_records_even_without_a_reported_loss(harness: Harness) -> None:
    room = joined(harness)
    pending, old = harness.add("private-b")
    actions = harness.core.established(socket("3.3"))
    requests = [action for action in actions if isinstance(action, Authorize)]
    assert [(r.subscription, r.socket_id) for r in requests] == [(room, "3.3"), (pending, "3.3")]
    assert requests[1].attempt != old.attempt
    assert (room.state, pending.state) == (SubscriptionState.PENDING, SubscriptionState.PENDING)
    assert len(room.members) == 0  # the old socket's members are gone with it


def test_an_authorization_for_a_record_this_core_does_not_hold_is_ignored(
    harness: Harness,
) -> None:
    own, request = harness.add("private-a")
    elsewhere = ClientProtocol()
    elsewhere.established(socket("5.5"))
    stranger = Subscription("private-a")
    stranger_request = only_authorize(elsewhere.add(stranger))
    assert stranger_request.attempt == request.attempt  # attempts alone do not tell them apart
    assert harness.core.authorized(stranger, request.attempt, {"auth": "k:x"}) == []
    error = AuthenticationError("x")
    assert harness.core.authorization_failed(stranger, request.attempt, error) == []
    assert (own.state, stranger.state) == (SubscriptionState.PENDING, SubscriptionState.PENDING)
    assert not harness.session.is_pending("private-a")


def test_a_server_error_naming_a_channel_is_delivered_on_that_channel(
    harness: Harness, chat: Subscription
) -> None:
    text = json.dumps(
        {
            "event": "pusher:error",
            "channel": "private-chat",
            "data": {"code": 4301, "message": "slow down"},
        }
    )
    assert delivered(harness.feed(text)) == [
        Event("pusher:error", "private-chat", {"code": 4301, "message": "slow down"})
    ]
    assert chat.state is SubscriptionState.SUBSCRIBED


def test_a_confirmation_of_a_channel_nobody_registered_is_ignored(harness: Harness) -> None:
    harness.session.subscribe_frame("orders")  # the session awaits it; the registry holds nothing
    assert harness.confirm("orders") == []
    assert harness.core.get("orders") is None


def test_a_client_event_frame_of_exactly_max_size_bytes_is_allowed(
    harness: Harness, chat: Subscription
) -> None:
    frame = harness.core.client_event_frame(chat, "client-x", {"s": "é"}, 10_000)
    size = len(frame.encode())  # bytes, not characters: é is two
    assert size == len(frame) + 1
    assert harness.core.client_event_frame(chat, "client-x", {"s": "é"}, size) == frame
    with pytest.raises(ClientEventError, match=f"frame is {size} bytes"):
        harness.core.client_event_frame(chat, "client-x", {"s": "é"}, size - 1)
