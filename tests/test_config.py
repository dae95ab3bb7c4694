from __future__ import annotations

from pathlib import Path

import pytest

import reverb
from reverb import ConfigurationError, ReverbConfig

SECRET = "cfg-s3cr3t-zz"


def test_from_keyword_arguments() -> None:
    config = ReverbConfig(
        app_key="k", app_secret=SECRET, host="127.0.0.1", port=6001, scheme="http"
    )
    assert config.url == (
        f"ws://127.0.0.1:6001/app/k?protocol=7&client=python-reverb&version={reverb.__version__}"
    )
    assert config.app_secret is not None
    assert config.app_secret.get_secret_value() == SECRET


def test_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "REVERB_APP_KEY": "env-key",
        "REVERB_APP_SECRET": SECRET,
        "REVERB_APP_ID": "123",
        "REVERB_HOST": "reverb.test",
        "REVERB_PORT": "8080",
        "REVERB_SCHEME": "http",
    }.items():
        monkeypatch.setenv(name, value)
    config = ReverbConfig()
    assert (config.app_key, config.app_id, config.host, config.port) == (
        "env-key",
        "123",
        "reverb.test",
        8080,
    )
    assert config.url.startswith("ws://reverb.test:8080/app/env-key?")


LARAVEL_ENV = """
APP_NAME=Laravel
APP_KEY=base64:abc=
# Broadcasting
BROADCAST_CONNECTION=reverb
REVERB_APP_ID=654321
REVERB_APP_KEY="laravel-key"
REVERB_APP_SECRET=
REVERB_HOST="localhost"
REVERB_PORT=8080
REVERB_SCHEME=http

VITE_REVERB_APP_KEY="${REVERB_APP_KEY}"
VITE_REVERB_HOST="${REVERB_HOST}"
"""


def test_from_a_laravel_env_file_in_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(LARAVEL_ENV)
    config = ReverbConfig()
    assert config.app_key == "laravel-key"
    assert config.app_id == "654321"
    assert config.app_secret is None
    assert config.url.startswith("ws://localhost:8080/app/laravel-key?")


def test_from_an_explicit_env_file(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.env"
    path.write_text(LARAVEL_ENV.replace("REVERB_PORT=8080", "REVERB_PORT=9090"))
    assert ReverbConfig(_env_file=path).port == 9090


def test_keyword_beats_environment_beats_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(LARAVEL_ENV)
    monkeypatch.setenv("REVERB_HOST", "from-env")
    assert ReverbConfig().host == "from-env"
    assert ReverbConfig(host="from-kwarg").host == "from-kwarg"


@pytest.mark.parametrize(
    ("settings", "url_start"),
    [
        ({"scheme": "https"}, "wss://h:443/app/k?"),
        ({"scheme": "wss"}, "wss://h:443/app/k?"),
        ({"scheme": "http"}, "ws://h:80/app/k?"),
        ({"scheme": "HTTP", "port": 6001}, "ws://h:6001/app/k?"),
        ({"scheme": "https", "path": "/x/"}, "wss://h:443/x/app/k?"),
        ({"scheme": "http", "host": "::1", "port": 6001}, "ws://[::1]:6001/app/k?"),
    ],
)
def test_url_shapes(settings: dict[str, object], url_start: str) -> None:
    config = ReverbConfig(app_key="k", host=str(settings.pop("host", "h")), **settings)
    assert config.url.startswith(url_start)
    assert config.url.endswith(f"?protocol=7&client=python-reverb&version={reverb.__version__}")


@pytest.mark.parametrize(
    ("settings", "names"),
    [
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"scheme": "ftp"}, "scheme"),
        ({"host": "http://x"}, "host"),
        ({"pong_timeout": -1}, "pong_timeout"),
        ({"activity_timeout": 0}, "activity_timeout"),
        ({"reconnect_delay": 5, "reconnect_max_delay": 1}, "reconnect_max_delay"),
        ({"reconnect_jitter": 2}, "reconnect_jitter"),
    ],
)
def test_invalid_settings_raise_configuration_error_naming_them(
    settings: dict[str, object], names: str
) -> None:
    with pytest.raises(ConfigurationError, match=names) as caught:
        ReverbConfig(app_key="k", app_secret=SECRET, **settings)
    assert isinstance(caught.value, ValueError)
    assert SECRET not in str(caught.value)


def test_missing_app_key_says_where_to_set_it() -> None:
    with pytest.raises(ConfigurationError, match="REVERB_APP_KEY"):
        ReverbConfig()


def test_secret_is_hidden_in_repr_and_str() -> None:
    config = ReverbConfig(app_key="k", app_secret=SECRET)
    assert SECRET not in repr(config)
    assert SECRET not in str(config)
    assert SECRET not in repr(config.model_dump())


def test_backoff_reflects_the_settings() -> None:
    backoff = ReverbConfig(
        app_key="k",
        reconnect_delay=0.5,
        reconnect_max_delay=4,
        reconnect_multiplier=3,
        reconnect_jitter=0,
        reconnect_max_attempts=5,
    ).backoff()
    assert [backoff.base_delay(n) for n in range(4)] == [0.5, 1.5, 4, 4]
    assert backoff.exhausted(5)
    assert not backoff.exhausted(4)
