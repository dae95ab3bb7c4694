"""Pusher protocol 7 messages: one JSON text frame each, and the events handlers receive.

Servers send ``data`` of their own events (``pusher:*``, ``pusher_internal:*``) and of broadcasts
as a JSON-encoded string; Reverb relays client events with ``data`` as an object; Soketi sends
some errors with an object too. :meth:`Message.decode` accepts both and, like pusher-js, keeps a
string that is not JSON as the raw string.

This module is the only place that turns text into objects and back. When ``orjson`` is
installed (the ``fast`` extra) it does the work, with the standard library as the fallback for
whatever orjson refuses, so results are the same either way; :func:`use_json` picks a codec.
The differences that remain, all on encoding: ``NaN`` and the infinities become ``null`` (the
standard library writes ``NaN``, which is not JSON), floats may be spelled differently with the
same value (``1e16`` rather than ``1e+16``), and types the standard library refuses (dataclasses,
``datetime``, ``UUID``, enums) are written by orjson instead of raising ``TypeError``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .exceptions import ProtocolError

try:  # an optional accelerator: computes and does nothing else, like json
    import orjson
except ImportError:  # pragma: no cover - exercised where orjson is not installed
    orjson = None  # type: ignore[assignment]

__all__ = [
    "Event",
    "Message",
    "decode_data",
    "decode_frame",
    "decode_parsed",
    "decode_received",
    "decoder",
    "encode_json",
    "json_codec",
    "use_json",
]

_decoder = json.JSONDecoder()
_strict_decode = _decoder.decode
_raw_decode = _decoder.raw_decode
_std_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _std_decode(text: str | bytes) -> Any:
    # raw_decode skips decode()'s two whitespace regex scans; anything unusual (surrounding
    # whitespace, trailing garbage, invalid JSON) goes through the strict path and its errors.
    if not isinstance(text, str):
        text = text.decode("utf-8")
    try:
        value, end = _raw_decode(text)
    except ValueError:
        return _strict_decode(text)
    return value if end == len(text) else _strict_decode(text)


def _orjson_decode(text: str | bytes) -> Any:
    # What orjson refuses (NaN, ints beyond 64 bits, nesting past 1024, lone surrogates) goes
    # through the standard library, which accepts it or raises exactly as it always did.
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return _std_decode(text)


def _orjson_encode(value: Any) -> str:
    # orjson refuses non-string keys, ints beyond 64 bits and lone surrogates; the standard
    # library writes those (or raises its own TypeError) as it always did.
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return _std_encode(value)


_decode: Callable[[str | bytes], Any] = _std_decode
_loads: Callable[[str | bytes], Any] = _std_decode
"""The codec's own decoder, without the fallback (``orjson.loads`` with orjson)."""
_encode: Callable[[Any], str] = _std_encode
_codec = "json"


def use_json(codec: Literal["auto", "json", "orjson"] = "auto") -> str:
    """Choose the JSON codec for every client in the process; returns the one now in use.

    ``"auto"`` (what importing this module does) takes orjson when it is installed, ``"json"``
    the standard library. Tests use it to run the same cases under both.

    Raises:
        ImportError: ``"orjson"`` was asked for and is not installed.
    """
    global _decode, _encode, _codec, _loads
    if codec == "orjson" or (codec == "auto" and orjson is not None):
        if orjson is None:
            raise ImportError('orjson is not installed: pip install "python-reverb[fast]"')
        _decode, _encode, _codec, _loads = _orjson_decode, _orjson_encode, "orjson", orjson.loads
    else:
        _decode, _encode, _codec, _loads = _std_decode, _std_encode, "json", _std_decode
    return _codec


def decoder() -> Callable[[str | bytes], Any]:
    """The codec's own decoder (``orjson.loads`` with orjson), which :func:`decode_received`
    tries first; it raises :class:`ValueError` (or :class:`RecursionError`) on what it refuses.
    """
    return _loads


def json_codec() -> str:
    """The JSON codec in use: ``"orjson"`` or ``"json"`` (the standard library)."""
    return _codec


def encode_json(value: Any) -> str:
    """Serialize ``value`` compactly, the way the protocol and the signatures expect."""
    return _encode(value)


def decode_data(data: Any) -> Any:
    """Decode a ``data`` field: a JSON string becomes its value, anything else stays as it is."""
    if isinstance(data, str):
        try:
            return _decode(data)
        except (ValueError, RecursionError):
            return data
    return data


