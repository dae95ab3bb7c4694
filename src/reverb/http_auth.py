"""Authorizing channels through the Laravel app: ``POST /broadcasting/auth``, as Echo does.

:class:`HttpAuthenticator` asks an HTTP endpoint for every private and presence subscription
(and, for :meth:`~reverb.client.ReverbClient.signin`, a user-authentication endpoint). It
sends what pusher-js sends, a form-encoded ``socket_id`` and ``channel_name``, with
``Accept: application/json`` and ``X-Requested-With: XMLHttpRequest`` so Laravel answers an
unauthenticated request with a 401 instead of a redirect to its login page, plus the
credentials you give it: static headers, cookies, a bearer token, a CSRF token, and a
*credentials provider* called before every request (tokens rotate).

Redirects are never followed. A redirect from ``/broadcasting/auth`` almost always means "not
logged in, go to the login page", so it becomes an :class:`~reverb.exceptions.AuthenticationError`
saying so; a redirect to another origin says that the credentials were not sent there.

Secrets stay secret: the bearer token, cookies, the CSRF token and provider headers never
appear in messages, reprs or logs; error messages quote at most a short, one-line excerpt of
the response body (Laravel's debug pages carry stack traces).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from .exceptions import AuthenticationError, ConfigurationError

__all__ = ["CredentialsProvider", "HttpAuthenticator"]

logger = logging.getLogger("reverb.http_auth")

CredentialsProvider = Callable[[], Mapping[str, str] | Awaitable[Mapping[str, str]]]
"""Returns extra request headers (sync or async); called before every authorization."""

EXCERPT_LENGTH = 200
"""How many characters of an error response's body a message may quote."""

