"""Configuration of the local server: its apps, address and dialect, Reverb's way.

From the environment (``ServerConfig.from_env()``), with Reverb's variable names::

    REVERB_APP_ID, REVERB_APP_KEY, REVERB_APP_SECRET          one app
    REVERB_APPS='[{"id": "1", "key": "k", "secret": "s"}]'      or several, as JSON
    REVERB_SERVER_HOST (127.0.0.1), REVERB_SERVER_PORT (8080), REVERB_SERVER_PATH
    REVERB_APP_ACTIVITY_TIMEOUT (30), REVERB_APP_PING_INTERVAL (60),
    REVERB_APP_MAX_MESSAGE_SIZE (10000), REVERB_APP_ACCEPT_CLIENT_EVENTS_FROM (members)
    REVERB_SERVER_DIALECT (reverb | soketi)
    REVERB_ENCRYPTION_MASTER_KEY_BASE64    the app's key for private-encrypted- channels
    REVERB_USERS_FILE                      users of the /broadcasting/auth stand-in
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ..exceptions import ConfigurationError
from .users import UserDirectory

__all__ = ["AppConfig", "ClientEventsFrom", "Dialect", "ServerConfig", "decode_master_key"]


class Dialect(StrEnum):
    """Whose behaviour to copy where Reverb and Soketi differ."""

    REVERB = "reverb"
    SOKETI = "soketi"


class ClientEventsFrom(StrEnum):
    """Reverb's ``accept_client_events_from``."""

    MEMBERS = "members"
    """Only subscribers of the channel may send client events (Reverb's published default)."""
    ALL = "all"
    """Anyone may, subscribed or not."""
    NONE = "none"
    """Client events are refused with 4301."""


@dataclass(frozen=True)
class AppConfig:
    """One application: its credentials and limits.

    Attributes:
        id: the app id used by the HTTP API.
        key: the key clients connect with.
        secret: signs subscriptions and API requests; never shown in reprs.
        activity_timeout: seconds announced to clients in ``connection_established``.
        ping_interval: seconds of silence after which a subscribed socket is pinged, and
            pruned with 4201 if still silent a tick later.
        max_message_size: largest inbound websocket message, in bytes (over it: close 1009).
        accept_client_events_from: who may send ``client-`` events.
        max_connections: subscribed sockets allowed at once (``None``: unlimited).
        allowed_origins: ``Origin`` host patterns accepted (``*`` wildcards).
        encryption_master_key: 32 bytes from which ``private-encrypted-`` channel keys are
            derived (Laravel's ``encryption_master_key_base64``, decoded); hidden from reprs.
    """

    id: str
    key: str
    secret: str = field(repr=False)
    activity_timeout: int = 30
    ping_interval: float = 60.0
    max_message_size: int = 10_000
    accept_client_events_from: ClientEventsFrom = ClientEventsFrom.MEMBERS
    max_connections: int | None = None
    allowed_origins: tuple[str, ...] = ("*",)
    encryption_master_key: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name in ("id", "key", "secret"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ConfigurationError(f"app {name} must be a non-empty string")
        key = self.encryption_master_key
        if key is not None and (not isinstance(key, bytes) or len(key) != 32):
            raise ConfigurationError("the encryption master key must be 32 bytes")
        if self.activity_timeout <= 0 or self.ping_interval <= 0 or self.max_message_size <= 0:
            raise ConfigurationError("app timeouts and sizes must be positive")
        object.__setattr__(
            self, "accept_client_events_from", ClientEventsFrom(self.accept_client_events_from)
        )

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> AppConfig:
        """Build from a mapping with Reverb's app keys (``app_id`` or ``id``, ...)."""
        known = {
            "id": values.get("id", values.get("app_id")),
            "key": values.get("key"),
            "secret": values.get("secret"),
        }
        for name in (
            "activity_timeout",
            "ping_interval",
            "max_message_size",
            "accept_client_events_from",
            "max_connections",
        ):
            if name in values:
                known[name] = values[name]
        if "allowed_origins" in values:
            origins = values["allowed_origins"]
            known["allowed_origins"] = tuple(origins) if isinstance(origins, list) else origins
        if values.get("encryption_master_key_base64"):
            known["encryption_master_key"] = decode_master_key(
                values["encryption_master_key_base64"]
            )
        try:
            return cls(**known)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"invalid app configuration: {exc}") from None