def decode_frame(text: str | bytes) -> tuple[str, Any, str | None, str | None]:
    """Parse one received frame into ``(event, data, channel, user_id)``.

    The fields of both :class:`Message` and :class:`Event`, without building either.

    Raises:
        ProtocolError: not a JSON object with a string ``event`` and an optional string
            ``channel``.
    """
    try:
        raw = _decode(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ProtocolError(f"frame is not valid JSON ({exc.__class__.__name__})") from exc
    return _fields(raw)


def decode_received(text: str | bytes) -> Event | tuple[str, Any, str | None, str | None]:
    """Parse one received frame: an :class:`Event` for a channel's event, else its fields.

    The receive hot path: a broadcast or client event (a string ``event`` not starting with
    ``pusher``, a string ``channel``) becomes its :class:`Event` directly; any other frame
    comes back as :func:`decode_frame`'s ``(event, data, channel, user_id)``.

    Raises:
        ProtocolError: as :func:`decode_frame`.
    """
    try:
        raw = _loads(text)
    except (ValueError, RecursionError):  # what orjson refuses goes through the fallback
        return decode_frame(text)
    return decode_parsed(raw)


def decode_parsed(raw: Any) -> Event | tuple[str, Any, str | None, str | None]:
    """:func:`decode_received` for a frame already parsed by :func:`decoder` (``raw``).

    Raises:
        ProtocolError: as :func:`decode_frame`.
    """
    if raw.__class__ is dict and "channel" in raw:
        name = raw.get("event")
        channel = raw["channel"]
        if name.__class__ is str and channel.__class__ is str and not name.startswith("pusher"):
            data = raw.get("data")
            if data.__class__ is str:
                try:
                    data = _loads(data)
                except (ValueError, RecursionError):
                    data = decode_data(data)
            if "user_id" in raw:
                user_id = raw["user_id"]
                return _new_event(name, channel, data, None if user_id is None else str(user_id))
            return _new_event(name, channel, data, None)
    return _fields(raw)


def _fields(raw: Any) -> tuple[str, Any, str | None, str | None]:
    if raw.__class__ is not dict:
        raise ProtocolError(f"frame is a JSON {type(raw).__name__}, not an object")
    event = raw.get("event")
    if event.__class__ is not str:
        raise ProtocolError("frame has no string 'event'")
    channel = raw.get("channel")
    if channel is not None and channel.__class__ is not str:
        raise ProtocolError(f"frame {event!r} has a non-string 'channel'")
    user_id = raw.get("user_id")
    return event, decode_data(raw.get("data")), channel, None if user_id is None else str(user_id)


@dataclass(frozen=True, slots=True)
class Message:
    """One protocol frame.

    Its fields carry the same names as :class:`Event`'s (the wire calls the name ``event``).

    Attributes:
        name: the event name, such as ``pusher:subscribe`` or ``OrderShipped``.
        data: the payload, already decoded from its JSON string when it was one.
        channel: the channel the frame belongs to, or ``None`` for connection-level frames.
        user_id: the sender of a client event, when the server attributes one.
    """

    name: str
    data: Any = None
    channel: str | None = None
    user_id: str | None = None

    @classmethod
    def decode(cls, text: str | bytes) -> Message:
        """Parse one received frame.

        Raises:
            ProtocolError: the frame is not a JSON object with a string ``event``, or its
                ``channel`` is not a string.
        """
        return cls(*decode_frame(text))

    def encode(self) -> str:
        """Serialize this frame for sending; ``data`` goes out as an object, not a string."""
        frame: dict[str, Any] = {"event": self.name}
        if self.data is not None:
            frame["data"] = self.data
        if self.channel is not None:
            frame["channel"] = self.channel
        return _encode(frame)

    @property
    def event(self) -> str:
        """Deprecated alias of :attr:`name` (the wire field's name), kept for 0.1 code."""
        warnings.warn(
            "Message.event is deprecated; use Message.name, as on Event",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.name

    def data_field(self, key: str) -> Any:
        """Return ``data[key]`` when ``data`` is an object, else ``None``."""
        data = self.data
        return data.get(key) if isinstance(data, Mapping) else None


@dataclass(frozen=True, slots=True)
class Event:
    """An event delivered to handlers.

    Attributes:
        name: the event name, for example ``OrderShipped``, ``client-typing`` or
            ``pusher:member_added``.
        channel: the channel it arrived on, or ``None`` for connection-level events.
        data: the payload: decoded JSON, or the raw string when it was not JSON.
        user_id: the sending user of a client event, when the server attributes one.
    """

    name: str
    channel: str | None
    data: Any = None
    user_id: str | None = None


def _event_factory() -> Callable[[str, str | None, Any, str | None], Event]:
    """``Event(name, channel, data, user_id)`` at half the cost of the frozen dataclass's
    ``__init__`` (which sets each field through ``object.__setattr__``); the same object.
    """
    new = object.__new__
    fields = vars(Event)
    set_name = fields["name"].__set__
    set_channel = fields["channel"].__set__
    set_data = fields["data"].__set__
    set_user_id = fields["user_id"].__set__

    def new_event(name: str, channel: str | None, data: Any, user_id: str | None) -> Event:
        event = new(Event)
        set_name(event, name)
        set_channel(event, channel)
        set_data(event, data)
        set_user_id(event, user_id)
        return event

    return new_event


_new_event = _event_factory()

use_json()
