"""Channels, subscriptions, presence and cache of one app: the server's state, without I/O.

Peers are anything with a ``socket_id`` and a ``send(text)`` that queues a frame; the manager
never awaits. Semantics follow Reverb (``../reference/reverb-protocol.md`` §3-6): undashed type
prefixes, presence deduplicated per user, cache channels replaying the last broadcast while
occupied. The Soketi dialect switches the documented differences.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..protocol.names import MAX_CHANNEL_NAME_LENGTH
from .codec import read_json
from .config import AppConfig
from .dialects import channel_type, soketi_name_allowed, soketi_name_too_long
from .frames import FrameWriter
from .signatures import subscription_authorized

__all__ = ["ChannelManager", "Peer", "ServerChannel", "Subscription"]

_SOKETI_NAME_NOT_ALLOWED = (
    "The channel name is not allowed. Read channel conventions: "
    "https://pusher.com/docs/channels/using_channels/channels/#channel-naming-conventions"
)


class Peer(Protocol):
    """A connected socket, as the channel manager sees it."""

    socket_id: str

    def send(self, text: str) -> None:
        """Queue one text frame for the socket."""
        ...


@dataclass
class Subscription:
    """One socket on one channel."""

    peer: Peer
    channel_data: str | None = None
    member: dict[str, Any] | None = None

    @property
    def user_id(self) -> str | None:
        """The presence user id, compared as a string as Reverb does."""
        if self.member is None or self.member.get("user_id") is None:
            return None
        return str(self.member["user_id"])


@dataclass
class ServerChannel:
    """One occupied channel."""

    name: str
    is_private: bool
    is_presence: bool
    is_cache: bool
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    cached: str | None = None

    def members(self) -> dict[str, Any]:
        """``user_id -> user_info`` of the present users, first socket's info winning."""
        result: dict[str, Any] = {}
        for subscription in self.subscriptions.values():
            user_id = subscription.user_id
            if user_id is not None and user_id not in result:
                assert subscription.member is not None
                result[user_id] = subscription.member.get("user_info")
        return result

    def member_ids(self) -> list[Any]:
        """Distinct user ids in their original JSON types."""
        seen: set[str] = set()
        ids: list[Any] = []
        for subscription in self.subscriptions.values():
            user_id = subscription.user_id
            if user_id is not None and user_id not in seen:
                seen.add(user_id)
                assert subscription.member is not None
                ids.append(subscription.member["user_id"])
        return ids

    def sockets_of(self, user_id: str) -> int:
        """How many sockets of ``user_id`` are subscribed."""
        return sum(1 for sub in self.subscriptions.values() if sub.user_id == user_id)


