"""The ``reverb`` command: serve, listen, trigger, demo.

Client commands read the same ``REVERB_*`` variables and ``.env`` as the library; options
override them. Errors print one line and exit non-zero, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Coroutine
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from ._version import __version__
from .api import ApiClient
from .client import ReverbClient
from .config import ReverbConfig
from .exceptions import ReverbError
from .messages import Event
from .protocol.names import ChannelKind, channel_kind
from .protocol.presence import Member, Members

__all__ = ["app", "main"]

app = typer.Typer(
    name="reverb",
    help="Listen to, publish on and serve Laravel Reverb / Pusher protocol 7 channels.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

HostOption = Annotated[str | None, typer.Option(help="Server host (REVERB_HOST).")]
PortOption = Annotated[int | None, typer.Option(help="Server port (REVERB_PORT).")]
SchemeOption = Annotated[
    str | None, typer.Option(help="http/https/ws/wss (REVERB_SCHEME).", show_default=False)
]
KeyOption = Annotated[str | None, typer.Option("--app-key", help="App key (REVERB_APP_KEY).")]
EnvFileOption = Annotated[
    Path, typer.Option("--env-file", help="A .env file to read REVERB_* settings from.")
]


def _fail(message: str, code: int = 1) -> NoReturn:
    errors.print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def _run(coroutine: Coroutine[Any, Any, None]) -> None:
    try:
        asyncio.run(coroutine)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except ReverbError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{type(exc).__name__}: {exc}")


def _config(env_file: Path, **overrides: Any) -> ReverbConfig:
    settings = {name: value for name, value in overrides.items() if value is not None}
    try:
        source = env_file if env_file.exists() else None
        return ReverbConfig(_env_file=source, **settings)
    except ReverbError as exc:
        _fail(str(exc))


def _version(value: bool) -> None:
    if value:
        from . import compiled
        from .messages import json_codec
        from .transport import compiled_transport_installed

        speed = [
            "receive path: " + ("compiled" if compiled.speedups is not None else "pure Python"),
            "auto transport: " + ("picows" if compiled_transport_installed() else "websockets"),
            f"JSON: {json_codec()}",
        ]
        console.print(f"python-reverb {__version__} ({', '.join(speed)})", soft_wrap=True)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (REVERB_SERVER_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (REVERB_SERVER_PORT, 8080).")] = None,
    path: Annotated[str | None, typer.Option(help="Path prefix (REVERB_SERVER_PATH).")] = None,
    dialect: Annotated[
        str | None, typer.Option(help="reverb (default) or soketi (REVERB_SERVER_DIALECT).")
    ] = None,
    users: Annotated[
        Path | None,
        typer.Option(
            "--users",
            help="A users file (JSON, or TOML if named *.toml): who may authorize at "
            "/broadcasting/auth with which bearer token, for which channels "
            "(REVERB_USERS_FILE). See docs/server.md.",
            show_default=False,
        ),
    ] = None,
    env_file: EnvFileOption = Path(".env"),
) -> None:
    """Run the local Reverb-compatible server (for development and tests, not production).

    Apps come from REVERB_APP_ID/KEY/SECRET (or REVERB_APPS as JSON), as in Laravel's .env;
    with REVERB_ENCRYPTION_MASTER_KEY_BASE64 set, /broadcasting/auth hands out the
    shared_secret of private-encrypted- channels. With --users (or REVERB_USERS_FILE) it
    stands in for your Laravel app's /broadcasting/auth, on the same port.
    """
    from dotenv import dotenv_values

    from .server import ReverbServer, ServerConfig
    from .server.users import UserDirectory

    environ = dict(os.environ)
    if env_file.exists():
        from_file = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
        environ = {**from_file, **environ}
    try:
        directory = None if users is None else UserDirectory.load(users)
        config = ServerConfig.from_env(
            environ, host=host, port=port, path=path, dialect=dialect, users=directory
        )
    except ReverbError as exc:
        _fail(str(exc))
    server = ReverbServer(config)

    async def run() -> None:
        await server.start()
        console.print(f"[bold]python-reverb[/] server on [cyan]{server.url}[/] ({config.dialect})")
        for application in config.apps:
            console.print(f"  app id [cyan]{application.id}[/], key [cyan]{application.key}[/]")
        if config.users is not None:
            console.print(
                f"  /broadcasting/auth at [cyan]{server.http_url}/broadcasting/auth[/] "
                f"for {len(config.users)} user(s)"
            )
        console.print("  development server: in production run Laravel Reverb or Soketi")
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    _run(run())


def _plain_data(event: Event) -> Any:
    """The event's data as JSON-ready values (presence members become plain objects)."""
    data = event.data
    if isinstance(data, Member):
        return {"user_id": data.user_id, "user_info": data.user_info}
    if isinstance(data, Members):
        return dict(data)
    return data


