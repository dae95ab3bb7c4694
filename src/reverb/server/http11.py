"""HTTP/1.1 on the listening socket: read a request's head and body, write one response.

Like Reverb, one request per connection: the response ends with ``Connection: close``. Sizes
follow Reverb's ``max_request_size``, which counts the whole raw request, headers included.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from .http_api import ApiResponse

__all__ = [
    "BAD_REQUEST",
    "TOO_LARGE",
    "RequestHead",
    "parse_head",
    "parse_query",
    "read_body",
    "read_head",
    "respond",
]

_REASONS = {
    200: "OK",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    419: "Page Expired",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
}

BAD_REQUEST = ApiResponse.text(400, "Bad request.")
"""An unparsable request."""
TOO_LARGE = ApiResponse.text(413, "Payload too large.")
"""A request over ``max_request_size``."""


@dataclass(frozen=True)
class RequestHead:
    """The request line and headers (names lower-cased), and the raw bytes they came from."""

    raw: bytes
    method: str
    target: str
    headers: Mapping[str, str]


def parse_head(raw: bytes) -> RequestHead:
    """Parse a request head ending with a blank line.

    Raises:
        ValueError: not an HTTP/1.x request line.
    """
    lines = raw.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    if not version.startswith("HTTP/1."):
        raise ValueError("not HTTP/1.x")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return RequestHead(raw, method.upper(), target, headers)


def parse_query(raw: str) -> dict[str, str]:
    """Decode a query string; repeated (or ``name[]``) parameters are joined with ``,`` as
    Reverb joins array values.
    """
    values: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw, keep_blank_values=True):
        values.setdefault(name.removesuffix("[]"), []).append(value)
    return {name: ",".join(items) for name, items in values.items()}


async def read_head(reader: asyncio.StreamReader, max_size: int) -> RequestHead | ApiResponse:
    """Read the head, or the error response it deserves (413, 400)."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        return TOO_LARGE
    if len(raw) > max_size:
        return TOO_LARGE
    try:
        return parse_head(raw)
    except ValueError:
        return BAD_REQUEST


async def read_body(
    reader: asyncio.StreamReader, head: RequestHead, max_size: int
) -> bytes | ApiResponse:
    """Read the body ``Content-Length`` announces, or the error response (400, 413)."""
    raw_length = head.headers.get("content-length", "0") or "0"
    if not (raw_length.isascii() and raw_length.isdigit()):
        return BAD_REQUEST
    length = int(raw_length)
    if len(head.raw) + length > max_size:
        return TOO_LARGE
    return await reader.readexactly(length) if length else b""


async def respond(writer: asyncio.StreamWriter, response: ApiResponse) -> None:
    """Write ``response``, then close the connection."""
    lines = [
        f"HTTP/1.1 {response.status} {_REASONS.get(response.status, 'Error')}",
        f"Content-Type: {response.content_type}",
        f"Content-Length: {len(response.body)}",
        *(f"{name}: {value}" for name, value in response.headers.items()),
        "Connection: close",
    ]
    writer.write("\r\n".join(lines).encode() + b"\r\n\r\n" + response.body)
    with contextlib.suppress(ConnectionError):
        await writer.drain()
    writer.close()
