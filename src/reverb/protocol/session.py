"""The Pusher protocol state of one websocket connection, without the websocket.

Feed every received text frame to :meth:`PusherSession.receive`; it returns at most one
event saying what the frame meant. Ask it for the frames to send (:meth:`subscribe_frame`,
:meth:`client_event_frame`, ...); it records what they imply (pending subscriptions) so that
later replies can be matched. One session lives exactly as long as one websocket: a
reconnect starts a new one (see :class:`~reverb.protocol.link.Link`); what outlives a socket,
the subscriptions themselves, is kept by :class:`~reverb.protocol.machine.ClientProtocol`.

Matching refusals to subscriptions: Soketi names the channel in ``pusher:subscription_error``,
but Reverb answers a bad signature with a channel-less ``pusher:error`` 4009 (hosted Pusher
with ``code: null``). Servers handle a socket's messages in order, so such an error belongs to
the oldest subscription still waiting that carried a signature.

User sign-in (``pusher:signin``): Soketi and hosted Pusher answer ``pusher:signin_success``,
or a channel-less ``pusher:error`` 4009; Laravel Reverb does not know the event and answers a
channel-less 4200 "Invalid message format". While a sign-in awaits its answer, such a 4200,
or a 4009 that no signed subscription is waiting for, is the sign-in's refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..exceptions import ClientEventError, ConnectionError, ProtocolError
from ..messages import Event, Message, decode_received, encode_json

__all__ = [
    "Dropped",
    "Established",
    "HandshakeFailed",
    "MemberAdded",
    "MemberRemoved",
    "PingReceived",
    "PusherSession",
    "ServerError",
    "SessionEvent",
    "SessionPhase",
    "SignInFailed",
    "SignInSucceeded",
    "SubscriptionFailed",
    "SubscriptionSucceeded",
]


@dataclass(frozen=True, slots=True)
class Established:
    """``pusher:connection_established``: the connection is usable."""

    socket_id: str
    activity_timeout: float | None


@dataclass(frozen=True, slots=True)
class HandshakeFailed:
    """The server refused the connection before establishing it (for example 4001)."""

    code: int | None
    message: str


@dataclass(frozen=True, slots=True)
class SubscriptionSucceeded:
    """The server confirmed a subscription; ``data`` holds presence members if any."""

    channel: str
    data: Any


@dataclass(frozen=True, slots=True)
class SubscriptionFailed:
    """The server refused a subscription."""

    channel: str
    code: int | None
    status: int | None
    message: str


@dataclass(frozen=True, slots=True)
class MemberAdded:
    """A user joined a presence channel."""

    channel: str
    user_id: str
    user_info: Any


@dataclass(frozen=True, slots=True)
class MemberRemoved:
    """A user's last connection left a presence channel."""

    channel: str
    user_id: str


@dataclass(frozen=True, slots=True)
class PingReceived:
    """The server sent ``pusher:ping``; send :meth:`PusherSession.pong_frame` back."""


@dataclass(frozen=True, slots=True)
class ServerError:
    """A ``pusher:error`` after the handshake that belongs to no pending subscription."""

    code: int | None
    message: str
    channel: str | None


@dataclass(frozen=True, slots=True)
class SignInSucceeded:
    """``pusher:signin_success``: the socket is signed in as ``user_data`` (as the server sent
    it: the JSON string that was signed, or already decoded).
    """

    user_data: Any


@dataclass(frozen=True, slots=True)
class SignInFailed:
    """The server refused the sign-in (4009), or does not support it (4200, Reverb)."""

    code: int | None
    message: str


@dataclass(frozen=True, slots=True)
class Dropped:
    """A frame that could not be used; log it and count it, the connection stays up."""

    reason: str


SessionEvent = (
    Established
    | HandshakeFailed
    | SubscriptionSucceeded
    | SubscriptionFailed
    | MemberAdded
    | MemberRemoved
    | PingReceived
    | ServerError
    | SignInSucceeded
    | SignInFailed
    | Dropped
    | Event
)
"""Everything :meth:`PusherSession.receive` may return; :class:`Event` is a channel event."""


class SessionPhase(Enum):
    """Where the session is in its life."""

    HANDSHAKE = "handshake"
    OPEN = "open"
    CLOSED = "closed"


_OPEN = SessionPhase.OPEN
_PING_FRAME = Message("pusher:ping", {}).encode()
_PONG_FRAME = Message("pusher:pong", {}).encode()
_CLIENT_EVENT_REFUSAL = "not a member"


def _error_fields(data: Any) -> tuple[int | None, str]:
    if not isinstance(data, Mapping):
        return None, str(data) if data is not None else "unknown error"
    code = data.get("code")
    message = data.get("message") or data.get("error") or "unknown error"
    return (code if isinstance(code, int) else None), str(message)