def _describe(event: Event) -> str:
    data = _plain_data(event)
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    who = f" from {event.user_id}" if event.user_id else ""
    return f"{event.channel} [bold]{escape(event.name)}[/]{escape(who)} {escape(text)}"


@app.command()
def listen(
    channels: Annotated[list[str], typer.Argument(help="Channels to subscribe to.")],
    event: Annotated[
        list[str] | None, typer.Option("--event", "-e", help="Only show these events.")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="One JSON object per line, for piping.")
    ] = False,
    user_id: Annotated[str, typer.Option(help="Presence user id.")] = "reverb-cli",
    user_info: Annotated[str | None, typer.Option(help="Presence user info, as JSON.")] = None,
    host: HostOption = None,
    port: PortOption = None,
    scheme: SchemeOption = None,
    app_key: KeyOption = None,
    env_file: EnvFileOption = Path(".env"),
) -> None:
    """Subscribe and print events as they arrive (private/presence signed with the secret)."""
    config = _config(env_file, host=host, port=port, scheme=scheme, app_key=app_key)
    try:
        info = json.loads(user_info) if user_info is not None else None
    except ValueError:
        _fail("--user-info must be JSON")
    wanted = set(event or ())

    def show(received: Event) -> None:
        if wanted and received.name not in wanted:
            return
        if json_output:
            line = {
                "channel": received.channel,
                "event": received.name,
                "data": _plain_data(received),
                "user_id": received.user_id,
            }
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        else:
            stamp = datetime.now().strftime("%H:%M:%S")
            console.print(f"[dim]{stamp}[/] {_describe(received)}")

    async def run() -> None:
        async with ReverbClient(config) as client:
            # Status goes to stderr, so that stdout carries only events (JSON lines with --json).
            errors.print(
                f"connected to {config.host}:{config.effective_port} as {client.socket_id}"
            )
            for name in channels:
                is_presence = channel_kind(name) is ChannelKind.PRESENCE
                user_data = {"user_id": user_id, "user_info": info} if is_presence else None
                channel = await client.subscribe(name, user_data=user_data)
                channel.bind_global(show)
                errors.print(f"subscribed to {name}")
            await client.listen()

    _run(run())


@app.command()
def trigger(
    channel: Annotated[str, typer.Argument(help="Channel to publish on.")],
    event: Annotated[str, typer.Argument(help="Event name, e.g. OrderShipped.")],
    data: Annotated[str, typer.Argument(help="Payload: JSON, or a plain string.")] = "{}",
    socket_id: Annotated[
        str | None, typer.Option(help="Exclude this connection (Laravel's toOthers()).")
    ] = None,
    encrypted: Annotated[
        bool,
        typer.Option(
            "--encrypted",
            help="Insist on end-to-end encryption: refuse unless the channel is "
            "private-encrypted- (always encrypted, with REVERB_ENCRYPTION_MASTER_KEY_BASE64).",
        ),
    ] = False,
    host: HostOption = None,
    port: PortOption = None,
    scheme: SchemeOption = None,
    app_key: KeyOption = None,
    app_id: Annotated[str | None, typer.Option(help="App id (REVERB_APP_ID).")] = None,
    env_file: EnvFileOption = Path(".env"),
) -> None:
    """Publish an event through the HTTP API with a signed request (any Pusher server).

    On private-encrypted- channels the payload is encrypted with the key derived from
    REVERB_ENCRYPTION_MASTER_KEY_BASE64 (from the environment or .env, never an option).
    """
    config = _config(env_file, host=host, port=port, scheme=scheme, app_key=app_key, app_id=app_id)
    is_encrypted = channel_kind(channel) is ChannelKind.ENCRYPTED
    if encrypted and not is_encrypted:
        _fail(f"--encrypted: {channel!r} is not a private-encrypted- channel")
    try:
        payload: Any = json.loads(data)
    except ValueError:
        payload = data

    async def run() -> None:
        async with ApiClient(config) as api:
            answer = await api.trigger([channel], event, payload, socket_id=socket_id)
        how = " (end-to-end encrypted)" if is_encrypted else ""
        console.print(
            f"published [bold]{escape(event)}[/] on {escape(channel)}{how}: {escape(str(answer))}"
        )

    _run(run())


@app.command()
def demo() -> None:
    """Start a local server in-process and show public, private and presence channels,
    HTTP-published events and whispers arriving; exits 0 when all of it worked.
    """
    from .demo import run_demo

    _run(run_demo(console.print))


def main() -> None:
    """Entry point of the ``reverb`` command."""
    app()
