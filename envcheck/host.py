"""The outside world a probe may touch, passed in as one value.

A probe is a function from a Host to a record. Tests build a Host from a recorded
filesystem tree, a fake runner and a fake NVML; the CLI builds the real one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path

from envcheck.adapters.filesystem import FileSystem
from envcheck.adapters.nvml import Nvml
from envcheck.adapters.runner import CommandRunner


@dataclass(frozen=True, kw_only=True)
class ProbeLimits:
    """Seconds each outside call may take before it counts as hung."""

    nvidia_smi: float = 10.0
    nvcc: float = 10.0
    ldconfig: float = 5.0
    python_probe: float = 30.0
    torch_import: float = 60.0
    nvml: float = 15.0

    def capped(self, seconds: float) -> ProbeLimits:
        """The same limits, none longer than `seconds` (for `--timeout`)."""
        return ProbeLimits(**{f.name: min(getattr(self, f.name), seconds) for f in fields(self)})


@dataclass(frozen=True, kw_only=True)
class Host:
    env: Mapping[str, str]
    cwd: str
    fs: FileSystem
    runner: CommandRunner
    nvml: Nvml
    clock: Callable[[], datetime]
    cache_dir: Path | None = None
    """Where measured (--deep) torch facts are cached; None disables the cache."""
    own_python: str | None = None
    """envcheck's own interpreter, the last choice for the target Python."""
    probe_script: Path | None = None
    """The stdlib-only probe to run in the target interpreter."""
    limits: ProbeLimits = field(default_factory=ProbeLimits)
