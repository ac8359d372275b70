"""Stand-ins for the adapters at the unit tier: recorded answers, no outside world."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

from envcheck.adapters.filesystem import RootedFileSystem
from envcheck.adapters.nvml import NvmlReading
from envcheck.adapters.runner import CommandResult
from envcheck.errors import CommandNotFoundError, NvmlError
from envcheck.host import Host

Answer = CommandResult | Exception | Callable[[Sequence[str]], CommandResult]


class FakeRunner:
    """Answers commands by their first words; an unknown program is 'not installed'."""

    def __init__(self, answers: Mapping[tuple[str, ...], Answer] | None = None) -> None:
        self.answers = dict(answers or {})
        self.calls: list[tuple[str, ...]] = []

    def run(self, argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None,
            stdin_text: str | None = None) -> CommandResult:
        self.calls.append(tuple(argv))
        for prefix, answer in sorted(self.answers.items(), key=lambda kv: -len(kv[0])):
            if tuple(argv[: len(prefix)]) == prefix:
                if isinstance(answer, Exception):
                    raise answer
                if callable(answer):
                    return answer(argv)
                return answer
        raise CommandNotFoundError(f"{argv[0]} is not installed or not on PATH")


def ok(stdout: str, argv: tuple[str, ...] = ("cmd",)) -> CommandResult:
    return CommandResult(argv=argv, returncode=0, stdout=stdout, stderr="")


class FakeNvml:
    def __init__(self, reading: NvmlReading | None = None, error: NvmlError | None = None):
        self.reading = reading
        self.error = error

    def read(self) -> NvmlReading:
        if self.error is not None:
            raise self.error
        if self.reading is None:
            raise NvmlError("NVML: Library Not Found", code=12,
                            name="NVML_ERROR_LIBRARY_NOT_FOUND")
        return self.reading


FIXED_TIME = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


def make_host(root: Path, *, env: Mapping[str, str] | None = None,
              runner: FakeRunner | None = None, nvml: FakeNvml | None = None) -> Host:
    root.mkdir(parents=True, exist_ok=True)
    return Host(
        env=dict(env or {"PATH": "/usr/bin:/bin"}),
        cwd="/work",
        fs=RootedFileSystem(root),
        runner=runner or FakeRunner(),
        nvml=nvml or FakeNvml(),
        clock=lambda: FIXED_TIME,
        cache_dir=None,
        own_python=None,
        probe_script=None,
    )


def write_tree(root: Path, files: Mapping[str, str]) -> None:
    """Lay out a recorded filesystem: {'/proc/driver/nvidia/version': '...'}."""
    for path, text in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


class FakeRegistry:
    """Answers registry_digest like an engine would (one digest), recording what it was asked."""

    DIGEST = "sha256:" + "cd" * 32

    def __init__(self) -> None:
        self.asked: list[str] = []

    def registry_digest(self, reference: str) -> str:
        self.asked.append(reference)
        return self.DIGEST
