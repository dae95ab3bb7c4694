"""Settings from keyword arguments, REVERB_* variables and a Laravel .env file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import reverb
from reverb import ConfigurationError, ReverbConfig

SECRET = "s3cr3t-value-xyz"
QUERY = f"?protocol=7&client=python-reverb&version={reverb.__version__}"

LARAVEL_ENV = """\
APP_NAME=Laravel
APP_ENV=local
APP_KEY=base64:2fl+Ktvkfl+Fuz4Qp/A75G2RTiWVA/ZoKZvp6fiiM10=
APP_URL=http://localhost

# Broadcasting
BROADCAST_CONNECTION=reverb

REVERB_APP_ID=654321
REVERB_APP_KEY="laravel-key"
REVERB_APP_SECRET=
REVERB_HOST="localhost"
REVERB_PORT=8080
REVERB_SCHEME=http
REVERB_SERVER_HOST=0.0.0.0
REVERB_SERVER_PORT=8080

VITE_APP_NAME="${APP_NAME}"
VITE_REVERB_APP_KEY="${REVERB_APP_KEY}"
VITE_REVERB_HOST="${REVERB_HOST}"
VITE_REVERB_PORT="${REVERB_PORT}"
VITE_REVERB_SCHEME="${REVERB_SCHEME}"
"""


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No REVERB_* variable and no .env of the developer's leaks into a test."""
    for name in list(os.environ):
        if name.upper().startswith("REVERB_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def set_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)


# -- sources --------------------------------------------------------------------------------------


def test_from_keyword_arguments() -> None:
    config = ReverbConfig(
        app_key="k", app_secret=SECRET, app_id="1", host="127.0.0.1", port=6001, scheme="http"
    )
    assert (config.app_key, config.app_id, config.host, config.port, config.scheme) == (
        "k",
        "1",
        "127.0.0.1",
        6001,
        "http",
    )
    assert config.app_secret is not None
    assert config.app_secret.get_secret_value() == SECRET


def test_defaults() -> None:
    config = ReverbConfig(app_key="k")
    assert config.app_secret is None
    assert config.app_id is None
    assert (config.host, config.port, config.scheme, config.path) == (
        "localhost",
        None,
        "https",
        "",
    )
    assert config.activity_timeout == 120.0
    assert config.pong_timeout == 30.0
    assert config.reconnect is True
    assert config.max_message_size == 10_000


def test_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(
        monkeypatch,
        REVERB_APP_KEY="env-key",
        REVERB_APP_SECRET=SECRET,
        REVERB_APP_ID="123",
        REVERB_HOST="reverb.test",
        REVERB_PORT="8080",
        REVERB_SCHEME="http",
    )
    config = ReverbConfig()
    assert (config.app_key, config.app_id, config.host, config.port, config.scheme) == (
        "env-key",
        "123",
        "reverb.test",
        8080,
        "http",
    )
    assert config.app_secret is not None
    assert config.app_secret.get_secret_value() == SECRET
    assert config.url == f"ws://reverb.test:8080/app/env-key{QUERY}"


def test_from_environment_for_other_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(
        monkeypatch,
        REVERB_APP_KEY="k",
        REVERB_ACTIVITY_TIMEOUT="15",
        REVERB_RECONNECT="false",
        REVERB_RECONNECT_MAX_ATTEMPTS="3",
    )
    config = ReverbConfig()
    assert config.activity_timeout == 15.0
    assert config.reconnect is False
    assert config.reconnect_max_attempts == 3


@pytest.mark.parametrize("loader", ["explicit", "working_directory"])
def test_from_a_laravel_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loader: str
) -> None:
    project = tmp_path / "laravel-app"
    project.mkdir()
    if loader == "explicit":
        path = project / "laravel.env"
        path.write_text(LARAVEL_ENV)
        config = ReverbConfig(_env_file=path)
    else:
        (project / ".env").write_text(LARAVEL_ENV)
        monkeypatch.chdir(project)
        config = ReverbConfig()
    assert config.app_key == "laravel-key"  # quotes removed
    assert config.app_id == "654321"
    assert config.app_secret is None  # REVERB_APP_SECRET= is empty
    assert (config.host, config.port, config.scheme) == ("localhost", 8080, "http")
    assert config.url == f"ws://localhost:8080/app/laravel-key{QUERY}"


