"""A live line while probes run, on stderr so that stdout stays clean for pipes."""

from __future__ import annotations

import threading
from types import TracebackType

from rich.console import Console
from rich.status import Status as RichStatus

from envcheck.snapshot import ProbeRun


class ProbeProgress:
    """A Reporter that shows which probes are still running."""

    def __init__(self) -> None:
        self._console = Console(stderr=True)
        self._running: list[str] = []
        self._lock = threading.Lock()
        self._status: RichStatus | None = None

    def __enter__(self) -> ProbeProgress:
        if self._console.is_terminal:
            self._status = self._console.status("Inspecting…")
            self._status.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._status is not None:
            self._status.stop()

    def _update(self) -> None:
        if self._status is not None:
            waiting = ", ".join(self._running) or "assembling"
            self._status.update(f"Inspecting: {waiting}")

    def probe_started(self, name: str) -> None:
        with self._lock:
            self._running.append(name)
            self._update()

    def probe_finished(self, run: ProbeRun) -> None:
        with self._lock:
            if run.name in self._running:
                self._running.remove(run.name)
            self._update()
