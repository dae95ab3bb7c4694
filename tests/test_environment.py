"""reverb.environment: values worked out from os.environ again only when it changes."""

from __future__ import annotations

import pytest

from reverb.environment import derived_from_environment


def test_a_value_is_remembered_until_the_environment_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    key = object()
    assert derived_from_environment(key, compute) == 1
    assert derived_from_environment(key, compute) == 1
    monkeypatch.setenv("REVERB_TEST_ENVIRONMENT", "one")
    assert derived_from_environment(key, compute) == 2
    monkeypatch.setenv("REVERB_TEST_ENVIRONMENT", "two")  # a changed value counts too
    assert derived_from_environment(key, compute) == 3
    assert derived_from_environment(key, compute) == 3
    monkeypatch.delenv("REVERB_TEST_ENVIRONMENT")
    assert derived_from_environment(key, compute) == 4


def test_keys_are_remembered_apart() -> None:
    assert derived_from_environment("test-a", lambda: "a") == "a"
    assert derived_from_environment("test-b", lambda: "b") == "b"
    assert derived_from_environment("test-a", lambda: "changed") == "a"


def test_a_failing_computation_is_not_remembered() -> None:
    def fail() -> str:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        derived_from_environment("test-failing", fail)
    assert derived_from_environment("test-failing", lambda: "ok") == "ok"


def test_the_proxy_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("picows")
    from reverb.transport.picows import _proxy_for

    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    assert _proxy_for("ws://example.org/app/k") is None
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    assert _proxy_for("ws://example.org/app/k") == "http://proxy.example:3128"
    assert _proxy_for("wss://example.org/app/k") is None
    monkeypatch.setenv("NO_PROXY", "example.org")
    assert _proxy_for("ws://example.org/app/k") is None
    assert _proxy_for("ws://other.example/app/k") == "http://proxy.example:3128"
