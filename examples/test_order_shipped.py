"""How to test "my code reacts to an OrderShipped broadcast" with python-reverb's pytest plugin.

The fixtures come with the package: ``reverb_server`` (a local Reverb-compatible server) and
``reverb_client`` (a client connected to it; needs pytest-asyncio). Run with ``pytest``.
"""

from __future__ import annotations

import asyncio

from reverb import Event, ReverbClient
from reverb.testing import BackgroundServer


class Warehouse:
    """The code under test: marks orders as shipped when Laravel broadcasts OrderShipped."""

    def __init__(self) -> None:
        self.shipped: list[int] = []
        self.changed = asyncio.Event()

    async def start(self, client: ReverbClient) -> None:
        orders = await client.subscribe("orders")
        orders.bind("OrderShipped", self.on_shipped)

    def on_shipped(self, event: Event) -> None:
        self.shipped.append(event.data["order_id"])
        self.changed.set()


async def test_my_code_reacts_to_order_shipped(
    reverb_server: BackgroundServer, reverb_client: ReverbClient
) -> None:
    warehouse = Warehouse()
    await warehouse.start(reverb_client)

    reverb_server.trigger("orders", "OrderShipped", {"order_id": 42})

    async with asyncio.timeout(5):
        await warehouse.changed.wait()
    assert warehouse.shipped == [42]


async def test_my_code_survives_a_dropped_connection(
    reverb_server: BackgroundServer, reverb_client: ReverbClient
) -> None:
    warehouse = Warehouse()
    await warehouse.start(reverb_client)
    first_socket = reverb_client.socket_id
    assert first_socket is not None

    reconnected = asyncio.Event()

    def on_state_change(previous: str, current: str) -> None:
        if current == "connected":
            reconnected.set()

    reverb_client.on_state_change(on_state_change)
    reverb_server.drop(first_socket)  # the network blips
    async with asyncio.timeout(5):
        await reconnected.wait()
    await reverb_server.subscribed("orders")  # python-reverb re-subscribed by itself
    reverb_server.trigger("orders", "OrderShipped", {"order_id": 7})

    async with asyncio.timeout(5):
        await warehouse.changed.wait()
    assert warehouse.shipped == [7]
