"""The HTTP API that Laravel's broadcaster and the Pusher server SDKs call.

Pure request → response: the I/O layer parses the HTTP request and writes the response.
:data:`ROUTES` maps each method and path under ``/apps/{app_id}`` to its handler; a known path
with another method is 405, an unknown one 404. Signatures are checked by
:func:`~reverb.server.signatures.api_request_authorized`, and bodies decoded as strictly as
Reverb's PHP decodes them (:mod:`~reverb.server.codec`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from ..messages import decode_data
from .channels import ChannelManager
from .codec import read_json
from .config import AppConfig
from .signatures import api_request_authorized

__all__ = [
    "NOT_FOUND",
    "ROUTES",
    "ApiCall",
    "ApiRequest",
    "ApiResponse",
    "Route",
    "handle_api_request",
]


@dataclass(frozen=True)
class ApiRequest:
    """A parsed HTTP request; ``path`` has the server's prefix removed already, ``headers``
    have lower-case names.
    """

    method: str
    path: str
    query: Mapping[str, str]
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class ApiResponse:
    """What to answer."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any) -> ApiResponse:
        """A JSON response (non-ASCII escaped, as PHP's ``json_encode`` does)."""
        return cls(status, json.dumps(payload, separators=(",", ":")).encode())

    @classmethod
    def text(cls, status: int, text: str) -> ApiResponse:
        """A plain-text response (Reverb's errors)."""
        return cls(status, text.encode(), "text/plain")


NOT_FOUND = ApiResponse.text(404, "Not found.")
"""Reverb's answer to a path it has no route for."""


@dataclass(frozen=True)
class ApiCall:
    """One routed and authenticated request to an app's API, as its handler gets it."""

    request: ApiRequest
    params: Mapping[str, str]
    """The path's ``{placeholders}``, URL-decoded."""
    manager: ChannelManager
    connection_count: Callable[[], int]
    """Sockets of the app subscribed to at least one channel."""


Handler = Callable[[ApiCall], ApiResponse]
"""Answers one endpoint's calls."""


@dataclass(frozen=True)
class Route:
    """One endpoint: a method and a path pattern under ``/apps/{app_id}``, and its handler."""

    method: str
    pattern: str
    handler: Handler

    def match(self, segments: Sequence[str]) -> dict[str, str] | None:
        """The placeholders' values if ``segments`` fit the pattern (whatever the method)."""
        parts = self.pattern.strip("/").split("/")
        if len(parts) != len(segments):
            return None
        params: dict[str, str] = {}
        for part, segment in zip(parts, segments, strict=True):
            if part.startswith("{") and part.endswith("}"):
                params[part[1:-1]] = segment
            elif part != segment:
                return None
        return params


class _Invalid(Exception):
    """A request Laravel's validator refuses: 422 with the errors per field."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


class _Unreadable(Exception):
    """A body PHP's ``json_decode`` refuses: Reverb fails with 500."""


def handle_api_request(
    request: ApiRequest,
    find_app: Callable[[str], AppConfig | None],
    manager_of: Callable[[AppConfig], ChannelManager],
    connection_count: Callable[[AppConfig], int],
) -> ApiResponse:
    """Route and answer one HTTP API request."""
    segments = [unquote(part) for part in request.path.strip("/").split("/")]
    if request.method == "GET" and segments in ([""], ["up"]):
        return ApiResponse.json(200, {"health": "OK"})  # Reverb's /up; / as Soketi has it
    if len(segments) < 2 or segments[0] != "apps":
        return NOT_FOUND
    app_id = segments[1]
    matched = _match(request.method, segments[2:])
    if isinstance(matched, ApiResponse):
        return matched
    route, params = matched
    app = find_app(app_id)
    if app is None:
        return ApiResponse.text(404, f"No matching application for ID [{app_id}].")
    manager = manager_of(app)
    if not api_request_authorized(
        app.secret, request.method, request.path, request.query, request.body
    ):
        if manager.frames.is_soketi:
            return ApiResponse.json(401, {"error": "The secret authentication failed", "code": 401})
        return ApiResponse.text(401, "Authentication signature invalid.")
    try:
        return route.handler(ApiCall(request, params, manager, lambda: connection_count(app)))
    except _Invalid as exc:
        return ApiResponse.json(422, exc.errors)
    except _Unreadable:
        return ApiResponse.text(500, "Internal server error.")


def _match(method: str, segments: Sequence[str]) -> tuple[Route, dict[str, str]] | ApiResponse:
    """The route for ``method`` and the path ``segments`` under the app, or 404 or 405."""
    allowed: set[str] = set()
    for route in ROUTES:
        params = route.match(segments)
        if params is not None:
            if route.method == method:
                return route, params
            allowed.add(route.method)
    if not allowed:
        return NOT_FOUND
    return ApiResponse(
        405, b"Method not allowed.", "text/plain", {"Allow": ", ".join(sorted(allowed))}
    )


def _body(call: ApiCall) -> dict[str, Any]:
    """The JSON object in the body; an unparsable body fails as Reverb fails, or, in the Soketi
    dialect, reads as ``{}`` as Soketi reads it. Any other JSON value is validated as ``{}``.
    """
    try:
        payload = read_json(call.request.body or b"{}")
    except ValueError:
        if call.manager.frames.is_soketi:
            return {}
        raise _Unreadable from None
    return payload if isinstance(payload, dict) else {}


def _info_fields(raw: Any) -> set[str]:
    return {part.strip() for part in str(raw or "").split(",") if part.strip()}


