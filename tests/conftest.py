"""Shared fixtures: every test runs isolated from the developer's REVERB_* settings and .env."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reverb import compiled


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("REVERB_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(params=["compiled", "python"])
def receive_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test over the compiled receive path (``reverb._speedups``) and the pure-Python one.

    Modules that use it: ``pytestmark = pytest.mark.usefixtures("receive_path")``.
    """
    if request.param == "python":
        monkeypatch.setattr(compiled, "speedups", None)
    elif compiled.speedups is None:
        pytest.fail("reverb._speedups is not built here: run scripts/bootstrap")
    return str(request.param)
