"""Channels: what a subscription is, and the handlers bound to it.

A channel object is a durable *intent*: it survives reconnects, and the client subscribes it
again, with fresh authorization, on every new socket. Its handlers stay bound throughout.

::

    Channel (abstract)
    ├── PublicChannel
    └── PrivateChannel          private-*: signed subscription, client events
        └── PresenceChannel     presence-*: members, me

Custom channel types subclass one of these and override :meth:`Channel._subscribe` (what to
send to subscribe) and/or :meth:`Channel._handle_event` (what to do with a received event),
then are passed to ``client.subscribe(channel_object)``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from .auth import Authorization
from .dispatch import Bindable, HandlerRegistry, run_handlers
from .exceptions import ReverbError
from .messages import Event
from .protocol.names import ChannelKind
from .protocol.presence import Member, Members

if TYPE_CHECKING:
    from .client import ReverbClient

__all__ = [
    "Channel",
    "PresenceChannel",
    "PrivateChannel",
    "PublicChannel",
    "SubscriptionState",
]

logger = logging.getLogger("reverb.channels")


class SubscriptionState(StrEnum):
    """Where a channel's subscription stands on the current connection."""

    UNSUBSCRIBED = "unsubscribed"
    PENDING = "pending"
    SUBSCRIBED = "subscribed"
    FAILED = "failed"


class Channel(Bindable, ABC):
    """A channel the client subscribes to, with its own handlers (``bind``, ``on``,
    ``bind_global``, ``unbind``, ``unbind_global``).

    Args:
        name: the channel name.
        client: the client that owns the subscription.
    """

    kind: ClassVar[ChannelKind] = ChannelKind.PUBLIC

    def __init__(self, name: str, client: ReverbClient) -> None:
        self.name = name
        self.client = client
        self.state = SubscriptionState.UNSUBSCRIBED
        self.error: ReverbError | None = None
        """Why the last subscription attempt failed, if it did."""
        self._handlers = HandlerRegistry()
        self._waiters: list[asyncio.Future[None]] = []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.state}>"

    @property
    def subscribed(self) -> bool:
        """Whether the server confirmed the subscription on the current connection."""
        return self.state is SubscriptionState.SUBSCRIBED

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

    # -- bookkeeping, driven by the client ------------------------------------------------------

    def _wait_subscribed(self) -> asyncio.Future[None]:
        if self.state is SubscriptionState.SUBSCRIBED:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return waiter

    def _set_pending(self) -> None:
        self.state = SubscriptionState.PENDING

    def _set_subscribed(self, data: Any) -> None:
        self.state = SubscriptionState.SUBSCRIBED
        self.error = None
        self._release_waiters(None)

    def _set_failed(self, error: ReverbError) -> None:
        self.state = SubscriptionState.FAILED
        self.error = error
        self._release_waiters(error)

    def _set_unsubscribed(self) -> None:
        """The socket is gone; the channel waits to be subscribed again."""
        if self.state is not SubscriptionState.FAILED:
            self.state = SubscriptionState.UNSUBSCRIBED

    def _detach(self, error: ReverbError) -> None:
        """Unsubscribed for good: fail anyone still waiting and drop the handlers."""
        self.state = SubscriptionState.UNSUBSCRIBED
        self._release_waiters(error)
        self._handlers.clear()

    def _release_waiters(self, error: ReverbError | None) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if waiter.done():
                continue
            if error is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(error)


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
        client: ReverbClient,
        user_data: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(name, client)
        self.user_data = dict(user_data) if user_data is not None else None
        self._members = Members()
        self._my_id: str | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.state} members={len(self._members)}>"

    @property
    def members(self) -> Members:
        """``user_id -> user_info`` of everyone on the channel, this client included."""
        return self._members

    @property
    def me(self) -> Member | None:
        """This client's own member, once subscribed."""
        return self._members.me

    async def _subscribe(self, socket_id: str) -> Mapping[str, str]:
        authorization = await self._authorize(socket_id, self.user_data)
        data = {"channel": self.name, "auth": authorization["auth"]}
        channel_data = authorization.get("channel_data")
        if channel_data is not None:
            data["channel_data"] = channel_data
            self._my_id = _user_id_of(channel_data)
        return data

    def _set_subscribed(self, data: Any) -> None:
        self._members.reset(data, self._my_id)
        super()._set_subscribed(data)

    def _set_unsubscribed(self) -> None:
        self._members.clear()
        super()._set_unsubscribed()


def _user_id_of(channel_data: str) -> str | None:
    try:
        user_id = json.loads(channel_data).get("user_id")
    except (ValueError, AttributeError, RecursionError):
        logger.warning("presence channel_data is not a JSON object; 'me' stays unknown")
        return None
    return None if user_id is None else str(user_id)
