"""Every test of the core runs under both JSON codecs: the standard library and orjson."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reverb import messages


@pytest.fixture(autouse=True, params=["json", "orjson"])
def json_codec(request: pytest.FixtureRequest) -> Iterator[str]:
    """Switch reverb.messages to the codec of this round; skip orjson where it is missing."""
    if request.param == "orjson":
        pytest.importorskip("orjson")
    before = messages.json_codec()
    messages.use_json(request.param)
    yield request.param
    messages.use_json(before)  # type: ignore[arg-type]
