"""`inspect`: run every probe, concurrently and each under a limit, into one Snapshot.

Probes run in daemon threads: a subprocess that hangs is killed by the runner's own
timeout, but an NVML call stuck inside the driver cannot be interrupted from Python, so the
service stops waiting for it at its limit and records the probe as `error`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Generic, Protocol, TypeVar

from envcheck import __version__
from envcheck.host import Host
from envcheck.probes.cuda_libraries import identify_libraries, loader_libraries
from envcheck.probes.deep_torch import (
    apply_deep,
    deep_cache_key,
    measure_torch,
    read_deep_cache,
    write_deep_cache,
)
from envcheck.probes.driver import DriverFacts, probe_driver
from envcheck.probes.python_env import PythonFacts, RawLibrary, probe_python, select_python
from envcheck.probes.system import probe_system
from envcheck.probes.toolkits import probe_toolkits
from envcheck.snapshot import (
    Driver,
    ProbeRun,
    PythonEnv,
    Snapshot,
    Status,
    System,
    Toolkit,
    Torch,
)

T = TypeVar("T")


class Reporter(Protocol):
    """Where progress goes; the CLI draws it, tests record it."""

    def probe_started(self, name: str) -> None: ...

    def probe_finished(self, run: ProbeRun) -> None: ...


class SilentReporter:
    def probe_started(self, name: str) -> None:
        pass

    def probe_finished(self, run: ProbeRun) -> None:
        pass


@dataclass(frozen=True, kw_only=True)
class InspectRequest:
    python: str | None = None
    deep: bool = False


class _Running(Generic[T]):
    """One probe in its own daemon thread."""

    def __init__(self, name: str, work: Callable[[], T], reporter: Reporter) -> None:
        self.name = name
        self.result: T | None = None
        self.error: BaseException | None = None
        self.started = time.monotonic()
        self.seconds = 0.0
        self._reporter = reporter
        reporter.probe_started(name)
        self._thread = threading.Thread(target=self._run, args=(work,), name=name, daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[], T]) -> None:
        try:
            self.result = work()
        except Exception as e:
            self.error = e
        self.seconds = time.monotonic() - self.started

    def wait(self, limit: float, fallback: Callable[[str], T],
             status_of: Callable[[T], Status]) -> tuple[T, ProbeRun]:
        self._thread.join(max(0.0, self.started + limit - time.monotonic()))
        if self._thread.is_alive():
            detail = f"did not finish within {limit:g} s"
            value = fallback(detail)
            run = ProbeRun(name=self.name, status="error", seconds=round(limit, 3), detail=detail)
        elif self.error is not None:
            detail = f"probe failed: {type(self.error).__name__}: {self.error}"
            value = fallback(detail)
            run = ProbeRun(name=self.name, status="error", seconds=round(self.seconds, 3),
                           detail=detail)
        else:
            assert self.result is not None
            value = self.result
            run = ProbeRun(name=self.name, status=status_of(value),
                           seconds=round(self.seconds, 3))
        self._reporter.probe_finished(run)
        return value, run


def inspect_environment(
    host: Host, request: InspectRequest, reporter: Reporter | None = None
) -> Snapshot:
    reporter = reporter or SilentReporter()
    limits = host.limits
    executable, selected_by = select_python(host, request.python)
    # --deep starts its torch import now, beside the other probes, unless the cache
    # already holds this installation's answer.
    deep_key = deep_cache_key(host, executable) if request.deep and executable else None
    cached_deep = read_deep_cache(host, deep_key) if request.deep else None
    deep_job = None
    if request.deep and executable and cached_deep is None:
        target = executable
        deep_job = _Running("torch-deep", lambda: measure_torch(host, target), reporter)

    driver_job = _Running("driver", lambda: probe_driver(host), reporter)
    python_job = _Running("python", lambda: probe_python(host, executable, selected_by),
                          reporter)
    toolkit_job = _Running("toolkits", lambda: probe_toolkits(host), reporter)
    loader_job = _Running("libraries", lambda: loader_libraries(host), reporter)
    system_job = _Running("system", lambda: probe_system(host), reporter)

    python_facts, python_run = python_job.wait(
        limits.python_probe + 5,
        lambda why: PythonFacts(
            python=PythonEnv(status="error", detail=why),
            torch=Torch(status="error", detail=f"the Python probe {why}"),
        ),
        lambda facts: facts.python.status,
    )
    # The NVML limit also covers the nvidia-smi fallback that may run after it.
    driver_facts, driver_run = driver_job.wait(
        limits.nvml + limits.nvidia_smi,
        lambda why: DriverFacts(driver=Driver(status="error", detail=f"driver probe {why}"),
                                gpus=()),
        lambda facts: facts.driver.status,
    )
    toolkits, toolkit_run = toolkit_job.wait(
        3 * limits.nvcc + 5, lambda _why: (), lambda _found: "ok"
    )
    toolkits_value: tuple[Toolkit, ...] = toolkits
    loader, loader_run = loader_job.wait(
        limits.ldconfig + 5,
        lambda why: ([], why),
        lambda found: "error" if found[1] else "ok",
    )
    system, system_run = system_job.wait(10.0, lambda _why: System(), lambda _s: "ok")
    loader_run = replace(loader_run, detail=loader[1]) if loader[1] else loader_run

    runs = [driver_run, python_run, toolkit_run, loader_run, system_run]
    torch = python_facts.torch
    if cached_deep is not None:
        torch = apply_deep(torch, cached_deep, cached=True).torch
        runs.append(ProbeRun(name="torch-deep", status="ok", seconds=0.0,
                             detail="measured earlier; read from the cache"))
    elif deep_job is not None:
        measured, deep_run = deep_job.wait(
            limits.torch_import + 5,
            lambda why: f"the import {why}",
            lambda result: "error" if isinstance(result, str) else "ok",
        )
        outcome = apply_deep(torch, measured, cached=False)
        torch = outcome.torch
        if outcome.problem:
            deep_run = replace(deep_run, status="error", detail=outcome.problem)
        elif not isinstance(measured, str) and torch.status == "ok":
            write_deep_cache(host, deep_key, measured)
        runs.append(deep_run)

    raw_libraries: list[RawLibrary] = [*loader[0], *python_facts.libraries]
    system = _complete_system(system, python_facts)
    return Snapshot(
        envcheck_version=__version__,
        taken_at=host.clock().isoformat(timespec="seconds"),
        source="container" if system.in_container else "host",
        system=system,
        driver=driver_facts.driver,
        gpus=driver_facts.gpus,
        toolkits=toolkits_value,
        cuda_libraries=identify_libraries(host, raw_libraries),
        python=python_facts.python,
        torch=torch,
        packages=python_facts.packages,
        probes=tuple(runs),
    )


def _complete_system(system: System, python: PythonFacts) -> System:
    """glibc and the CPU architecture as the target interpreter sees them."""
    from packaging.version import InvalidVersion, Version

    glibc = None
    if python.libc_version:
        try:
            glibc = Version(python.libc_version)
        except InvalidVersion:
            glibc = None
    return replace(system, glibc=glibc or system.glibc, arch=python.machine or system.arch)