def test_env_file_with_comments_and_single_quotes(tmp_path: Path) -> None:
    path = tmp_path / "custom.env"
    path.write_text(
        "# REVERB_APP_KEY=commented-out\n"
        "REVERB_APP_KEY='single-quoted'\n"
        'REVERB_APP_SECRET="' + SECRET + '"\n'
        "REVERB_PORT=\n"
    )
    config = ReverbConfig(_env_file=path)
    assert config.app_key == "single-quoted"
    assert config.app_secret is not None
    assert config.app_secret.get_secret_value() == SECRET
    assert config.port is None


def test_explicit_env_file_is_used_instead_of_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text('REVERB_APP_KEY="cwd-key"\n')
    other = tmp_path / "other.env"
    other.write_text('REVERB_APP_KEY="other-key"\n')
    assert ReverbConfig(_env_file=other).app_key == "other-key"


def test_env_file_none_reads_no_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(LARAVEL_ENV)
    with pytest.raises(ConfigurationError, match="app_key"):
        ReverbConfig(_env_file=None)


def test_missing_env_file_is_not_an_error(tmp_path: Path) -> None:
    assert ReverbConfig(app_key="k", _env_file=tmp_path / "absent.env").app_key == "k"


def test_kwargs_beat_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, REVERB_APP_KEY="env-key", REVERB_HOST="from-env", REVERB_PORT="1")
    config = ReverbConfig(app_key="kw-key", host="from-kwarg", port=2)
    assert (config.app_key, config.host, config.port) == ("kw-key", "from-kwarg", 2)


def test_environment_beats_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(LARAVEL_ENV)
    set_env(monkeypatch, REVERB_HOST="from-env")
    config = ReverbConfig()
    assert config.host == "from-env"
    assert config.app_key == "laravel-key"


def test_kwargs_beat_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(LARAVEL_ENV)
    assert ReverbConfig(port=9999).port == 9999


def test_config_is_frozen() -> None:
    config = ReverbConfig(app_key="k")
    with pytest.raises(ValidationError, match="frozen"):
        config.host = "other"  # type: ignore[misc]


# -- URL ------------------------------------------------------------------------------------------


def test_url_format() -> None:
    config = ReverbConfig(app_key="app-key", host="127.0.0.1", port=6001, scheme="http")
    assert config.url == (
        "ws://127.0.0.1:6001/app/app-key"
        f"?protocol=7&client=python-reverb&version={reverb.__version__}"
    )


@pytest.mark.parametrize(
    ("settings", "url"),
    [
        ({"scheme": "https"}, "wss://h:443/app/k"),
        ({"scheme": "wss"}, "wss://h:443/app/k"),
        ({"scheme": "http"}, "ws://h:80/app/k"),
        ({"scheme": "ws"}, "ws://h:80/app/k"),
        ({}, "wss://h:443/app/k"),  # https by default
        ({"scheme": "HTTP", "port": 6001}, "ws://h:6001/app/k"),
        ({"scheme": " https ", "port": 8443}, "wss://h:8443/app/k"),
        ({"path": "/x/"}, "wss://h:443/x/app/k"),
        ({"path": "x"}, "wss://h:443/x/app/k"),
        ({"path": "/a/b"}, "wss://h:443/a/b/app/k"),
        ({"path": "/"}, "wss://h:443/app/k"),
        ({"host": "::1", "scheme": "http", "port": 6001}, "ws://[::1]:6001/app/k"),
        ({"host": "2001:db8::1"}, "wss://[2001:db8::1]:443/app/k"),
        ({"host": " reverb.test "}, "wss://reverb.test:443/app/k"),
    ],
)
def test_url_shapes(settings: dict[str, Any], url: str) -> None:
    config = ReverbConfig(app_key="k", **{"host": "h", **settings})
    assert config.url == url + QUERY


