"""Channels: handles on subscriptions, with the handlers bound to them.

A channel object is a durable *intent*: it survives reconnects, and the client subscribes it
again, with fresh authorization, on every new socket. Its handlers stay bound throughout. Its
state is not kept here: it lives in the core's
:class:`~reverb.protocol.subscriptions.Subscription` record, which the handle reads.

::

    Channel (abstract)
    ├── PublicChannel
    └── PrivateChannel          private-*: signed subscription, client events
        ├── PresenceChannel     presence-*: members, me
        └── EncryptedChannel    private-encrypted-*: payloads decrypted, no client events

Custom channel types subclass one of these and override :meth:`Channel._subscribe` (what to
send to subscribe) and/or :meth:`Channel._handle_event` (what to do with a received event),
then are passed to ``client.subscribe(channel_object)``.

A channel talks to its client only through :class:`ChannelHost`, defined here, so this module
never imports the client.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar, Protocol

from .auth import Authorization
from .dispatch import Bindable, HandlerRegistry, run_handlers
from .dispatcher import ClientStats
from .encryption import decode_shared_secret, decrypt_data
from .exceptions import AuthenticationError, ConfigurationError, DecryptionError, ReverbError
from .messages import Event
from .protocol.names import ChannelKind, channel_kind
from .protocol.presence import Member, Members
from .protocol.subscriptions import Subscription, SubscriptionState, Trigger

__all__ = [
    "CHANNEL_CLASSES",
    "Channel",
    "ChannelHost",
    "EncryptedChannel",
    "PresenceChannel",
    "PrivateChannel",
    "PublicChannel",
    "SubscriptionState",
    "channel_for",
]

logger = logging.getLogger("reverb.channels")

REAUTHORIZATION_TIMEOUT = 10.0
"""Seconds an encrypted channel waits for a fresh key before withholding the event (handlers
wait meanwhile, to keep the order of events)."""


class ChannelHost(Protocol):
    """What a channel needs of the client that owns it."""

    @property
    def stats(self) -> ClientStats:
        """Where handler failures are counted."""
        ...

    @property
    def socket_id(self) -> str | None:
        """The current socket id, while connected."""
        ...

    async def _report_error(self, error: ReverbError) -> None:
        """Hand ``error`` to the client's ``on_error`` handlers (called on the dispatcher)."""
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
    _opens_events: ClassVar[bool] = False
    """Whether the dispatcher passes events through :meth:`_open_event` first."""
    _handled_inline: ClassVar[bool] = True
    """Whether the dispatcher may call the handlers itself (the stock :meth:`_handle_event`,
    no :meth:`_open_event`); set for each subclass."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._handled_inline = not cls._opens_events and cls._handle_event is Channel._handle_event

    def __init__(self, name: str, client: ChannelHost) -> None:
        self.name = name
        self.client = client
        self._subscription = Subscription(name, kind=type(self).kind)
        self._handlers = HandlerRegistry()
        self._waiters: list[tuple[asyncio.Future[None], bool]] = []
        self._holding: list[asyncio.Future[None]] = []
        self._hold: asyncio.Future[None] | None = None
        """Resolved once every ``subscribe()`` caller woken by the confirmation has resumed."""

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

    async def _open_event(self, event: Event) -> Event | None:
        """Return ``event`` as every handler should see it, or ``None`` to withhold it.

        Called by the dispatcher, before :meth:`_handle_event` and the client-wide handlers,
        only when the class sets ``_opens_events = True``.
        """
        return event

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

    def _wait_subscribed(self, hold: bool = False) -> asyncio.Future[None]:
        """A future resolved when the subscription settles.

        With ``hold``, the confirmation that resolves it holds events back (see
        :meth:`_release_waiters`) until the waiter calls :meth:`_resumed`.
        """
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.state is SubscriptionState.SUBSCRIBED:
            waiter.set_result(None)
        else:
            self._waiters.append((waiter, hold))
        return waiter

    def _release_waiters(self, error: ReverbError | None) -> asyncio.Future[None] | None:
        """The subscription settled: confirmed (``None``) or failed with ``error``.

        Returns:
            When the confirmation woke waiters that hold: a future resolved once they have
            all resumed. Events received meanwhile must wait for it, so that handlers a
            caller binds right after ``subscribe()`` returns see them.
        """
        waiters, self._waiters = self._waiters, []
        woken = False
        for waiter, hold in waiters:
            if waiter.done():
                continue
            if error is not None:
                waiter.set_exception(error)
                continue
            waiter.set_result(None)
            if hold:
                self._holding.append(waiter)
                woken = True
        if not woken:
            return None
        if self._hold is None:
            self._hold = asyncio.get_running_loop().create_future()
        return self._hold

    def _resumed(self, waiter: asyncio.Future[None]) -> None:
        """The caller that waited on ``waiter`` has resumed (or gave up)."""
        holding = self._holding
        if waiter in holding:
            holding.remove(waiter)
            if not holding and self._hold is not None:
                self._hold.set_result(None)
                self._hold = None

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


class EncryptedChannel(PrivateChannel):
    """A ``private-encrypted-`` channel: end-to-end encrypted payloads, decrypted here.

    The key is the ``shared_secret`` of the channel's authorization (base64 of 32 bytes), which
    the local authenticator derives from ``encryption_master_key_base64``. It is never sent to
    the server, logged or shown. Handlers, client-wide ones included, get the decrypted data
    (decoded as JSON when it is JSON). An event the key cannot open is retried once with a fresh
    key from a new authorization; if that fails too it is withheld, counted in
    ``stats.decryption_errors``, logged and reported as a
    :class:`~reverb.exceptions.DecryptionError` to the client's ``on_error`` handlers. Events
    behind it wait, so their order is kept. Client events are refused (as pusher-js does).
    """

    kind = ChannelKind.ENCRYPTED
    _opens_events = True

    def __init__(self, name: str, client: ChannelHost) -> None:
        super().__init__(name, client)
        self.__key: bytes | None = None

    async def _subscribe(self, socket_id: str) -> Mapping[str, str]:
        authorization = await self._authorize(socket_id, None)
        self.__key = self._key_of(authorization)
        return {"channel": self.name, "auth": authorization["auth"]}

    def _key_of(self, authorization: Authorization) -> bytes:
        secret = authorization.get("shared_secret")
        if secret is None:
            raise AuthenticationError(
                f"{self.name!r} is end-to-end encrypted but its authorization has no "
                "shared_secret: set REVERB_ENCRYPTION_MASTER_KEY_BASE64 (or "
                "encryption_master_key_base64=) to sign locally, or have the authenticator "
                "return 'shared_secret'",
                channel=self.name,
            )
        try:
            return decode_shared_secret(secret)
        except ValueError as exc:
            raise AuthenticationError(
                f"the authorization of {self.name!r} has a bad shared_secret: {exc}",
                channel=self.name,
            ) from None

    async def _open_event(self, event: Event) -> Event | None:
        if event.name.startswith(("pusher:", "pusher_internal:")):
            return event
        try:
            return self._decrypted(event)
        except ValueError:
            pass
        socket_id = self.client.socket_id
        try:
            if socket_id is None:
                raise AuthenticationError("not connected", channel=self.name)
            async with asyncio.timeout(REAUTHORIZATION_TIMEOUT):
                authorization = await self._authorize(socket_id, None)
            self.__key = self._key_of(authorization)
            return self._decrypted(event)
        except TimeoutError:
            reason = f"no fresh key within {REAUTHORIZATION_TIMEOUT} s"
        except (ValueError, ReverbError) as exc:
            reason = str(exc)
        self.client.stats.decryption_errors += 1
        logger.error("withheld %r on %s: %s", event.name, self.name, reason)
        error = DecryptionError(
            f"could not decrypt {event.name!r} on {self.name!r}, even with a fresh key: {reason}",
            channel=self.name,
            event=event.name,
        )
        await self.client._report_error(error)
        return None

    def _decrypted(self, event: Event) -> Event:
        if self.__key is None:
            raise ValueError("the channel has no key yet")
        return replace(event, data=decrypt_data(event.data, self.__key))


CHANNEL_CLASSES: Mapping[ChannelKind, type[Channel]] = {
    ChannelKind.PUBLIC: PublicChannel,
    ChannelKind.PRIVATE: PrivateChannel,
    ChannelKind.ENCRYPTED: EncryptedChannel,
    ChannelKind.PRESENCE: PresenceChannel,
}
"""The channel class ``client.subscribe(name)`` makes for each kind of name."""


def channel_for(name: str, host: ChannelHost, user_data: Mapping[str, Any] | None) -> Channel:
    """The channel object ``client.subscribe(name)`` makes: its class from the name's kind.

    Raises:
        ConfigurationError: ``user_data`` is not a mapping, or given for a channel that is
            not a presence channel.
    """
    if user_data is not None and not isinstance(user_data, Mapping):
        raise ConfigurationError(
            f"user_data must be a mapping such as {{'user_id': ...}}, not "
            f"{type(user_data).__name__}"
        )
    kind = channel_kind(name)
    if kind is ChannelKind.PRESENCE:
        return PresenceChannel(name, host, user_data)
    if user_data is not None:
        raise ConfigurationError("user_data is only for presence channels")
    return CHANNEL_CLASSES[kind](name, host)
