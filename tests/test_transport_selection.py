"""The ``transport`` setting: which factory opens the websocket, and errors for missing extras."""

from __future__ import annotations

import pytest

from reverb import ConfigurationError, ReverbClient, ReverbConfig
from reverb import transport as transport_module
from reverb.transport import connect_websockets, transport_factory_for


def test_the_setting_defaults_to_auto() -> None:
    assert ReverbConfig(app_key="k").transport == "auto"


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVERB_TRANSPORT", "websockets")
    assert ReverbConfig(app_key="k").transport == "websockets"


def test_an_unknown_transport_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="transport"):
        ReverbConfig(app_key="k", transport="aiohttp")


def test_websockets_is_always_available() -> None:
    assert transport_factory_for("websockets") is connect_websockets


def test_auto_picks_picows_when_it_is_installed() -> None:
    pytest.importorskip("picows")
    from reverb.transport.picows import connect_picows

    assert transport_factory_for("auto") is connect_picows
    assert transport_factory_for("picows") is connect_picows


def test_without_picows_auto_falls_back_and_picows_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(transport_module, "compiled_transport_installed", lambda: False)
    assert transport_factory_for("auto") is connect_websockets
    with pytest.raises(ConfigurationError, match=r"python-reverb\[fast\]"):
        transport_factory_for("picows")


def test_the_client_uses_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    client = ReverbClient(app_key="k", transport="websockets")
    assert client._connection._factory is connect_websockets
    monkeypatch.setattr(transport_module, "compiled_transport_installed", lambda: False)
    with pytest.raises(ConfigurationError, match="picows"):
        ReverbClient(app_key="k", transport="picows")


def test_an_explicit_factory_overrides_the_setting() -> None:
    async def factory(url: str, options: object) -> object:
        raise AssertionError("not called")

    client = ReverbClient(app_key="k", transport="picows", transport_factory=factory)  # type: ignore[arg-type]
    assert client._connection._factory is factory
