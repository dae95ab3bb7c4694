"""The websocket endpoint: the upgrade, the checks before ``connection_established``, the reads.

The upgrade is handed to ``websockets``' sans-I/O :class:`~websockets.server.ServerProtocol`,
driven by this module's read loop; each complete message goes to
:func:`~reverb.server.handler.handle_message`. After the upgrade, Reverb's checks
(``reverb-protocol.md`` §1): an unknown key (4001), the origin (4009), the connection quota
(4004); the last two leave the socket open but never established.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import random
from urllib.parse import urlsplit

from websockets.frames import CloseCode, Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

from ..redaction import RedactingLogger
from .config import AppConfig, Dialect
from .handler import handle_message
from .http11 import BAD_REQUEST, RequestHead, respond
from .peer import ServerPeer, close_reason
from .state import ServerState

__all__ = ["serve_websocket"]

_WEBSOCKETS_LOGGER = RedactingLogger(logging.getLogger("websockets.server"))


def _socket_id() -> str:
    return f"{random.randint(1, 1_000_000_000)}.{random.randint(1, 1_000_000_000)}"


async def serve_websocket(
    state: ServerState,
    head: RequestHead,
    key: str,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> None:
    """Upgrade the connection and serve the socket until it ends."""
    app = state.config.app_by_key(key)
    protocol = ServerProtocol(
        max_size=app.max_message_size if app else None, logger=_WEBSOCKETS_LOGGER
    )
    protocol.receive_data(head.raw)
    request = next(
        (event for event in protocol.events_received() if isinstance(event, Request)), None
    )
    if request is None:
        await respond(writer, BAD_REQUEST)
        return
    response = protocol.accept(request)
    response.headers["X-Powered-By"] = "Laravel Reverb"
    protocol.send_response(response)
    writer.write(b"".join(protocol.data_to_send()))
    if protocol.state is not State.OPEN:
        writer.close()
        return
    if app is None:
        _refuse_unknown_app(state, key, protocol, writer)
        return
    loop = asyncio.get_running_loop()
    peer = ServerPeer(_socket_id(), app, protocol, writer, loop.time())
    frames = state.frames
    if not _origin_allowed(app, head.headers.get("origin")):
        peer.send(frames.error(4009, "Origin not allowed"))
    elif app.max_connections is not None and state.connection_count(app) >= app.max_connections:
        peer.send(frames.error(4004, "Application is over connection quota"))
    else:
        state.peers[peer.socket_id] = peer
        peer.send(frames.connection_established(peer.socket_id, app.activity_timeout))
    try:
        await _read_messages(state, peer, reader)
    finally:
        peer.closed = True
        state.peers.pop(peer.socket_id, None)
        state.manager_of(app).unsubscribe_all(peer)


def _refuse_unknown_app(
    state: ServerState, key: str, protocol: ServerProtocol, writer: asyncio.StreamWriter
) -> None:
    """Reverb: 4001, then a TCP close with no close frame. Soketi: 4001 and close code 4001."""
    soketi = state.config.dialect is Dialect.SOKETI
    message = f"App key {key} does not exist." if soketi else "Application does not exist"
    protocol.send_text(state.frames.error(4001, message).encode())
    if soketi:
        protocol.send_close(4001, close_reason(message))
        writer.write(b"".join(protocol.data_to_send()))
        writer.close()
    else:
        writer.write(b"".join(protocol.data_to_send()))
        writer.transport.abort()


def _origin_allowed(app: AppConfig, origin: str | None) -> bool:
    """Reverb matches the ``Origin`` host against ``allowed_origins``; none at all is refused."""
    if "*" in app.allowed_origins:
        return True
    if not origin:
        return False
    try:
        host = urlsplit(origin).hostname or ""
    except ValueError:  # an unbalanced "[" in the authority
        return False
    return any(fnmatch.fnmatchcase(host, pattern) for pattern in app.allowed_origins)


async def _read_messages(
    state: ServerState, peer: ServerPeer, reader: asyncio.StreamReader
) -> None:
    protocol = peer.protocol
    loop = asyncio.get_running_loop()
    fragments: list[bytes] = []
    is_text = True
    while not peer.closed:
        data = await reader.read(65536)
        if not data:
            protocol.receive_eof()
            return
        if peer.stalled:
            continue
        protocol.receive_data(data)
        for frame in protocol.events_received():
            if not isinstance(frame, Frame):
                continue
            if frame.opcode in (Opcode.PING, Opcode.PONG):
                peer.uses_control_pings = True
                peer.last_seen, peer.pinged = loop.time(), False
                continue
            if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                is_text, fragments = frame.opcode is Opcode.TEXT, []
            elif frame.opcode is not Opcode.CONT:
                continue
            fragments.append(bytes(frame.data))
            if not frame.fin:
                continue
            message, fragments = b"".join(fragments), []
            peer.last_seen, peer.pinged = loop.time(), False
            if not _receive(state, peer, message, is_text):
                return
        peer.flush()
        if protocol.state is State.CLOSED or protocol.close_expected():
            return


def _receive(state: ServerState, peer: ServerPeer, message: bytes, is_text: bool) -> bool:
    """Record and handle one message; ``False`` if it failed the connection.

    A text message that is not UTF-8 fails the connection with 1007 (RFC 6455 §8.1, as Ratchet
    does under Reverb). Binary messages are read like text, and are invalid JSON if not UTF-8.
    """
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError:
        peer.received.append(message.decode("utf-8", errors="replace"))
        if is_text:
            peer.fail(CloseCode.INVALID_DATA, "Invalid UTF-8")
            return False
        handle_message(state.manager_of(peer.app), peer, message)
        return True
    peer.received.append(text)
    handle_message(state.manager_of(peer.app), peer, text)
    return True
