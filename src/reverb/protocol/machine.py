"""Every subscription of one client, across all its sockets: the whole Pusher session, sans I/O.

:class:`ClientProtocol` is told what happened (a socket was established or lost, a frame's
meaning from :class:`~reverb.protocol.session.PusherSession`, an authorization's result, the
user's subscribe or unsubscribe) and returns the :mod:`~reverb.protocol.actions` to carry out.
It owns:

* the registry of :class:`~reverb.protocol.subscriptions.Subscription` records, in
  registration order, which is the order they are subscribed again on every new socket;
* resubscription after ``Established``, with a fresh authorization per socket and stale
  results (an older socket, an older attempt, a record since left) ignored;
* presence members, changed here only, and handed to handlers as snapshots;
* the client-event rules (kind, subscribed, size);
* user sign-in (``pusher:signin``), once asked for: again on every new socket, and the
  ``#server-to-user-<id>`` subscription, subscribed only after each sign-in succeeded.

Channel events (:class:`~reverb.messages.Event`) need no decision: the asyncio layer delivers
them as they come, without asking.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping
from typing import Any

from ..exceptions import ClientEventError, ReverbError
from ..messages import Event
from .actions import Action, Authorize, AuthorizeSignIn, Deliver, SendFrame, Settled, SignedIn
from .failures import SignInWithoutUser, to_exception
from .names import ChannelKind, validate_client_event_name
from .presence import Member
from .session import (
    Dropped,
    MemberAdded,
    MemberRemoved,
    PusherSession,
    ServerError,
    SessionEvent,
    SessionPhase,
    SignInFailed,
    SignInSucceeded,
    SubscriptionFailed,
    SubscriptionSucceeded,
)
from .subscriptions import Subscription, SubscriptionState, Trigger

__all__ = ["ClientProtocol"]

_ON_SERVER = (SubscriptionState.PENDING, SubscriptionState.SUBSCRIBED)


class ClientProtocol:
    """The subscriptions of one client and what each protocol event means for them."""

    __slots__ = (
        "_attempts",
        "_session",
        "_signin_attempt",
        "_signin_wanted",
        "_subscriptions",
        "_user",
    )

    def __init__(self) -> None:
        self._subscriptions: dict[str, Subscription] = {}
        self._session: PusherSession | None = None
        self._attempts = itertools.count(1)
        self._signin_wanted = False
        self._signin_attempt: int | None = None
        """The attempt of the sign-in asked for last (``None`` before any)."""
        self._user: Subscription | None = None

    def __repr__(self) -> str:
        return f"<ClientProtocol socket_id={self.socket_id!r} subscriptions={len(self)}>"

    # -- the registry --------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._subscriptions)

    def __iter__(self) -> Iterator[Subscription]:
        return iter(self._subscriptions.values())

    def get(self, channel: str) -> Subscription | None:
        """The record of ``channel``, if registered."""
        return self._subscriptions.get(channel)

    @property
    def socket_id(self) -> str | None:
        """The socket id of the established socket, if there is one."""
        session = self._session
        return session.socket_id if session is not None else None

    # -- the user's intents --------------------------------------------------------------------

    def add(self, subscription: Subscription) -> list[Action]:
        """Register ``subscription`` and subscribe it now if a socket is established.

        Raises:
            ValueError: another record is registered under the same name.
        """
        existing = self._subscriptions.setdefault(subscription.name, subscription)
        if existing is not subscription:
            raise ValueError(f"{subscription.name!r} is already registered")
        return self.request(subscription)

    def request(self, subscription: Subscription) -> list[Action]:
        """Subscribe a registered record again (after a refusal, say) if a socket is there.

        Nothing happens while it is already pending or subscribed, or while no socket is
        established (the next one subscribes it).
        """
        session = self._session
        if session is None or subscription.state in _ON_SERVER:
            return []
        if self._subscriptions.get(subscription.name) is not subscription:
            return []
        return [self._start(subscription, session)]

    def remove(self, subscription: Subscription) -> list[Action]:
        """Leave ``subscription`` for good and tell the server; the caller wakes its waiters."""
        if self._subscriptions.get(subscription.name) is subscription:
            del self._subscriptions[subscription.name]
        was_on_server = subscription.state in _ON_SERVER
        subscription.apply(Trigger.LEFT)
        session = self._session
        if was_on_server and session is not None and session.phase is SessionPhase.OPEN:
            return [SendFrame(session.unsubscribe_frame(subscription.name))]
        return []

    def fail(self, subscription: Subscription, error: ReverbError) -> list[Action]:
        """Fail a pending subscription from outside the protocol (it timed out, say)."""
        if subscription.state is not SubscriptionState.PENDING:
            return []
        return self._refuse(subscription, error)

    # -- sockets -------------------------------------------------------------------------------

    def established(self, session: PusherSession) -> list[Action]:
        """A socket is established: subscribe every registered channel on it, in order."""
        self._session = session
        actions: list[Action] = []
        if self._signin_wanted:
            actions.append(self._start_signin(session))
        for subscription in self._subscriptions.values():
            if subscription.state in _ON_SERVER:
                subscription.apply(Trigger.SOCKET_LOST)
            if subscription is not self._user:  # subscribed once signed in again
                actions.append(self._start(subscription, session))
        return actions

    def lost(self) -> None:
        """The socket is gone: nothing is on the server any more (refusals stay refused)."""
        self._session = None
        for subscription in self._subscriptions.values():
            subscription.apply(Trigger.SOCKET_LOST)

    def _start(self, subscription: Subscription, session: PusherSession) -> Authorize:
        subscription.apply(Trigger.REQUESTED)
        subscription.attempt = next(self._attempts)
        assert session.socket_id is not None  # an established session always has one
        return Authorize(subscription, session.socket_id, subscription.attempt)

    # -- authorization results -----------------------------------------------------------------

    def authorized(
        self, subscription: Subscription, attempt: int, payload: Mapping[str, Any]
    ) -> list[Action]:
        """The subscribe ``payload`` for ``attempt`` is ready: send it, if still wanted.

        ``payload`` is what :meth:`Channel._subscribe` returned: ``auth`` and
        ``channel_data`` where needed, ``channel_data`` sent byte for byte.
        """
        session = self._current(subscription, attempt)
        if session is None:
            return []
        auth, channel_data = payload.get("auth"), payload.get("channel_data")
        subscription.note_channel_data(channel_data)
        return [SendFrame(session.subscribe_frame(subscription.name, auth, channel_data))]

    def authorization_failed(
        self, subscription: Subscription, attempt: int, error: ReverbError
    ) -> list[Action]:
        """The subscribe for ``attempt`` could not be prepared: the subscription fails."""
        if self._current(subscription, attempt) is None:
            return []
        return self._refuse(subscription, error)

    def _current(self, subscription: Subscription, attempt: int) -> PusherSession | None:
        session = self._session
        if (
            session is None
            or session.phase is not SessionPhase.OPEN
            or subscription.attempt != attempt
            or subscription.state is not SubscriptionState.PENDING
            or self._subscriptions.get(subscription.name) is not subscription
        ):
            return None
        return session

    # -- received frames -----------------------------------------------------------------------

    def receive(self, event: SessionEvent) -> list[Action]:
        """What a protocol event from the current socket means for the subscriptions."""
        if isinstance(event, Event):
            return [Deliver(event)]
        if isinstance(event, SubscriptionSucceeded):
            return self._confirmed(event)
        if isinstance(event, SubscriptionFailed):
            return self._refused(event)
        if isinstance(event, MemberAdded | MemberRemoved):
            return self._member_changed(event)
        if isinstance(event, ServerError):
            data = {"code": event.code, "message": event.message}
            return [Deliver(Event("pusher:error", event.channel, data))]
        if isinstance(event, SignInSucceeded):
            return self._signed_in(event)
        if isinstance(event, SignInFailed):
            return self._signin_refused(event)
        if isinstance(event, Dropped):
            return [event]
        return []

    def _confirmed(self, event: SubscriptionSucceeded) -> list[Action]:
        subscription = self._subscriptions.get(event.channel)
        if subscription is None or not subscription.accepts(Trigger.CONFIRMED):
            return []
        subscription.apply(Trigger.CONFIRMED, data=event.data)
        data: Any = {}
        if subscription.kind is ChannelKind.PRESENCE:
            data = subscription.members.snapshot()
        # Delivered before the waiters wake: handlers bound beforehand see it before
        # subscribe() returns, and events after it wait for the caller (see Settled).
        return [
            Deliver(Event("pusher:subscription_succeeded", subscription.name, data)),
            Settled(subscription.name),
        ]

    def _refused(self, event: SubscriptionFailed) -> list[Action]:
        subscription = self._subscriptions.get(event.channel)
        if subscription is None:
            return []
        if not subscription.accepts(Trigger.REFUSED):
            return [Dropped(f"a refusal of {event.channel!r}, which is {subscription.state}")]
        return self._refuse(subscription, to_exception(event))

    def _refuse(self, subscription: Subscription, error: ReverbError) -> list[Action]:
        subscription.apply(Trigger.REFUSED, error=error)
        session = self._session
        if session is not None:
            session.forget(subscription.name)
        data = {
            "type": type(error).__name__,
            "error": str(error),
            "code": getattr(error, "code", None),
        }
        return [
            Deliver(Event("pusher:subscription_error", subscription.name, data)),
            Settled(subscription.name, error),
        ]

    def _member_changed(self, event: MemberAdded | MemberRemoved) -> list[Action]:
        subscription = self._subscriptions.get(event.channel)
        if (
            subscription is None
            or subscription.kind is not ChannelKind.PRESENCE
            or subscription.state is not SubscriptionState.SUBSCRIBED
        ):
            return []
        members = subscription.members
        if isinstance(event, MemberAdded):
            if not members.add(event.user_id, event.user_info):
                return []
            member = Member(event.user_id, event.user_info)
            return [Deliver(Event("pusher:member_added", event.channel, member))]
        removed = members.remove(event.user_id)
        if removed is None:
            return []
        return [Deliver(Event("pusher:member_removed", event.channel, removed))]

    # -- user sign-in ----------------------------------------------------------------------------

    @property
    def user(self) -> Subscription | None:
        """The ``#server-to-user-<id>`` record, once a sign-in succeeded."""
        return self._user

    def signin(self) -> list[Action]:
        """Sign in now if a socket is established, and again on every new socket."""
        self._signin_wanted = True
        session = self._session
        if session is None or session.phase is not SessionPhase.OPEN:
            return []
        return [self._start_signin(session)]

    def _start_signin(self, session: PusherSession) -> AuthorizeSignIn:
        self._signin_attempt = next(self._attempts)
        assert session.socket_id is not None  # an established session always has one
        return AuthorizeSignIn(session.socket_id, self._signin_attempt)

    def _signin_session(self, attempt: int) -> PusherSession | None:
        session = self._session
        if session is None or session.phase is not SessionPhase.OPEN:
            return None
        return session if attempt == self._signin_attempt else None

    def signin_authorized(self, attempt: int, auth: str, user_data: str) -> list[Action]:
        """The sign-in token for ``attempt`` is ready: send ``pusher:signin``, if still wanted.

        ``user_data`` is sent byte for byte, as the signature covers it.
        """
        session = self._signin_session(attempt)
        if session is None:
            return []
        return [SendFrame(session.signin_frame(auth, user_data))]

    def signin_failed(self, attempt: int, error: ReverbError) -> list[Action]:
        """The sign-in token for ``attempt`` could not be had (the next socket tries again)."""
        if self._signin_session(attempt) is None:
            return []
        return [SignedIn(None, None, error)]

    def set_user(self, subscription: Subscription) -> list[Action]:
        """Make ``subscription`` (``#server-to-user-<id>``) the signed-in user's channel and
        subscribe it; a previous user's channel is left.
        """
        actions: list[Action] = []
        previous = self._user
        if previous is not None and previous is not subscription:
            actions.extend(self.remove(previous))
        self._user = subscription
        if self._subscriptions.get(subscription.name) is not subscription:
            actions.extend(self.add(subscription))
        else:
            actions.extend(self.request(subscription))
        return actions

    def _signed_in(self, event: SignInSucceeded) -> list[Action]:
        user_data = event.user_data
        if isinstance(user_data, str):
            try:
                user_data = json.loads(user_data)
            except ValueError:
                user_data = None
        user_id = user_data.get("id") if isinstance(user_data, Mapping) else None
        if isinstance(user_id, bool) or not isinstance(user_id, str | int) or user_id == "":
            return [SignedIn(None, None, to_exception(SignInWithoutUser()))]
        return [SignedIn(str(user_id), user_data)]

    def _signin_refused(self, event: SignInFailed) -> list[Action]:
        self._signin_wanted = False  # asking again would be refused again
        return [SignedIn(None, None, to_exception(event))]

    # -- client events -------------------------------------------------------------------------

    def client_event_frame(
        self, subscription: Subscription, event: str, data: Any, max_size: int
    ) -> str:
        """The frame of a client event (a whisper) on ``subscription``'s channel.

        Raises:
            ClientEventError: a bad event name or payload, a channel kind that takes no client
                events, a channel not subscribed, or a frame over ``max_size`` bytes.
        """
        validate_client_event_name(event)
        name = subscription.name
        if not subscription.kind.accepts_client_events:
            raise ClientEventError(
                f"client events are only allowed on private and presence channels, not on "
                f"{subscription.kind} channel {name!r}"
            )
        registered = self._subscriptions.get(name) is subscription
        if not registered or subscription.state is not SubscriptionState.SUBSCRIBED:
            raise ClientEventError(
                f"cannot send {event!r}: not subscribed to {name!r} ({subscription.state})"
            )
        if data is None:
            data = {}
        if not isinstance(data, Mapping | list | tuple):
            raise ClientEventError(
                f"client event data must be a JSON object or array, not {type(data).__name__}"
            )
        session = self._session
        if session is None:
            raise ClientEventError(f"cannot send {event!r}: not connected")
        try:
            frame = session.client_event_frame(name, event, data)
        except (TypeError, ValueError) as exc:
            raise ClientEventError(f"client event data is not JSON-serializable: {exc}") from None
        try:
            size = len(frame.encode())
        except UnicodeEncodeError:
            raise ClientEventError(
                "client event data holds text that is not valid Unicode (a lone surrogate)"
            ) from None
        if size > max_size:
            raise ClientEventError(
                f"client event frame is {size} bytes; max_message_size is {max_size}"
            )
        return frame
