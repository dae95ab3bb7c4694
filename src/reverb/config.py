"""Settings, read from ``REVERB_*`` environment variables and a Laravel ``.env`` file.

The names are the ones a Laravel app already has in its ``.env``::

    REVERB_APP_ID=123456
    REVERB_APP_KEY=app-key
    REVERB_APP_SECRET=app-secret
    REVERB_HOST=localhost
    REVERB_PORT=8080
    REVERB_SCHEME=http

Keyword arguments win over the environment, which wins over ``.env``, which wins over the
defaults. Pass ``_env_file="path/to/.env"`` to read another file, or ``None`` to read none.

An unknown keyword argument is an error (a typo would otherwise be silently ignored); unknown
``REVERB_*`` variables in the environment or ``.env`` are ignored, since Laravel's ``.env``
has several meant for the server (``REVERB_SERVER_HOST``, ...).
"""

from __future__ import annotations

import base64
import binascii
import difflib
import functools
import inspect
import ipaddress
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from ._version import __version__
from .environment import derived_from_environment
from .exceptions import ConfigurationError
from .protocol.policy import Backoff

__all__ = ["ReverbConfig"]

_HIDDEN = frozenset({"app_secret", "encryption_master_key_base64"})

Scheme = Literal["http", "https", "ws", "wss"]


