"""The frames the server sends, in Reverb's shapes or Soketi's.

Reverb JSON-encodes ``data`` of its own events into a string and leaves ``channel`` out of
connection-level ones; Soketi sends ``data`` of errors as an object, sometimes with a channel.
Everything that differs between the two is decided here. Every frame is encoded by
:func:`~reverb.server.codec.write_json`, so it is valid UTF-8 whatever strings it carries.
"""

from __future__ import annotations

from typing import Any

from .codec import write_json
from .config import Dialect

__all__ = ["FrameWriter"]


class FrameWriter:
    """Builds outgoing frames for one dialect."""

    __slots__ = ("dialect",)

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect

    @property
    def is_soketi(self) -> bool:
        """Whether Soketi's shapes are used."""
        return self.dialect is Dialect.SOKETI

    @staticmethod
    def event(event: str, data: Any, channel: str | None = None, **extra: Any) -> str:
        """A frame with ``data`` JSON-encoded into a string (server events, broadcasts)."""
        frame: dict[str, Any] = {"event": event, "data": write_json(data)}
        if channel is not None:
            frame["channel"] = channel
        frame.update(extra)
        return write_json(frame)

    @staticmethod
    def raw(frame: dict[str, Any]) -> str:
        """A frame exactly as given."""
        return write_json(frame)

    def connection_established(self, socket_id: str, activity_timeout: int) -> str:
        """``pusher:connection_established``."""
        return self.event(
            "pusher:connection_established",
            {"socket_id": socket_id, "activity_timeout": activity_timeout},
        )

    def error(self, code: int, message: str, channel: str | None = None) -> str:
        """``pusher:error``: Reverb never names a channel; Soketi may, with object data."""
        if self.is_soketi:
            frame: dict[str, Any] = {
                "event": "pusher:error",
                "data": {"code": code, "message": message},
            }
            if channel is not None:
                frame["channel"] = channel
            return write_json(frame)
        return self.event("pusher:error", {"code": code, "message": message})

    def pong(self) -> str:
        """``pusher:pong``: no data on Reverb, ``{}`` on Soketi."""
        if self.is_soketi:
            return '{"event":"pusher:pong","data":{}}'
        return '{"event":"pusher:pong"}'

    @staticmethod
    def ping() -> str:
        """``pusher:ping`` (no data)."""
        return '{"event":"pusher:ping"}'

    def subscription_succeeded(self, channel: str, presence: Any = None) -> str:
        """``pusher_internal:subscription_succeeded``; Soketi omits data when not presence."""
        if presence is None:
            if self.is_soketi:
                return write_json(
                    {"event": "pusher_internal:subscription_succeeded", "channel": channel}
                )
            return self.event("pusher_internal:subscription_succeeded", {}, channel)
        return self.event("pusher_internal:subscription_succeeded", presence, channel)

    def unauthorized(self, channel: str) -> str:
        """A refused subscription signature."""
        if self.is_soketi:
            return self.subscription_error(
                channel, 401, "The connection is unauthorized.", "AuthError"
            )
        return self.error(4009, "Connection is unauthorized")

    @staticmethod
    def subscription_error(channel: str, status: int, error: str, type_: str | None = None) -> str:
        """Soketi's ``pusher:subscription_error`` (Reverb never sends one)."""
        data: dict[str, Any] = {"type": type_} if type_ is not None else {}
        data.update(error=error, status=status)
        return write_json({"event": "pusher:subscription_error", "channel": channel, "data": data})

    @staticmethod
    def cache_miss(channel: str) -> str:
        """``pusher:cache_miss`` (no data)."""
        return write_json({"event": "pusher:cache_miss", "channel": channel})