@pytest.mark.parametrize(
    ("settings", "http_url"),
    [
        ({"scheme": "https"}, "https://h:443"),
        ({"scheme": "ws", "port": 8080}, "http://h:8080"),
        ({"path": "/x/"}, "https://h:443/x"),
        ({"host": "::1"}, "https://[::1]:443"),
    ],
)
def test_http_url(settings: dict[str, Any], http_url: str) -> None:
    config = ReverbConfig(app_key="k", **{"host": "h", **settings})
    assert config.http_url == http_url


@pytest.mark.parametrize(
    ("scheme", "tls", "port"),
    [("https", True, 443), ("wss", True, 443), ("http", False, 80), ("ws", False, 80)],
)
def test_effective_port_and_tls(scheme: str, tls: bool, port: int) -> None:
    config = ReverbConfig(app_key="k", scheme=scheme)
    assert config.uses_tls is tls
    assert config.effective_port == port


# -- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "name"),
    [
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"port": -1}, "port"),
        ({"scheme": "ftp"}, "scheme"),
        ({"host": "http://x"}, "host"),
        ({"host": ""}, "host"),
        ({"host": "a b"}, "host"),
        ({"activity_timeout": -1}, "activity_timeout"),
        ({"activity_timeout": 0}, "activity_timeout"),
        ({"pong_timeout": -1}, "pong_timeout"),
        ({"connect_timeout": -1}, "connect_timeout"),
        ({"subscription_timeout": -1}, "subscription_timeout"),
        ({"reconnect_delay": -1}, "reconnect_delay"),
        ({"reconnect_delay": 5, "reconnect_max_delay": 1}, "reconnect_max_delay"),
        ({"reconnect_multiplier": 0.5}, "reconnect_multiplier"),
        ({"reconnect_jitter": 2}, "reconnect_jitter"),
        ({"reconnect_max_attempts": -1}, "reconnect_max_attempts"),
        ({"max_message_size": 0}, "max_message_size"),
        ({"app_key": ""}, "app_key"),
    ],
)
def test_invalid_settings_raise_configuration_error_naming_them(
    settings: dict[str, Any], name: str
) -> None:
    with pytest.raises(ConfigurationError, match=name) as caught:
        ReverbConfig(**{"app_key": "k", "app_secret": SECRET, **settings})
    assert isinstance(caught.value, ValueError)
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)


def test_missing_app_key_says_where_to_set_it() -> None:
    with pytest.raises(ConfigurationError, match="app_key") as caught:
        ReverbConfig(app_secret=SECRET)
    assert "REVERB_APP_KEY" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_invalid_secret_type_does_not_echo_it() -> None:
    with pytest.raises(ConfigurationError, match="app_secret") as caught:
        ReverbConfig(app_key="k", app_secret=["s3cr3t-value-xyz"])
    assert SECRET not in str(caught.value)


def test_invalid_value_from_the_environment_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_env(monkeypatch, REVERB_APP_KEY="k", REVERB_APP_SECRET=SECRET, REVERB_PORT="eighty")
    with pytest.raises(ConfigurationError, match="port") as caught:
        ReverbConfig()
    assert SECRET not in str(caught.value)
    assert "eighty" not in str(caught.value)


def test_configuration_error_does_not_chain_the_validation_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        ReverbConfig(app_key="k", app_secret=SECRET, port=0)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


# -- secrecy --------------------------------------------------------------------------------------


def test_repr_hides_the_secret() -> None:
    config = ReverbConfig(app_key="k", app_secret=SECRET)
    assert SECRET not in repr(config)
    assert SECRET not in str(config)
    assert "app_key='k'" in repr(config)


