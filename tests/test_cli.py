"""The ``reverb`` command: help, errors, trigger, listen and demo against the local server."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import reverb
from reverb import compiled
from reverb.cli import app
from reverb.encryption import decrypt_data
from reverb.protocol.signing import channel_shared_secret
from reverb.testing import BackgroundServer
from tests.support.raw import RawSocket
from tests.support.settings import reverb_env, start_cli

runner = CliRunner()


@pytest.fixture
def server() -> Iterator[BackgroundServer]:
    with BackgroundServer() as running:
        yield running


@pytest.mark.parametrize("command", [[], ["serve"], ["listen"], ["trigger"], ["demo"]])
def test_help_everywhere(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert f"python-reverb {reverb.__version__}" in result.output
    # what this install runs: here (the test environment) everything fast is there
    assert "receive path: compiled, auto transport: picows, JSON: orjson" in result.output


def test_version_says_when_the_receive_path_is_pure_python(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(compiled, "speedups", None)
    result = runner.invoke(app, ["--version"])
    assert "receive path: pure Python" in result.output


def test_missing_settings_give_one_clear_line_and_exit_1() -> None:
    result = runner.invoke(app, ["trigger", "orders", "OrderShipped", "{}"])
    assert result.exit_code == 1
    assert "REVERB_APP_KEY" in result.output
    assert "Traceback" not in result.output


def test_unreachable_server_is_one_clear_line(tmp_path: Path) -> None:
    env = {"REVERB_APP_KEY": "k", "REVERB_APP_ID": "1", "REVERB_APP_SECRET": "s"}
    result = runner.invoke(
        app,
        ["trigger", "orders", "E", "--host", "127.0.0.1", "--port", "9", "--scheme", "http"],
        env=env,
    )
    assert result.exit_code == 1
    assert "could not reach" in result.output
    assert "Traceback" not in result.output


async def test_trigger_publishes_through_the_http_api(server: BackgroundServer) -> None:
    socket = await RawSocket.open(server.host, server.port, server.app_key)
    await socket.subscribe("orders")
    await socket.recv_event("pusher_internal:subscription_succeeded")
    result = await asyncio.to_thread(
        runner.invoke,
        app,
        ["trigger", "orders", "OrderShipped", '{"id": 42}'],
        env=reverb_env(server),
    )
    assert result.exit_code == 0, result.output
    event = await socket.recv_event("OrderShipped")
    assert json.loads(event["data"]) == {"id": 42}
    await socket.close()


def test_trigger_reads_a_laravel_env_file(server: BackgroundServer, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("\n".join(f"{k}={v}" for k, v in reverb_env(server).items()))
    result = runner.invoke(app, ["trigger", "orders", "E", "x", "--env-file", str(env_file)])
    assert result.exit_code == 0, result.output
    assert "published" in result.output


MASTER_B64 = base64.b64encode(bytes(range(32))).decode()


async def test_trigger_encrypts_on_private_encrypted_channels(server: BackgroundServer) -> None:
    channel = "private-encrypted-orders"
    socket = await RawSocket.open(server.host, server.port, server.app_key)
    await socket.subscribe(channel, secret=server.app_secret, key=server.app_key)
    await socket.recv_event("pusher_internal:subscription_succeeded")
    env = {**reverb_env(server), "REVERB_ENCRYPTION_MASTER_KEY_BASE64": MASTER_B64}
    result = await asyncio.to_thread(
        runner.invoke, app, ["trigger", channel, "E", '{"id": 7}', "--encrypted"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "end-to-end encrypted" in result.output
    event = await socket.recv_event("E")
    assert "ciphertext" in json.loads(event["data"])
    key = channel_shared_secret(channel, bytes(range(32)))
    assert decrypt_data(event["data"], key) == {"id": 7}
    await socket.close()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["orders", "E", "{}", "--encrypted"], "not a private-encrypted- channel"),
        (["private-encrypted-x", "E", "{}"], "REVERB_ENCRYPTION_MASTER_KEY_BASE64"),
    ],
)
def test_trigger_refuses_what_it_cannot_encrypt(
    server: BackgroundServer, arguments: list[str], message: str
) -> None:
    result = runner.invoke(app, ["trigger", *arguments], env=reverb_env(server))
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


async def test_listen_json_prints_one_object_per_line(server: BackgroundServer) -> None:
    process = await start_cli(
        server,
        "listen",
        "orders",
        "presence-room",
        "--json",
        "--event",
        "OrderShipped",
        "--user-id",
        "cli",
    )
    try:
        await server.subscribed("orders")
        await server.subscribed("presence-room")
        assert server.members("presence-room") == {"cli": None}
        server.trigger("orders", "Ignored", {"skip": True})
        server.trigger("orders", "OrderShipped", {"id": 1})
        assert process.stdout is not None
        async with asyncio.timeout(10):
            line = await process.stdout.readline()
        assert json.loads(line) == {
            "channel": "orders",
            "event": "OrderShipped",
            "data": {"id": 1},
            "user_id": None,
        }
    finally:
        process.terminate()
        await process.wait()


def test_listen_refused_key_exits_1(server: BackgroundServer) -> None:
    env = {**reverb_env(server), "REVERB_APP_KEY": "wrong"}
    result = runner.invoke(app, ["listen", "orders"], env=env)
    assert result.exit_code == 1
    assert "4001" in result.output
    assert "Traceback" not in result.output


def test_demo_runs_end_to_end() -> None:
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "Demo complete" in result.output
    assert "OrderShipped on private-orders.42" in result.output
    assert "client-typing" in result.output


async def test_serve_runs_a_server_clients_can_use(tmp_path: Path) -> None:
    from reverb import ReverbClient
    from tests.support.soketi import free_port

    port = free_port()
    (tmp_path / ".env").write_text(
        "REVERB_APP_ID=1\nREVERB_APP_KEY=cli-key\nREVERB_APP_SECRET=cli-secret\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "reverb",
        "serve",
        "--port",
        str(port),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(10):
            banner = (await process.stdout.readline()).decode()
        assert f"127.0.0.1:{port}" in banner
        async with ReverbClient(
            app_key="cli-key", app_secret="cli-secret", host="127.0.0.1", port=port, scheme="http"
        ) as client:
            assert (await client.subscribe("private-cli")).subscribed
    finally:
        process.terminate()
        await process.wait()


def test_serve_without_apps_is_one_clear_line() -> None:
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 1
    assert "no app configured" in result.output


def test_serve_help_documents_users() -> None:
    result = runner.invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--users" in result.output
    assert "REVERB_USERS_FILE" in result.output


def test_serve_with_a_bad_users_file_is_one_clear_line(tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    users.write_text('{"users": [{"id": 1, "token": "secret-token", "oops": 1}]}')
    env = {"REVERB_APP_KEY": "k", "REVERB_APP_SECRET": "s"}
    result = runner.invoke(app, ["serve", "--users", str(users)], env=env)
    assert result.exit_code == 1
    assert "unknown user field(s): oops" in result.output
    assert "secret-token" not in result.output
    missing = runner.invoke(app, ["serve"], env={**env, "REVERB_USERS_FILE": "nope.json"})
    assert missing.exit_code == 1
    assert "cannot read users file" in missing.output


async def test_serve_users_answers_broadcasting_auth(tmp_path: Path) -> None:
    import httpx

    from reverb.protocol.signing import sign
    from tests.support.soketi import free_port

    port = free_port()
    (tmp_path / ".env").write_text("REVERB_APP_ID=1\nREVERB_APP_KEY=k\nREVERB_APP_SECRET=s\n")
    (tmp_path / "users.toml").write_text(
        '[[users]]\nid = 7\ntoken = "t-7"\nchannels = ["orders.{id}"]\n'
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "reverb", "serve", "--port", str(port), "--users", "users.toml"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(10):
            lines = [(await process.stdout.readline()).decode() for _ in range(3)]
        assert "/broadcasting/auth" in "".join(lines)
        assert "t-7" not in "".join(lines)
        async with httpx.AsyncClient() as http:
            response = await http.post(
                f"http://127.0.0.1:{port}/broadcasting/auth",
                data={"socket_id": "1.2", "channel_name": "private-orders.3"},
                headers={"Authorization": "Bearer t-7", "Accept": "application/json"},
            )
        assert response.json() == {"auth": "k:" + sign("s", "1.2:private-orders.3")}
    finally:
        process.terminate()
        await process.wait()
