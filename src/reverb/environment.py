"""Values derived from ``os.environ``, worked out again only when the environment changes.

Reading the settings and the proxies scans every variable, which costs more than the rest
of creating a client; a process that opens thousands of connections scans once instead.
Any change to ``os.environ`` (set, changed or removed variable) is noticed by the next call.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar

__all__ = ["derived_from_environment"]

T = TypeVar("T")

_lock = threading.Lock()
_seen: dict[Any, Any] | None = None
_derived: dict[Hashable, Any] = {}


def derived_from_environment(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, remembered under ``key`` until ``os.environ`` changes."""
    global _seen
    current = _current()
    with _lock:
        if current != _seen:
            _seen = dict(current)
            _derived.clear()
        if key in _derived:
            return _derived[key]  # type: ignore[no-any-return]
    value = compute()
    with _lock:
        if current == _seen:
            _derived[key] = value
    return value


def _current() -> Mapping[Any, Any]:
    # CPython keeps the environment as a plain dict behind os.environ; comparing it costs
    # a few microseconds, against a Python-level call per variable for os.environ itself.
    data = getattr(os.environ, "_data", None)
    return data if isinstance(data, dict) else dict(os.environ)