class ChannelManager:
    """The channels of one app."""

    def __init__(self, app: AppConfig, frames: FrameWriter) -> None:
        self.app = app
        self.frames = frames
        self.channels: dict[str, ServerChannel] = {}

    def __iter__(self) -> Iterator[ServerChannel]:
        return iter(list(self.channels.values()))

    # -- subscribing ----------------------------------------------------------------------------

    def authorized(self, socket_id: str, channel: str, auth: Any, channel_data: str | None) -> bool:
        """Whether ``auth`` signs this subscription with the app secret."""
        return subscription_authorized(
            self.app, self.frames.dialect, socket_id, channel, auth, channel_data
        )

    def subscribe(self, peer: Peer, name: str, auth: Any, channel_data: str | None) -> bool:
        """Subscribe ``peer``; answer it (success, refusal, presence, cache). Return success."""
        is_private, is_presence, is_cache = channel_type(name, self.frames.dialect)
        refusal = self._refusal(peer.socket_id, name, is_private, auth, channel_data)
        if refusal is not None:
            peer.send(refusal)
            return False
        member: dict[str, Any] | None = None
        if channel_data is not None:
            try:
                decoded = read_json(channel_data)
            except ValueError:
                decoded = None
            member = decoded if isinstance(decoded, dict) else None
        channel = self.channels.get(name)
        if channel is None:
            channel = self.channels[name] = ServerChannel(name, is_private, is_presence, is_cache)
        subscription = Subscription(peer, channel_data, member if is_presence else None)
        user_id = subscription.user_id
        is_new_user = (
            is_presence
            and user_id is not None
            and peer.socket_id not in channel.subscriptions
            and channel.sockets_of(user_id) == 0
        )
        channel.subscriptions[peer.socket_id] = subscription
        if is_presence:
            peer.send(self.frames.subscription_succeeded(name, self._presence_payload(channel)))
            if is_new_user and member is not None:
                self._send_to_others(
                    channel,
                    peer.socket_id,
                    self.frames.event("pusher_internal:member_added", member, name),
                )
        else:
            peer.send(self.frames.subscription_succeeded(name))
        if is_cache:
            peer.send(
                channel.cached if channel.cached is not None else self.frames.cache_miss(name)
            )
        return True

    def _refusal(
        self, socket_id: str, name: str, is_private: bool, auth: Any, channel_data: str | None
    ) -> str | None:
        """The frame refusing this subscription, if it is refused.

        Reverb checks only the signature; Soketi first the name's length, then the signature,
        then the name's characters.
        """
        frames = self.frames
        if frames.is_soketi and soketi_name_too_long(name):
            error = (
                f"The channel name is longer than the allowed {MAX_CHANNEL_NAME_LENGTH} characters."
            )
            return frames.subscription_error(name, 4009, error, "LimitReached")
        if is_private and not self.authorized(socket_id, name, auth, channel_data):
            return frames.unauthorized(name)
        if frames.is_soketi and not soketi_name_allowed(name):
            return frames.subscription_error(name, 4009, _SOKETI_NAME_NOT_ALLOWED)
        return None

    def _presence_payload(self, channel: ServerChannel) -> dict[str, Any]:
        if any(sub.user_id is None for sub in channel.subscriptions.values()):
            return {"presence": {"count": 0, "ids": [], "hash": []}}
        members = channel.members()
        hash_: Any = members
        if list(members) == [str(index) for index in range(len(members))]:
            hash_ = list(members.values())  # PHP encodes keys 0..n-1 as a list
        return {"presence": {"count": len(members), "ids": channel.member_ids(), "hash": hash_}}

    def unsubscribe(self, peer: Peer, name: str) -> None:
        """Remove ``peer`` from ``name``; tell presence members if its user left."""
        channel = self.channels.get(name)
        if channel is None:
            return
        subscription = channel.subscriptions.pop(peer.socket_id, None)
        if subscription is None:
            return
        user_id = subscription.user_id
        if channel.is_presence and user_id is not None and channel.sockets_of(user_id) == 0:
            assert subscription.member is not None
            removed = self.frames.event(
                "pusher_internal:member_removed", {"user_id": subscription.member["user_id"]}, name
            )
            self._send_to_others(channel, peer.socket_id, removed)
            if channel.is_cache:
                channel.cached = removed
        if not channel.subscriptions:
            del self.channels[name]

    def unsubscribe_all(self, peer: Peer) -> None:
        """Remove ``peer`` from every channel (it disconnected)."""
        for channel in list(self.channels.values()):
            if peer.socket_id in channel.subscriptions:
                self.unsubscribe(peer, channel.name)

    def is_subscribed(self, socket_id: str) -> bool:
        """Whether the socket is on at least one channel."""
        return any(socket_id in channel.subscriptions for channel in self.channels.values())

    # -- publishing -------------------------------------------------------------------------------

    def broadcast(
        self, name: str, event: str, data: str, except_socket_id: str | None = None
    ) -> None:
        """Deliver an API event (``data`` as given) to the channel's subscribers."""
        channel = self.channels.get(name)
        if channel is None:
            return
        frame = self.frames.raw({"event": event, "data": data, "channel": name})
        if channel.is_cache:
            channel.cached = frame
        self._send_to_others(channel, except_socket_id, frame)

    def relay(self, sender: Peer, name: str, frame: str) -> None:
        """Deliver a client event frame to every subscriber but the sender."""
        channel = self.channels.get(name)
        if channel is None:
            return
        if channel.is_cache and not self.frames.is_soketi:
            channel.cached = frame
        self._send_to_others(channel, sender.socket_id, frame)

    def subscription(self, socket_id: str, name: str) -> Subscription | None:
        """The socket's subscription to ``name``, if any."""
        channel = self.channels.get(name)
        return channel.subscriptions.get(socket_id) if channel else None

    @staticmethod
    def _send_to_others(channel: ServerChannel, except_socket_id: str | None, frame: str) -> None:
        for socket_id, subscription in list(channel.subscriptions.items()):
            if socket_id != except_socket_id:
                subscription.peer.send(frame)

    # -- queries ---------------------------------------------------------------------------------

    def occupied(self, prefix: str = "") -> Iterable[ServerChannel]:
        """Occupied channels whose names start with ``prefix``."""
        return [channel for name, channel in self.channels.items() if name.startswith(prefix)]

    def sockets_of_user(self, user_id: str) -> list[Peer]:
        """Every socket whose presence channel_data names ``user_id``."""
        peers: dict[str, Peer] = {}
        for channel in self.channels.values():
            for subscription in channel.subscriptions.values():
                if subscription.user_id == user_id:
                    peers[subscription.peer.socket_id] = subscription.peer
        return list(peers.values())
