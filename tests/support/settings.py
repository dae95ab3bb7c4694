"""The ``REVERB_*`` environment a CLI or a Laravel app would use to reach a test server."""

from __future__ import annotations

import asyncio
import os
import sys

from tests.support.soketi import ServerUnderTest


def reverb_env(server: ServerUnderTest) -> dict[str, str]:
    """``REVERB_APP_*`` and ``REVERB_HOST/PORT/SCHEME`` pointing at ``server``."""
    return {
        "REVERB_APP_ID": server.app_id,
        "REVERB_APP_KEY": server.app_key,
        "REVERB_APP_SECRET": server.app_secret,
        "REVERB_HOST": server.host,
        "REVERB_PORT": str(server.port),
        "REVERB_SCHEME": "http",
    }


async def start_cli(server: ServerUnderTest, *arguments: str) -> asyncio.subprocess.Process:
    """Run ``python -m reverb ARGUMENTS`` against ``server``, stdout and stderr piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "reverb",
        *arguments,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **reverb_env(server)},
    )
