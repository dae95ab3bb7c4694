"""A stand-in for a Laravel app's ``/broadcasting/auth`` (and ``/broadcasting/user-auth``).

Pure request → response, answering as Laravel 11's ``BroadcastController`` with the Pusher
broadcaster does, for the users of :mod:`reverb.server.users`:

- credentials: ``Authorization: Bearer <token>`` (an ``api`` token guard), or a
  ``laravel_session`` cookie with its ``X-CSRF-TOKEN`` (the ``web`` group; a missing or wrong
  token is 419 "CSRF token mismatch."). None valid: 401 ``{"message":"Unauthenticated."}`` when
  the client asks for JSON, else a 302 redirect to ``/login``, as Laravel answers;
- 403 for a public channel name, a missing one, or one the user's patterns do not allow;
- 500 "Invalid socket ID" / "Invalid channel name" where the Pusher SDK refuses to sign;
- 200 ``{"auth": ...}`` (private), with ``channel_data`` (presence; ``user_id`` a string) or
  ``shared_secret`` (``private-encrypted-``, when the app has an encryption master key).

JSON is written as PHP's ``json_encode`` writes it: compact, non-ASCII and ``/`` escaped.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from ..encryption import encrypt_data
from ..protocol.signing import channel_auth, channel_shared_secret, sign, validate_socket_id
from .codec import read_json
from .config import AppConfig, ServerConfig
from .http_api import ApiRequest, ApiResponse
from .users import User, UserDirectory

__all__ = [
    "AUTH_PATH",
    "SESSION_COOKIE",
    "USER_AUTH_PATH",
    "encrypted_payload",
    "handle_broadcasting_request",
    "is_broadcasting_path",
    "php_json",
]

logger = logging.getLogger("reverb.server.broadcasting")

AUTH_PATH = "/broadcasting/auth"
"""Where Laravel's ``Broadcast::routes()`` authorizes channels."""
USER_AUTH_PATH = "/broadcasting/user-auth"
"""Where it authenticates users for pusher-js ``signin()``."""
SESSION_COOKIE = "laravel_session"
"""The session cookie of the ``web`` group (Laravel's default name)."""

_ENCRYPTED = "private-encrypted-"
_PUSHER_CHANNEL = re.compile(r"[-a-zA-Z0-9_=@,.;]+")  # what the Pusher SDKs agree to sign
_METHODS = ("GET", "HEAD", "POST")  # Laravel registers both routes for GET and POST


class _Answer(Exception):
    """Stop and answer with this response."""

    def __init__(self, response: ApiResponse) -> None:
        super().__init__(response.status)
        self.response = response


def php_json(value: Any) -> str:
    """Encode as PHP's ``json_encode`` does by default: compact, non-ASCII and ``/`` escaped."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/")


def _json(status: int, payload: Any) -> ApiResponse:
    return ApiResponse(status, php_json(payload).encode())


def is_broadcasting_path(path: str) -> bool:
    """Whether ``path`` (prefix removed) is one of the stand-in's routes."""
    return path.rstrip("/") in (AUTH_PATH, USER_AUTH_PATH)


def encrypted_payload(app: AppConfig, channel: str, payload: str) -> str:
    """``payload`` as the official server SDKs publish it on ``channel``: encrypted with the
    channel's shared secret on a ``private-encrypted-`` channel when ``app`` has a master key,
    untouched otherwise.
    """
    key = app.encryption_master_key
    if key is None or not channel.startswith(_ENCRYPTED):
        return payload
    return encrypt_data(payload, channel_shared_secret(channel, key))


def handle_broadcasting_request(request: ApiRequest, config: ServerConfig) -> ApiResponse:
    """Answer one request to ``/broadcasting/auth`` or ``/broadcasting/user-auth``."""
    path = request.path.rstrip("/")
    if request.method not in _METHODS:
        message = (
            f"The {request.method} method is not supported for route {path.lstrip('/')}. "
            f"Supported methods: {', '.join(_METHODS)}."
        )
        response = _json(405, {"message": message})
        return ApiResponse(405, response.body, headers={"Allow": ", ".join(_METHODS)})
    users = config.users if config.users is not None else UserDirectory()
    app = _signing_app(config, users)
    inputs = _inputs(request)
    expects_json = _expects_json(request.headers)
    try:
        user = _authenticate(request.headers, inputs, users, expects_json)
        if path == USER_AUTH_PATH:
            return _user_authentication(app, user, inputs)
        return _channel_authorization(app, user, inputs)
    except _Answer as answer:
        if not expects_json and answer.response.status in (403, 500):
            text = json.loads(answer.response.body)["message"] or "Forbidden"
            return ApiResponse.text(answer.response.status, text)
        return answer.response


def _signing_app(config: ServerConfig, users: UserDirectory) -> AppConfig:
    if users.app_id is not None:
        app = config.app_by_id(users.app_id)
        if app is not None:
            return app
    return config.apps[0]


# -- the request -------------------------------------------------------------------------------


