"""Drift: how an installed environment differs from its lockfile.

Pure: a Lockfile and the facts the probe read in the target interpreter in, a Drift out.
Names compare canonicalized; versions compare as PEP 440 versions *including* the local label,
so `torch 2.7.1+cu126` installed where the lock pins `2.7.1+cu128` is drift (pip's `==2.7.1`
would accept either; the lock pins the build, not only the release).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envcheck.lockfile_model import LockedPackage, Lockfile

INSTALLER_TOOLS = ("pip", "setuptools", "wheel")
"""What venv and ensurepip put into every environment; extra only when the lock pins them."""

RecordState = Literal["ok", "no-hashes", "absent"]


@dataclass(frozen=True, kw_only=True)
class RecordCheck:
    """One distribution's RECORD, its hashed files re-hashed in the target interpreter."""

    state: RecordState
    """ok: RECORD has hashes; no-hashes: a file list without hashes (egg-info, some conda
    packages); absent: no file list at all."""
    files_checked: int = 0
    modified: tuple[str, ...] = ()
    """RECORD paths whose content no longer has the recorded hash (edited in place)."""
    missing: tuple[str, ...] = ()
    """RECORD paths that are gone."""
    unreadable: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class InstalledDistribution:
    name: str
    version: str
    record: RecordCheck | None = None
    """None: files not checked (--quick, or doctor)."""


@dataclass(frozen=True, kw_only=True)
class MissingPackage:
    name: str
    locked: str


@dataclass(frozen=True, kw_only=True)
class ExtraPackage:
    name: str
    installed: str


@dataclass(frozen=True, kw_only=True)
class VersionChange:
    name: str
    locked: str
    installed: str


@dataclass(frozen=True, kw_only=True)
class TamperedPackage:
    name: str
    version: str
    modified: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Drift:
    missing: tuple[MissingPackage, ...] = ()
    """Pinned (for this environment's markers) and not installed."""
    extra: tuple[ExtraPackage, ...] = ()
    """Installed and not in the lock (the installer's tools excepted, see `tools_ignored`)."""
    different: tuple[VersionChange, ...] = ()
    tampered: tuple[TamperedPackage, ...] = ()
    tools_ignored: tuple[ExtraPackage, ...] = ()
    """pip/setuptools/wheel installed, not pinned, and so not counted as extra."""
    unverified: tuple[str, ...] = ()
    """Installed distributions whose files could not all be checked (no hashed RECORD, or
    a file envcheck may not read)."""
    records_checked: bool = False
    """False under --quick and in doctor: `tampered` is then empty by construction."""
    files_checked: int = 0
    """RECORD entries re-hashed, over every distribution."""
    locked_count: int = 0
    installed_count: int = 0

    @property
    def identical(self) -> bool:
        return not (self.missing or self.extra or self.different or self.tampered)

    @property
    def drifted_names(self) -> tuple[str, ...]:
        """Every package that differs, in the order the report lists them."""
        names = [p.name for p in self.different] + [p.name for p in self.missing]
        names += [p.name for p in self.extra] + [p.name for p in self.tampered]
        return tuple(dict.fromkeys(names))


def same_version(locked: str, installed: str) -> bool:
    """PEP 440 equality with the local label counted; text equality when either is not a
    PEP 440 version."""
    try:
        return Version(locked) == Version(installed)
    except InvalidVersion:
        return locked.strip() == installed.strip()


def marker_applies(marker: str | None, environment: Mapping[str, str] | None) -> bool | None:
    """Whether a lock entry's `; marker` holds in the target; None when it cannot tell."""
    if not marker:
        return True
    if environment is None:
        return None
    try:
        return Marker(marker).evaluate(dict(environment))
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
        return None


