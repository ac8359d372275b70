"""The refresh scripts under scripts/ loaded as modules, for their unit tests (they are not
part of the package, so they cannot be imported by name)."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def load_script(name: str) -> ModuleType:
    """scripts/NAME.py as the module NAME, registered in sys.modules: dataclasses look their
    module up there while being built."""
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def loaded_script(name: str) -> Iterator[ModuleType]:
    """load_script, removed from sys.modules again afterwards."""
    try:
        yield load_script(name)
    finally:
        sys.modules.pop(name, None)
