"""A Laravel ``/broadcasting/auth`` look-alike for tests: a real HTTP server on a thread.

It signs as Laravel's ``PusherBroadcaster`` does (HMAC-SHA256 with the app secret) and knows
its users by bearer token (Sanctum or a token guard) or by session cookie plus CSRF token (the
``web`` middleware group). It answers what Laravel answers: 401 ``{"message":
"Unauthenticated."}`` without valid credentials, 419 for a bad CSRF token, 403 for a denied
channel. Path prefixes pick other behaviours:

* ``/500/...``: a 500 with a debug page (a stack trace that quotes the request's headers);
* ``/redirect/...``: a 302 to :attr:`LaravelApp.redirect_to` (another origin);
* ``/slow/...``: answer after :attr:`LaravelApp.latency` seconds.

Every request is recorded (path, headers, form) so tests can check what was sent where.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

UNAUTHENTICATED = {"message": "Unauthenticated."}


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # many authorizations arrive at once after a reconnect
    daemon_threads = True


@dataclass(frozen=True)
class User:
    """A user of the app."""

    id: int
    name: str


@dataclass(frozen=True)
class Recorded:
    """One request the app received."""

    path: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class _Token:
    user: User
    uses_left: int | None


@dataclass
class LaravelApp:
    """The look-alike, as a context manager (started on entry, stopped on exit).

    Args:
        app_key: the broadcaster's key (``REVERB_APP_KEY``).
        app_secret: the broadcaster's secret.
        latency: how long ``/slow/...`` takes to answer.
        denied: channels whose authorization callback says no (403).
        odd_channel_data: presence ``channel_data`` with odd spacing and key order, to prove
            the client forwards it byte for byte.
    """

    app_key: str
    app_secret: str
    latency: float = 0.0
    denied: set[str] = field(default_factory=set)
    odd_channel_data: bool = False
    redirect_to: str = ""
    requests: list[Recorded] = field(default_factory=list)
    _tokens: dict[str, _Token] = field(default_factory=dict)
    _sessions: dict[str, tuple[User, str]] = field(default_factory=dict)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _server: _Server | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> LaravelApp:
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                app._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        # shutdown() returns once serve_forever notices it, one poll later: 0.5 s by default,
        # paid by every test that uses an app.
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``."""
        assert self._server is not None, "start the app first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        """The ``/broadcasting/auth`` URL."""
        return f"{self.origin}/broadcasting/auth"

    def url_for(self, mode: str) -> str:
        """The ``/broadcasting/auth`` URL under a mode prefix (``500``, ``redirect``, ``slow``)."""
        return f"{self.origin}/{mode}/broadcasting/auth"

    def issue_token(self, user: User, *, uses: int | None = None) -> str:
        """A bearer token for ``user``, valid for ``uses`` requests (forever by default)."""
        with self._lock:
            token = f"token-{user.id}-{next(self._counter)}"
            self._tokens[token] = _Token(user, uses)
        return token

    def open_session(self, user: User) -> tuple[str, str]:
        """A logged-in session: ``(laravel_session cookie value, CSRF token)``."""
        with self._lock:
            number = next(self._counter)
            session, csrf = f"session-{number}", f"csrf-{number}"
            self._sessions[session] = (user, csrf)
        return session, csrf

    # -- handling ------------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length).decode()
        form = {key: values[0] for key, values in parse_qs(raw).items()}
        headers = {key.lower(): value for key, value in request.headers.items()}
        with self._lock:
            self.requests.append(Recorded(request.path, headers, form))
        mode, _, path = request.path.lstrip("/").partition("/")
        if mode in ("500", "redirect", "slow"):
            path = "/" + path
        else:
            mode, path = "", request.path
        if mode == "slow":
            time.sleep(self.latency)
        if mode == "500":
            credentials = f"{headers.get('authorization')} {headers.get('cookie')}"
            trace = f"Illuminate\\Foundation\\Exception: boom ({credentials})\n" + "\n".join(
                f"#{i} /var/www/vendor/x.php(1): handle({headers})" for i in range(50)
            )
            return self._send(request, 500, trace, "text/plain")
        if mode == "redirect":
            return self._send(request, 302, "", "text/html", location=self.redirect_to)
        if path not in ("/broadcasting/auth", "/broadcasting/user-auth"):
            return self._send(request, 404, {"message": "Not Found"})
        status, body = self._authorize(headers, form, user_auth=path.endswith("user-auth"))
        self._send(request, status, body)

    def _user(self, headers: dict[str, str]) -> tuple[int, User | None]:
        bearer = headers.get("authorization", "")
        with self._lock:
            if bearer.startswith("Bearer "):
                token = self._tokens.get(bearer.removeprefix("Bearer "))
                if token is None or token.uses_left == 0:
                    return 401, None
                if token.uses_left is not None:
                    token.uses_left -= 1
                return 200, token.user
            cookies = dict(
                part.strip().split("=", 1)
                for part in headers.get("cookie", "").split(";")
                if "=" in part
            )
            session = self._sessions.get(cookies.get("laravel_session", ""))
        if session is None:
            return 401, None
        user, csrf = session
        if headers.get("x-csrf-token") != csrf:
            return 419, None
        return 200, user

    def _authorize(
        self, headers: dict[str, str], form: dict[str, str], *, user_auth: bool
    ) -> tuple[int, Any]:
        status, user = self._user(headers)
        if user is None:
            return status, UNAUTHENTICATED if status == 401 else {"message": "CSRF token mismatch."}
        socket_id = form.get("socket_id", "")
        if user_auth:
            user_data = json.dumps({"id": str(user.id), "name": user.name}, separators=(",", ":"))
            return 200, {
                "auth": self._auth(f"{socket_id}::user::{user_data}"),
                "user_data": user_data,
            }
        channel = form.get("channel_name", "")
        if channel in self.denied or not channel.startswith(("private-", "presence-")):
            return 403, {"message": "This action is unauthorized."}
        if not channel.startswith("presence-"):
            return 200, {"auth": self._auth(f"{socket_id}:{channel}")}
        if self.odd_channel_data:
            channel_data = (
                f'{{ "user_info" : {{"name":"{user.name}", "id": {user.id}}},'
                f'   "user_id":"{user.id}" }}'
            )
        else:
            info = {"user_id": str(user.id), "user_info": {"id": user.id, "name": user.name}}
            channel_data = json.dumps(info, separators=(",", ":"))
        auth = self._auth(f"{socket_id}:{channel}:{channel_data}")
        return 200, {"auth": auth, "channel_data": channel_data}

    def _auth(self, subject: str) -> str:
        signature = hmac.new(self.app_secret.encode(), subject.encode(), hashlib.sha256)
        return f"{self.app_key}:{signature.hexdigest()}"

    @staticmethod
    def _send(
        request: BaseHTTPRequestHandler,
        status: int,
        body: Any,
        content_type: str = "application/json",
        *,
        location: str | None = None,
    ) -> None:
        payload = (body if isinstance(body, str) else json.dumps(body)).encode()
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(payload)))
        if location is not None:
            request.send_header("Location", location)
        request.end_headers()
        request.wfile.write(payload)
