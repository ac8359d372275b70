"""The long-lived child `envcheck guard` watches: a training command run to its end, signalled
when a guard threshold trips.

Kept apart from runner.py, whose calls are short and captured; this child inherits the
terminal (its output is the user's) and is stopped with signals, never a time limit.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
from collections.abc import Mapping, Sequence
from typing import Protocol

from envcheck.errors import UsageError


class Child(Protocol):
    @property
    def pid(self) -> int: ...

    def wait(self, timeout: float | None) -> int | None:
        """The exit status once it ended (negative: killed by that signal); None when it is
        still running after `timeout` seconds."""
        ...

    def send_signal(self, signum: int) -> None:
        """Deliver a signal; a child that already ended is not an error."""
        ...


class ChildLauncher(Protocol):
    def start(self, argv: Sequence[str], *, env: Mapping[str, str] | None) -> Child: ...


class PopenChild:
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self._proc = proc

    @property
    def pid(self) -> int:
        return self._proc.pid

    def wait(self, timeout: float | None) -> int | None:
        try:
            return self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def send_signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            self._proc.send_signal(signum)


class SubprocessLauncher:
    """Starts the command in envcheck's own process group, so Ctrl-C in the terminal reaches
    it directly, exactly as without envcheck."""

    def start(self, argv: Sequence[str], *, env: Mapping[str, str] | None) -> Child:
        try:
            proc = subprocess.Popen(list(argv), env=dict(env) if env is not None else None)
        except FileNotFoundError as e:
            raise UsageError(f"{argv[0]} is not installed or not on PATH",
                             hint="Give the training command after --, e.g. "
                             "envcheck guard -- python train.py") from e
        except OSError as e:
            raise UsageError(f"{argv[0]} cannot be executed: {e.strerror}") from e
        return PopenChild(proc)


SIGNAL_NAMES = {int(s): s.name for s in signal.Signals}


def exit_status(returncode: int) -> int:
    """A shell's view of how a child ended: its code, or 128 + the signal that killed it."""
    return 128 - returncode if returncode < 0 else returncode


