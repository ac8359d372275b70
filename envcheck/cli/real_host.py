"""The real outside world as a Host: this machine, its environment, its clock.

Kept apart from the Typer application so that entry points without it (the in-image
pre-flight) build the same Host.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from importlib.resources import files
from pathlib import Path

from envcheck.host import Host


def build_host() -> Host:
    from envcheck.adapters.filesystem import RootedFileSystem
    from envcheck.adapters.nvml import PynvmlNvml
    from envcheck.adapters.runner import SubprocessRunner

    env = dict(os.environ)
    cache_root = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Host(
        env=env,
        cwd=str(Path.cwd()),
        fs=RootedFileSystem(Path("/")),
        runner=SubprocessRunner(),
        nvml=PynvmlNvml(),
        clock=lambda: datetime.now(timezone.utc),
        cache_dir=None if env.get("ENVCHECK_NO_CACHE") else Path(cache_root) / "envcheck",
        own_python=sys.executable,
        probe_script=Path(str(files("envcheck.probe") / "envprobe.py")),
    )