def test_dumps_hide_the_secret() -> None:
    config = ReverbConfig(app_key="k", app_secret=SECRET)
    assert SECRET not in repr(config.model_dump())
    assert SECRET not in config.model_dump_json()


# -- back-off -------------------------------------------------------------------------------------


def test_backoff_reflects_the_settings() -> None:
    backoff = ReverbConfig(
        app_key="k",
        reconnect_delay=0.5,
        reconnect_max_delay=4,
        reconnect_multiplier=3,
        reconnect_jitter=0.1,
        reconnect_max_attempts=5,
    ).backoff()
    assert (backoff.initial, backoff.maximum, backoff.multiplier) == (0.5, 4, 3)
    assert backoff.jitter == 0.1
    assert backoff.max_attempts == 5
    assert [backoff.base_delay(n) for n in range(4)] == [0.5, 1.5, 4, 4]
    assert backoff.exhausted(5)
    assert not backoff.exhausted(4)


def test_default_backoff() -> None:
    backoff = ReverbConfig(app_key="k").backoff()
    assert [backoff.base_delay(n) for n in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.jitter == 0.25
    assert backoff.max_attempts is None


def test_host_with_a_port_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="port separately"):
        ReverbConfig(app_key="k", host="localhost:8080")


@pytest.mark.parametrize("host", ["::1", "[::1]"])
def test_ipv6_hosts_are_bracketed_once(host: str) -> None:
    config = ReverbConfig(app_key="k", host=host, port=6001, scheme="http")
    assert config.host == "::1"
    assert config.url.startswith("ws://[::1]:6001/app/k?")


# -- unknown settings -----------------------------------------------------------------------------


def test_unknown_keyword_is_refused_with_the_closest_setting() -> None:
    with pytest.raises(ConfigurationError) as caught:
        ReverbConfig(app_key="k", activty_timeout=5)
    message = str(caught.value)
    assert "unknown setting 'activty_timeout'" in message
    assert "did you mean 'activity_timeout'?" in message
    assert isinstance(caught.value, ValueError)
    assert caught.value.__cause__ is None


def test_unknown_keyword_without_a_close_match_names_only_itself() -> None:
    with pytest.raises(ConfigurationError) as caught:
        ReverbConfig(app_key="k", zzzz=1)
    assert "unknown setting 'zzzz'" in str(caught.value)
    assert "did you mean" not in str(caught.value)


def test_every_unknown_keyword_is_named_with_its_own_suggestion() -> None:
    with pytest.raises(ConfigurationError) as caught:
        ReverbConfig(app_key="k", hots="h", prot=1)
    message = str(caught.value)
    assert "unknown setting 'hots' (did you mean 'host'?)" in message
    assert "unknown setting 'prot' (did you mean 'port'?)" in message


def test_unknown_keyword_error_never_shows_values() -> None:
    with pytest.raises(ConfigurationError) as caught:
        ReverbConfig(app_key="k", app_secret=SECRET, app_secert=SECRET)
    assert "did you mean 'app_secret'?" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)


def test_misspelled_settings_option_suggests_the_option() -> None:
    with pytest.raises(ConfigurationError, match="did you mean '_env_file'"):
        ReverbConfig(app_key="k", env_file=None)


def test_unknown_keyword_is_refused_before_reading_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, REVERB_PORT="eighty")  # would be invalid, but the typo is reported
    with pytest.raises(ConfigurationError, match="activty_timeout") as caught:
        ReverbConfig(app_key="k", activty_timeout=5)
    assert "port" not in str(caught.value)


def test_client_refuses_an_unknown_setting() -> None:
    with pytest.raises(ConfigurationError, match="did you mean 'activity_timeout'"):
        reverb.ReverbClient(app_key="k", activty_timeout=5)


def test_client_refuses_an_unknown_setting_merged_into_a_config() -> None:
    config = ReverbConfig(app_key="k")
    with pytest.raises(ConfigurationError, match="did you mean 'activity_timeout'"):
        reverb.ReverbClient(config, activty_timeout=5)
    assert reverb.ReverbClient(config, activity_timeout=5).config.activity_timeout == 5


