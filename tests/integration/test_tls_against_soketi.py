"""wss:// to a real Soketi serving TLS with a private CA, over each transport (the local server's
TLS is in tests/test_tls.py): channels, presence and client events both ways over TLS, and an
untrusted certificate refused."""

from __future__ import annotations

import asyncio
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from reverb import ConnectionError, Event, PresenceChannel, ReverbClient, TransportOptions
from tests.integration.conftest import client_for
from tests.support.soketi import SoketiServer

pytestmark = pytest.mark.integration


class SoketiWithTls(SoketiServer):
    """Soketi serving HTTPS and wss:// only, with a certificate for 127.0.0.1 from ``ca``."""

    def __init__(self, ca: trustme.CA, directory: Path) -> None:
        super().__init__()
        certificate = ca.issue_cert("127.0.0.1", "localhost")
        self._cert_path = directory / "cert.pem"
        self._key_path = directory / "key.pem"
        certificate.cert_chain_pems[0].write_to_path(str(self._cert_path))
        certificate.private_key_pem.write_to_path(str(self._key_path))
        self.trusting = ssl.create_default_context()
        ca.configure_trust(self.trusting)
        # Health checks over HTTPS, straight to the server (no proxy from the environment).
        self._https = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=self.trusting)
        )

    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def _environment(self) -> dict[str, str]:
        return {
            **super()._environment(),
            "SOKETI_SSL_CERT": str(self._cert_path),
            "SOKETI_SSL_KEY": str(self._key_path),
        }

    def _answers(self) -> bool:
        try:
            with self._https.open(f"{self.base_url}/", timeout=1) as reply:
                return bool(reply.read().strip() == b"OK")
        except (urllib.error.URLError, OSError):
            return False


@pytest.fixture(scope="module")
def soketi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoketiWithTls]:
    server = SoketiWithTls(trustme.CA(), tmp_path_factory.mktemp("soketi-tls"))
    with server:
        yield server


def tls_client(soketi: SoketiWithTls, context: ssl.SSLContext | None) -> ReverbClient:
    options = TransportOptions(ssl=context) if context is not None else None
    return client_for(
        soketi, scheme="https", transport_options=options, reconnect=False, connect_timeout=3
    )


async def test_channels_presence_and_client_events_over_wss(soketi: SoketiWithTls) -> None:
    async with (
        tls_client(soketi, soketi.trusting) as first,
        tls_client(soketi, soketi.trusting) as second,
    ):
        assert (await first.subscribe("private-tls")).subscribed
        room = await first.subscribe("presence-tls", user_data={"user_id": "a"})
        other = await second.subscribe("presence-tls", user_data={"user_id": "b"})
        assert isinstance(room, PresenceChannel)
        heard: asyncio.Queue[Event] = asyncio.Queue()
        room.bind("client-hello", heard.put_nowait)
        await other.trigger("client-hello", {"over": "tls"})
        event = await asyncio.wait_for(heard.get(), 5)
        assert event == Event("client-hello", "presence-tls", {"over": "tls"}, "b")
        assert set(room.members) == {"a", "b"}  # b joined before it whispered


async def test_an_untrusted_certificate_is_refused(soketi: SoketiWithTls) -> None:
    client = tls_client(soketi, None)
    with pytest.raises(ConnectionError, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
        await client.connect()
