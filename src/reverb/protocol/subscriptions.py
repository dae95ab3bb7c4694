"""One subscription's life, as a state table keyed by what happened to it.

A :class:`Subscription` is the single home of a channel's subscription: its state, the error
that last failed it, its presence members and which authorization attempt is current. The
client's channel objects and the :class:`~reverb.protocol.machine.ClientProtocol` registry
hold the same record, so the state is never copied.

The table, in the manner of h11's: a pair (state, trigger) missing from it raises
:class:`InvalidTransition`, which is a bug in python-reverb, never in the caller::

    unsubscribed ──requested──▶ pending ──confirmed──▶ subscribed ◀─┐ confirmed again
         ▲   ▲                     │                      │       ───┘ (members refreshed)
         │   └──── socket lost ────┤◀────── socket lost ──┘
         │                      refused
         │                         ▼
         │                      failed ──requested──▶ pending   (the next socket retries)
         └──── left (from any state: unsubscribed for good)

A refusal of a channel that is not pending, or a confirmation of one that is neither pending
nor subscribed, comes from the server, not from us: :meth:`Subscription.accepts` lets the
caller drop such input instead of raising.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import Enum, StrEnum
from typing import Any

from ..exceptions import ReverbError
from .names import ChannelKind, channel_kind
from .presence import Members
from .state import InvalidTransition

__all__ = [
    "InvalidTransition",
    "Subscription",
    "SubscriptionState",
    "Trigger",
    "allowed_triggers",
]


class SubscriptionState(StrEnum):
    """Where a channel's subscription stands on the current connection."""

    UNSUBSCRIBED = "unsubscribed"
    """Not on the server now; subscribed again when a socket is established."""
    PENDING = "pending"
    """Being authorized, or sent and waiting for the server's answer."""
    SUBSCRIBED = "subscribed"
    """Confirmed by the server on the current socket."""
    FAILED = "failed"
    """Refused on the current socket (``error`` says why); the next socket tries again."""


class Trigger(Enum):
    """What can happen to a subscription."""

    REQUESTED = "requested"
    """A socket is established: authorize and send the subscribe."""
    CONFIRMED = "confirmed"
    """The server sent ``subscription_succeeded``."""
    REFUSED = "refused"
    """The server refused it, the authorization failed, or nobody answered in time."""
    SOCKET_LOST = "socket_lost"
    """The socket it was on is gone."""
    LEFT = "left"
    """Unsubscribed for good."""


_S = SubscriptionState
_T = Trigger

_TRANSITIONS: dict[tuple[SubscriptionState, Trigger], SubscriptionState] = {
    (_S.UNSUBSCRIBED, _T.REQUESTED): _S.PENDING,
    (_S.FAILED, _T.REQUESTED): _S.PENDING,
    (_S.PENDING, _T.CONFIRMED): _S.SUBSCRIBED,
    (_S.SUBSCRIBED, _T.CONFIRMED): _S.SUBSCRIBED,
    (_S.PENDING, _T.REFUSED): _S.FAILED,
    (_S.UNSUBSCRIBED, _T.SOCKET_LOST): _S.UNSUBSCRIBED,
    (_S.PENDING, _T.SOCKET_LOST): _S.UNSUBSCRIBED,
    (_S.SUBSCRIBED, _T.SOCKET_LOST): _S.UNSUBSCRIBED,
    (_S.FAILED, _T.SOCKET_LOST): _S.FAILED,
    **{(state, _T.LEFT): _S.UNSUBSCRIBED for state in SubscriptionState},
}


def allowed_triggers(state: SubscriptionState) -> frozenset[Trigger]:
    """The triggers the table accepts in ``state``."""
    return frozenset(trigger for (source, trigger) in _TRANSITIONS if source is state)


class Subscription:
    """The record of one channel subscription, kept across sockets until it is left.

    Args:
        name: the channel name.
        user_data: for presence channels, this client's member as signed by the local
            authenticator.
        kind: the channel's kind, when its class says otherwise than its name's prefix.

    Attributes:
        name: the channel name.
        kind: its kind, from the name's prefix.
        user_data: the presence member this client joins as, if any.
        state: where it stands; changed only through :meth:`apply`.
        error: why it last failed, if it did (cleared on confirmation).
        attempt: which authorization is current (set by the registry); results of older
            ones are stale.
        members: the presence members (empty for other kinds).
    """

    __slots__ = ("attempt", "error", "kind", "members", "name", "state", "user_data")

    def __init__(
        self,
        name: str,
        user_data: Mapping[str, Any] | None = None,
        *,
        kind: ChannelKind | None = None,
    ) -> None:
        self.name = name
        self.kind = channel_kind(name) if kind is None else kind
        self.user_data = dict(user_data) if user_data is not None else None
        self.state = SubscriptionState.UNSUBSCRIBED
        self.error: ReverbError | None = None
        self.attempt = 0
        self.members = Members()

    def __repr__(self) -> str:
        return f"<Subscription {self.name!r} {self.state}>"

    def accepts(self, trigger: Trigger) -> bool:
        """Whether the table has an entry for ``trigger`` in the current state."""
        return (self.state, trigger) in _TRANSITIONS

    def apply(
        self, trigger: Trigger, *, data: Any = None, error: ReverbError | None = None
    ) -> SubscriptionState:
        """Move the record by ``trigger``; return the new state.

        ``data`` is the ``subscription_succeeded`` payload (presence members) for
        ``CONFIRMED``; ``error`` is the reason for ``REFUSED``.

        Raises:
            InvalidTransition: the table has no entry for the current state and ``trigger``.
        """
        new = _TRANSITIONS.get((self.state, trigger))
        if new is None:
            raise InvalidTransition(
                f"subscription {self.name!r} cannot take {trigger.value!r} while {self.state}"
            )
        if trigger is Trigger.CONFIRMED:
            self.error = None
            if self.kind is ChannelKind.PRESENCE:
                self.members.reset(data, self.members.me_id)
        elif trigger is Trigger.REFUSED:
            self.error = error
        if new is not SubscriptionState.SUBSCRIBED and self.kind is ChannelKind.PRESENCE:
            self.members.clear()
        self.state = new
        return new

    def note_channel_data(self, channel_data: str | None) -> None:
        """Remember which presence member is this client, from the signed ``channel_data``."""
        if channel_data is None or self.kind is not ChannelKind.PRESENCE:
            return
        self.members.set_me(presence_user_id(channel_data))


def presence_user_id(channel_data: str) -> str | None:
    """The ``user_id`` in a presence ``channel_data`` string, as a string, if it has one."""
    try:
        user_id = json.loads(channel_data).get("user_id")
    except (ValueError, AttributeError, RecursionError):
        return None
    return None if user_id is None else str(user_id)
