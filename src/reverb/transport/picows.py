"""The compiled :class:`~reverb.transport.Transport`: ``picows`` (installed by the ``fast`` extra).

picows parses frames in Cython and hands each one to a listener callback; this module passes
them straight on to the sink of :meth:`PicowsTransport.deliver` (no ``await`` per frame; with
:mod:`reverb.compiled`'s speedups a whole text frame takes no Python call on the way) or queues
them for :meth:`PicowsTransport.recv`, reassembles fragmented messages, answers the server's
close frame, pauses reading while too many frames wait (like ``websockets``' ``max_queue``) and
waits for the socket's buffer to drain when sending. picows' exceptions are translated here and
nowhere else. Text frames come back as UTF-8 ``bytes``: :func:`reverb.messages.decode_frame`
reads them without an extra copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import urllib.parse
import urllib.request
from collections import deque
from functools import partial
from typing import Any

from picows import (
    WSCloseCode,
    WSError,
    WSFrame,
    WSHandshakeError,
    WSListener,
    WSMsgType,
    WSTransport,
    ws_connect,
)
from python_socks import ProxyError  # picows' dependency for proxies

from .. import compiled
from .._version import __version__
from ..environment import derived_from_environment
from ..exceptions import ConnectionError
from ..redaction import RedactingLogger
from .base import FrameSink, TransportClosed, TransportOptions

__all__ = ["PicowsTransport", "connect_picows"]

_LOGGER = RedactingLogger(logging.getLogger("picows.client"))
_PAUSE_AT = 4096
"""Frames waiting in the queue above which the socket stops being read."""
_RESUME_AT = 1024
_NO_LIMIT = 2**62
_TEXT = WSMsgType.TEXT
_READ_BUFFER_SIZE = 2048
"""picows' first read buffer (its default is 16 KiB); it grows when a frame needs more."""
_CLOSE_TIMEOUT = 2.0
_NO_STATUS = 1005
"""The code of a close frame without one, as RFC 6455 and ``websockets`` report it."""


class PicowsTransport(WSListener):
    """:class:`~reverb.transport.Transport` over a picows client connection."""

    __slots__ = (
        "_closed",
        "_code",
        "_disconnected",
        "_fragments",
        "_frames",
        "_reading_paused",
        "_reason",
        "_retriever",
        "_sink",
        "_waiter",
        "_writable",
        "_ws",
        "on_ws_frame",
    )

    def __init__(self) -> None:
        super().__init__()
        self.on_ws_frame = self._on_frame  # type: ignore[method-assign]
        """What picows calls for each frame (it looks the name up on the instance):
        :meth:`_on_frame`, or a compiled reader of whole text frames while delivering."""
        self._ws: WSTransport | None = None
        self._frames: deque[bytes] | None = None
        """Messages waiting for :meth:`recv` (made on the first one)."""
        self._fragments: list[bytes] = []
        self._waiter: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None
        self._disconnected = False
        self._reading_paused = False
        self._code: int | None = None
        self._reason = ""
        self._retriever: asyncio.Future[None] | None = None
        self._sink: FrameSink | None = None
        self._closed: asyncio.Future[None] | None = None

    # -- picows callbacks (called by its frame reader, never by the client) -----------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        """Keep the picows transport."""
        self._ws = transport

    def _on_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        """Queue a text or binary message, or answer a close frame."""
        kind = frame.msg_type
        if kind is _TEXT and frame.fin and self._sink is not None:  # the usual frame, first
            if not transport.is_close_frame_sent:
                self._sink(frame.get_payload_as_bytes())
            return
        if transport.is_close_frame_sent and kind is not WSMsgType.CLOSE:
            return  # closing (by us, or by picows after a protocol error): data is dropped
        if kind is WSMsgType.TEXT or kind is WSMsgType.BINARY:
            if frame.fin:
                self._hand_on(frame.get_payload_as_bytes())
            else:
                self._fragments = [frame.get_payload_as_bytes()]
        elif kind is WSMsgType.CONTINUATION:
            self._fragments.append(frame.get_payload_as_bytes())
            if frame.fin:
                payload, self._fragments = b"".join(self._fragments), []
                self._hand_on(payload)
        elif kind is WSMsgType.CLOSE:
            code = _code(frame.get_close_code())
            self._code = _NO_STATUS if code == 0 else code
            self._reason = frame.get_close_reason() or ""
            if not transport.is_close_frame_sent:
                transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        """Wake whoever waits: recv raises once the queue is empty, send raises at once."""
        self._disconnected = True
        self._wake()
        closed = self._closed
        if closed is not None and not closed.done():
            closed.set_result(None)
        # picows keeps a protocol error (an oversized frame, say) in the future that
        # wait_disconnected() awaits; retrieve it so asyncio does not report it as unhandled.
        self._retriever = asyncio.ensure_future(_retrieve(transport))
        writable = self._writable
        if writable is not None and not writable.done():
            writable.set_result(None)

    def pause_writing(self) -> None:
        """The socket's buffer is full: :meth:`send` waits until it drains."""
        if self._writable is None or self._writable.done():
            self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        """The socket's buffer drained."""
        writable = self._writable
        if writable is not None and not writable.done():
            writable.set_result(None)

    def _hand_on(self, payload: bytes) -> None:
        """A whole message: to the sink while delivering, else queued for :meth:`recv`."""
        sink = self._sink
        if sink is None:
            self._push(payload)
        else:
            sink(payload)

    def _push(self, payload: bytes) -> None:
        frames = self._frames
        if frames is None:
            frames = self._frames = deque()
        frames.append(payload)
        self._wake()
        if len(frames) > _PAUSE_AT and not self._reading_paused and self._ws is not None:
            self._reading_paused = True
            self._ws.underlying_transport.pause_reading()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- the Transport protocol -------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """Whether the websocket is open: connected, and no close frame sent or received."""
        ws = self._ws
        return (
            ws is not None
            and not self._disconnected
            and self._code is None
            and not ws.is_close_frame_sent
        )

    async def send(self, text: str) -> None:
        """Send one text frame, waiting while the socket's buffer is full."""
        ws = self._ws
        if ws is None or not self.is_open:
            raise TransportClosed(self._code, self._reason)
        ws.send(WSMsgType.TEXT, text.encode())
        writable = self._writable
        if writable is not None and not writable.done():
            await writable
            if self._disconnected:
                raise TransportClosed(self._code, self._reason)

    async def recv(self) -> bytes:
        """Wait for the next message (UTF-8 bytes of a text frame)."""
        while not self._frames:
            if self._disconnected:
                raise TransportClosed(self._code, self._reason)
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        frames = self._frames
        if self._reading_paused and len(frames) <= _RESUME_AT and self._ws is not None:
            self._reading_paused = False
            self._ws.underlying_transport.resume_reading()
        return frames.popleft()

    async def deliver(self, sink: FrameSink) -> int | None:
        """Hand every message to ``sink`` as picows parses it, until the websocket closes.

        Returns the close code received (``None`` without one).
        """
        self._drain_into(sink)
        if self._reading_paused and self._ws is not None:
            self._reading_paused = False
            self._ws.underlying_transport.resume_reading()
        if not self._disconnected:
            self._closed = asyncio.get_running_loop().create_future()
            self._sink = sink
            speedups = compiled.speedups
            if speedups is not None:  # picows finds it before the class's method
                frames = speedups.PicowsFrames(sink, self._on_frame, _TEXT)
                self.on_ws_frame = frames.on_ws_frame  # type: ignore[method-assign]
            try:
                await self._closed
            finally:
                self.on_ws_frame = self._on_frame  # type: ignore[method-assign]
                self._sink = None
                self._closed = None
        return self._code

    def _drain_into(self, sink: FrameSink) -> None:
        """Hand the queued messages to ``sink`` and drop the queue (it is not needed again)."""
        frames, self._frames = self._frames, None
        while frames:
            sink(frames.popleft())

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame and wait a bounded time for the server's, then disconnect."""
        ws = self._ws
        if ws is None or self._disconnected:
            return
        if not ws.is_close_frame_sent:
            ws.send_close(WSCloseCode(code) if code < 3000 else code, reason.encode())  # type: ignore[arg-type]
        try:
            async with asyncio.timeout(_CLOSE_TIMEOUT):
                await ws.wait_disconnected()
        except TimeoutError:
            ws.disconnect(graceful=False)
        except WSError:  # a protocol error ended the connection first: it is closed anyway
            pass

    def abort(self) -> None:
        """Drop the TCP connection now."""
        if self._ws is not None:
            self._ws.disconnect(graceful=False)


