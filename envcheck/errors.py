"""The one error hierarchy. Every error carries the exit code the CLI returns for it.

Messages say what failed, the values seen, and what to do next.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The documented exit codes (the table in README.md)."""

    OK = 0
    INTERNAL = 1
    """A bug in envcheck: an exception that is not an EnvcheckError. No EnvcheckError has it."""
    USAGE = 2
    FINDINGS = 3
    ENGINE = 4
    """Something outside envcheck failed: no container engine answers, a registry does not
    resolve a name, a container or a program envcheck ran failed, was missing or hung."""
    RESOLUTION = 5
    """The resolver could not satisfy the requirements (`envcheck lock`)."""
    BUILD = 6
    """An image build step failed, or the wheelhouse does not match the lock."""
    PARITY_BLOCK = 7
    """`envcheck compare` / `promote`: the two fingerprints differ in a way that blocks."""
    GUARD_STOPPED = 8
    """`envcheck guard --abort` stopped the command because a threshold was exceeded."""


class EnvcheckError(Exception):
    """Base class: a failure the user can act on, never a bug (issue 14: an unreachable
    registry exited 1, "a bug in envcheck"). Raised as such, it is a failure of something
    outside envcheck (exit 4); the subclasses name the other categories."""

    exit_code: ExitCode = ExitCode.ENGINE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  {self.hint}"
        return self.message


class UsageError(EnvcheckError):
    """The command line or an input file is wrong; the user must change the call."""

    exit_code = ExitCode.USAGE


class SnapshotFormatError(UsageError):
    """A Snapshot document that is not one, or of another schema version."""


class FingerprintFormatError(UsageError):
    """A Fingerprint document that is not one, is truncated, or of another schema version."""


class ContainerRunError(EnvcheckError):
    """A container envcheck started exited badly or hung; the message ends with its log tail."""

    exit_code = ExitCode.ENGINE

    def __init__(self, message: str, *, step: str, log_tail: str = "",
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.step = step
        self.log_tail = log_tail


class CommandNotFoundError(EnvcheckError):
    """A program the probe wanted to run is not installed."""


class CommandTimeoutError(EnvcheckError):
    """A program ran past its time limit and was killed."""


class NvmlError(EnvcheckError):
    """NVML answered with an error code, translated from pynvml's exception."""

    def __init__(self, message: str, *, code: int | None, name: str) -> None:
        super().__init__(message)
        self.code = code
        self.name = name


class ParseError(UsageError):
    """Text (a tool's output or a pasted report) that does not have the expected shape."""


class ResolutionError(EnvcheckError):
    """The resolver could not satisfy the requirements; the message is its own explanation."""

    exit_code = ExitCode.RESOLUTION


class EngineUnavailableError(EnvcheckError):
    """No container engine answers where DOCKER_HOST (or the default socket) points."""

    exit_code = ExitCode.ENGINE


class ImageBuildError(EnvcheckError):
    """A build step failed; the message names the step and ends with its log's last lines."""

    exit_code = ExitCode.BUILD

    def __init__(self, message: str, *, step: str | None = None, log_tail: str = "",
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.step = step
        self.log_tail = log_tail
