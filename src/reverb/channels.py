"""Channels: handles on subscriptions, with the handlers bound to them.

A channel object is a durable *intent*: it survives reconnects, and the client subscribes it
again, with fresh authorization, on every new socket. Its handlers stay bound throughout. Its
state is not kept here: it lives in the core's
:class:`~reverb.protocol.subscriptions.Subscription` record, which the handle reads.

::

    Channel (abstract)
    ├── PublicChannel
    └── PrivateChannel          private-*: signed subscription, client events
        └── PresenceChannel     presence-*: members, me

Custom channel types subclass one of these and override :meth:`Channel._subscribe` (what to
send to subscribe) and/or :meth:`Channel._handle_event` (what to do with a received event),
then are passed to ``client.subscribe(channel_object)``.

A channel talks to its client only through :class:`ChannelHost`, defined here, so this module
never imports the client.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar, Protocol

from .auth import Authorization
from .dispatch import Bindable, ClientStats, HandlerRegistry, run_handlers
from .exceptions import ReverbError
from .messages import Event
from .protocol.names import ChannelKind
from .protocol.presence import Member, Members
from .protocol.subscriptions import Subscription, SubscriptionState, Trigger

__all__ = [
    "Channel",
    "ChannelHost",
    "PresenceChannel",
    "PrivateChannel",
    "PublicChannel",
    "SubscriptionState",
]


class ChannelHost(Protocol):
    """What a channel needs of the client that owns it."""

    @property
    def stats(self) -> ClientStats:
        """Where handler failures are counted."""
        ...

    async def _authorize(
        self, socket_id: str, channel_name: str, user_data: Mapping[str, Any] | None
    ) -> Authorization:
        """Authorize ``socket_id`` for ``channel_name`` with the client's authenticator."""
        ...

    async def _trigger(self, channel: Channel, event: str, data: Any) -> None:
        """Send a client event on ``channel``."""
        ...


class Channel(Bindable, ABC):
    """A channel the client subscribes to, with its own handlers (``bind``, ``on``,
    ``bind_global``, ``unbind``, ``unbind_global``).

    Args:
        name: the channel name.
        client: the client that owns the subscription.
    """

    kind: ClassVar[ChannelKind] = ChannelKind.PUBLIC

    def __init__(self, name: str, client: ChannelHost) -> None:
        self.name = name
        self.client = client
        self._subscription = Subscription(name, kind=type(self).kind)
        self._handlers = HandlerRegistry()
        self._waiters: list[asyncio.Future[None]] = []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.state}>"

    @property
    def state(self) -> SubscriptionState:
        """Where the subscription stands on the current connection."""
        return self._subscription.state

    @property
    def error(self) -> ReverbError | None:
        """Why the last subscription attempt failed, if it did."""
        return self._subscription.error

    @property
    def subscribed(self) -> bool:
        """Whether the server confirmed the subscription on the current connection."""
        return self._subscription.state is SubscriptionState.SUBSCRIBED

    # -- client events ---------------------------------------------------------------------------

    async def trigger(self, event: str, data: Any = None) -> None:
        """Send a client event (a *whisper*) to the channel's other subscribers.

        Args:
            event: the event name; must start with ``client-``.
            data: a JSON object or array (``None`` sends ``{}``).

        Raises:
            ClientEventError: a bad name or payload, a channel that does not take client
                events, a channel not subscribed, or a frame over ``max_message_size``;
                nothing was sent.
            ConnectionError: the socket closed while sending.
        """
        await self.client._trigger(self, event, data)

    # -- extension points -----------------------------------------------------------------------

    @abstractmethod
    async def _subscribe(self, socket_id: str) -> Mapping[str, str]:
        """Return the ``data`` of the ``pusher:subscribe`` message for ``socket_id``.

        Called on every new socket. ``{"channel": name}`` plus, where needed, ``auth`` and
        ``channel_data``.
        """

    async def _handle_event(self, event: Event, data: Any) -> None:
        """Deliver a received event to this channel's handlers, in binding order.

        ``data`` is the payload to deliver; a subclass that transforms payloads (decrypts,
        say) passes its result here through ``super()``.
        """
        if data is not event.data:
            event = replace(event, data=data)
        handlers = self._handlers.handlers_for(event.name)
        if handlers:
            self.client.stats.handler_errors += await run_handlers(handlers, event)

    # -- settlement: the client wakes whoever waits -----------------------------------------------

    def _wait_subscribed(self) -> asyncio.Future[None]:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.state is SubscriptionState.SUBSCRIBED:
            waiter.set_result(None)
        else:
            self._waiters.append(waiter)
        return waiter

    def _release_waiters(self, error: ReverbError | None) -> None:
        """The subscription settled: confirmed (``None``) or failed with ``error``."""
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if waiter.done():
                continue
            if error is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(error)

    def _detach(self, error: ReverbError) -> None:
        """Unsubscribed for good: fail anyone still waiting and drop the handlers."""
        if self.state is not SubscriptionState.UNSUBSCRIBED:
            self._subscription.apply(Trigger.LEFT)
        self._release_waiters(error)
        self._handlers.clear()

    # -- the record driven by hand, for channels used without a client ---------------------------
    # The client never calls these: it drives the record through the core's ClientProtocol.

    def _set_pending(self) -> None:
        if self.state is not SubscriptionState.PENDING:
            self._subscription.apply(Trigger.SOCKET_LOST)
            self._subscription.apply(Trigger.REQUESTED)

    def _set_subscribed(self, data: Any) -> None:
        if self.state is not SubscriptionState.SUBSCRIBED:
            self._set_pending()
        self._subscription.apply(Trigger.CONFIRMED, data=data)
        self._release_waiters(None)

    def _set_failed(self, error: ReverbError) -> None:
        self._set_pending()
        self._subscription.apply(Trigger.REFUSED, error=error)
        self._release_waiters(error)

    def _set_unsubscribed(self) -> None:
        self._subscription.apply(Trigger.SOCKET_LOST)


