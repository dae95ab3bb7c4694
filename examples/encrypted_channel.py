"""End-to-end encrypted channels: publish on ``private-encrypted-`` and read the plaintext.

Self-contained: it starts python-reverb's local server in-process, so it runs as it is:

    python examples/encrypted_channel.py

Against a Laravel app, drop the server and read the settings from its ``.env``, with
``REVERB_ENCRYPTION_MASTER_KEY_BASE64`` set to the broadcaster's ``encryption_master_key_base64``.
The server relays only ciphertext; the key never leaves the app and its clients.
"""

from __future__ import annotations

import asyncio
import base64
import os

from reverb import DecryptionError, Event, ReverbClient, ReverbConfig, ReverbError
from reverb.api import ApiClient
from reverb.testing import BackgroundServer


async def main(server: BackgroundServer) -> None:
    master_key = base64.b64encode(os.urandom(32)).decode()  # in real life: from the app's config
    config = ReverbConfig(
        app_id=server.app_id,
        app_key=server.app_key,
        app_secret=server.app_secret,
        host=server.host,
        port=server.port,
        scheme="http",
        encryption_master_key_base64=master_key,
        _env_file=None,
    )
    async with ReverbClient(config) as client:
        # Events that cannot be decrypted are never delivered: they are reported here.
        def report(error: ReverbError) -> None:
            if isinstance(error, DecryptionError):
                print(f"could not decrypt {error.event} on {error.channel}")

        client.on_error(report)
        orders = await client.subscribe("private-encrypted-orders")  # an EncryptedChannel
        received: asyncio.Queue[Event] = asyncio.Queue()
        orders.bind("OrderShipped", received.put_nowait)

        async with ApiClient(config) as api:  # encrypts for private-encrypted- channels
            await api.trigger("private-encrypted-orders", "OrderShipped", {"id": 42})

        event = await asyncio.wait_for(received.get(), 5)
        print(f"{event.name} on {event.channel}: {event.data}")  # the plaintext: {'id': 42}
        print(f"decryption errors: {client.stats.decryption_errors}")


if __name__ == "__main__":
    with BackgroundServer() as running:
        asyncio.run(main(running))
