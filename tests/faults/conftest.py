"""Fixtures of the fault-injection suite."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "faults: the fault-injection suite (a TCP fault proxy before real servers)"
    )
