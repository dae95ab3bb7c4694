"""The presence member list, fed what Reverb and Soketi send."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from reverb.protocol.presence import Member, Members

REVERB_TWO_MEMBERS = {
    "presence": {"count": 2, "ids": ["1", "2"], "hash": {"1": {"name": "a"}, "2": None}}
}


def members_from(data: Any, me: str | None = "1") -> Members:
    members = Members()
    members.reset(data, me)
    return members


# -- reset ----------------------------------------------------------------------------------------


def test_reset_from_a_reverb_presence_payload() -> None:
    members = members_from(REVERB_TWO_MEMBERS)
    assert dict(members) == {"1": {"name": "a"}, "2": None}
    assert members.count == len(members) == 2


def test_reset_sets_me_with_its_info() -> None:
    assert members_from(REVERB_TWO_MEMBERS, me="1").me == Member("1", {"name": "a"})


def test_me_is_none_before_any_reset() -> None:
    members = Members()
    assert members.me is None
    assert len(members) == 0


def test_reset_keeps_the_order_of_ids() -> None:
    members = members_from(
        {"presence": {"ids": ["b", "a", "c"], "hash": {"a": 1, "b": 2, "c": 3}}}, me=None
    )
    assert list(members) == ["b", "a", "c"]


def test_hash_given_as_a_list_php_consecutive_numeric_ids() -> None:
    members = members_from(
        {"presence": {"count": 2, "ids": [0, 1], "hash": [{"n": 0}, {"n": 1}]}}, me="0"
    )
    assert dict(members) == {"0": {"n": 0}, "1": {"n": 1}}
    assert members.me == Member("0", {"n": 0})


def test_hash_given_as_a_list_with_string_ids() -> None:
    members = members_from({"presence": {"count": 2, "ids": ["0", "1"], "hash": ["x", None]}})
    assert dict(members) == {"0": "x", "1": None}


def test_numeric_ids_become_string_keys() -> None:
    members = members_from({"presence": {"count": 2, "ids": [1, 2], "hash": {"1": "x", "2": "y"}}})
    assert list(members) == ["1", "2"]
    assert members["2"] == "y"


def test_member_lookup_accepts_int_or_str() -> None:
    members = members_from({"presence": {"ids": [1, 2], "hash": {"1": "x", "2": "y"}}})
    assert members.member(2) == Member("2", "y")
    assert members.member("2") == Member("2", "y")
    assert members.member(3) is None


def test_empty_presence_from_reverb_quirk() -> None:
    members = members_from({"presence": {"count": 0, "ids": [], "hash": []}}, me=None)
    assert dict(members) == {}
    assert members.me is None


def test_me_present_even_if_missing_from_the_hash() -> None:
    members = members_from({"presence": {"count": 0, "ids": [], "hash": []}}, me="7")
    assert dict(members) == {"7": None}
    assert members.me == Member("7", None)


def test_me_added_to_a_non_empty_list_that_lacks_it() -> None:
    members = members_from(REVERB_TWO_MEMBERS, me="9")
    assert set(members) == {"1", "2", "9"}
    assert members.me == Member("9", None)


def test_ids_missing_from_the_hash_get_none() -> None:
    members = members_from({"presence": {"ids": ["1", "2"], "hash": {"1": "a"}}})
    assert dict(members) == {"1": "a", "2": None}


def test_hash_entries_missing_from_ids_are_kept() -> None:
    members = members_from({"presence": {"ids": ["1"], "hash": {"1": "a", "2": "b"}}})
    assert dict(members) == {"1": "a", "2": "b"}


def test_hash_alone_without_ids() -> None:
    members = members_from({"presence": {"hash": {"5": "e"}}}, me=None)
    assert dict(members) == {"5": "e"}


@pytest.mark.parametrize(
    "garbage",
    [None, "text", 5, [1, 2], {}, {"presence": "x"}, {"presence": None}, {"presence": {"hash": 3}}],
)
def test_garbage_gives_an_empty_list(garbage: Any) -> None:
    members = members_from(garbage, me=None)
    assert dict(members) == {}
    assert members.count == 0


def test_garbage_with_me_gives_only_me() -> None:
    assert dict(members_from("text", me="1")) == {"1": None}


def test_reset_replaces_previous_members() -> None:
    members = members_from(REVERB_TWO_MEMBERS)
    members.reset({"presence": {"ids": ["3"], "hash": {"3": "c"}}}, "3")
    assert dict(members) == {"3": "c"}
    assert members.me == Member("3", "c")


# -- add / remove / clear -------------------------------------------------------------------------


def test_add_returns_true_for_a_new_user() -> None:
    members = members_from(REVERB_TWO_MEMBERS)
    assert members.add("3", {"name": "c"}) is True
    assert members["3"] == {"name": "c"}
    assert members.count == 3


def test_add_returns_false_for_a_known_user_and_updates_its_info() -> None:
    members = members_from(REVERB_TWO_MEMBERS)
    assert members.add("2", {"name": "B"}) is False
    assert members["2"] == {"name": "B"}
    assert members.count == 2


def test_add_updates_me() -> None:
    members = members_from(REVERB_TWO_MEMBERS, me="1")
    members.add("1", {"name": "A"})
    assert members.me == Member("1", {"name": "A"})


def test_remove_returns_the_member() -> None:
    members = members_from(REVERB_TWO_MEMBERS)
    assert members.remove("1") == Member("1", {"name": "a"})
    assert "1" not in members
    assert members.count == 1


def test_remove_unknown_returns_none() -> None:
    members = members_from(REVERB_TWO_MEMBERS)
    assert members.remove("42") is None
    assert members.count == 2


def test_remove_twice_returns_none_the_second_time() -> None:
    members = members_from(REVERB_TWO_MEMBERS)
    members.remove("2")
    assert members.remove("2") is None


def test_clear_forgets_every_member() -> None:
    members = members_from(REVERB_TWO_MEMBERS)
    members.clear()
    assert dict(members) == {}
    assert len(members) == 0


# -- read-only mapping ----------------------------------------------------------------------------


def test_members_is_a_mapping() -> None:
    members = members_from(REVERB_TWO_MEMBERS)
    assert isinstance(members, Mapping)
    assert "1" in members
    assert members.get("2", "missing") is None
    assert members.get("3", "missing") == "missing"
    assert set(members.keys()) == {"1", "2"}


def test_members_rejects_item_assignment() -> None:
    members = members_from(REVERB_TWO_MEMBERS)
    assert not hasattr(members, "__setitem__")
    with pytest.raises(TypeError):
        members["3"] = "x"  # type: ignore[index]
    assert "3" not in members


def test_members_rejects_item_deletion() -> None:
    members = members_from(REVERB_TWO_MEMBERS)
    with pytest.raises(TypeError):
        del members["1"]  # type: ignore[attr-defined]
    assert "1" in members


def test_member_is_frozen() -> None:
    member = Member("1", None)
    with pytest.raises(AttributeError):
        member.user_id = "2"  # type: ignore[misc]


def test_repr_shows_members_and_me() -> None:
    text = repr(members_from(REVERB_TWO_MEMBERS, me="1"))
    assert "'1'" in text
    assert "me='1'" in text


def test_a_snapshot_keeps_me() -> None:
    snapshot = members_from(REVERB_TWO_MEMBERS, me="1").snapshot()
    assert snapshot.me_id == "1"
    assert snapshot.me == Member("1", {"name": "a"})