def test_unknown_reverb_variables_in_the_environment_are_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_env(
        monkeypatch,
        REVERB_APP_KEY="k",
        REVERB_ACTIVTY_TIMEOUT="5",
        REVERB_SERVER_HOST="0.0.0.0",
        REVERB_SOMETHING_ELSE="x",
    )
    config = ReverbConfig()
    assert config.app_key == "k"
    assert config.activity_timeout == 120.0


def test_unknown_reverb_variables_in_an_env_file_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "extra.env"
    path.write_text('REVERB_APP_KEY="k"\nREVERB_ACTIVTY_TIMEOUT=5\nREVERB_SERVER_PORT=8080\n')
    config = ReverbConfig(_env_file=path)
    assert config.app_key == "k"
    assert config.activity_timeout == 120.0


# -- ReverbConfig.shared: one validation for many clients ------------------------------------


def test_shared_settings_are_validated_once_for_the_same_inputs(tmp_path: Path) -> None:
    first = ReverbConfig.shared(app_key="shared-key", host="example.org")
    assert ReverbConfig.shared(app_key="shared-key", host="example.org") is first
    assert ReverbConfig.shared(host="example.org", app_key="shared-key") is first
    other = ReverbConfig.shared(app_key="shared-key", host="example.net")
    assert other is not first
    assert other.host == "example.net"
    assert first == ReverbConfig(app_key="shared-key", host="example.org")


def test_shared_settings_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    before = ReverbConfig.shared(app_key="env-key")
    monkeypatch.setenv("REVERB_HOST", "from-env.example")
    after = ReverbConfig.shared(app_key="env-key")
    assert after.host == "from-env.example"
    assert before.host == "localhost"
    monkeypatch.setenv("reverb_port", "8443")  # names are matched case-insensitively
    assert ReverbConfig.shared(app_key="env-key").port == 8443
    monkeypatch.delenv("REVERB_HOST")
    monkeypatch.delenv("reverb_port")
    assert ReverbConfig.shared(app_key="env-key") is before


def test_shared_settings_follow_the_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("REVERB_HOST=one.example\n")
    assert ReverbConfig.shared(app_key="k").host == "one.example"
    env_file.write_text("REVERB_HOST=two.example\n")  # same size, maybe the same mtime
    assert ReverbConfig.shared(app_key="k").host == "two.example"
    env_file.unlink()
    assert ReverbConfig.shared(app_key="k").host == "localhost"
    named = tmp_path / "other.env"
    named.write_text("REVERB_HOST=named.example\n")
    assert ReverbConfig.shared(app_key="k", _env_file=named).host == "named.example"
    assert ReverbConfig.shared(app_key="k", _env_file=[named]).host == "named.example"


def test_settings_read_from_a_secrets_folder_are_not_shared(tmp_path: Path) -> None:
    (tmp_path / "reverb_app_secret").write_text("one")
    first = ReverbConfig.shared(app_key="k", _secrets_dir=tmp_path)
    (tmp_path / "reverb_app_secret").write_text("two")
    second = ReverbConfig.shared(app_key="k", _secrets_dir=tmp_path)
    assert first.app_secret is not None
    assert second.app_secret is not None
    assert first.app_secret.get_secret_value() == "one"
    assert second.app_secret.get_secret_value() == "two"


def test_shared_settings_raise_as_the_constructor_does() -> None:
    with pytest.raises(ConfigurationError, match="port"):
        ReverbConfig.shared(app_key="k", port=0)
    with pytest.raises(ConfigurationError, match="did you mean 'host'"):
        ReverbConfig.shared(app_key="k", hots="x")


def test_clients_made_with_the_same_settings_share_them() -> None:
    first = reverb.ReverbClient(app_key="k", host="example.org")
    second = reverb.ReverbClient(app_key="k", host="example.org")
    assert first.config is second.config