class PusherSession:
    """Protocol state of one connection: handshake, subscriptions in flight, what frames mean."""

    __slots__ = (
        "_pending",
        "_signing_in",
        "_subscribed",
        "activity_timeout",
        "phase",
        "socket_id",
    )

    def __init__(self) -> None:
        self.phase = SessionPhase.HANDSHAKE
        self.socket_id: str | None = None
        self.activity_timeout: float | None = None
        self._pending: dict[str, bool] = {}
        self._subscribed: set[str] = set()
        self._signing_in = False

    def __repr__(self) -> str:
        return (
            f"<PusherSession {self.phase.value} socket_id={self.socket_id!r} "
            f"pending={len(self._pending)} subscribed={len(self._subscribed)}>"
        )

    # -- input ---------------------------------------------------------------------------

    def receive(self, text: str | bytes) -> SessionEvent | None:
        """Interpret one received frame.

        Returns ``None`` for frames that need nothing done (``pusher:pong``). Never raises
        for bad input: malformed frames come back as :class:`Dropped`.
        """
        try:
            fields = decode_received(text)
        except ProtocolError as exc:
            return Dropped(str(exc))
        return self.interpret(fields)

    def interpret(
        self, fields: Event | tuple[str, Any, str | None, str | None]
    ) -> SessionEvent | None:
        """Interpret a frame already decoded by :func:`~reverb.messages.decode_received`."""
        if isinstance(fields, Event):  # the hot path: broadcasts and client events
            if self.phase is _OPEN:
                return fields
            return Dropped(f"{fields.name!r} before the connection was established")
        name = fields[0]
        if not name.startswith("pusher"):
            return self._channel_event(*fields)
        message = Message(*fields)
        if name == "pusher:ping":
            return PingReceived()
        if name == "pusher:pong":
            return None
        if name == "pusher:connection_established":
            return self._established(message)
        if name == "pusher:error":
            return self._error(message)
        if self.phase is not SessionPhase.OPEN:
            return Dropped(f"{name!r} before the connection was established")
        if name == "pusher_internal:subscription_succeeded":
            return self._succeeded(message)
        if name == "pusher:subscription_error":
            return self._subscription_error(message)
        if name == "pusher_internal:member_added":
            return self._member_added(message)
        if name == "pusher_internal:member_removed":
            return self._member_removed(message)
        if name == "pusher:signin_success":
            return self._signin_success(message)
        return self._channel_event(*fields)

    def _channel_event(
        self, name: str, data: Any, channel: str | None, user_id: str | None
    ) -> Event | Dropped:
        if self.phase is not SessionPhase.OPEN:
            return Dropped(f"{name!r} before the connection was established")
        if channel is None:
            return Dropped(f"{name!r} names no channel")
        return Event(name, channel, data, user_id)

    def _established(self, message: Message) -> Established | HandshakeFailed | Dropped:
        if self.phase is not SessionPhase.HANDSHAKE:
            return Dropped("a second pusher:connection_established")
        socket_id = message.data_field("socket_id")
        if not isinstance(socket_id, str) or not socket_id:
            self.phase = SessionPhase.CLOSED
            return HandshakeFailed(None, "pusher:connection_established carried no socket_id")
        timeout = message.data_field("activity_timeout")
        valid_timeout = isinstance(timeout, int | float) and not isinstance(timeout, bool)
        self.activity_timeout = float(timeout) if valid_timeout and timeout > 0 else None
        self.socket_id = socket_id
        self.phase = SessionPhase.OPEN
        return Established(socket_id, self.activity_timeout)

    def _error(self, message: Message) -> SessionEvent:
        code, text = _error_fields(message.data)
        if self.phase is SessionPhase.HANDSHAKE:
            self.phase = SessionPhase.CLOSED
            return HandshakeFailed(code, text)
        channel = message.channel or message.data_field("channel")
        if self._signing_in and channel is None and self._refuses_signin(code):
            self._signing_in = False
            return SignInFailed(code, text)
        if isinstance(channel, str) and channel in self._pending:
            del self._pending[channel]
            return SubscriptionFailed(channel, code, None, text)
        if channel is None and code in (4009, None) and _CLIENT_EVENT_REFUSAL not in text:
            oldest_signed = next((name for name, signed in self._pending.items() if signed), None)
            if oldest_signed is not None:
                del self._pending[oldest_signed]
                return SubscriptionFailed(oldest_signed, code, None, text)
        return ServerError(code, text, channel if isinstance(channel, str) else None)

    def _refuses_signin(self, code: int | None) -> bool:
        if code == 4200:
            return True
        return code == 4009 and not any(self._pending.values())

    def _signin_success(self, message: Message) -> SignInSucceeded | Dropped:
        if not self._signing_in:
            return Dropped("pusher:signin_success without a sign-in")
        self._signing_in = False
        return SignInSucceeded(message.data_field("user_data"))

    def _succeeded(self, message: Message) -> SubscriptionSucceeded | Dropped:
        channel = message.channel
        if channel is None:
            return Dropped("subscription_succeeded names no channel")
        if channel not in self._pending and channel not in self._subscribed:
            return Dropped(f"subscription_succeeded for {channel!r}, which is not subscribing")
        self._pending.pop(channel, None)
        self._subscribed.add(channel)
        return SubscriptionSucceeded(channel, message.data)

    def _subscription_error(self, message: Message) -> SubscriptionFailed | Dropped:
        channel = message.channel
        if channel is None:
            return Dropped("subscription_error names no channel")
        self._pending.pop(channel, None)
        data = message.data
        status = data.get("status") if isinstance(data, Mapping) else None
        code, text = _error_fields(data)
        return SubscriptionFailed(channel, code, status if isinstance(status, int) else None, text)

    def _member_added(self, message: Message) -> MemberAdded | Dropped:
        user_id = message.data_field("user_id")
        if message.channel is None or user_id is None:
            return Dropped("member_added without channel or user_id")
        return MemberAdded(message.channel, str(user_id), message.data_field("user_info"))

    def _member_removed(self, message: Message) -> MemberRemoved | Dropped:
        user_id = message.data_field("user_id")
        if message.channel is None or user_id is None:
            return Dropped("member_removed without channel or user_id")
        return MemberRemoved(message.channel, str(user_id))

    # -- output --------------------------------------------------------------------------

    def subscribe_frame(
        self, channel: str, auth: str | None = None, channel_data: str | None = None
    ) -> str:
        """The ``pusher:subscribe`` frame for ``channel``; records the subscription as pending.

        ``channel_data`` is sent byte for byte as given, since the signature covers it.
        """
        self._require_open()
        data: dict[str, str] = {"channel": channel}
        if auth is not None:
            data["auth"] = auth
        if channel_data is not None:
            data["channel_data"] = channel_data
        self._pending.pop(channel, None)
        self._pending[channel] = auth is not None
        self._subscribed.discard(channel)
        return Message("pusher:subscribe", data).encode()

    def signin_frame(self, auth: str, user_data: str) -> str:
        """The ``pusher:signin`` frame; the sign-in now awaits its answer.

        ``user_data`` is sent byte for byte as given, since the signature covers it.
        """
        self._require_open()
        self._signing_in = True
        return Message("pusher:signin", {"auth": auth, "user_data": user_data}).encode()

    def unsubscribe_frame(self, channel: str) -> str:
        """The ``pusher:unsubscribe`` frame; forgets the channel at once (there is no reply)."""
        self._require_open()
        self.forget(channel)
        return Message("pusher:unsubscribe", {"channel": channel}).encode()

    def client_event_frame(self, channel: str, event: str, data: Any) -> str:
        """The frame of a client event on a subscribed channel.

        Raises:
            ClientEventError: not connected, or ``channel`` is not subscribed on this connection.
        """
        if self.phase is not SessionPhase.OPEN:
            raise ClientEventError("cannot send a client event: the connection is not open")
        if channel not in self._subscribed:
            raise ClientEventError(
                f"cannot send {event!r}: channel {channel!r} is not subscribed on this connection"
            )
        return encode_json({"event": event, "channel": channel, "data": data})

    @staticmethod
    def ping_frame() -> str:
        """A ``pusher:ping`` frame."""
        return _PING_FRAME

    @staticmethod
    def pong_frame() -> str:
        """A ``pusher:pong`` frame."""
        return _PONG_FRAME

    # -- bookkeeping -----------------------------------------------------------------------

    def forget(self, channel: str) -> None:
        """Stop tracking ``channel`` (unsubscribed, or its caller gave up waiting)."""
        self._pending.pop(channel, None)
        self._subscribed.discard(channel)

    def is_subscribed(self, channel: str) -> bool:
        """Whether the server confirmed ``channel`` on this connection."""
        return channel in self._subscribed

    def is_pending(self, channel: str) -> bool:
        """Whether a subscribe for ``channel`` awaits its answer."""
        return channel in self._pending

    def close(self) -> None:
        """Mark the connection as gone; no more frames may be built."""
        self.phase = SessionPhase.CLOSED
        self._pending.clear()
        self._subscribed.clear()
        self._signing_in = False

    def _require_open(self) -> None:
        if self.phase is not SessionPhase.OPEN:
            raise ConnectionError(f"not connected (the protocol session is {self.phase.value})")
