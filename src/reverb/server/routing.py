"""Which service a request is for: the websocket endpoint, the HTTP API, or neither.

One port serves both, like Reverb: ``[/path]/app/{key}`` with ``Upgrade: websocket`` is a
websocket; anything else under the path prefix goes to the HTTP API, or to the
``/broadcasting/auth`` stand-in (:mod:`~reverb.server.broadcasting`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from .http11 import BAD_REQUEST, RequestHead, parse_query
from .http_api import NOT_FOUND, ApiRequest, ApiResponse

__all__ = ["ApiRoute", "WebSocketRoute", "route"]


@dataclass(frozen=True)
class WebSocketRoute:
    """A websocket upgrade for the app with this key."""

    app_key: str


@dataclass(frozen=True)
class ApiRoute:
    """An HTTP API request; its body is still to be read."""

    path: str
    query: dict[str, str]

    def request(
        self, method: str, body: bytes, headers: Mapping[str, str] | None = None
    ) -> ApiRequest:
        """The request for :func:`~reverb.server.http_api.handle_api_request` (or the
        ``/broadcasting`` stand-in, which reads ``headers``).
        """
        return ApiRequest(method, self.path, self.query, body, dict(headers or {}))


def route(head: RequestHead, prefix: str) -> WebSocketRoute | ApiRoute | ApiResponse:
    """Where ``head`` goes, or the error response (400, 404) if nowhere.

    Args:
        head: the parsed request head.
        prefix: the server's path prefix (``""`` or ``"/something"``).
    """
    try:
        url = urlsplit(head.target)
    except ValueError:  # an unbalanced "[" in the authority
        return BAD_REQUEST
    if prefix and not (url.path == prefix or url.path.startswith(prefix + "/")):
        return NOT_FOUND
    path = url.path[len(prefix) :] or "/"
    if head.headers.get("upgrade", "").lower() == "websocket":
        parts = path.strip("/").split("/")
        if head.method != "GET" or len(parts) != 2 or parts[0] != "app":
            return NOT_FOUND
        return WebSocketRoute(parts[1])
    return ApiRoute(path, parse_query(url.query))
