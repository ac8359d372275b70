"""`verify`: is the installed environment what its lockfile pins?

The facts come from envcheck/probe/envprobe.py run with `--verify-records` in the target
interpreter: its distributions and versions, its PEP 508 marker environment, and (unless
`quick`) every hashed RECORD entry re-hashed there, so a file edited after installation
shows. The comparison itself is envcheck/drift.py.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from packaging.utils import canonicalize_name

from envcheck.drift import (
    Drift,
    InstalledDistribution,
    RecordCheck,
    RecordState,
    compare,
    holds_envcheck,
    pip_command,
    restore_command,
)
from envcheck.errors import UsageError
from envcheck.host import Host
from envcheck.lockfile_model import Lockfile
from envcheck.probes.python_env import run_probe_script, select_python

DEFAULT_TIMEOUT = 600.0
"""Seconds for the full check: hashing a CUDA torch install reads gigabytes."""

_RECORD_STATES: tuple[RecordState, ...] = ("ok", "no-hashes", "absent")


class TargetPythonError(UsageError):
    """The interpreter to verify cannot be found or does not answer the probe."""


@dataclass(frozen=True, kw_only=True)
class VerifyRequest:
    lock: Lockfile
    lock_path: str
    """As the user named it; shown in the report and in the fix command."""
    python: str | None = None
    quick: bool = False
    """Versions only: no RECORD hashing."""
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True, kw_only=True)
class VerifyResult:
    lock: Lockfile
    lock_path: str
    executable: str
    selected_by: str
    python_version: str | None
    drift: Drift
    notes: tuple[str, ...] = ()
    """Differences that are not drift but explain it (another Python than the lock's)."""
    seconds: float = 0.0
    """How long the probe took in the target interpreter."""

    @property
    def holds_envcheck(self) -> bool:
        return holds_envcheck(self.drift)

    @property
    def fix(self) -> str | None:
        return restore_command(self.lock_path, self.drift, python=self.executable)

    @property
    def fix_with_pip(self) -> str | None:
        return pip_command(self.lock_path, self.drift, python=self.executable)


ENVCHECK_KEPT_NOTE = (
    "this environment holds envcheck itself, which the lock does not pin: `uv pip sync` would "
    "uninstall it and its dependencies, so the fix installs what differs and leaves the "
    "extras; to make it exactly the lock, run envcheck from its own environment (`pipx "
    "install .` in envcheck's clone) and verify this one with --python")


def verify_environment(host: Host, request: VerifyRequest) -> VerifyResult:
    executable, selected_by = select_python(host, request.python)
    if executable is None:
        raise TargetPythonError("no Python interpreter found to verify",
                                hint="Activate the environment, or name it with --python "
                                "path/to/venv/bin/python.")
    if host.probe_script is None:
        raise TargetPythonError("envcheck's probe script is missing; reinstall envcheck")
    if selected_by == "--python" and not host.fs.exists(executable):
        raise TargetPythonError(f"--python {executable} does not exist; give the path of a "
                                "python executable (for a venv: path/to/venv/bin/python)")
    args = ["--verify-records"] + (["--quick"] if request.quick else [])
    started = time.monotonic()
    report = run_probe_script(host, executable, args, request.timeout)
    seconds = time.monotonic() - started
    if isinstance(report, str):
        raise TargetPythonError(f"cannot verify {executable} ({selected_by}): {report}")
    installed = distributions_from_report(report)
    markers = report.get("markers")
    drift = compare(request.lock, installed,
                    markers=markers if isinstance(markers, dict) else None,
                    records_checked=not request.quick)
    python = report.get("python") or {}
    version = python.get("version")
    result = VerifyResult(
        lock=request.lock, lock_path=request.lock_path, executable=executable,
        selected_by=selected_by, python_version=str(version) if version else None,
        drift=drift, notes=tuple(lock_notes(request.lock, python)), seconds=seconds)
    if result.holds_envcheck:
        result = replace(result, notes=(*result.notes, ENVCHECK_KEPT_NOTE))
    return result


def distributions_from_report(report: Mapping[str, Any]) -> tuple[InstalledDistribution, ...]:
    """The probe's `packages`, each with its `records` entry when the files were checked."""
    records: dict[str, RecordCheck] = {}
    for entry in report.get("records") or ():
        records[canonicalize_name(str(entry["name"]))] = _record_check(entry)
    return tuple(
        InstalledDistribution(name=str(p["name"]), version=str(p["version"]),
                              record=records.get(canonicalize_name(str(p["name"]))))
        for p in report.get("packages", ())
    )


def _record_check(entry: Mapping[str, Any]) -> RecordCheck:
    state: RecordState = "absent"
    for known in _RECORD_STATES:
        if entry.get("record") == known:
            state = known
    return RecordCheck(
        state=state,
        files_checked=int(entry.get("files_checked", 0)),
        modified=_paths(entry.get("modified")),
        missing=_paths(entry.get("missing")),
        unreadable=tuple(str(u.get("path")) for u in entry.get("unreadable") or ()),
    )


def _paths(value: Sequence[object] | None) -> tuple[str, ...]:
    return tuple(str(path) for path in value or ())


def lock_notes(lock: Lockfile, python: Mapping[str, Any]) -> list[str]:
    """The lock was resolved for another Python or platform than the one verified."""
    notes = []
    version = str(python.get("version") or "")
    minor = ".".join(version.split(".")[:2])
    if minor and minor != lock.header.python:
        notes.append(f"the lock is for Python {lock.header.python}; this interpreter is "
                     f"Python {version}, so some pins may not apply to it")
    platform = str(python.get("platform") or "").replace("-", "/", 1)
    if platform and platform != lock.header.platform:
        notes.append(f"the lock is for {lock.header.platform}; this interpreter runs on "
                     f"{platform}")
    return notes
