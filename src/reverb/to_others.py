"""The ``X-Socket-ID`` header, for Laravel's ``broadcast(...)->toOthers()``.

When a request to the Laravel app carries ``X-Socket-ID``, ``toOthers()`` leaves that socket
out of the broadcast, so the client that caused an event does not hear it back. Laravel Echo
adds the header to every axios request; these helpers do the same for Python HTTP clients,
reading the socket id from the live client on every request (it changes on each reconnect):

* :func:`socket_id_headers` — a dict to pass as ``headers=``;
* :class:`SocketIdAuth` — an ``httpx.Auth`` (sync and async clients);
* :func:`httpx_hook` / :func:`httpx_async_hook` — request event hooks, for clients that
  already use ``auth=`` for something else;
* :class:`RequestsSocketIdAuth` — the same for ``requests`` (not a dependency: it needs
  nothing from ``requests`` at import time).

The source of the socket id is anything with a ``socket_id`` attribute or method (a
:class:`~reverb.client.ReverbClient`, a :class:`~reverb.echo.Echo`) or a function returning
it. While it is not connected, no header is added.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Protocol, TypeAlias

import httpx

if TYPE_CHECKING:
    import requests

__all__ = [
    "HEADER",
    "HasSocketId",
    "HasSocketIdMethod",
    "RequestsSocketIdAuth",
    "SocketIdAuth",
    "SocketIdSource",
    "httpx_async_hook",
    "httpx_hook",
    "socket_id_headers",
]

HEADER = "X-Socket-ID"
"""The header Laravel's ``Broadcast::socket()`` reads."""


class HasSocketId(Protocol):
    """Something that knows the current socket id (a ``ReverbClient``)."""

    @property
    def socket_id(self) -> str | None:
        """The socket id while connected, else ``None``."""
        ...


class HasSocketIdMethod(Protocol):
    """Something with a ``socket_id()`` method (an ``Echo``)."""

    def socket_id(self) -> str | None:
        """The socket id while connected, else ``None``."""
        ...


SocketIdSource: TypeAlias = HasSocketId | HasSocketIdMethod | Callable[[], str | None]
"""A client with ``socket_id``, an ``Echo``, or a function returning the socket id."""


def current_socket_id(source: SocketIdSource) -> str | None:
    """The socket id ``source`` knows now, or ``None``."""
    if callable(source):
        return source()
    socket_id = source.socket_id
    if callable(socket_id):  # an object with a socket_id() method, such as Echo
        value: str | None = socket_id()
        return value
    return socket_id


def socket_id_headers(source: SocketIdSource) -> dict[str, str]:
    """``{"X-Socket-ID": id}`` while ``source`` is connected, else ``{}``."""
    socket_id = current_socket_id(source)
    return {HEADER: socket_id} if socket_id else {}


def _stamp(headers: httpx.Headers, source: SocketIdSource) -> None:
    socket_id = current_socket_id(source)
    if socket_id:
        headers[HEADER] = socket_id


class SocketIdAuth(httpx.Auth):
    """An ``httpx.Auth`` adding ``X-Socket-ID`` to every request (sync or async client).

    ``httpx.AsyncClient(auth=SocketIdAuth(client))``; for clients that already use another
    ``auth``, use :func:`httpx_hook` / :func:`httpx_async_hook` instead.
    """

    def __init__(self, source: SocketIdSource) -> None:
        self.source = source

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the header, then send the request once."""
        _stamp(request.headers, self.source)
        yield request


def httpx_hook(source: SocketIdSource) -> Callable[[httpx.Request], None]:
    """A request hook for ``httpx.Client(event_hooks={"request": [httpx_hook(client)]})``."""

    def hook(request: httpx.Request) -> None:
        _stamp(request.headers, source)

    return hook


def httpx_async_hook(source: SocketIdSource) -> Callable[[httpx.Request], Awaitable[None]]:
    """A request hook for ``httpx.AsyncClient(event_hooks={"request": [...]})``."""

    async def hook(request: httpx.Request) -> None:
        _stamp(request.headers, source)

    return hook


class RequestsSocketIdAuth:
    """A ``requests`` auth adding ``X-Socket-ID``: ``session.auth = RequestsSocketIdAuth(c)``.

    ``requests`` takes any callable as ``auth``, so this needs no import of it.
    """

    def __init__(self, source: SocketIdSource) -> None:
        self.source = source

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Add the header to ``request`` and return it."""
        socket_id = current_socket_id(self.source)
        if socket_id:
            request.headers[HEADER] = socket_id
        return request
