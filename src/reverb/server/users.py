"""Users of the Laravel stand-in: who may authorize at ``/broadcasting/auth``, and for what.

A Laravel app decides in ``routes/channels.php`` who may join which channel; the local server
reads the same decision from a small file (JSON, or TOML when the name ends in ``.toml``)::

    {"users": [
        {"id": 1, "token": "t-1", "info": {"name": "Alice"},
         "session": "s-1", "csrf_token": "c-1",
         "channels": ["orders.*", "presence-room.{roomId}",
                      {"pattern": "presence-chat.{id}", "info": {"name": "Alice (chat)"}}]}
    ]}

Channel patterns are Laravel's: ``{param}`` matches one dot-free segment, ``*`` anything. A
pattern without a ``private-`` / ``presence-`` / ``private-encrypted-`` prefix matches the
channel name with its prefix removed, as ``Broadcast::channel('orders.{id}', ...)`` does; one
with a prefix matches the whole channel name. Presence answers carry the channel's ``info``,
else the user's. Tokens, sessions and CSRF tokens never appear in reprs.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import ConfigurationError

__all__ = ["ChannelRule", "User", "UserDirectory", "normalize_channel_name"]

_GUARDED_PREFIXES = ("private-encrypted-", "private-", "presence-")


def normalize_channel_name(channel: str) -> str:
    """The name ``routes/channels.php`` patterns see: without Pusher's guarded prefix."""
    for prefix in _GUARDED_PREFIXES:
        if channel.startswith(prefix):
            return channel[len(prefix) :]
    return channel


@dataclass(frozen=True)
class ChannelRule:
    """One channel pattern a user may join, with optional presence info for it."""

    pattern: str
    info: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.pattern, str) or not self.pattern:
            raise ConfigurationError("a channel pattern must be a non-empty string")
        parts = re.split(r"(\{[^}]*\}|\*)", self.pattern)
        regex = "".join(
            "[^.]+" if part.startswith("{") else ".*" if part == "*" else re.escape(part)
            for part in parts
            if part
        )
        object.__setattr__(self, "_regex", re.compile(regex, re.DOTALL))

    def matches(self, channel: str) -> bool:
        """Whether ``channel`` (with its prefix) is one this rule allows."""
        regex: re.Pattern[str] = getattr(self, "_regex")  # noqa: B009 - set in __post_init__
        if self.pattern.startswith(_GUARDED_PREFIXES):
            return regex.fullmatch(channel) is not None
        return regex.fullmatch(normalize_channel_name(channel)) is not None

    @classmethod
    def of(cls, value: object) -> ChannelRule:
        """From a pattern string or ``{"pattern": ..., "info": ...}``."""
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, Mapping) and set(value) <= {"pattern", "info"}:
            _check_json(value.get("info"), "channel info")
            return cls(value.get("pattern"), value.get("info"))  # type: ignore[arg-type]
        raise ConfigurationError("a channel is a pattern string or {'pattern', 'info'}")


@dataclass
class User:
    """One user of the stand-in Laravel app.

    Attributes:
        id: the user's id (``user_id`` in presence channels, as a string).
        token: the bearer token (``Authorization: Bearer ...``); hidden from reprs.
        session: a ``laravel_session`` cookie value that logs this user in; hidden.
        csrf_token: the ``X-CSRF-TOKEN`` a session request must carry; hidden.
        info: presence ``user_info`` (channels may override it).
        channels: the channel patterns the user may join.
    """

    id: str
    token: str | None = field(default=None, repr=False)
    session: str | None = field(default=None, repr=False)
    csrf_token: str | None = field(default=None, repr=False)
    info: Any = None
    channels: list[ChannelRule] = field(default_factory=list)

    def rule_for(self, channel: str) -> ChannelRule | None:
        """The first rule allowing ``channel``, if any."""
        return next((rule for rule in self.channels if rule.matches(channel)), None)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> User:
        """From a users-file entry (see the module docstring)."""
        unknown = set(values) - {"id", "token", "session", "csrf_token", "info", "channels"}
        if unknown:
            raise ConfigurationError(f"unknown user field(s): {', '.join(sorted(unknown))}")
        raw_id = values.get("id")
        if isinstance(raw_id, bool) or not isinstance(raw_id, int | str) or raw_id == "":
            raise ConfigurationError("every user needs an id (a number or a non-empty string)")
        secrets_ = {name: values.get(name) for name in ("token", "session", "csrf_token")}
        for name, value in secrets_.items():
            if value is not None and (not isinstance(value, str) or not value):
                raise ConfigurationError(f"user {raw_id}: {name} must be a non-empty string")
        channels = values.get("channels", [])
        if not isinstance(channels, list):
            raise ConfigurationError(f"user {raw_id}: channels must be a list")
        _check_json(values.get("info"), f"user {raw_id}: info")
        return cls(
            id=str(raw_id),
            token=secrets_["token"],
            session=secrets_["session"],
            csrf_token=secrets_["csrf_token"],
            info=values.get("info"),
            channels=[ChannelRule.of(channel) for channel in channels],
        )


