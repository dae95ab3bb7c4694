"""The HTTP API that Laravel's broadcaster and the Pusher server SDKs call.

Pure request → response: the I/O layer parses the HTTP request and writes the response.
Signatures are verified the way Reverb does, and also the way the official SDKs sign (which
include ``body_md5`` of an empty body on GET requests), so both are accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from ..protocol.signing import sign
from .channels import ChannelManager
from .config import AppConfig

__all__ = ["ApiRequest", "ApiResponse", "handle_api_request"]

_ROUTING_PARAMS = frozenset({"auth_signature", "body_md5", "appId", "appKey", "channelName"})


@dataclass(frozen=True)
class ApiRequest:
    """A parsed HTTP request; ``path`` has the server's prefix removed already."""

    method: str
    path: str
    query: Mapping[str, str]
    body: bytes = b""


@dataclass(frozen=True)
class ApiResponse:
    """What to answer."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any) -> ApiResponse:
        """A JSON response."""
        return cls(status, json.dumps(payload, separators=(",", ":")).encode())

    @classmethod
    def text(cls, status: int, text: str) -> ApiResponse:
        """A plain-text response (Reverb's errors)."""
        return cls(status, text.encode(), "text/plain")


def _signature_valid(app: AppConfig, request: ApiRequest) -> bool:
    given = request.query.get("auth_signature", "")
    body_md5 = hashlib.md5(request.body).hexdigest() if request.body else None
    # Reverb: drop routing params, add the computed body_md5 only for a non-empty body.
    reverb_params = {k: v for k, v in request.query.items() if k not in _ROUTING_PARAMS}
    if body_md5 is not None:
        reverb_params["body_md5"] = body_md5
    # Pusher's SDKs: every param but the signature, as sent (body_md5 of b"" included).
    sdk_params = {k: v for k, v in request.query.items() if k != "auth_signature"}
    if body_md5 is not None and sdk_params.get("body_md5") != body_md5:
        return False
    for params in (reverb_params, sdk_params):
        signed = "&".join(f"{key}={params[key]}" for key in sorted(params))
        expected = sign(app.secret, f"{request.method.upper()}\n{request.path}\n{signed}")
        if hmac.compare_digest(expected, given):
            return True
    return False


def handle_api_request(
    request: ApiRequest,
    find_app: Callable[[str], AppConfig | None],
    manager_of: Callable[[AppConfig], ChannelManager],
    connection_count: Callable[[AppConfig], int],
) -> ApiResponse:
    """Route and answer one HTTP API request."""
    parts = [unquote(part) for part in request.path.strip("/").split("/")] if request.path else []
    if parts in ([], ["up"]) and request.method == "GET":
        return ApiResponse.json(200, {"health": "OK"})
    if len(parts) < 3 or parts[0] != "apps":
        return ApiResponse.text(404, "Not found.")
    app = find_app(parts[1])
    if app is None:
        return ApiResponse.text(404, f"No matching application for ID [{parts[1]}].")
    manager = manager_of(app)
    route = parts[2:]
    handler = _route(request.method, route)
    if handler is None:
        return ApiResponse.text(404, "Not found.")
    if not _signature_valid(app, request):
        if manager.frames.is_soketi:
            return ApiResponse.json(401, {"error": "The secret authentication failed", "code": 401})
        return ApiResponse.text(401, "Authentication signature invalid.")
    try:
        return handler(manager, request, route, connection_count(app))
    except _Invalid as exc:
        return ApiResponse.json(422, exc.errors)


class _Invalid(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


Handler = Callable[[ChannelManager, ApiRequest, list[str], int], ApiResponse]


def _route(method: str, route: list[str]) -> Handler | None:
    if method == "POST" and route == ["events"]:
        return _events
    if method == "POST" and route == ["batch_events"]:
        return _batch_events
    if method == "GET" and route == ["channels"]:
        return _channels
    if method == "GET" and len(route) == 2 and route[0] == "channels":
        return _channel
    if method == "GET" and len(route) == 3 and route[0] == "channels" and route[2] == "users":
        return _users
    if (
        method == "POST"
        and len(route) == 3
        and route[0] == "users"
        and route[2] == "terminate_connections"
    ):
        return _terminate
    if method == "GET" and route == ["connections"]:
        return _connections
    return None


def _body(request: ApiRequest) -> dict[str, Any]:
    try:
        payload = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):
        raise _Invalid({"body": ["The body must be valid JSON."]}) from None
    if not isinstance(payload, dict):
        raise _Invalid({"body": ["The body must be a JSON object."]})
    return payload


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
        info["cache"] = json.loads(channel.cached)
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


def _events(
    manager: ChannelManager, request: ApiRequest, route: list[str], connections: int
) -> ApiResponse:
    item = _body(request)
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


def _batch_events(
    manager: ChannelManager, request: ApiRequest, route: list[str], connections: int
) -> ApiResponse:
    batch = _body(request).get("batch")
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


def _channels(
    manager: ChannelManager, request: ApiRequest, route: list[str], connections: int
) -> ApiResponse:
    fields = _info_fields(request.query.get("info"))
    prefix = request.query.get("filter_by_prefix", "")
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


def _channel(
    manager: ChannelManager, request: ApiRequest, route: list[str], connections: int
) -> ApiResponse:
    name = route[1]
    channel = manager.channels.get(name)
    fields = _info_fields(request.query.get("info"))
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


def _users(
    manager: ChannelManager, request: ApiRequest, route: list[str], connections: int
) -> ApiResponse:
    channel = manager.channels.get(route[1])
    if channel is None:
        return ApiResponse.json(404, {})
    if not channel.is_presence:
        return ApiResponse.json(400, {})
    return ApiResponse.json(200, {"users": [{"id": user_id} for user_id in channel.member_ids()]})


def _terminate(
    manager: ChannelManager, request: ApiRequest, route: list[str], connections: int
) -> ApiResponse:
    for peer in manager.sockets_of_user(route[1]):
        terminate = getattr(peer, "terminate", None)
        if callable(terminate):
            terminate()
    return ApiResponse.json(200, {})


def _connections(
    manager: ChannelManager, request: ApiRequest, route: list[str], connections: int
) -> ApiResponse:
    return ApiResponse.json(200, {"connections": connections})