def _inputs(request: ApiRequest) -> dict[str, Any]:
    """Laravel's ``$request->input()``: the query, then the body (form or JSON) over it."""
    inputs: dict[str, Any] = dict(request.query)
    content_type = request.headers.get("content-type", "").lower()
    body: Any = {}
    if "json" in content_type:
        try:
            body = read_json(request.body or b"{}")
        except ValueError:  # Laravel reads an undecodable JSON body as no input
            body = {}
    elif request.body and (not content_type or "x-www-form-urlencoded" in content_type):
        text = request.body.decode("utf-8", "replace")
        body = dict(parse_qsl(text, keep_blank_values=True))
    if isinstance(body, dict):
        inputs.update(body)
    return inputs


def _expects_json(headers: Mapping[str, str]) -> bool:
    """Laravel's ``expectsJson()``: an XHR accepting anything, or an ``Accept`` asking for JSON."""
    first = headers.get("accept", "").split(",")[0].split(";")[0].strip().lower()
    if "/json" in first or "+json" in first:
        return True
    xhr = headers.get("x-requested-with", "") == "XMLHttpRequest"
    return xhr and first in ("", "*/*", "*")


def _bearer(headers: Mapping[str, str], inputs: Mapping[str, Any]) -> str | None:
    token = inputs.get("api_token")
    if isinstance(token, str) and token:
        return token
    header = headers.get("authorization", "")
    position = header.lower().rfind("bearer ")
    if position < 0:
        return None
    return header[position + 7 :].split(",")[0].strip() or None


def _cookie(headers: Mapping[str, str], name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, found, value = part.strip().partition("=")
        if found and key == name:
            return value
    return None


def _authenticate(
    headers: Mapping[str, str], inputs: Mapping[str, Any], users: UserDirectory, json_: bool
) -> User:
    token = _bearer(headers, inputs)
    if token is not None:
        user = users.by_token(token)
        if user is not None:
            return user
        raise _Answer(_unauthenticated(json_))
    session = _cookie(headers, SESSION_COOKIE)
    if session is not None:
        user = users.by_session(session)
        given = inputs.get("_token") or headers.get("x-csrf-token") or headers.get("x-xsrf-token")
        if (
            user is None
            or user.csrf_token is None
            or not isinstance(given, str)
            or not hmac.compare_digest(
                given.encode("utf-8", "surrogatepass"), user.csrf_token.encode()
            )
        ):
            if json_:
                raise _Answer(_json(419, {"message": "CSRF token mismatch."}))
            raise _Answer(ApiResponse.text(419, "Page Expired"))
        return user
    raise _Answer(_unauthenticated(json_))


def _unauthenticated(json_: bool) -> ApiResponse:
    if json_:
        return _json(401, {"message": "Unauthenticated."})
    return ApiResponse(302, b"Redirecting to /login", "text/plain", {"Location": "/login"})


# -- the answers ---------------------------------------------------------------------------------


def _forbidden() -> _Answer:
    return _Answer(_json(403, {"message": ""}))  # Symfony's AccessDeniedHttpException


def _server_error(message: str) -> _Answer:
    return _Answer(_json(500, {"message": message}))


def _socket_id(inputs: Mapping[str, Any]) -> str:
    socket_id: Any = inputs.get("socket_id")
    try:
        return validate_socket_id(socket_id)
    except ValueError:
        raise _server_error("Invalid socket ID") from None


def _channel_authorization(app: AppConfig, user: User, inputs: Mapping[str, Any]) -> ApiResponse:
    channel = inputs.get("channel_name")
    if not isinstance(channel, str) or not channel.startswith(("private-", "presence-")):
        raise _forbidden()  # no name, or a public one: Laravel guards only these prefixes
    rule = user.rule_for(channel)
    if rule is None:
        logger.debug("user %s may not join %r: 403", user.id, channel)
        raise _forbidden()
    if len(channel) > 200 or not _PUSHER_CHANNEL.fullmatch(channel):
        raise _server_error("Invalid channel name")
    socket_id = _socket_id(inputs)
    answer: dict[str, str] = {}
    if channel.startswith("presence-"):
        user_data: dict[str, Any] = {"user_id": user.id}
        info = rule.info if rule.info is not None else user.info
        if info:
            user_data["user_info"] = info
        channel_data = php_json(user_data)
        answer["auth"] = channel_auth(app.key, app.secret, socket_id, channel, channel_data)
        answer["channel_data"] = channel_data
    else:
        answer["auth"] = channel_auth(app.key, app.secret, socket_id, channel)
    if channel.startswith(_ENCRYPTED):
        if app.encryption_master_key is None:
            raise _server_error(
                "Cannot generate shared_secret because encryption master key is not set"
            )
        secret = channel_shared_secret(channel, app.encryption_master_key)
        answer["shared_secret"] = base64.b64encode(secret).decode()
    logger.debug("authorized user %s for %r", user.id, channel)
    return _json(200, answer)


def _user_authentication(app: AppConfig, user: User, inputs: Mapping[str, Any]) -> ApiResponse:
    socket_id = _socket_id(inputs)
    data: dict[str, Any] = {"id": user.id}
    if user.info:
        data["user_info"] = user.info
    user_data = php_json(data)
    signature = sign(app.secret, f"{socket_id}::user::{user_data}")
    return _json(200, {"auth": f"{app.key}:{signature}", "user_data": user_data})