@dataclass(frozen=True)
class ServerConfig:
    """Where the server listens and which apps it serves.

    Attributes:
        apps: the applications (at least one).
        host: the interface to listen on.
        port: the port; 0 picks a free one.
        path: a path prefix for websockets and the HTTP API (Reverb's ``--path``).
        dialect: Reverb's behaviour (default) or Soketi's where they differ.
        max_request_size: largest HTTP request, headers included (over it: 413).
        prune_interval: seconds between ping/prune sweeps (Reverb: 60).
        users: who may authorize at ``/broadcasting/auth`` (``None``: nobody; see
            :mod:`reverb.server.users`).
    """

    apps: Sequence[AppConfig]
    host: str = "127.0.0.1"
    port: int = 8080
    path: str = ""
    dialect: Dialect = Dialect.REVERB
    max_request_size: int = 10_000
    prune_interval: float = 60.0
    users: UserDirectory | None = None

    def __post_init__(self) -> None:
        if not self.apps:
            raise ConfigurationError("the server needs at least one app")
        keys = [app.key for app in self.apps]
        ids = [app.id for app in self.apps]
        if len(set(keys)) != len(keys) or len(set(ids)) != len(ids):
            raise ConfigurationError("app ids and keys must be unique")
        if not 0 <= self.port <= 65535:
            raise ConfigurationError(f"port must be 0-65535, got {self.port}")
        path = self.path.strip("/")
        object.__setattr__(self, "path", f"/{path}" if path else "")
        object.__setattr__(self, "dialect", Dialect(self.dialect))
        object.__setattr__(self, "apps", tuple(self.apps))
        if self.users is not None:
            users = UserDirectory.of(self.users)
            if users.app_id is not None and self.app_by_id(users.app_id) is None:
                raise ConfigurationError(f"the users file names an unknown app {users.app_id!r}")
            object.__setattr__(self, "users", users)

    def app_by_key(self, key: str) -> AppConfig | None:
        """The app with this key, if any."""
        return next((app for app in self.apps if app.key == key), None)

    def app_by_id(self, app_id: str) -> AppConfig | None:
        """The app with this id, if any."""
        return next((app for app in self.apps if app.id == app_id), None)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> ServerConfig:
        """Read Reverb's ``REVERB_*`` variables (see the module docstring).

        Raises:
            ConfigurationError: no app is configured, or a value is invalid.
        """
        env = dict(os.environ if environ is None else environ)
        per_app = _numbers(
            {
                name: env[f"REVERB_APP_{name.upper()}"]
                for name in (
                    "activity_timeout",
                    "ping_interval",
                    "max_message_size",
                    "accept_client_events_from",
                )
                if env.get(f"REVERB_APP_{name.upper()}")
            }
        )
        apps: list[AppConfig] = []
        if env.get("REVERB_APPS"):
            try:
                listed = json.loads(env["REVERB_APPS"])
            except ValueError:
                raise ConfigurationError("REVERB_APPS must be a JSON list of apps") from None
            if not isinstance(listed, list):
                raise ConfigurationError("REVERB_APPS must be a JSON list of apps")
            apps = [AppConfig.from_mapping({**per_app, **app}) for app in listed]
        elif env.get("REVERB_APP_KEY"):
            apps = [
                AppConfig.from_mapping(
                    {
                        **per_app,
                        "id": env.get("REVERB_APP_ID") or "app-id",
                        "key": env["REVERB_APP_KEY"],
                        "secret": env.get("REVERB_APP_SECRET", ""),
                        "encryption_master_key_base64": env.get(
                            "REVERB_ENCRYPTION_MASTER_KEY_BASE64"
                        ),
                    }
                )
            ]
        else:
            raise ConfigurationError(
                "no app configured: set REVERB_APP_ID, REVERB_APP_KEY and REVERB_APP_SECRET "
                "(or REVERB_APPS)"
            )
        settings: dict[str, object] = {"apps": apps}
        for name, variable in (
            ("host", "REVERB_SERVER_HOST"),
            ("port", "REVERB_SERVER_PORT"),
            ("path", "REVERB_SERVER_PATH"),
            ("dialect", "REVERB_SERVER_DIALECT"),
        ):
            if env.get(variable):
                settings[name] = env[variable]
        if env.get("REVERB_USERS_FILE"):
            settings["users"] = UserDirectory.load(env["REVERB_USERS_FILE"])
        if "port" in settings:
            try:
                settings["port"] = int(str(settings["port"]))
            except ValueError:
                raise ConfigurationError("REVERB_SERVER_PORT must be a number") from None
        settings.update({key: value for key, value in overrides.items() if value is not None})
        try:
            return cls(**settings)  # type: ignore[arg-type]
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None


def _numbers(values: Mapping[str, object]) -> dict[str, object]:
    converted: dict[str, object] = dict(values)
    for name, kind in (
        ("activity_timeout", int),
        ("ping_interval", float),
        ("max_message_size", int),
    ):
        if name in converted:
            try:
                converted[name] = kind(str(converted[name]))
            except ValueError:
                raise ConfigurationError(f"REVERB_APP_{name.upper()} must be a number") from None
    return converted


def decode_master_key(encoded: object) -> bytes:
    """Decode an ``encryption_master_key_base64`` value (base64 of 32 bytes).

    Raises:
        ConfigurationError: it is not (the message never quotes the value).
    """
    try:
        key = base64.b64decode(str(encoded), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError("the encryption master key must be base64") from None
    if len(key) != 32:
        raise ConfigurationError("the encryption master key must be 32 bytes once decoded")
    return key
