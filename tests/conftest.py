"""Shared fixtures: every test runs isolated from the developer's REVERB_* settings and .env."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("REVERB_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