_SPACE = re.compile(r"\s+")


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _safe_url(url: str | httpx.URL) -> str:
    """``url`` without user info, query or fragment (any of which may carry a token)."""
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class HttpAuthenticator:
    """Authorizes subscriptions through an HTTP endpoint such as Laravel's ``/broadcasting/auth``.

    Implements the authenticator protocol (``authenticate(socket_id, channel_name,
    user_data=None)``, async) and ``authenticate_user(socket_id)`` for user sign-in. Use it as
    an async context manager, or call :meth:`aclose`, to close its HTTP client.

    The endpoint decides who the user is, so the ``user_data`` a presence subscription passes
    is ignored: the presence member is whatever ``channel_data`` the endpoint returns, which is
    forwarded to the server byte for byte.

    Args:
        endpoint_url: the channel-authorization URL, e.g.
            ``"https://app.example.com/broadcasting/auth"``.
        user_endpoint_url: the user-authentication URL for sign-in; by default
            ``endpoint_url`` with its ``/broadcasting/auth`` ending replaced by
            ``/broadcasting/user-auth`` (Laravel Echo's default), else that path on the same
            origin.
        headers: static headers sent with every request.
        cookies: cookies sent with every request (a Laravel session cookie, say).
        bearer_token: sent as ``Authorization: Bearer <token>`` (Sanctum, token guards).
        csrf_token: sent as ``X-CSRF-TOKEN`` (Laravel's ``web`` middleware group).
        credentials: called before every request, sync or async; the headers it returns are
            added last (so they win). Use it for tokens that rotate.
        timeout: seconds for each request, connecting included.
        max_concurrency: how many requests may be in flight at once.
        client: an ``httpx.AsyncClient`` to use (its proxies, TLS settings); it is not closed
            by :meth:`aclose`. By default the authenticator makes and owns one.

    Raises:
        ConfigurationError: the URL is not absolute ``http``/``https``, or a number is not
            positive.
    """

    def __init__(
        self,
        endpoint_url: str,
        *,
        user_endpoint_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        cookies: Mapping[str, str] | None = None,
        bearer_token: str | None = None,
        csrf_token: str | None = None,
        credentials: CredentialsProvider | None = None,
        timeout: float = 10.0,
        max_concurrency: int = 8,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.endpoint_url = self._check_url(endpoint_url, "endpoint_url")
        if user_endpoint_url is None:
            path = self.endpoint_url.path
            if path.endswith("/broadcasting/auth"):  # keeps a prefix such as /api
                path = path.removesuffix("auth") + "user-auth"
            else:
                path = "/broadcasting/user-auth"
            user_endpoint_url = str(self.endpoint_url.copy_with(path=path, query=None))
        self.user_endpoint_url = self._check_url(user_endpoint_url, "user_endpoint_url")
        if not timeout > 0:
            raise ConfigurationError(f"timeout must be positive, got {timeout!r}")
        if max_concurrency < 1:
            raise ConfigurationError(f"max_concurrency must be at least 1, got {max_concurrency}")
        self.timeout = float(timeout)
        self.max_concurrency = max_concurrency
        base = {"Accept": "application/json", "X-Requested-With": "XMLHttpRequest"}
        self._headers: dict[str, str] = {**base, **dict(headers or {})}
        if cookies:
            self._headers["Cookie"] = "; ".join(
                f"{name}={value}" for name, value in cookies.items()
            )
        if bearer_token:
            self._headers["Authorization"] = f"Bearer {bearer_token}"
        if csrf_token:
            self._headers["X-CSRF-TOKEN"] = csrf_token
        self._credentials = credentials
        self._secrets = {value for value in (bearer_token, csrf_token) if value}
        self._secrets.update(value for value in (cookies or {}).values() if value)
        self._secrets.update(value for value in (headers or {}).values() if value)
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient()
        self._limit = asyncio.Semaphore(max_concurrency)

    @staticmethod
    def _check_url(url: str, name: str) -> httpx.URL:
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise ConfigurationError(f"{name} is not a valid URL: {exc}") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ConfigurationError(
                f"{name} must be an absolute http(s) URL such as "
                f"'https://app.example.com/broadcasting/auth', got {_safe_url(url)!r}"
            )
        return parsed

    def __repr__(self) -> str:
        return (
            f"HttpAuthenticator({_safe_url(self.endpoint_url)!r}, "
            f"headers={sorted(self._headers)}, credentials="
            f"{'<provider>' if self._credentials is not None else None}, timeout={self.timeout})"
        )

    # -- lifecycle -------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the HTTP client, if the authenticator made it."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> HttpAuthenticator:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- the authenticator protocol --------------------------------------------------------------

    async def authenticate(
        self, socket_id: str, channel_name: str, user_data: Mapping[str, Any] | None = None
    ) -> dict[str, str]:
        """Ask the endpoint to authorize ``socket_id`` for ``channel_name``.

        ``user_data`` is ignored: the app decides who the user is.

        Returns:
            ``auth``, plus ``channel_data`` (presence) and ``shared_secret`` (encrypted
            channels) when the endpoint returned them, unchanged.

        Raises:
            AuthenticationError: the endpoint could not be reached or did not answer in time,
                answered with an error status (``status`` says which), redirected, or returned
                no string ``auth``.
        """
        form = {"socket_id": socket_id, "channel_name": channel_name}
        body = await self._post(self.endpoint_url, form, channel_name)
        return self._fields(body, ("auth",), ("channel_data", "shared_secret"), channel_name)

    async def authenticate_user(
        self, socket_id: str, user_data: Mapping[str, Any] | None = None
    ) -> dict[str, str]:
        """Ask the user-authentication endpoint to sign ``socket_id`` in (``pusher:signin``).

        ``user_data`` is ignored: the app decides who the user is.

        Returns:
            ``auth`` and ``user_data`` (a JSON string, forwarded byte for byte).

        Raises:
            AuthenticationError: as for :meth:`authenticate`.
        """
        body = await self._post(self.user_endpoint_url, {"socket_id": socket_id}, None)
        return self._fields(body, ("auth", "user_data"), (), None)

    # -- the request -----------------------------------------------------------------------------

    async def _post(
        self, url: httpx.URL, form: Mapping[str, str], channel: str | None
    ) -> Mapping[str, Any]:
        what = f"channel {channel!r}" if channel is not None else "user sign-in"
        where = _safe_url(url)
        headers = dict(self._headers)
        provided = await self._provided_headers(what)
        headers.update(provided)
        async with self._limit:
            try:
                response = await self._client.post(
                    url,
                    data=dict(form),
                    headers=headers,
                    timeout=self.timeout,
                    follow_redirects=False,
                )
            except httpx.TimeoutException:
                raise AuthenticationError(
                    f"{where} did not answer within {self.timeout:g} s ({what})", channel=channel
                ) from None
            except httpx.HTTPError as exc:
                raise AuthenticationError(
                    f"could not reach {where} ({what}): {type(exc).__name__}", channel=channel
                ) from None
        logger.debug("POST %s for %s: %s", where, what, response.status_code)
        if response.is_redirect:
            raise self._redirected(response, url, where, what, channel)
        if not response.is_success:
            excerpt = self._excerpt(response.text, provided.values())
            raise AuthenticationError(
                f"{where} answered {response.status_code} {self._meaning(response.status_code)}"
                f"for {what}: {excerpt}",
                channel=channel,
                status=response.status_code,
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, Mapping):
            raise AuthenticationError(
                f"{where} answered 200 for {what} without a JSON object: "
                f"{self._excerpt(response.text, provided.values())}",
                channel=channel,
                status=200,
            )
        return body

    async def _provided_headers(self, what: str) -> Mapping[str, str]:
        provider = self._credentials
        if provider is None:
            return {}
        try:
            provided = provider()
            if inspect.isawaitable(provided):
                provided = await provided
        except Exception as exc:
            raise AuthenticationError(
                f"the credentials provider failed ({what}): {type(exc).__name__}"
            ) from exc
        if not isinstance(provided, Mapping):
            raise AuthenticationError(
                f"the credentials provider returned {type(provided).__name__}, not a mapping "
                f"of headers ({what})"
            )
        return {str(name): str(value) for name, value in provided.items()}

    def _redirected(
        self,
        response: httpx.Response,
        url: httpx.URL,
        where: str,
        what: str,
        channel: str | None,
    ) -> AuthenticationError:
        location = response.headers.get("location", "")
        target = url.join(location)
        status = response.status_code
        if _origin(target) != _origin(url):
            message = (
                f"{where} redirected to another origin ({_safe_url(target)}) for {what}; "
                "the redirect was not followed and no credentials were sent there"
            )
        else:
            message = (
                f"{where} redirected to {target.path or '/'} for {what} (not followed): "
                "usually the login page, meaning the request was not authenticated; check the "
                "credentials, and that the endpoint URL is right"
            )
        return AuthenticationError(message, channel=channel, status=status)

    @staticmethod
    def _meaning(status: int) -> str:
        meanings = {
            401: "(not authenticated) ",
            403: "(denied by the channel's authorization callback) ",
            419: "(CSRF token mismatch or session expired) ",
        }
        return meanings.get(status, "")

    def _excerpt(self, text: str, provided: Any) -> str:
        """One line of at most :data:`EXCERPT_LENGTH` characters, credentials hidden."""
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, Mapping) and isinstance(parsed.get("message"), str):
            text = parsed["message"]
        line = _SPACE.sub(" ", text).strip()
        for secret in (*self._secrets, *provided):
            for part in (secret, secret.removeprefix("Bearer ")):
                if len(part) >= 4:
                    line = line.replace(part, "<hidden>")
        if len(line) > EXCERPT_LENGTH:
            line = line[:EXCERPT_LENGTH] + "..."
        return line or "(empty body)"

    @staticmethod
    def _fields(
        body: Mapping[str, Any],
        required: tuple[str, ...],
        optional: tuple[str, ...],
        channel: str | None,
    ) -> dict[str, str]:
        result: dict[str, str] = {}
        for name in (*required, *optional):
            value = body.get(name)
            if value is None and name in optional:
                continue
            if not isinstance(value, str):
                raise AuthenticationError(
                    f"the endpoint's answer has no string {name!r}"
                    + (f" for channel {channel!r}" if channel is not None else ""),
                    channel=channel,
                )
            result[name] = value
        return result
