"""The autouse fixture that runs a module's tests under both JSON codecs (import it there)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reverb import messages

__all__ = ["json_codec"]


@pytest.fixture(autouse=True, params=["json", "orjson"])
def json_codec(request: pytest.FixtureRequest) -> Iterator[str]:
    """Switch reverb.messages to the codec of this round; skip orjson where it is missing."""
    if request.param == "orjson":
        pytest.importorskip("orjson")
    before = messages.json_codec()
    messages.use_json(request.param)
    yield request.param
    messages.use_json(before)  # type: ignore[arg-type]