def _channel_info(manager: ChannelManager, name: str, fields: set[str]) -> dict[str, Any]:
    channel = manager.channels.get(name)
    info: dict[str, Any] = {}
    if channel is None:
        return info
    if "user_count" in fields and channel.is_presence:
        info["user_count"] = len(channel.members())
    if "subscription_count" in fields and not channel.is_presence:
        info["subscription_count"] = len(channel.subscriptions)
    if "cache" in fields and channel.is_cache and channel.cached is not None:
        info["cache"] = decode_data(channel.cached)
    return info


def _publish(manager: ChannelManager, item: dict[str, Any], channels: list[str]) -> None:
    name = item.get("name")
    data = item.get("data")
    errors: dict[str, list[str]] = {}
    if not isinstance(name, str) or not name:
        errors["name"] = ["The name field is required."]
    if data is None:
        errors["data"] = ["The data field is required."]
    if not channels or not all(isinstance(channel, str) for channel in channels):
        errors["channels"] = ["The channels field is required."]
    socket_id = item.get("socket_id")
    if socket_id is not None and not isinstance(socket_id, str):
        errors["socket_id"] = ["The socket id must be a string."]
    if errors:
        raise _Invalid(errors)
    payload = data if isinstance(data, str) else json.dumps(data)
    for channel in channels:
        manager.broadcast(channel, str(name), payload, socket_id)


def _channels_of(item: dict[str, Any]) -> list[str]:
    if isinstance(item.get("channels"), list):
        return list(item["channels"])
    if isinstance(item.get("channel"), str):
        return [item["channel"]]
    return []


def _soketi_ok(manager: ChannelManager) -> ApiResponse | None:
    return ApiResponse.json(200, {"ok": True}) if manager.frames.is_soketi else None


def _events(call: ApiCall) -> ApiResponse:
    manager = call.manager
    item = _body(call)
    channels = _channels_of(item)
    _publish(manager, item, channels)
    fields = _info_fields(item.get("info"))
    if soketi := _soketi_ok(manager):
        return soketi
    if not fields:
        return ApiResponse.json(200, {})
    return ApiResponse.json(
        200, {"channels": {name: _channel_info(manager, name, fields) for name in channels}}
    )


def _batch_events(call: ApiCall) -> ApiResponse:
    manager = call.manager
    batch = _body(call).get("batch")
    if not isinstance(batch, list) or not all(isinstance(item, dict) for item in batch):
        raise _Invalid({"batch": ["The batch field is required."]})
    for item in batch:
        channel = item.get("channel")
        _publish(manager, item, [channel] if isinstance(channel, str) else [])
    if soketi := _soketi_ok(manager):
        return soketi
    if not any(item.get("info") for item in batch):
        return ApiResponse.json(200, {"batch": {}})
    return ApiResponse.json(
        200,
        {
            "batch": [
                _channel_info(manager, item["channel"], _info_fields(item.get("info")))
                for item in batch
            ]
        },
    )


def _channels(call: ApiCall) -> ApiResponse:
    manager = call.manager
    fields = _info_fields(call.request.query.get("info"))
    prefix = call.request.query.get("filter_by_prefix", "")
    result: dict[str, Any] = {}
    for channel in manager.occupied(prefix):
        if manager.frames.is_soketi:
            info: dict[str, Any] = {
                "subscription_count": len(channel.subscriptions),
                "occupied": True,
            }
            result[channel.name] = info
        else:
            result[channel.name] = _channel_info(manager, channel.name, fields)
    if not result and not manager.frames.is_soketi:
        return ApiResponse.json(200, {"channels": []})
    return ApiResponse.json(200, {"channels": result})


def _channel(call: ApiCall) -> ApiResponse:
    manager = call.manager
    name = call.params["channel"]
    channel = manager.channels.get(name)
    fields = _info_fields(call.request.query.get("info"))
    if manager.frames.is_soketi:
        info: dict[str, Any] = {
            "subscription_count": len(channel.subscriptions) if channel else 0,
            "occupied": channel is not None,
        }
        if name.startswith("presence-"):
            info["user_count"] = len(channel.members()) if channel is not None else 0
        return ApiResponse.json(200, info)
    if channel is None:
        return ApiResponse.json(200, {"occupied": False})
    return ApiResponse.json(200, {"occupied": True, **_channel_info(manager, name, fields)})


def _users(call: ApiCall) -> ApiResponse:
    channel = call.manager.channels.get(call.params["channel"])
    if channel is None:
        return ApiResponse.json(404, {})
    if not channel.is_presence:
        return ApiResponse.json(400, {})
    return ApiResponse.json(200, {"users": [{"id": user_id} for user_id in channel.member_ids()]})


def _terminate(call: ApiCall) -> ApiResponse:
    for peer in call.manager.sockets_of_user(call.params["user"]):
        terminate = getattr(peer, "terminate", None)
        if callable(terminate):
            terminate()
    return ApiResponse.json(200, {})


def _connections(call: ApiCall) -> ApiResponse:
    return ApiResponse.json(200, {"connections": call.connection_count()})


ROUTES: tuple[Route, ...] = (
    Route("POST", "/events", _events),
    Route("POST", "/batch_events", _batch_events),
    Route("GET", "/channels", _channels),
    Route("GET", "/channels/{channel}", _channel),
    Route("GET", "/channels/{channel}/users", _users),
    Route("POST", "/users/{user}/terminate_connections", _terminate),
    Route("GET", "/connections", _connections),
)
"""The API under ``/apps/{app_id}``, as Reverb's router defines it."""
