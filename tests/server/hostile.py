"""Helpers for the hostile-input tests: what an error frame says, what the server logged."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

INVALID = {"code": 4200, "message": "Invalid message format"}


def error_of(frame: dict[str, Any]) -> Any:
    """The code and message of a ``pusher:error`` frame, in either dialect's shape."""
    assert frame["event"] == "pusher:error", frame
    data = frame["data"]
    return json.loads(data) if isinstance(data, str) else data


def tracebacks(records: Iterable[logging.LogRecord]) -> list[str]:
    """What of ``records`` was logged as an error or with a traceback."""
    return [
        record.getMessage()
        for record in records
        if record.levelno >= logging.ERROR or record.exc_info
    ]
