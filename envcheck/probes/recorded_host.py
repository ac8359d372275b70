"""A Host that answers from facts the probe recorded elsewhere (inside a container).

`envprobe.py --host-facts` reads, in the container, what envcheck's probes would read on a
machine: files, folder listings, `ldconfig -p`, `nvidia-smi -q -x`, `nvcc --version`, NVML.
Replaying them through this Host runs the very same probes (system, driver, toolkits,
libraries, python) on them, so there is no second implementation of any probe. A path or
command the probe did not record answers "not there", which is what it was in the container
unless a probe started asking for something new; then the snapshot says absent, not wrong.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from envcheck.adapters.filesystem import DiskUsage, FileStamp
from envcheck.adapters.nvml import NvmlDevice, NvmlReading
from envcheck.adapters.runner import CommandResult
from envcheck.errors import CommandNotFoundError, CommandTimeoutError, NvmlError
from envcheck.host import Host

# The probe script's name as the replayed Python probe is asked to run it.
REPLAYED_PROBE = Path("/envcheck/envprobe.py")


class RecordedFileSystem:
    def __init__(self, files: Mapping[str, Any], paths: Mapping[str, Any]) -> None:
        self._files = files
        self._paths = paths

    def _entry(self, path: str) -> Mapping[str, Any] | None:
        entry = self._paths.get(posixpath.normpath(path))
        return entry if isinstance(entry, Mapping) else None

    def read_text(self, path: str, *, limit: int = 1 << 20) -> str | None:
        text = self._files.get(path)
        return text[:limit] if isinstance(text, str) else None

    def exists(self, path: str) -> bool:
        return self._entry(path) is not None or isinstance(self._files.get(path), str)

    def is_dir(self, path: str) -> bool:
        entry = self._entry(path)
        return bool(entry and entry.get("dir"))

    def list_dir(self, path: str) -> list[str]:
        entry = self._entry(path)
        return sorted(str(name) for name in (entry or {}).get("entries") or ())

    def resolve(self, path: str) -> str:
        entry = self._entry(path)
        return str(entry["real"]) if entry and entry.get("real") else posixpath.normpath(path)

    def disk_usage(self, path: str) -> DiskUsage | None:
        entry = self._entry(path)
        disk = (entry or {}).get("disk")
        if not isinstance(disk, list) or len(disk) != 2:
            return None
        return DiskUsage(total_bytes=int(disk[0]), free_bytes=int(disk[1]))

    def stamp(self, path: str) -> FileStamp | None:
        # No modification times were recorded; the deep-torch cache is off for replays.
        return None


class RecordedRunner:
    def __init__(self, commands: Mapping[str, Any], python_report: Mapping[str, Any]) -> None:
        self._commands = commands
        self._python_report = python_report

    def run(self, argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None,
            stdin_text: str | None = None) -> CommandResult:
        if len(argv) == 2 and argv[1] == str(REPLAYED_PROBE):
            return CommandResult(argv=tuple(argv), returncode=0,
                                 stdout=json.dumps(dict(self._python_report)), stderr="")
        recorded = self._commands.get(" ".join(argv))
        if not isinstance(recorded, Mapping) or not recorded.get("found"):
            raise CommandNotFoundError(f"{argv[0]} is not installed or not on PATH")
        if recorded.get("timeout"):
            raise CommandTimeoutError(f"{argv[0]} did not finish in the container and was "
                                      "killed")
        return CommandResult(argv=tuple(argv), returncode=int(recorded.get("returncode", 1)),
                             stdout=str(recorded.get("stdout") or ""),
                             stderr=str(recorded.get("stderr") or ""))


class RecordedNvml:
    def __init__(self, reading: Mapping[str, Any]) -> None:
        self._reading = reading

    def read(self) -> NvmlReading:
        if "error" in self._reading:
            name = str(self._reading["error"])
            detail = self._reading.get("detail") or name
            raise NvmlError(f"NVML: {detail}", code=self._reading.get("code"), name=name)
        devices = []
        for raw in self._reading.get("devices") or ():
            capability = raw.get("compute_capability")
            devices.append(NvmlDevice(
                index=int(raw["index"]), name=str(raw.get("name") or "unknown"),
                uuid=raw.get("uuid"),
                compute_capability=(int(capability[0]), int(capability[1]))
                if isinstance(capability, list) and len(capability) == 2 else None,
                memory_total_bytes=raw.get("memory_total_bytes"),
                memory_used_bytes=raw.get("memory_used_bytes"),
            ))
        cuda = self._reading.get("cuda_driver_version")
        return NvmlReading(driver_version=str(self._reading.get("driver_version") or ""),
                           cuda_driver_version=int(cuda) if isinstance(cuda, int) else None,
                           devices=tuple(devices))


def recorded_host(report: Mapping[str, Any], clock: Callable[[], datetime]) -> Host:
    """The Host a `--host-facts` report describes; KeyError-free on partial reports."""
    facts = report.get("host") or {}
    python_report = {k: v for k, v in report.items() if k != "host"}
    env = {str(k): str(v) for k, v in (facts.get("env") or {}).items()}
    python = (report.get("python") or {}).get("executable")
    return Host(
        env=env,
        cwd=str(facts.get("cwd") or "/"),
        fs=RecordedFileSystem(facts.get("files") or {}, facts.get("paths") or {}),
        runner=RecordedRunner(facts.get("commands") or {}, python_report),
        nvml=RecordedNvml(facts.get("nvml") or {"error": "NVML_ERROR_UNKNOWN",
                                                 "detail": "not recorded"}),
        clock=clock,
        own_python=str(python) if python else None,
        probe_script=REPLAYED_PROBE,
    )
