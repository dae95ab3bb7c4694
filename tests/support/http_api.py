"""Publishing through a Pusher-compatible HTTP API, signed as Laravel's broadcaster does."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from reverb.protocol.signing import signed_api_query


async def publish(
    *,
    base_url: str,
    app_id: str,
    key: str,
    secret: str,
    channels: list[str],
    event: str,
    data: Any,
    socket_id: str | None = None,
) -> httpx.Response:
    """``POST /apps/{app_id}/events`` with ``data`` JSON-encoded, as Laravel sends it.

    Raises:
        httpx.HTTPStatusError: the server did not answer 200.
    """
    body: dict[str, Any] = {"name": event, "channels": channels, "data": json.dumps(data)}
    if socket_id is not None:
        body["socket_id"] = socket_id
    raw = json.dumps(body).encode()
    path = f"/apps/{app_id}/events"
    query = signed_api_query(
        key=key, secret=secret, method="POST", path=path, timestamp=int(time.time()), body=raw
    )
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post(
            path, params=query, content=raw, headers={"Content-Type": "application/json"}
        )
    response.raise_for_status()
    return response
