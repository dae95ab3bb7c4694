"""The member list of a presence channel, kept from the server's presence messages.

User ids are strings here whatever JSON type the server used, as Reverb compares them
loosely (``1`` and ``"1"`` are the same user).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Member", "Members"]


@dataclass(frozen=True, slots=True)
class Member:
    """One user on a presence channel.

    Attributes:
        user_id: the user's id, as a string.
        user_info: what the authorizer attached to the user (often ``{"name": ...}``), or
            ``None``.
    """

    user_id: str
    user_info: Any = None


class Members(Mapping[str, Any]):
    """A read-only mapping ``user_id -> user_info`` with this client's own member as ``me``.

    Only the protocol core (:class:`~reverb.protocol.subscriptions.Subscription`) updates it,
    through :meth:`reset`, :meth:`add`, :meth:`remove` and :meth:`clear`, each fed what the
    server sent. Handlers get a :meth:`snapshot`, which never changes.
    """

    __slots__ = ("_by_id", "_me_id")

    def __init__(self) -> None:
        self._by_id: dict[str, Any] = {}
        self._me_id: str | None = None

    def __getitem__(self, user_id: str) -> Any:
        return self._by_id[user_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def __repr__(self) -> str:
        return f"Members({self._by_id!r}, me={self._me_id!r})"

    @property
    def me(self) -> Member | None:
        """This client's own member, while subscribed (``None`` while disconnected)."""
        if self._me_id is None or self._me_id not in self._by_id:
            return None
        return Member(self._me_id, self._by_id.get(self._me_id))

    @property
    def me_id(self) -> str | None:
        """This client's own user id, once known from the signed ``channel_data``."""
        return self._me_id

    @property
    def count(self) -> int:
        """The number of distinct users."""
        return len(self._by_id)

    def member(self, user_id: str | int) -> Member | None:
        """The member with this id, or ``None``."""
        key = str(user_id)
        if key not in self._by_id:
            return None
        return Member(key, self._by_id[key])

    def snapshot(self) -> Members:
        """A copy that later changes to this store do not reach."""
        copy = Members()
        copy._by_id = dict(self._by_id)
        copy._me_id = self._me_id
        return copy

    def set_me(self, me_id: str | None) -> None:
        """Record which member is this client (before the server lists the members)."""
        self._me_id = me_id

    def reset(self, presence: Any, me_id: str | None) -> None:
        """Replace every member with those in a ``subscription_succeeded`` payload.

        ``presence`` is the ``data`` of that message: ``{"presence": {"ids": [...],
        "hash": {...}, "count": n}}``. ``hash`` may be a list when PHP encoded it from
        consecutive ids; ids missing from ``hash`` get ``None`` as their info.
        """
        block = presence.get("presence") if isinstance(presence, Mapping) else None
        block = block if isinstance(block, Mapping) else {}
        hash_ = block.get("hash")
        if isinstance(hash_, list):
            infos: dict[str, Any] = {str(index): info for index, info in enumerate(hash_)}
        elif isinstance(hash_, Mapping):
            infos = {str(user_id): info for user_id, info in hash_.items()}
        else:
            infos = {}
        ids = block.get("ids")
        ordered = [str(user_id) for user_id in ids] if isinstance(ids, list) else list(infos)
        self._by_id = {user_id: infos.get(user_id) for user_id in ordered}
        for user_id, info in infos.items():
            self._by_id.setdefault(user_id, info)
        self._me_id = me_id
        if me_id is not None and me_id not in self._by_id:
            self._by_id[me_id] = None

    def add(self, user_id: str, user_info: Any) -> bool:
        """Add or update a member; return whether the user is new to the channel."""
        is_new = user_id not in self._by_id
        self._by_id[user_id] = user_info
        return is_new

    def remove(self, user_id: str) -> Member | None:
        """Remove a member; return it, or ``None`` if it was not there."""
        if user_id not in self._by_id:
            return None
        return Member(user_id, self._by_id.pop(user_id))

    def clear(self) -> None:
        """Forget every member, as when the connection drops."""
        self._by_id = {}