def compare(lock: Lockfile, installed: Iterable[InstalledDistribution], *,
            markers: Mapping[str, str] | None = None, records_checked: bool = False) -> Drift:
    """The drift of `installed` from `lock`. `markers` is the target's PEP 508 environment
    (None: unknown; then a pin with a marker is compared if installed, never called missing)."""
    by_name: dict[str, InstalledDistribution] = {}
    for distribution in installed:
        by_name.setdefault(canonicalize_name(distribution.name), distribution)
    pinned: dict[str, LockedPackage] = {canonicalize_name(p.name): p for p in lock.packages}

    missing: list[MissingPackage] = []
    different: list[VersionChange] = []
    for name, package in sorted(pinned.items()):
        found = by_name.get(name)
        if found is None:
            if marker_applies(package.marker, markers):
                missing.append(MissingPackage(name=name, locked=package.version))
        elif not same_version(package.version, found.version):
            different.append(VersionChange(name=name, locked=package.version,
                                           installed=found.version))

    extra: list[ExtraPackage] = []
    tools: list[ExtraPackage] = []
    for name, distribution in sorted(by_name.items()):
        if name in pinned:
            continue
        entry = ExtraPackage(name=name, installed=distribution.version)
        (tools if name in INSTALLER_TOOLS else extra).append(entry)

    tampered: list[TamperedPackage] = []
    unverified: list[str] = []
    for name, distribution in sorted(by_name.items()):
        record = distribution.record
        if record is None:
            continue
        if record.state != "ok" or record.unreadable:
            unverified.append(name)
        if record.modified or record.missing:
            tampered.append(TamperedPackage(name=name, version=distribution.version,
                                            modified=record.modified, missing=record.missing))
    return Drift(missing=tuple(missing), extra=tuple(extra), different=tuple(different),
                 tampered=tuple(tampered), tools_ignored=tuple(tools),
                 unverified=tuple(unverified), records_checked=records_checked,
                 files_checked=sum(d.record.files_checked for d in by_name.values()
                                   if d.record is not None),
                 locked_count=len(pinned), installed_count=len(by_name))


def summarize(drift: Drift, *, names: int = 3) -> str:
    """`2 different, 1 missing, 1 extra (torch, numpy, idna, ...)`: counts, then the
    first few names."""
    counts = [(len(drift.different), "different"), (len(drift.missing), "missing"),
              (len(drift.extra), "extra"), (len(drift.tampered), "edited in place")]
    text = ", ".join(f"{count} {what}" for count, what in counts if count)
    shown = list(drift.drifted_names)
    listed = ", ".join(shown[:names]) + (", ..." if len(shown) > names else "")
    return f"{text} ({listed})" if listed else text


def sync_command(lock_path: str, drift: Drift, *, python: str | None = None) -> str | None:
    """uv's command that makes the environment the lock again (extras removed), or None
    when it is."""
    return _uv_pip(f"sync {lock_path}", drift, python=python)


def _uv_pip(arguments: str, drift: Drift, *, python: str | None) -> str | None:
    if drift.identical:
        return None
    command = f"uv pip {arguments}"
    if python:
        command += f" --python {python}"
    # uv counts a package at the right version as installed; edited files need a reinstall.
    return command + "".join(f" --reinstall-package {p.name}" for p in drift.tampered)


def pip_command(lock_path: str, drift: Drift, *, python: str | None = None) -> str | None:
    """pip's way: installs what differs, leaves extras in place."""
    if drift.identical:
        return None
    pip = f"{python} -m pip" if python else "pip"
    command = f"{pip} install --require-hashes -r {lock_path}"
    return command + (" --force-reinstall" if drift.tampered else "")


def holds_envcheck(drift: Drift) -> bool:
    """envcheck itself is installed there and not pinned: `uv pip sync` would uninstall it
    (and its dependencies) from the environment it runs from (issue 14)."""
    return any(canonicalize_name(extra.name) == "envcheck" for extra in drift.extra)


def restore_command(lock_path: str, drift: Drift, *, python: str | None = None) -> str | None:
    """The command that brings the environment back to the lock: `uv pip sync`, unless that
    would uninstall envcheck itself; then an install of what differs."""
    if holds_envcheck(drift):
        return install_keeping_extras(lock_path, drift, python=python)
    return sync_command(lock_path, drift, python=python)


def install_keeping_extras(lock_path: str, drift: Drift, *, python: str | None = None
                           ) -> str | None:
    """uv's install of what differs from the lock, removing nothing."""
    return _uv_pip(f"install --require-hashes -r {lock_path}", drift, python=python)
