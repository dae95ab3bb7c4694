"""Checking what clients signed: subscriptions and HTTP API requests.

The strings are signed as the client core signs them (:mod:`reverb.protocol.signing`); what
differs per server is which parts go into them, named here. A signature that cannot even be
compared (non-ASCII, or over a name no UTF-8 encoder can write) is simply wrong.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from ..protocol.signing import api_signing_string, channel_signature, sign
from .config import AppConfig, Dialect
from .dialects import soketi_channel_type

__all__ = ["ROUTING_PARAMS", "api_request_authorized", "subscription_authorized"]

ROUTING_PARAMS = frozenset({"auth_signature", "body_md5", "appId", "appKey", "channelName"})
"""Query parameters Reverb leaves out of the string it verifies."""


def _matches(expected: str, given: str) -> bool:
    return given.isascii() and hmac.compare_digest(expected, given)


def subscription_authorized(
    app: AppConfig,
    dialect: Dialect,
    socket_id: str,
    channel: str,
    auth: object,
    channel_data: str | None,
) -> bool:
    """Whether ``auth`` (``key:signature``) signs this subscription with the app's secret.

    Reverb deliberately ignores the key part, and signs ``channel_data`` whenever it is
    non-empty, on any channel. Soketi wants the app's key, and signs ``channel_data`` (empty
    if absent) for presence channels only.
    """
    if not isinstance(auth, str):
        return False
    key, colon, signature = auth.partition(":")
    if not colon:
        return False
    if dialect is Dialect.SOKETI:
        if key != app.key:
            return False
        signed_data = (channel_data or "") if soketi_channel_type(channel).is_presence else None
    else:
        signed_data = channel_data or None
    try:
        expected = channel_signature(app.secret, socket_id, channel, signed_data)
    except ValueError:  # UnicodeEncodeError: a lone surrogate in a name
        return False
    return _matches(expected, signature)


def api_request_authorized(
    secret: str, method: str, path: str, query: Mapping[str, str], body: bytes
) -> bool:
    """Whether an HTTP API request carries a valid ``auth_signature``.

    Two strings are accepted. Reverb's: the query without :data:`ROUTING_PARAMS`, plus the
    ``body_md5`` it computes itself, only for a non-empty body. And the official SDKs': every
    parameter as sent, which includes ``body_md5`` of the empty body on GET requests (Reverb
    refuses those; a server for development should accept what the SDKs send).
    """
    given = query.get("auth_signature", "")
    body_md5 = hashlib.md5(body).hexdigest() if body else None
    reverb_params = {name: value for name, value in query.items() if name not in ROUTING_PARAMS}
    if body_md5 is not None:
        reverb_params["body_md5"] = body_md5
    sdk_params = {name: value for name, value in query.items() if name != "auth_signature"}
    if body_md5 is not None and sdk_params.get("body_md5") != body_md5:
        return False
    for params in (reverb_params, sdk_params):
        try:
            expected = sign(secret, api_signing_string(method, path, params))
        except ValueError:  # UnicodeEncodeError: a lone surrogate in a parameter
            return False
        if _matches(expected, given):
            return True
    return False
