"""A client of the Pusher HTTP API that Reverb, Soketi and Pusher serve: publish and query.

This is what Laravel's broadcaster does from PHP; from Python it lets a service, a CLI or a
test publish events without Laravel::

    async with ApiClient(ReverbConfig()) as api:       # REVERB_APP_ID/KEY/SECRET, host, port
        await api.trigger(["orders"], "OrderShipped", {"id": 42})

Requests are signed with the app secret. Signatures are query parameters, so this module keeps
them out of httpx's request log.

Events for ``private-encrypted-`` channels are encrypted end to end with the channel's key,
derived from ``encryption_master_key_base64`` as the official server SDKs and Laravel's
broadcaster do; only one such channel may be named per event, since each has its own key.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import httpx

from .config import ReverbConfig
from .encryption import encrypt_data
from .exceptions import ApiError, ConfigurationError, ReverbError
from .protocol.names import ChannelKind, channel_kind
from .protocol.signing import channel_shared_secret, signed_api_query
from .redaction import HiddenSignaturesFilter

__all__ = ["ApiClient", "ApiError"]


_FILTER = HiddenSignaturesFilter()


def _hide_signatures_in_httpx_logs() -> None:
    httpx_logger = logging.getLogger("httpx")
    if _FILTER not in httpx_logger.filters:
        httpx_logger.addFilter(_FILTER)


class ApiClient:
    """Signed requests to ``/apps/{app_id}/...`` of one app.

    Args:
        config: needs ``app_id``, ``app_key`` and ``app_secret``; host, port, scheme and path
            locate the server.
        timeout: seconds per request.
        transport: an httpx transport, for tests.

    Raises:
        ConfigurationError: ``app_id`` or ``app_secret`` is missing.
    """

    def __init__(
        self,
        config: ReverbConfig,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not config.app_id:
            raise ConfigurationError("the HTTP API needs the app id (REVERB_APP_ID or app_id=)")
        if config.app_secret is None:
            raise ConfigurationError(
                "the HTTP API needs the app secret (REVERB_APP_SECRET or app_secret=)"
            )
        _hide_signatures_in_httpx_logs()
        self._config = config
        self._secret = config.app_secret.get_secret_value()
        self._http = httpx.AsyncClient(
            base_url=config.http_url, timeout=timeout, transport=transport
        )

    def __repr__(self) -> str:
        return f"<ApiClient {self._config.http_url} app_id={self._config.app_id!r}>"

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        """Send a signed request to ``/apps/{app_id}{path}`` and return the decoded JSON.

        Raises:
            ApiError: a non-2xx answer, or one that is not JSON.
            ReverbError: the server could not be reached.
        """
        full_path = f"/apps/{self._config.app_id}{path}"
        raw = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
        query = signed_api_query(
            key=self._config.app_key,
            secret=self._secret,
            method=method,
            path=full_path,
            timestamp=int(time.time()),
            body=raw,
            params=params,
        )
        try:
            response = await self._http.request(
                method,
                full_path,
                params=query,
                content=raw or None,
                headers={"Content-Type": "application/json"} if raw else None,
            )
        except httpx.HTTPError as exc:
            raise ReverbError(
                f"could not reach the HTTP API at {self._config.http_url}: {type(exc).__name__}"
            ) from None
        if not response.is_success:
            raise ApiError(
                f"HTTP API answered {response.status_code}: {response.text[:200]}",
                status=response.status_code,
                body=response.text,
            )
        try:
            return response.json()
        except ValueError:
            raise ApiError(
                "HTTP API answered with something that is not JSON",
                status=response.status_code,
                body=response.text,
            ) from None

    async def trigger(
        self,
        channels: Sequence[str] | str,
        event: str,
        data: Any,
        *,
        socket_id: str | None = None,
    ) -> Any:
        """Publish ``event`` to ``channels``; ``data`` is JSON-encoded unless already a string.

        ``socket_id`` excludes that connection, as Laravel's ``toOthers()`` does. On a
        ``private-encrypted-`` channel the data is encrypted with the channel's key.

        Raises:
            ConfigurationError: a ``private-encrypted-`` channel without
                ``encryption_master_key_base64``, or named with other channels.
        """
        names = [channels] if isinstance(channels, str) else list(channels)
        text = data if isinstance(data, str) else json.dumps(data)
        if any(channel_kind(name) is ChannelKind.ENCRYPTED for name in names):
            text = self._encrypt(names, text)
        body: dict[str, Any] = {"name": event, "channels": names, "data": text}
        if socket_id is not None:
            body["socket_id"] = socket_id
        return await self.request("POST", "/events", body=body)

    def _encrypt(self, names: list[str], text: str) -> str:
        if len(names) != 1:
            raise ConfigurationError(
                "an event for a private-encrypted- channel must name that channel alone (each "
                "has its own key): trigger it once per channel"
            )
        master_key = self._config.encryption_master_key
        if master_key is None:
            raise ConfigurationError(
                f"{names[0]!r} is end-to-end encrypted: set REVERB_ENCRYPTION_MASTER_KEY_BASE64 "
                "(or encryption_master_key_base64=) to publish on it"
            )
        return encrypt_data(text, channel_shared_secret(names[0], master_key))

    async def channels(self, prefix: str = "", info: Sequence[str] = ()) -> Any:
        """``GET /channels``: the occupied channels."""
        params = {"filter_by_prefix": prefix} if prefix else {}
        if info:
            params["info"] = ",".join(info)
        return await self.request("GET", "/channels", params=params)

    async def channel(self, name: str, info: Sequence[str] = ()) -> Any:
        """``GET /channels/{name}``: whether it is occupied, and counts."""
        params = {"info": ",".join(info)} if info else None
        return await self.request("GET", f"/channels/{name}", params=params)

    async def users(self, name: str) -> Any:
        """``GET /channels/{name}/users``: the users of a presence channel."""
        return await self.request("GET", f"/channels/{name}/users")
