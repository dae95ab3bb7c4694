"""Channel objects: state, waiters, handlers, presence bookkeeping."""

from __future__ import annotations

import json

import pytest

from reverb import (
    Event,
    PresenceChannel,
    PrivateChannel,
    PublicChannel,
    ReverbClient,
    SubscriptionError,
    SubscriptionState,
)

pytestmark = pytest.mark.usefixtures("receive_path")


@pytest.fixture
def client() -> ReverbClient:
    return ReverbClient(app_key="k", app_secret="s", host="h", scheme="http")


def test_repr_shows_name_state_and_members(client: ReverbClient) -> None:
    assert repr(PublicChannel("orders", client)) == "<PublicChannel 'orders' unsubscribed>"
    room = PresenceChannel("presence-r", client, {"user_id": "1"})
    assert repr(room) == "<PresenceChannel 'presence-r' unsubscribed members=0>"


async def test_waiters_resolve_on_success_and_fail_on_error(client: ReverbClient) -> None:
    channel = PrivateChannel("private-x", client)
    first, second = channel._wait_subscribed(), channel._wait_subscribed()
    channel._set_subscribed({})
    assert first.done()
    assert second.done()
    assert channel.subscribed
    assert channel._wait_subscribed().done()  # already subscribed: nothing to wait for
    channel._set_unsubscribed()
    waiter = channel._wait_subscribed()
    error = SubscriptionError("no", channel="private-x")
    channel._set_failed(error)
    assert waiter.exception() is error
    assert channel.state is SubscriptionState.FAILED
    assert channel.error is error


async def test_detach_fails_waiters_and_drops_handlers(client: ReverbClient) -> None:
    channel = PublicChannel("orders", client)
    channel.bind("E", print)
    waiter = channel._wait_subscribed()
    channel._detach(SubscriptionError("gone", channel="orders"))
    assert isinstance(waiter.exception(), SubscriptionError)
    assert len(channel._handlers) == 0


async def test_presence_me_comes_from_the_signed_channel_data(client: ReverbClient) -> None:
    room = PresenceChannel("presence-r", client, {"user_id": 7, "user_info": {"n": "x"}})
    payload = await room._subscribe("1.2")
    assert json.loads(payload["channel_data"]) == {"user_id": 7, "user_info": {"n": "x"}}
    room._set_subscribed({"presence": {"ids": [7], "hash": {"7": {"n": "x"}}}})
    assert room.me is not None
    assert room.me.user_id == "7"
    room._set_unsubscribed()
    assert len(room.members) == 0  # members are unknown while disconnected


async def test_handle_event_passes_transformed_data_on(client: ReverbClient) -> None:
    channel = PublicChannel("orders", client)
    seen: list[Event] = []
    channel.bind_global(seen.append)
    original = Event("E", "orders", "raw", "u")
    await channel._handle_event(original, {"decoded": True})
    assert seen == [Event("E", "orders", {"decoded": True}, "u")]
