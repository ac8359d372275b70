"""Golden files: generated text is compared whole; ENVCHECK_UPDATE_GOLDEN=1 rewrites them."""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).parent / "data" / "golden"


def assert_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("ENVCHECK_UPDATE_GOLDEN") == "1":
        path.write_text(actual)
    expected = path.read_text() if path.exists() else "<missing golden file>"
    assert actual == expected, f"{name} differs; rerun with ENVCHECK_UPDATE_GOLDEN=1 if intended"
