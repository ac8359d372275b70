"""Unit tier: no subprocess, engine, network or GPU. The real adapters refuse to work here,
so a test that forgets to pass a fake fails loudly instead of touching the machine."""

from __future__ import annotations

import pytest

from envcheck.adapters.nvml import PynvmlNvml
from envcheck.adapters.runner import SubprocessRunner


@pytest.fixture(autouse=True)
def _no_outside_world(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> object:
        raise AssertionError("unit tests must not use the real adapters; pass a fake")

    monkeypatch.setattr(SubprocessRunner, "run", refuse)
    monkeypatch.setattr(PynvmlNvml, "read", refuse)
