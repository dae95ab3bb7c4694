from __future__ import annotations

import json

import pytest

from reverb import ConfigurationError
from reverb.server import AppConfig, ClientEventsFrom, Dialect, ServerConfig


def test_single_app_from_reverb_variables() -> None:
    config = ServerConfig.from_env(
        {
            "REVERB_APP_ID": "1",
            "REVERB_APP_KEY": "key",
            "REVERB_APP_SECRET": "secret",
            "REVERB_SERVER_HOST": "0.0.0.0",
            "REVERB_SERVER_PORT": "9000",
            "REVERB_SERVER_PATH": "/ws/",
            "REVERB_APP_PING_INTERVAL": "30",
            "REVERB_APP_ACCEPT_CLIENT_EVENTS_FROM": "all",
        }
    )
    assert (config.host, config.port, config.path) == ("0.0.0.0", 9000, "/ws")
    (app,) = config.apps
    assert (app.id, app.key, app.secret, app.ping_interval) == ("1", "key", "secret", 30.0)
    assert app.accept_client_events_from is ClientEventsFrom.ALL
    assert config.dialect is Dialect.REVERB
    assert "secret" not in repr(app)


def test_several_apps_as_json() -> None:
    apps = [{"id": "1", "key": "a", "secret": "s1"}, {"app_id": "2", "key": "b", "secret": "s2"}]
    config = ServerConfig.from_env({"REVERB_APPS": json.dumps(apps)}, dialect="soketi")
    assert [app.key for app in config.apps] == ["a", "b"]
    assert config.app_by_key("b") is config.apps[1]
    assert config.app_by_id("2") is config.apps[1]
    assert config.app_by_key("zzz") is None
    assert config.dialect is Dialect.SOKETI


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "no app configured"),
        ({"REVERB_APPS": "not json"}, "JSON list"),
        ({"REVERB_APPS": "{}"}, "JSON list"),
        ({"REVERB_APP_KEY": "k", "REVERB_APP_SECRET": ""}, "secret"),
        ({"REVERB_APP_KEY": "k", "REVERB_APP_SECRET": "s", "REVERB_SERVER_PORT": "x"}, "PORT"),
        (
            {"REVERB_APP_KEY": "k", "REVERB_APP_SECRET": "s", "REVERB_APP_PING_INTERVAL": "x"},
            "PING",
        ),
        (
            {"REVERB_APP_KEY": "k", "REVERB_APP_SECRET": "s", "REVERB_SERVER_DIALECT": "pusher"},
            "pusher",
        ),
    ],
)
def test_bad_environments_raise_configuration_error(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ServerConfig.from_env(environ)


def test_duplicate_keys_are_refused() -> None:
    app = AppConfig(id="1", key="k", secret="s")
    with pytest.raises(ConfigurationError, match="unique"):
        ServerConfig(apps=[app, AppConfig(id="2", key="k", secret="t")])
