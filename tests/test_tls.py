"""TLS: wss:// with a private CA, through TransportOptions(ssl=...), over each transport."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import pytest
import trustme

from reverb import ConnectionError, ReverbClient, TransportOptions
from reverb.server import AppConfig, ReverbServer, ServerConfig


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(params=["websockets", "picows"])
def transport(request: pytest.FixtureRequest) -> str:
    if request.param == "picows":
        pytest.importorskip("picows")
    return str(request.param)


@pytest.fixture
async def tls_server(ca: trustme.CA) -> AsyncIterator[ReverbServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    config = ServerConfig(apps=[AppConfig(id="1", key="k", secret="s")], host="localhost", port=0)
    async with ReverbServer(config, ssl=context) as server:
        yield server


def client_for(
    server: ReverbServer, options: TransportOptions | None, transport: str
) -> ReverbClient:
    return ReverbClient(
        app_key="k",
        app_secret="s",
        host="localhost",
        port=server.port,
        scheme="https",
        reconnect=False,
        connect_timeout=3,
        transport_options=options,
        transport=transport,
    )


async def test_wss_with_a_private_ca(
    tls_server: ReverbServer, ca: trustme.CA, transport: str
) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    assert tls_server.url.startswith("wss://localhost:")
    async with client_for(tls_server, TransportOptions(ssl=context), transport) as client:
        assert (await client.subscribe("private-tls")).subscribed


async def test_an_untrusted_certificate_is_refused(
    tls_server: ReverbServer, transport: str
) -> None:
    client = client_for(tls_server, None, transport)
    with pytest.raises(ConnectionError, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
        await client.connect()
