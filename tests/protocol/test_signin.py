"""User sign-in in the core: the pusher:signin frame, what Soketi, hosted Pusher and Reverb answer,
re-sign-in on every socket, and the #server-to-user- subscription after each success.

No sockets and no event loop: assertions are on events and actions.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from reverb.exceptions import AuthenticationError, ConnectionError, SignInError
from reverb.protocol.actions import Action, Authorize, AuthorizeSignIn, SendFrame, SignedIn
from reverb.protocol.machine import ClientProtocol
from reverb.protocol.session import (
    Dropped,
    PusherSession,
    ServerError,
    SignInFailed,
    SignInSucceeded,
    SubscriptionFailed,
)
from reverb.protocol.subscriptions import Subscription, SubscriptionState

USER_DATA = '{"id":"7", "name":"Ann"}'  # odd spacing: sent byte for byte
REVERB_4200 = (
    r'{"event":"pusher:error","data":"{\"code\":4200,\"message\":\"Invalid message format\"}"}'
)
SOKETI_4009 = json.dumps(
    {"event": "pusher:error", "data": {"code": 4009, "message": "Connection not authorized."}}
)


def socket(socket_id: str = "1.1") -> PusherSession:
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


def soketi_success(user_data: str = USER_DATA) -> str:
    """Soketi echoes the signin data as an object."""
    return json.dumps(
        {"event": "pusher:signin_success", "data": {"auth": "k:s", "user_data": user_data}}
    )


def pusher_success(user_data: str = USER_DATA) -> str:
    """Hosted Pusher sends data as a JSON string."""
    return json.dumps(
        {"event": "pusher:signin_success", "data": json.dumps({"user_data": user_data})}
    )


def only(actions: list[Action], kind: type[Any]) -> list[Any]:
    return [action for action in actions if isinstance(action, kind)]


def feed(core: ClientProtocol, session: PusherSession, text: str) -> list[Action]:
    event = session.receive(text)
    assert event is not None
    return core.receive(event)


def settled_signin(actions: list[Action]) -> SignedIn:
    (signed,) = actions
    assert isinstance(signed, SignedIn)
    return signed


def ask(core: ClientProtocol) -> AuthorizeSignIn:
    (request,) = core.signin()
    assert isinstance(request, AuthorizeSignIn)
    return request


# -- the session -----------------------------------------------------------------------------------


def test_the_signin_frame_carries_auth_and_user_data_byte_for_byte() -> None:
    frame = json.loads(socket().signin_frame("key:sig", USER_DATA))
    assert frame == {"event": "pusher:signin", "data": {"auth": "key:sig", "user_data": USER_DATA}}


def test_no_signin_frame_before_the_handshake() -> None:
    with pytest.raises(ConnectionError):
        PusherSession().signin_frame("key:sig", USER_DATA)


@pytest.mark.parametrize("text", [soketi_success(), pusher_success()])
def test_signin_success_in_either_shape(text: str) -> None:
    session = socket()
    session.signin_frame("k:s", USER_DATA)
    assert session.receive(text) == SignInSucceeded(USER_DATA)


def test_signin_success_without_a_signin_is_dropped() -> None:
    assert isinstance(socket().receive(soketi_success()), Dropped)


def test_reverbs_4200_refuses_a_pending_signin() -> None:
    session = socket()
    session.signin_frame("k:s", USER_DATA)
    assert session.receive(REVERB_4200) == SignInFailed(4200, "Invalid message format")
    # Once answered, a later 4200 is an ordinary server error again.
    assert isinstance(session.receive(REVERB_4200), ServerError)


def test_a_4200_without_a_pending_signin_is_a_server_error() -> None:
    assert isinstance(socket().receive(REVERB_4200), ServerError)


def test_a_4009_refuses_the_signin_when_no_signed_subscribe_waits() -> None:
    session = socket()
    session.signin_frame("k:s", USER_DATA)
    assert session.receive(SOKETI_4009) == SignInFailed(4009, "Connection not authorized.")


def test_a_4009_goes_to_a_waiting_signed_subscribe_first() -> None:
    session = socket()
    session.subscribe_frame("private-a", "k:s")
    session.signin_frame("k:s", USER_DATA)
    assert isinstance(session.receive(SOKETI_4009), SubscriptionFailed)


def test_closing_forgets_a_pending_signin() -> None:
    session = socket()
    session.signin_frame("k:s", USER_DATA)
    session.close()
    assert isinstance(session.receive(soketi_success()), Dropped)
    # An error still read off the closing socket is no sign-in refusal any more.
    assert isinstance(session.receive(REVERB_4200), ServerError)


def test_once_answered_the_signin_is_no_longer_awaited() -> None:
    session = socket()
    session.signin_frame("k:s", USER_DATA)
    assert session.receive(soketi_success()) == SignInSucceeded(USER_DATA)
    assert isinstance(session.receive(soketi_success()), Dropped)
    assert isinstance(session.receive(REVERB_4200), ServerError)


# -- the core --------------------------------------------------------------------------------------


def signed_in_core(session: PusherSession) -> tuple[ClientProtocol, Subscription]:
    core = ClientProtocol()
    core.established(session)
    request = ask(core)
    core.signin_authorized(request.attempt, "k:s", USER_DATA)
    signed = settled_signin(feed(core, session, soketi_success()))
    assert signed == SignedIn("7", {"id": "7", "name": "Ann"})
    user = Subscription("#server-to-user-7")
    (authorize,) = core.set_user(user)
    assert isinstance(authorize, Authorize)
    assert authorize.subscription is user
    return core, user


def test_signin_waits_for_a_socket_then_asks_for_a_token() -> None:
    core = ClientProtocol()
    assert core.signin() == []
    (request,) = core.established(socket("3.4"))
    assert isinstance(request, AuthorizeSignIn)
    assert request.socket_id == "3.4"


def test_the_token_becomes_the_signin_frame() -> None:
    core = ClientProtocol()
    core.established(socket())
    request = ask(core)
    (send,) = core.signin_authorized(request.attempt, "k:s", USER_DATA)
    assert isinstance(send, SendFrame)
    assert json.loads(send.text) == {
        "event": "pusher:signin",
        "data": {"auth": "k:s", "user_data": USER_DATA},
    }


def test_a_stale_token_is_ignored() -> None:
    core = ClientProtocol()
    core.established(socket("1.1"))
    old = ask(core)
    core.lost()
    (new,) = core.established(socket("2.2"))
    assert isinstance(new, AuthorizeSignIn)
    assert core.signin_authorized(old.attempt, "k:s", USER_DATA) == []
    assert core.signin_failed(old.attempt, AuthenticationError("x")) == []
    assert len(core.signin_authorized(new.attempt, "k:s", USER_DATA)) == 1


def test_a_token_after_the_socket_closed_is_ignored() -> None:
    # The session is closed before the core hears of the loss: the token has nowhere to go.
    core = ClientProtocol()
    session = socket()
    core.established(session)
    request = ask(core)
    session.close()
    assert core.signin_authorized(request.attempt, "k:s", USER_DATA) == []
    assert core.signin_failed(request.attempt, SignInError("401")) == []


def test_a_subscriptions_attempt_is_no_signin_token() -> None:
    # Attempt numbers come from one counter; nothing passes for a sign-in never asked for.
    core = ClientProtocol()
    core.add(Subscription("orders"))
    (authorize,) = core.established(socket())
    assert isinstance(authorize, Authorize)
    assert core.signin_authorized(authorize.attempt, "k:s", USER_DATA) == []
    assert core.signin_failed(authorize.attempt, SignInError("401")) == []
    assert core.signin_authorized(0, "k:s", USER_DATA) == []  # a fresh record's attempt


def test_a_failed_token_settles_the_signin_with_its_error() -> None:
    core = ClientProtocol()
    core.established(socket())
    request = ask(core)
    error = SignInError("401")
    assert core.signin_failed(request.attempt, error) == [SignedIn(None, None, error)]


def test_reverb_refusal_explains_and_stops_asking() -> None:
    core = ClientProtocol()
    session = socket()
    core.established(session)
    request = ask(core)
    core.signin_authorized(request.attempt, "k:s", USER_DATA)
    signed = settled_signin(feed(core, session, REVERB_4200))
    assert isinstance(signed.error, SignInError)
    assert signed.error.code == 4200
    assert "does not support user sign-in" in str(signed.error)
    assert "Reverb" in str(signed.error)
    core.lost()
    assert core.established(socket("2.2")) == []  # not asked again


def test_a_refused_signature_is_a_sign_in_error_with_the_code() -> None:
    core = ClientProtocol()
    session = socket()
    core.established(session)
    request = ask(core)
    core.signin_authorized(request.attempt, "k:s", USER_DATA)
    signed = settled_signin(feed(core, session, SOKETI_4009))
    assert isinstance(signed.error, SignInError)
    assert signed.error.code == 4009
    assert "refused" in str(signed.error)


@pytest.mark.parametrize("user_data", ['{"name":"x"}', "not json", '{"id":""}', '{"id":true}'])
def test_a_success_without_an_id_is_an_error(user_data: str) -> None:
    core = ClientProtocol()
    session = socket()
    core.established(session)
    request = ask(core)
    core.signin_authorized(request.attempt, "k:s", user_data)
    signed = settled_signin(feed(core, session, soketi_success(user_data)))
    assert isinstance(signed.error, SignInError)
    assert "'id'" in str(signed.error)


def test_a_numeric_id_becomes_a_string() -> None:
    core = ClientProtocol()
    session = socket()
    core.established(session)
    request = ask(core)
    core.signin_authorized(request.attempt, "k:s", '{"id":7}')
    signed = settled_signin(feed(core, session, soketi_success('{"id":7}')))
    assert signed.user_id == "7"


def test_after_a_reconnect_sign_in_comes_first_and_the_user_channel_waits_for_it() -> None:
    core, user = signed_in_core(socket("1.1"))
    orders = Subscription("orders")
    core.add(orders)
    core.lost()
    session = socket("2.2")
    actions = core.established(session)
    assert isinstance(actions[0], AuthorizeSignIn)
    assert [a.subscription for a in only(actions, Authorize)] == [orders]  # not the user's yet
    assert user.state is SubscriptionState.UNSUBSCRIBED
    core.signin_authorized(actions[0].attempt, "k:s", USER_DATA)
    feed(core, session, soketi_success())
    (again,) = core.set_user(user)
    assert isinstance(again, Authorize)
    assert again.subscription is user
    assert again.socket_id == "2.2"


def test_another_user_replaces_the_previous_users_channel() -> None:
    session = socket()
    core, old = signed_in_core(session)
    payload = {"channel": old.name}
    (subscribe,) = core.authorized(old, old.attempt, payload)
    assert isinstance(subscribe, SendFrame)
    confirmed = json.dumps({"event": "pusher_internal:subscription_succeeded", "channel": old.name})
    feed(core, session, confirmed)
    assert old.state is SubscriptionState.SUBSCRIBED
    new = Subscription("#server-to-user-8")
    actions = core.set_user(new)
    unsubscribes = [json.loads(a.text) for a in only(actions, SendFrame)]
    assert unsubscribes == [{"event": "pusher:unsubscribe", "data": {"channel": old.name}}]
    assert core.get(old.name) is None
    assert core.user is new
    assert [a.subscription for a in only(actions, Authorize)] == [new]
