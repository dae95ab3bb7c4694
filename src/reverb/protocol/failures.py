"""What went wrong, as data, and the one function that turns it into a public exception.

The core and the asyncio layer describe failures with these small records; only
:func:`to_exception` builds the :mod:`reverb.exceptions` users see, so every message and
``code`` is worded in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import overload

from ..exceptions import ConnectionError, ReverbError, SignInError, SubscriptionError
from .session import HandshakeFailed, SignInFailed, SubscriptionFailed

__all__ = [
    "AttemptsExhausted",
    "ClosedBeforeEstablished",
    "ConnectTimedOut",
    "ConnectionFailure",
    "Failure",
    "HandshakeTimedOut",
    "SendFailed",
    "SignInWithoutUser",
    "SocketLost",
    "SubscriptionTimedOut",
    "describe_code",
    "to_exception",
]


def describe_code(code: int | None) -> str:
    """``"code 4200"``, or ``"no close frame"`` when the socket ended without one."""
    return "no close frame" if code is None else f"code {code}"


@dataclass(frozen=True, slots=True)
class SocketLost:
    """An established socket ended (``code`` as the close code, 4201 for a missed pong)."""

    code: int | None


@dataclass(frozen=True, slots=True)
class ClosedBeforeEstablished:
    """The websocket closed before ``pusher:connection_established``."""

    code: int | None


@dataclass(frozen=True, slots=True)
class HandshakeTimedOut:
    """The websocket opened but the server never established the Pusher connection."""

    seconds: float


@dataclass(frozen=True, slots=True)
class ConnectTimedOut:
    """``connect()`` ran out of time; ``cause`` is the last attempt's failure, if any."""

    address: str
    seconds: float
    cause: ReverbError | None


@dataclass(frozen=True, slots=True)
class AttemptsExhausted:
    """Reconnect attempts were exhausted; ``last`` is the final attempt's failure."""

    attempts: int
    last: ReverbError | None


@dataclass(frozen=True, slots=True)
class SendFailed:
    """The socket closed while a frame was being sent."""

    code: int | None


@dataclass(frozen=True, slots=True)
class SignInWithoutUser:
    """``pusher:signin_success`` named no user id."""


@dataclass(frozen=True, slots=True)
class SubscriptionTimedOut:
    """The server answered a subscription neither way in time."""

    channel: str
    seconds: float


ConnectionFailure = (
    HandshakeFailed
    | SocketLost
    | ClosedBeforeEstablished
    | HandshakeTimedOut
    | ConnectTimedOut
    | AttemptsExhausted
    | SendFailed
)
"""The failures that end or prevent a connection: they become :class:`ConnectionError`."""

Failure = (
    ConnectionFailure | SubscriptionFailed | SubscriptionTimedOut | SignInFailed | SignInWithoutUser
)
"""Every failure :func:`to_exception` knows."""


def _code_of(error: ReverbError | None) -> int | None:
    code = getattr(error, "code", None)
    return code if isinstance(code, int) else None


@overload
def to_exception(failure: SubscriptionFailed | SubscriptionTimedOut) -> SubscriptionError: ...


@overload
def to_exception(failure: ConnectionFailure) -> ConnectionError: ...


@overload
def to_exception(failure: SignInFailed | SignInWithoutUser) -> SignInError: ...


def to_exception(failure: Failure) -> ReverbError:
    """The public exception for ``failure``; its message never holds secrets or signatures."""
    match failure:
        case HandshakeFailed(code=code, message=message):
            detail = f" ({code})" if code is not None else ""
            return ConnectionError(f"server refused the connection: {message}{detail}", code=code)
        case SubscriptionFailed(channel=channel, code=code, status=status, message=message):
            detail = f" (code {code})" if code is not None else ""
            return SubscriptionError(
                f"server refused the subscription to {channel!r}: {message}{detail}",
                channel=channel,
                code=code,
                status=status,
            )
        case SocketLost(code=code):
            return ConnectionError(f"connection lost ({describe_code(code)})", code=code)
        case ClosedBeforeEstablished(code=code):
            return ConnectionError(
                f"websocket closed before the connection was established ({describe_code(code)})",
                code=code,
            )
        case HandshakeTimedOut(seconds=seconds):
            return ConnectionError(f"no pusher:connection_established within {seconds} s")
        case ConnectTimedOut(address=address, seconds=seconds, cause=cause):
            detail = f": {cause}" if cause else ""
            return ConnectionError(
                f"not connected to {address} within {seconds} s{detail}", code=_code_of(cause)
            )
        case AttemptsExhausted(attempts=attempts, last=last):
            return ConnectionError(
                f"gave up after {attempts} reconnect attempts: {last}", code=_code_of(last)
            )
        case SendFailed(code=code):
            return ConnectionError(
                f"connection closed while sending ({describe_code(code)})", code=code
            )
        case SubscriptionTimedOut(channel=channel, seconds=seconds):
            return SubscriptionError(
                f"no answer to the subscription of {channel!r} within {seconds} s",
                channel=channel,
            )
        case SignInFailed(code=4200, message=message):
            return SignInError(
                "the server does not support user sign-in (pusher:signin was answered with "
                f"4200 {message!r}): Laravel Reverb has none; use Soketi with user "
                "authentication enabled, or hosted Pusher",
                code=4200,
            )
        case SignInFailed(code=code, message=message):
            return SignInError(f"the server refused the sign-in ({code}: {message})", code=code)
        case SignInWithoutUser():
            return SignInError("pusher:signin_success carried no user_data with an 'id'")
    raise TypeError(f"not a failure: {failure!r}")  # pragma: no cover - exhaustive above
