"""The subscription state table, tested as a table: every pair, allowed or not."""

from __future__ import annotations

import pytest

from reverb import ReverbError, SubscriptionError
from reverb.protocol.names import ChannelKind
from reverb.protocol.state import InvalidTransition
from reverb.protocol.subscriptions import (
    Subscription,
    SubscriptionState,
    Trigger,
    allowed_triggers,
    presence_user_id,
)

S = SubscriptionState
T = Trigger

EXPECTED = {
    (S.UNSUBSCRIBED, T.REQUESTED): S.PENDING,
    (S.FAILED, T.REQUESTED): S.PENDING,
    (S.PENDING, T.CONFIRMED): S.SUBSCRIBED,
    (S.SUBSCRIBED, T.CONFIRMED): S.SUBSCRIBED,
    (S.PENDING, T.REFUSED): S.FAILED,
    (S.UNSUBSCRIBED, T.SOCKET_LOST): S.UNSUBSCRIBED,
    (S.PENDING, T.SOCKET_LOST): S.UNSUBSCRIBED,
    (S.SUBSCRIBED, T.SOCKET_LOST): S.UNSUBSCRIBED,
    (S.FAILED, T.SOCKET_LOST): S.FAILED,
    **{(state, T.LEFT): S.UNSUBSCRIBED for state in S},
}


def in_state(state: SubscriptionState, name: str = "orders") -> Subscription:
    subscription = Subscription(name)
    subscription.state = state
    return subscription


@pytest.mark.parametrize("state", list(S))
@pytest.mark.parametrize("trigger", list(T))
def test_every_pair_moves_as_the_table_says_or_raises(
    state: SubscriptionState, trigger: Trigger
) -> None:
    subscription = in_state(state)
    expected = EXPECTED.get((state, trigger))
    assert subscription.accepts(trigger) is (expected is not None)
    assert (trigger in allowed_triggers(state)) is (expected is not None)
    if expected is None:
        with pytest.raises(InvalidTransition, match=f"cannot take '{trigger.value}' while {state}"):
            subscription.apply(trigger)
        assert subscription.state is state
    else:
        assert subscription.apply(trigger) is expected
        assert subscription.state is expected


def test_invalid_transition_is_a_reverb_error_and_a_runtime_error() -> None:
    assert issubclass(InvalidTransition, ReverbError)
    assert issubclass(InvalidTransition, RuntimeError)


def test_refusal_records_the_error_and_confirmation_clears_it() -> None:
    subscription = in_state(S.PENDING)
    error = SubscriptionError("no", channel="orders")
    subscription.apply(T.REFUSED, error=error)
    assert subscription.error is error
    subscription.apply(T.REQUESTED)
    assert subscription.error is error  # kept until the next answer
    subscription.apply(T.CONFIRMED)
    assert subscription.error is None


def test_presence_members_live_only_while_subscribed() -> None:
    room = Subscription("presence-room", {"user_id": "7"})
    assert room.kind is ChannelKind.PRESENCE
    assert room.user_data == {"user_id": "7"}
    room.note_channel_data('{"user_id":7}')
    room.apply(T.REQUESTED)
    room.apply(T.CONFIRMED, data={"presence": {"ids": ["1"], "hash": {"1": {"n": "a"}}}})
    assert dict(room.members) == {"1": {"n": "a"}, "7": None}
    assert room.members.me is not None
    assert room.members.me.user_id == "7"
    room.apply(T.CONFIRMED, data={"presence": {"ids": ["2"], "hash": {"2": None}}})
    assert dict(room.members) == {"2": None, "7": None}  # a second confirmation refreshes
    room.apply(T.SOCKET_LOST)
    assert len(room.members) == 0
    assert room.members.me_id == "7"  # still known for the next socket


def test_members_are_untouched_for_other_kinds() -> None:
    orders = Subscription("orders")
    orders.apply(T.REQUESTED)
    orders.apply(T.CONFIRMED, data={"presence": {"ids": ["1"], "hash": {"1": None}}})
    assert len(orders.members) == 0
    orders.note_channel_data('{"user_id":1}')
    assert orders.members.me_id is None


def test_the_class_kind_wins_over_the_name() -> None:
    custom = Subscription("private-encrypted-x", kind=ChannelKind.PRIVATE)
    assert custom.kind is ChannelKind.PRIVATE
    assert Subscription("private-encrypted-x").kind is ChannelKind.ENCRYPTED


@pytest.mark.parametrize(
    ("channel_data", "expected"),
    [('{"user_id":7}', "7"), ('{"user_id":"a"}', "a"), ("{}", None), ("[1]", None), ("x", None)],
)
def test_presence_user_id(channel_data: str, expected: str | None) -> None:
    assert presence_user_id(channel_data) == expected


def test_repr() -> None:
    assert repr(Subscription("orders")) == "<Subscription 'orders' unsubscribed>"


def test_a_new_record_is_unsubscribed_without_error_or_attempt() -> None:
    fresh = Subscription("private-a")
    assert fresh.state is S.UNSUBSCRIBED
    assert fresh.error is None  # Channel.error reads it: None until a refusal
    assert fresh.attempt == 0  # no authorization asked yet
    assert fresh.user_data is None
    assert len(fresh.members) == 0
