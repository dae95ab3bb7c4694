"""to_exception: every failure worded in one place, with its code, and no secrets."""

from __future__ import annotations

import pytest

from reverb import ConnectionError, ReverbError, SubscriptionError
from reverb.exceptions import SignInError
from reverb.protocol.failures import (
    AttemptsExhausted,
    ClosedBeforeEstablished,
    ConnectTimedOut,
    Failure,
    HandshakeTimedOut,
    SendFailed,
    SignInWithoutUser,
    SocketLost,
    SubscriptionTimedOut,
    describe_code,
    to_exception,
)
from reverb.protocol.session import HandshakeFailed, SignInFailed, SubscriptionFailed

CAUSE = ConnectionError("refused", code=4001)


@pytest.mark.parametrize(
    ("failure", "kind", "message", "code"),
    [
        (HandshakeFailed(4001, "App key k does not exist"), ConnectionError,
         "server refused the connection: App key k does not exist (4001)", 4001),
        (HandshakeFailed(None, "odd"), ConnectionError, "server refused the connection: odd", None),
        (SocketLost(4201), ConnectionError, "connection lost (code 4201)", 4201),
        (SocketLost(None), ConnectionError, "connection lost (no close frame)", None),
        (ClosedBeforeEstablished(1006), ConnectionError,
         "websocket closed before the connection was established (code 1006)", 1006),
        (HandshakeTimedOut(2.0), ConnectionError,
         "no pusher:connection_established within 2.0 s", None),
        (ConnectTimedOut("h:1", 5.0, CAUSE), ConnectionError,
         "not connected to h:1 within 5.0 s: refused", 4001),
        (ConnectTimedOut("h:1", 5.0, None), ConnectionError,
         "not connected to h:1 within 5.0 s", None),
        (AttemptsExhausted(3, CAUSE), ConnectionError,
         "gave up after 3 reconnect attempts: refused", 4001),
        (SendFailed(1001), ConnectionError, "connection closed while sending (code 1001)", 1001),
        (SubscriptionFailed("private-a", 4009, None, "Connection is unauthorized"),
         SubscriptionError,
         "server refused the subscription to 'private-a': Connection is unauthorized (code 4009)",
         4009),
        (SubscriptionTimedOut("orders", 0.5), SubscriptionError,
         "no answer to the subscription of 'orders' within 0.5 s", None),
        (SignInFailed(4200, "Invalid message format"), SignInError,
         "the server does not support user sign-in (pusher:signin was answered with "
         "4200 'Invalid message format'): Laravel Reverb has none; use Soketi with user "
         "authentication enabled, or hosted Pusher", 4200),
        (SignInFailed(4009, "Connection is unauthorized"), SignInError,
         "the server refused the sign-in (4009: Connection is unauthorized)", 4009),
        (SignInWithoutUser(), SignInError,
         "pusher:signin_success carried no user_data with an 'id'", None),
    ],
)  # fmt: skip
def test_each_failure_becomes_its_public_exception(
    failure: Failure, kind: type[ReverbError], message: str, code: int | None
) -> None:
    error = to_exception(failure)
    assert type(error) is kind
    assert str(error) == message
    assert getattr(error, "code", None) == code


def test_subscription_failures_name_their_channel_and_status() -> None:
    error = to_exception(SubscriptionFailed("private-a", None, 401, "bad"))
    assert (error.channel, error.status, error.code) == ("private-a", 401, None)
    assert to_exception(SubscriptionTimedOut("orders", 1.0)).channel == "orders"


def test_describe_code() -> None:
    assert describe_code(None) == "no close frame"
    assert describe_code(4200) == "code 4200"


def test_anything_else_is_refused() -> None:
    with pytest.raises(TypeError, match="not a failure"):
        to_exception(object())  # type: ignore[call-overload]


def test_a_cause_whose_code_is_not_an_int_lends_no_code() -> None:
    class OddError(ReverbError):
        code = "E_TIMEOUT"

    odd = OddError("odd")
    assert to_exception(ConnectTimedOut("h:1", 5.0, odd)).code is None
    assert to_exception(AttemptsExhausted(2, odd)).code is None


def test_a_subscription_refusal_without_a_code_mentions_none() -> None:
    error = to_exception(SubscriptionFailed("private-a", None, 401, "bad signature"))
    assert str(error) == "server refused the subscription to 'private-a': bad signature"
