"""pytest fixtures for apps that listen to Laravel broadcasts (installed with the package).

``reverb_server``
    A local Reverb-compatible server on a free port, fresh for each test, with helpers:
    ``trigger(channel, event, data)``, ``channels()``, ``members(channel)``,
    ``await subscribed(channel)``, ``drop(socket_id)``, ``stall(socket_id)``, ``sweep()``,
    ``restart()``, ``client_settings(**overrides)``; and, standing in for your Laravel app's
    ``/broadcasting/auth``: ``auth_url``, ``token_for(user_id)``,
    ``issue_token(user_id, channels=[...], info={...})``. See
    :class:`reverb.testing.BackgroundServer`.

``reverb_client``
    A :class:`reverb.ReverbClient` connected to ``reverb_server`` (needs pytest-asyncio).

Options go in a marker: ``@pytest.mark.reverb_server(accept_client_events_from="all")``, or
``@pytest.mark.reverb_server(users=[{"id": 1, "token": "t-1", "channels": ["orders.*"]}])``.

Example::

    async def test_my_code_reacts_to_order_shipped(reverb_server, reverb_client):
        shipped = []
        orders = await reverb_client.subscribe("orders")
        orders.bind("OrderShipped", shipped.append)
        reverb_server.trigger("orders", "OrderShipped", {"id": 42})
        ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from .client import ReverbClient
from .testing import BackgroundServer

__all__ = ["reverb_client", "reverb_server"]

_CLIENT_SETTINGS: dict[str, Any] = {
    "reconnect_delay": 0.05,
    "reconnect_max_delay": 0.5,
    "connect_timeout": 5.0,
    "subscription_timeout": 5.0,
}


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``reverb_server`` marker."""
    config.addinivalue_line(
        "markers",
        "reverb_server(**options): options for the reverb_server fixture, e.g. "
        "dialect='soketi', accept_client_events_from='all', ping_interval=0.1, "
        "users=[{'id': 1, 'token': 't-1', 'channels': ['orders.*']}], "
        "encryption_master_key_base64='...' "
        "(see reverb.testing.BackgroundServer)",
    )


@pytest.fixture
def reverb_server(request: pytest.FixtureRequest) -> Iterator[BackgroundServer]:
    """A fresh local Reverb-compatible server for one test.

    Configure it with ``@pytest.mark.reverb_server(dialect="soketi", ...)``.
    """
    marker = request.node.get_closest_marker("reverb_server")
    options = dict(marker.kwargs) if marker is not None else {}
    with BackgroundServer(**options) as server:
        yield server


def _client_fixture() -> Any:
    try:
        import pytest_asyncio
    except ImportError:  # pragma: no cover - exercised only without pytest-asyncio

        @pytest.fixture(name="reverb_client")
        def unavailable(reverb_server: BackgroundServer) -> ReverbClient:
            """Unavailable: install pytest-asyncio to get a connected client."""
            pytest.fail("the reverb_client fixture needs pytest-asyncio (pip install it)")

        return unavailable

    @pytest_asyncio.fixture
    async def reverb_client(reverb_server: BackgroundServer) -> AsyncIterator[ReverbClient]:
        """A ReverbClient connected to ``reverb_server``, with quick reconnects."""
        async with ReverbClient(**reverb_server.client_settings(**_CLIENT_SETTINGS)) as client:
            yield client

    return reverb_client


reverb_client = _client_fixture()
