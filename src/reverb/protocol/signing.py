"""HMAC-SHA256 signatures of the Pusher protocol: channel authorization and HTTP API requests.

Pure functions: the caller passes the secret and, for API requests, the timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

__all__ = [
    "api_signing_string",
    "channel_auth",
    "channel_shared_secret",
    "channel_signature",
    "sign",
    "signed_api_query",
    "validate_socket_id",
]

_SOCKET_ID = re.compile(r"[0-9]+\.[0-9]+")


def sign(secret: str, message: str) -> str:
    """Return the hex HMAC-SHA256 of ``message`` keyed with ``secret``."""
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def validate_socket_id(socket_id: str) -> str:
    """Return ``socket_id`` if it has the protocol's ``digits.digits`` form.

    Raises:
        ValueError: it does not (signing anything else would authorize nonsense).
    """
    if not isinstance(socket_id, str) or not _SOCKET_ID.fullmatch(socket_id):
        raise ValueError(f"invalid socket_id {socket_id!r}")
    return socket_id


def channel_signature(
    secret: str, socket_id: str, channel: str, channel_data: str | None = None
) -> str:
    """Sign ``socket_id:channel`` (``socket_id:channel:channel_data`` for presence)."""
    subject = f"{validate_socket_id(socket_id)}:{channel}"
    if channel_data is not None:
        subject = f"{subject}:{channel_data}"
    return sign(secret, subject)


def channel_auth(
    key: str, secret: str, socket_id: str, channel: str, channel_data: str | None = None
) -> str:
    """Return the ``auth`` field of a subscribe request: ``key:signature``."""
    return f"{key}:{channel_signature(secret, socket_id, channel, channel_data)}"


def api_signing_string(method: str, path: str, params: Mapping[str, str]) -> str:
    r"""Return the string an HTTP API signature covers: ``METHOD\npath\nk=v&...``.

    ``params`` are joined as ``name=value`` (decoded, not URL-encoded), sorted by name.
    """
    signed = "&".join(f"{name}={params[name]}" for name in sorted(params))
    return f"{method.upper()}\n{path}\n{signed}"


def signed_api_query(
    *,
    key: str,
    secret: str,
    method: str,
    path: str,
    timestamp: int,
    body: bytes = b"",
    params: Mapping[str, str] | None = None,
) -> dict[str, str]:
    r"""Return the query parameters that authenticate one HTTP API request.

    The signature covers ``METHOD\npath\nsorted params``, where the params are ``params`` plus
    ``auth_key``, ``auth_timestamp``, ``auth_version`` and, for a non-empty body, ``body_md5``.
    Reverb, Soketi and hosted Pusher all verify this form.
    """
    query: dict[str, str] = dict(params or {})
    query.update(auth_key=key, auth_timestamp=str(timestamp), auth_version="1.0")
    if body:
        query["body_md5"] = hashlib.md5(body).hexdigest()
    query["auth_signature"] = sign(secret, api_signing_string(method, path, query))
    return query


def channel_shared_secret(channel_name: str, master_key: bytes) -> bytes:
    """The 32-byte key of a ``private-encrypted-`` channel, as the official server SDKs derive
    it: SHA-256 of the channel name's bytes followed by the app's encryption master key.

    Every socket and user of the channel gets the same key.
    """
    return hashlib.sha256(channel_name.encode() + master_key).digest()
