"""What the server does with each message a socket sends (Reverb's EventHandler and ClientEvent).

Pure: it reads text, updates the :class:`~reverb.server.channels.ChannelManager`, and queues
replies on the peer. The I/O layer feeds it and records activity. A message Reverb's PHP cannot
decode (:mod:`~reverb.server.codec`) gets 4200, like any other malformed one.
"""

from __future__ import annotations

from typing import Any

from .channels import ChannelManager, Peer
from .codec import read_data, read_json
from .config import ClientEventsFrom
from .dialects import channel_type

__all__ = ["handle_message"]

_INVALID = (4200, "Invalid message format")


def handle_message(manager: ChannelManager, peer: Peer, text: str | bytes) -> None:
    """Act on one inbound message from ``peer``."""
    frames = manager.frames
    try:
        message = read_json(text)
    except ValueError:
        message = None
    if not isinstance(message, dict) or not isinstance(message.get("event"), str):
        peer.send(frames.error(*_INVALID))
        return
    event: str = message["event"]
    if event.startswith("pusher:"):
        _handle_pusher_event(manager, peer, event, message)
        return
    channel = message.get("channel")
    if not isinstance(channel, str):
        peer.send(frames.error(*_INVALID))
        return
    if event.startswith("client-"):
        _handle_client_event(manager, peer, event, channel, message)


def _handle_pusher_event(
    manager: ChannelManager, peer: Peer, event: str, message: dict[str, Any]
) -> None:
    frames = manager.frames
    if event == "pusher:ping":
        peer.send(frames.pong())
    elif event == "pusher:pong":
        return
    elif event in ("pusher:subscribe", "pusher:unsubscribe"):
        data = read_data(message.get("data"))
        channel = data.get("channel") if isinstance(data, dict) else None
        if not isinstance(channel, str):
            peer.send(frames.error(*_INVALID))
            return
        if event == "pusher:unsubscribe":
            manager.unsubscribe(peer, channel)
            return
        auth = data.get("auth")
        channel_data = data.get("channel_data")
        if (auth is not None and not isinstance(auth, str)) or (
            channel_data is not None and not isinstance(channel_data, str)
        ):
            peer.send(frames.error(*_INVALID))
            return
        manager.subscribe(peer, channel, auth, channel_data)
    elif not frames.is_soketi:
        peer.send(frames.error(*_INVALID))


def _handle_client_event(
    manager: ChannelManager, peer: Peer, event: str, channel: str, message: dict[str, Any]
) -> None:
    frames = manager.frames
    mode = manager.app.accept_client_events_from
    if frames.is_soketi:
        _handle_soketi_client_event(manager, peer, event, channel, message)
        return
    if mode is ClientEventsFrom.NONE:
        peer.send(frames.error(4301, "The app does not have client messaging enabled."))
        return
    data = read_data(message.get("data"))
    if data is not None and not isinstance(data, dict | list):
        peer.send(frames.error(*_INVALID))
        return
    if mode is ClientEventsFrom.ALL:
        manager.relay(peer, channel, frames.raw({**message, "data": data}))
        return
    subscription = manager.subscription(peer.socket_id, channel)
    if subscription is None:
        peer.send(frames.error(4009, "The client is not a member of the specified channel."))
        return
    relayed: dict[str, Any] = {"event": event, "channel": channel, "data": data}
    if subscription.member is not None and subscription.member.get("user_id") is not None:
        relayed["user_id"] = subscription.member["user_id"]
    manager.relay(peer, channel, frames.raw(relayed))


def _handle_soketi_client_event(
    manager: ChannelManager, peer: Peer, event: str, channel: str, message: dict[str, Any]
) -> None:
    frames = manager.frames
    if manager.app.accept_client_events_from is ClientEventsFrom.NONE:
        peer.send(frames.error(4301, "The app does not have client messaging enabled.", channel))
        return
    is_private, is_presence, _ = channel_type(channel, frames.dialect)
    subscription = manager.subscription(peer.socket_id, channel)
    if not is_private or subscription is None:
        return  # Soketi drops these silently
    relayed: dict[str, Any] = {"event": event, "channel": channel, "data": message.get("data")}
    if is_presence and subscription.user_id is not None:
        assert subscription.member is not None
        relayed["user_id"] = subscription.member["user_id"]
    manager.relay(peer, channel, frames.raw(relayed))
