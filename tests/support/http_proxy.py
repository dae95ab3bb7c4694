"""An HTTP ``CONNECT`` proxy for tests (what ``HTTPS_PROXY=http://...`` points at), on asyncio.

``async with HttpConnectProxy() as proxy`` listens on a free loopback port. Each ``CONNECT
host:port`` opens a tunnel to the target and then copies bytes both ways; a ``ws://`` or
``wss://`` websocket then runs inside it (TLS end to end, the proxy sees no plaintext). Every
request is recorded in :attr:`HttpConnectProxy.requests` (target and headers), so a test can
prove its connection went through the proxy; :meth:`HttpConnectProxy.drop_tunnels` resets every
open tunnel. With ``credentials`` set, a request without the
matching ``Proxy-Authorization: Basic`` header is answered 407.

:func:`use_proxy` points the standard proxy variables at a proxy (and clears the others), as a
developer behind a corporate proxy would have them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from dataclasses import dataclass
from types import TracebackType

import pytest

__all__ = ["ConnectRequest", "HttpConnectProxy", "use_proxy"]

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@dataclass(frozen=True)
class ConnectRequest:
    """One ``CONNECT`` the proxy received."""

    target: str
    headers: dict[str, str]


class HttpConnectProxy:
    """The proxy, as an async context manager (listening on entry, closed on exit)."""

    def __init__(self, *, credentials: tuple[str, str] | None = None) -> None:
        self.requests: list[ConnectRequest] = []
        self._credentials = credentials
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> HttpConnectProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, with the credentials in it when it has some."""
        assert self._server is not None, "start the proxy first"
        port = self._server.sockets[0].getsockname()[1]
        if self._credentials is None:
            return f"http://127.0.0.1:{port}"
        user, password = self._credentials
        return f"http://{user}:{password}@127.0.0.1:{port}"

    def drop_tunnels(self) -> int:
        """Reset every open connection, both sides, as a network failure would; return how many."""
        writers = list(self._writers)
        for writer in writers:
            writer.transport.abort()
        return len(writers)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            await self._serve(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request_line, *header_lines = head.split("\r\n")
        method, target, _ = request_line.split(" ", 2)
        headers = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        self.requests.append(ConnectRequest(target, headers))
        if method != "CONNECT":
            writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        if not self._authorized(headers.get("proxy-authorization", "")):
            writer.write(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                b'Proxy-Authenticate: Basic realm="tests"\r\nContent-Length: 0\r\n\r\n'
            )
            await writer.drain()
            return
        host, _, port = target.rpartition(":")
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                host.strip("[]"), int(port)
            )
        except OSError:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return
        self._writers.add(upstream_writer)
        try:
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await asyncio.gather(_copy(reader, upstream_writer), _copy(upstream_reader, writer))
        finally:
            self._writers.discard(upstream_writer)
            upstream_writer.transport.abort()

    def _authorized(self, header: str) -> bool:
        if self._credentials is None:
            return True
        scheme, _, encoded = header.partition(" ")
        expected = base64.b64encode(":".join(self._credentials).encode()).decode()
        return scheme.lower() == "basic" and encoded == expected


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of stream, then pass the end on (half-close)."""
    try:
        while chunk := await reader.read(64 * 1024):
            writer.write(chunk)
            await writer.drain()
    except OSError:
        pass
    with contextlib.suppress(OSError):
        if writer.can_write_eof():
            writer.write_eof()


def use_proxy(monkeypatch: pytest.MonkeyPatch, url: str, *, no_proxy: str | None = None) -> None:
    """Route ``ws://`` and ``wss://`` through ``url`` by the environment; nothing else is set."""
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("HTTP_PROXY", url)
    monkeypatch.setenv("HTTPS_PROXY", url)
    if no_proxy is not None:
        monkeypatch.setenv("NO_PROXY", no_proxy)