class PublicChannel(Channel):
    """A channel anyone with the app key may subscribe to."""

    kind = ChannelKind.PUBLIC

    async def _subscribe(self, socket_id: str) -> Mapping[str, str]:
        return {"channel": self.name}


class PrivateChannel(Channel):
    """A ``private-`` channel: signed subscription; clients may send ``client-`` events."""

    kind = ChannelKind.PRIVATE

    async def _subscribe(self, socket_id: str) -> Mapping[str, str]:
        authorization = await self._authorize(socket_id, None)
        data = {"channel": self.name, "auth": authorization["auth"]}
        if "channel_data" in authorization:
            data["channel_data"] = authorization["channel_data"]
        return data

    async def _authorize(
        self, socket_id: str, user_data: Mapping[str, Any] | None
    ) -> Authorization:
        return await self.client._authorize(socket_id, self.name, user_data)


class PresenceChannel(PrivateChannel):
    """A ``presence-`` channel: who is here, kept current as members come and go.

    Args:
        name: the channel name.
        client: the owning client.
        user_data: this client's member, ``{"user_id": ..., "user_info": {...}}``, signed
            into the subscription by the local authenticator.
    """

    kind = ChannelKind.PRESENCE

    def __init__(
        self,
        name: str,
        client: ChannelHost,
        user_data: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(name, client)
        self._subscription.user_data = dict(user_data) if user_data is not None else None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.state} members={len(self.members)}>"

    @property
    def user_data(self) -> dict[str, Any] | None:
        """The member this client joins as, as given."""
        return self._subscription.user_data

    @property
    def members(self) -> Members:
        """``user_id -> user_info`` of everyone on the channel, this client included.

        A live, read-only view: the core updates it as members come and go.
        """
        return self._subscription.members

    @property
    def me(self) -> Member | None:
        """This client's own member, once subscribed."""
        return self._subscription.members.me

    async def _subscribe(self, socket_id: str) -> Mapping[str, str]:
        authorization = await self._authorize(socket_id, self.user_data)
        data = {"channel": self.name, "auth": authorization["auth"]}
        channel_data = authorization.get("channel_data")
        if channel_data is not None:
            data["channel_data"] = channel_data
            self._subscription.note_channel_data(channel_data)
        return data
