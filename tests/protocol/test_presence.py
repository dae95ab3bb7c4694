from __future__ import annotations

from typing import Any

import pytest

from reverb.protocol.presence import Member, Members


def members_from(data: Any, me: str | None = "1") -> Members:
    members = Members()
    members.reset(data, me)
    return members


def test_reset_from_reverb_presence_payload() -> None:
    members = members_from(
        {"presence": {"count": 2, "ids": ["1", "2"], "hash": {"1": {"name": "a"}, "2": None}}}
    )
    assert dict(members) == {"1": {"name": "a"}, "2": None}
    assert members.me == Member("1", {"name": "a"})
    assert members.count == len(members) == 2


def test_hash_as_list_from_php_consecutive_ids() -> None:
    members = members_from(
        {"presence": {"count": 2, "ids": [0, 1], "hash": [{"n": 0}, {"n": 1}]}}, me="0"
    )
    assert dict(members) == {"0": {"n": 0}, "1": {"n": 1}}


def test_numeric_ids_become_strings() -> None:
    members = members_from({"presence": {"ids": [1, 2], "hash": {"1": "x", "2": "y"}}})
    assert list(members) == ["1", "2"]
    assert members.member(2) == Member("2", "y")


def test_empty_presence_keeps_me() -> None:
    members = members_from({"presence": {"count": 0, "ids": [], "hash": []}}, me="7")
    assert dict(members) == {"7": None}


@pytest.mark.parametrize("garbage", [None, "text", {}, {"presence": "x"}, [1, 2]])
def test_garbage_gives_only_me(garbage: Any) -> None:
    assert dict(members_from(garbage, me=None)) == {}


def test_add_remove_and_clear() -> None:
    members = members_from({"presence": {"ids": ["1"], "hash": {"1": None}}})
    assert members.add("2", {"n": "b"}) is True
    assert members.add("2", {"n": "B"}) is False
    assert members["2"] == {"n": "B"}
    assert members.remove("2") == Member("2", {"n": "B"})
    assert members.remove("2") is None
    members.clear()
    assert len(members) == 0
    assert members.me == Member("1", None)


def test_members_is_read_only() -> None:
    members = Members()
    with pytest.raises(TypeError):
        members["1"] = "x"  # type: ignore[index]
