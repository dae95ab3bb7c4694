"""Whether the receive path runs compiled: the optional ``reverb._speedups`` extension.

The wheel (or an install from source with a C compiler) carries ``reverb._speedups``, a Cython
build of the receive path's hot case: decoding a channel's event, building its
:class:`~reverb.messages.Event` and calling its handlers while nothing waits. Without it, or with
``REVERB_NO_SPEEDUPS=1`` in the environment when ``reverb`` is imported, the same steps run in
pure Python, with the same results; only the speed differs.

``speedups`` is read each time a client or a socket is set up, so tests can set it to ``None``
to run the pure-Python path.
"""

from __future__ import annotations

import os
from types import ModuleType

__all__ = ["speedups"]


def _load() -> ModuleType | None:
    if os.environ.get("REVERB_NO_SPEEDUPS", "") not in ("", "0"):
        return None
    try:
        from . import _speedups
    except ImportError:
        return None
    return _speedups


speedups: ModuleType | None = _load()
"""The compiled module, or ``None`` when the pure-Python path runs."""
