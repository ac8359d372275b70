"""The one place envcheck runs other programs.

Every call has a time limit; a program that hangs (a wedged `nvidia-smi`, a torch import
stuck in driver initialisation) is killed with its whole process group, so a probe costs at
most its limit.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from envcheck.errors import CommandNotFoundError, CommandTimeoutError

# A tool's last words go into reports and onto terminals: its escape sequences and other
# control characters must not reach either (a garbage-printing nvidia-smi recoloured the
# doctor's output), nor may one endless line.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.)?")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_TAIL_LINE_CHARS = 200


@dataclass(frozen=True, kw_only=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe_failure(self) -> str:
        """One line for a report: how it ended and the last words it said."""
        if self.returncode < 0:
            try:
                how = f"killed by {signal.Signals(-self.returncode).name}"
            except ValueError:
                how = f"killed by signal {-self.returncode}"
        else:
            how = f"exited {self.returncode}"
        tail = (self.stderr.strip() or self.stdout.strip()).splitlines()[-3:]
        said = " | ".join(_printable(line) for line in tail)
        return f"{self.argv[0]} {how}" + (f": {said}" if said else "")


def _printable(line: str) -> str:
    clean = _CONTROL.sub("", _ANSI.sub("", line)).strip()
    return clean if len(clean) <= _TAIL_LINE_CHARS else clean[:_TAIL_LINE_CHARS] + "…"


class CommandRunner(Protocol):
    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        env: Mapping[str, str] | None = None,
        stdin_text: str | None = None,
    ) -> CommandResult:
        """Run argv to completion; raise CommandNotFoundError or CommandTimeoutError."""
        ...


class SubprocessRunner:
    """Runs commands on this machine."""

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        env: Mapping[str, str] | None = None,
        stdin_text: str | None = None,
    ) -> CommandResult:
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=dict(env) if env is not None else None,
                text=True,
                errors="replace",
                # Own process group, so a timeout kills what the command started too.
                start_new_session=True,
            )
        except FileNotFoundError as e:
            raise CommandNotFoundError(f"{argv[0]} is not installed or not on PATH") from e
        except OSError as e:
            # No permission, ENOEXEC (a file that is not a program) and friends.
            raise CommandNotFoundError(f"{argv[0]} cannot be executed: {e.strerror}") from e
        try:
            stdout, stderr = proc.communicate(stdin_text, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            _kill_group(proc)
            raise CommandTimeoutError(
                f"{argv[0]} did not finish within {timeout:g} s and was killed"
            ) from e
        return CommandResult(
            argv=tuple(argv), returncode=proc.returncode, stdout=stdout, stderr=stderr
        )


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    # A process in uninterruptible sleep (D state in a driver call) cannot be reaped; leave
    # it rather than hang envcheck too.
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.communicate(timeout=5)