async def _retrieve(transport: WSTransport) -> None:
    with contextlib.suppress(Exception):
        await transport.wait_disconnected()


def _code(code: Any) -> int:
    return int(getattr(code, "value", code))


def _proxy_for(url: str) -> str | None:
    """The proxy the environment names for ``url`` (as ``websockets`` finds it), or ``None``."""
    parts = urllib.parse.urlsplit(url)
    proxies = derived_from_environment("proxies", urllib.request.getproxies)
    proxy = proxies.get("https" if parts.scheme == "wss" else "http") or proxies.get("all")
    if proxy is None:
        return None
    bypass = derived_from_environment(("no-proxy", parts.netloc), partial(_bypass, parts.netloc))
    return None if bypass else proxy


def _bypass(netloc: str) -> bool:
    return bool(urllib.request.proxy_bypass(netloc))


async def connect_picows(url: str, options: TransportOptions) -> PicowsTransport:
    """Open a websocket with ``picows``.

    Pusher-level pings replace websocket pings (picows still answers the server's); proxies
    from the environment (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``) are used.

    Raises:
        ConnectionError: the connection, TLS or upgrade failed or timed out.
    """
    headers = {"User-Agent": f"python-reverb/{__version__}", **options.headers}
    extra: dict[str, Any] = {}
    proxy = _proxy_for(url)
    if proxy is not None:
        extra["proxy"] = proxy
    try:
        async with asyncio.timeout(options.open_timeout):
            _, listener = await ws_connect(
                PicowsTransport,
                url,
                ssl_context=options.ssl if url.startswith("wss:") else None,
                websocket_handshake_timeout=options.open_timeout,
                logger_name=_LOGGER,
                enable_auto_pong=True,
                max_frame_size=options.max_size or _NO_LIMIT,
                extra_headers=headers,
                max_redirects=0,
                read_buffer_init_size=_READ_BUFFER_SIZE,
                use_aiofastnet=False,
                **extra,
            )
    except WSHandshakeError as exc:
        response = exc.response
        if response is None:
            raise ConnectionError(f"could not open the websocket: {exc}") from exc
        status = int(response.status)
        raise ConnectionError(f"server refused the websocket upgrade with HTTP {status}") from exc
    except TimeoutError as exc:
        raise ConnectionError(
            f"timed out after {options.open_timeout} s opening the websocket"
        ) from exc
    except (OSError, WSError, ProxyError) as exc:  # ProxyError: the proxy refused the tunnel
        raise ConnectionError(f"could not open the websocket: {exc}") from exc
    if not isinstance(listener, PicowsTransport):
        # picows hands back no listener when the peer hangs up during the upgrade.
        raise ConnectionError("could not open the websocket: closed during the upgrade")
    return listener