class UserDirectory:
    """The users the stand-in knows, looked up by credential in constant time per user.

    Args:
        users: the users.
        app_id: the app whose key and secret sign the answers (default: the server's first).
    """

    def __init__(self, users: Iterable[User] = (), app_id: str | None = None) -> None:
        self.users: list[User] = list(users)
        self.app_id = app_id
        ids = [user.id for user in self.users]
        if len(set(ids)) != len(ids):
            raise ConfigurationError("user ids must be unique")

    def __repr__(self) -> str:
        return f"<UserDirectory {len(self.users)} users>"

    def __len__(self) -> int:
        return len(self.users)

    def by_id(self, user_id: object) -> User | None:
        """The user with this id (compared as strings), if any."""
        return next((user for user in self.users if user.id == str(user_id)), None)

    def by_token(self, token: str) -> User | None:
        """The user holding this bearer token, if any."""
        return _find(self.users, "token", token)

    def by_session(self, session: str) -> User | None:
        """The user logged in with this session cookie, if any."""
        return _find(self.users, "session", session)

    def issue_token(
        self, user_id: object, *, channels: Sequence[object] | None = None, info: Any = None
    ) -> str:
        """A bearer token for ``user_id``: the user's own, or a new one. Unknown users are
        created; ``channels`` are added to the user's, ``info`` replaces theirs if given.
        """
        user = self.by_id(user_id)
        if user is None:
            user = User.from_mapping({"id": user_id if isinstance(user_id, int) else str(user_id)})
            self.users.append(user)
        user.channels.extend(ChannelRule.of(channel) for channel in channels or ())
        if info is not None:
            user.info = info
        if user.token is None:
            user.token = secrets.token_urlsafe(24)
        return user.token

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> UserDirectory:
        """From ``{"users": [...], "app_id": ...}``."""
        users = values.get("users")
        if not isinstance(users, list) or not all(isinstance(user, Mapping) for user in users):
            raise ConfigurationError("the users file needs a 'users' list of objects")
        app_id = values.get("app_id")
        if app_id is not None and not isinstance(app_id, str | int):
            raise ConfigurationError("app_id must be a string")
        return cls(
            [User.from_mapping(user) for user in users],
            None if app_id is None else str(app_id),
        )

    @classmethod
    def of(cls, users: object) -> UserDirectory:
        """From a directory, a file path, a ``{"users": ...}`` mapping or a list of users."""
        if isinstance(users, UserDirectory):
            return users
        if isinstance(users, str | Path):
            return cls.load(users)
        if isinstance(users, Mapping):
            return cls.from_mapping(users)
        if isinstance(users, list | tuple):
            return cls.from_mapping({"users": list(users)})
        raise ConfigurationError("users must be a file path, a list or a mapping")

    @classmethod
    def load(cls, path: str | Path) -> UserDirectory:
        """Read a users file: TOML if its name ends in ``.toml``, else JSON.

        Raises:
            ConfigurationError: the file is missing or invalid (its content is never quoted).
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
            parsed = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except OSError as exc:
            raise ConfigurationError(f"cannot read users file {path}: {exc.strerror}") from None
        except (ValueError, UnicodeDecodeError):
            raise ConfigurationError(f"users file {path} is not valid JSON or TOML") from None
        if not isinstance(parsed, Mapping):
            raise ConfigurationError(f"users file {path} must hold an object")
        return cls.from_mapping(parsed)


def _check_json(value: object, what: str) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{what} must be JSON (no NaN or infinity)") from None


def _find(users: Iterable[User], attribute: str, given: str) -> User | None:
    found: User | None = None
    given_bytes = given.encode("utf-8", "surrogatepass")
    for user in users:
        expected = getattr(user, attribute)
        if expected is not None and hmac.compare_digest(
            expected.encode("utf-8", "surrogatepass"), given_bytes
        ):
            found = user
    return found