class ReverbConfig(BaseSettings):
    """Where the server is, how to authenticate, and how the connection behaves.

    Attributes:
        app_key: the application key; the only setting without a default.
        app_secret: signs private and presence channels locally; hidden in reprs.
        app_id: the application id (only the HTTP API needs it).
        host: server host name.
        port: server port; by default 443 for https/wss and 80 for http/ws.
        scheme: ``https``/``wss`` for TLS, ``http``/``ws`` without.
        path: a path prefix the server is mounted under (Reverb's ``REVERB_SERVER_PATH``).
        activity_timeout: seconds of silence before the client pings; the server's value is
            used when lower.
        pong_timeout: seconds to wait for the server after a ping before reconnecting.
        connect_timeout: seconds ``connect()`` waits for the connection to be established,
            retries included.
        subscription_timeout: seconds ``subscribe()`` waits for the server's answer.
        reconnect: reconnect automatically after the connection drops; when off, a failed
            first attempt also fails `connect()` at once.
        reconnect_delay: first back-off delay in seconds.
        reconnect_max_delay: cap of the back-off delay in seconds (before jitter).
        reconnect_multiplier: back-off growth per attempt.
        reconnect_jitter: random extra delay, as a fraction of the delay (0 to 1).
        reconnect_max_attempts: attempts in a row before giving up; ``None`` never gives up.
        max_message_size: largest client event frame, in bytes, sent (Reverb's default limit
            is 10,000; a larger frame makes it close the connection).
        encryption_master_key_base64: the app's encryption master key (32 bytes, base64), as
            the broadcaster has it; with it, ``private-encrypted-`` channels signed locally get
            their key without asking an endpoint. Hidden in reprs.
        transport: the websocket library: ``"auto"`` (picows when the ``fast`` extra is
            installed, else ``websockets``), ``"websockets"`` or ``"picows"``.
    """

    model_config = SettingsConfigDict(
        env_prefix="REVERB_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        validate_default=True,
    )

    app_key: str = Field(min_length=1)
    app_secret: SecretStr | None = None
    app_id: str | None = None
    host: str = "localhost"
    port: int | None = Field(default=None, ge=1, le=65535)
    scheme: Scheme = "https"
    path: str = ""

    activity_timeout: float = Field(default=120.0, gt=0)
    pong_timeout: float = Field(default=30.0, gt=0)
    connect_timeout: float = Field(default=10.0, gt=0)
    subscription_timeout: float = Field(default=10.0, gt=0)

    reconnect: bool = True
    reconnect_delay: float = Field(default=1.0, ge=0)
    reconnect_max_delay: float = Field(default=30.0, ge=0)
    reconnect_multiplier: float = Field(default=2.0, ge=1)
    reconnect_jitter: float = Field(default=0.25, ge=0, le=1)
    reconnect_max_attempts: int | None = Field(default=None, ge=0)

    max_message_size: int = Field(default=10_000, gt=0)

    encryption_master_key_base64: SecretStr | None = None

    transport: Literal["auto", "websockets", "picows"] = "auto"

    def __init__(self, **values: Any) -> None:
        """Validate the settings.

        Raises:
            ConfigurationError: a setting is missing, invalid or unknown. The message names
                the settings and what is wrong, never their values (one may be the secret);
                for an unknown keyword it suggests the closest valid one.
        """
        unknown = [name for name in values if name not in _accepted_keywords(type(self))]
        if unknown:
            raise ConfigurationError(_describe_unknown(unknown, _accepted_keywords(type(self))))
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigurationError(_describe(exc)) from None

    @classmethod
    def shared(cls, **values: Any) -> ReverbConfig:
        """Validated settings like ``ReverbConfig(**values)``, shared between equal calls.

        Validation reads the environment and ``.env`` and costs about a millisecond; a process
        opening thousands of clients with the same settings validates them once. The result is
        reused only while the keyword arguments, the ``REVERB_*`` environment variables and the
        bytes of the ``.env`` file read are all unchanged, so it is always what
        ``ReverbConfig(**values)`` would return now (settings are immutable, so sharing is safe).

        Raises:
            ConfigurationError: as ``ReverbConfig(**values)``.
        """
        if "_secrets_dir" in values:  # files this does not watch: validate without sharing
            return cls(**values)
        try:
            key = (cls, tuple(sorted(values.items())), _environment(), _env_file_bytes(values))
            hash(key)
        except TypeError:  # an unhashable value: validate without sharing
            return cls(**values)
        return _validated(key)

    def __repr_args__(self) -> Any:
        return [(name, value) for name, value in super().__repr_args__() if name not in _HIDDEN]

    @field_validator("host")
    @classmethod
    def _host_is_bare(cls, host: str) -> str:
        host = host.strip()
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not host or "/" in host or " " in host:
            raise ValueError("host must be a bare host name such as 'localhost', without scheme")
        if ":" in host:
            try:
                ipaddress.IPv6Address(host)
            except ValueError:
                raise ValueError("host must not include a port; set port separately") from None
        return host

    @field_validator("scheme", mode="before")
    @classmethod
    def _scheme_lowercase(cls, scheme: object) -> object:
        return scheme.strip().lower() if isinstance(scheme, str) else scheme

    @field_validator("path")
    @classmethod
    def _path_normalized(cls, path: str) -> str:
        path = path.strip().strip("/")
        return f"/{path}" if path else ""

    @field_validator("app_secret", "encryption_master_key_base64", mode="before")
    @classmethod
    def _empty_secret_is_none(cls, secret: object) -> object:
        return None if secret == "" else secret

    @field_validator("encryption_master_key_base64")
    @classmethod
    def _master_key_is_32_bytes(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None:
            try:
                decoded = base64.b64decode(key.get_secret_value(), validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("must be base64") from None
            if len(decoded) != 32:
                raise ValueError("must be 32 bytes once base64-decoded")
        return key

    @property
    def encryption_master_key(self) -> bytes | None:
        """The decoded encryption master key, if one is set."""
        key = self.encryption_master_key_base64
        return None if key is None else base64.b64decode(key.get_secret_value())

    @field_validator("port", "app_id", "reconnect_max_attempts", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _delays_ordered(self) -> ReverbConfig:
        if self.reconnect_max_delay < self.reconnect_delay:
            raise ValueError("reconnect_max_delay must not be below reconnect_delay")
        return self

    @property
    def uses_tls(self) -> bool:
        """Whether the connection uses TLS."""
        return self.scheme in ("https", "wss")

    @property
    def effective_port(self) -> int:
        """The configured port, or the scheme's default."""
        if self.port is not None:
            return self.port
        return 443 if self.uses_tls else 80

    @property
    def url(self) -> str:
        """The websocket URL: ``ws[s]://host:port[/path]/app/{key}?protocol=7&...``."""
        scheme = "wss" if self.uses_tls else "ws"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return (
            f"{scheme}://{host}:{self.effective_port}{self.path}/app/{self.app_key}"
            f"?protocol=7&client=python-reverb&version={__version__}"
        )

    @property
    def http_url(self) -> str:
        """The base URL of the server's HTTP API (same host, port and path)."""
        scheme = "https" if self.uses_tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.effective_port}{self.path}"

    def backoff(self) -> Backoff:
        """The reconnect back-off these settings describe."""
        return Backoff(
            initial=self.reconnect_delay,
            maximum=self.reconnect_max_delay,
            multiplier=self.reconnect_multiplier,
            jitter=self.reconnect_jitter,
            max_attempts=self.reconnect_max_attempts,
        )


_SharedKey = tuple[type["ReverbConfig"], tuple[tuple[str, Any], ...], object, object]


@functools.lru_cache(maxsize=64)
def _validated(key: _SharedKey) -> ReverbConfig:
    cls, values, _, _ = key
    return cls(**dict(values))


def _environment() -> tuple[tuple[str, str], ...]:
    """The variables settings can be read from (names are matched case-insensitively)."""
    return derived_from_environment("reverb-settings", _scan_environment)


def _scan_environment() -> tuple[tuple[str, str], ...]:
    found = (item for item in os.environ.items() if item[0].upper().startswith("REVERB_"))
    return tuple(sorted(found))


def _env_file_bytes(values: dict[str, Any]) -> object:
    """The content of the ``.env`` file(s) the settings would read, with where they were read."""
    source = values.get("_env_file", ".env")
    paths = source if isinstance(source, list | tuple) else [source]
    found: list[tuple[str, bytes | None]] = []
    for path in paths:
        if path is None:
            continue
        resolved = Path(path).expanduser().absolute()
        try:
            found.append((str(resolved), resolved.read_bytes()))
        except OSError:
            found.append((str(resolved), None))
    return tuple(found)


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        name = ".".join(str(part) for part in error["loc"]) or "config"
        hint = f" (set REVERB_{name.upper()} or pass {name}=)" if error["type"] == "missing" else ""
        problems.append(f"{name}: {error['msg']}{hint}")
    return "invalid python-reverb settings: " + "; ".join(problems)


@functools.cache
def _accepted_keywords(cls: type[BaseSettings]) -> frozenset[str]:
    """The keyword arguments ``cls(...)`` takes.

    Field names, their aliases, and the options of :class:`BaseSettings` itself
    (``_env_file``, ``_secrets_dir``, ...).
    """
    names = set(cls.model_fields)
    for field in cls.model_fields.values():
        for alias in (field.alias, field.validation_alias):
            if isinstance(alias, str):
                names.add(alias)
            elif isinstance(alias, AliasChoices):
                names.update(choice for choice in alias.choices if isinstance(choice, str))
    options = inspect.signature(BaseSettings.__init__).parameters
    names.update(name for name in options if name.startswith("_") and not name.startswith("__"))
    return frozenset(names)


def _describe_unknown(unknown: list[str], accepted: frozenset[str]) -> str:
    problems = []
    for name in unknown:
        close = difflib.get_close_matches(name, sorted(accepted), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(f"unknown setting {name!r}{hint}")
    return "invalid python-reverb settings: " + "; ".join(problems)
