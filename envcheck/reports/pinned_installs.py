"""Installs of packages that pin torch, and the driver they need.

`pip install vllm==0.7.3` installs torch 2.5.1 with it: vLLM's wheel requires that release
exactly (envcheck/knowledge/torch_pins.py, from PyPI's METADATA), and pip takes it from PyPI,
whose Linux build of 2.5.1 is its CUDA 12.4 one (torch_releases.toml's `pypi_default`). A
driver read from the same paste that cannot run that CUDA (not even by minor-version
compatibility) cannot run what the command installs (vLLM's PyPI wheels are Linux x86_64
only, so the platform is taken to be Linux unless the paste names another).

A release that requires a range (vLLM 0.2.2's `torch>=2.1.0`) is judged by every torch
release of envcheck's table the range allows: the driver must run none of their builds.

The error is made only when the paste shows what pip resolves: a command naming the release
(or, for `pip install vllm` with no version, every release in the table needing a CUDA the
driver cannot run), with no other index or wheel source (-i, --extra-index-url, -f) and no
torch of its own, and no torch already read from the paste. With no version and releases
that disagree, a warning names the newest release whose torch the driver runs, when every
later one needs a newer driver: pip takes the newest it finds, which the paste does not say.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from packaging.version import Version

from envcheck.findings import Finding
from envcheck.knowledge.cuda_tables import (
    driver_runs_cuda,
    min_driver_for_cuda,
    minor_compat_floor,
)
from envcheck.knowledge.torch_pins import TorchPin, pin_for, pinned_packages, pins_of
from envcheck.knowledge.torch_tables import parse_variant_name, torch_releases
from envcheck.reports.install_logs import read_pip_command
from envcheck.reports.line_search import LineSearch, lines_holding
from envcheck.reports.package_lists import normalize_name
from envcheck.snapshot import Snapshot
from envcheck.versions import version_or_none

# An index or a wheel source other than PyPI: pip may resolve another build from it.
_OTHER_SOURCE = re.compile(r"(?:^|\s)(?:-i|--index-url|--extra-index-url|-f|--find-links)(?:\s|=)")


@dataclass(frozen=True, kw_only=True)
class PinnedInstall:
    """A `pip install` of a package whose releases pin torch."""

    package: str
    version: Version | None
    """The release the command names; None for the newest (`pip install vllm`)."""
    line: int
    """1-based."""
    text: str


def read_pinned_installs(lines: Sequence[str],
                         search: LineSearch | None = None) -> tuple[PinnedInstall, ...]:
    names = pinned_packages()
    found: list[PinnedInstall] = []
    for index in lines_holding(search or lines, sorted(names)):
        line = lines[index]
        if "install" not in line.lower():
            continue
        read = read_pip_command(lines, index)
        if read is None or _OTHER_SOURCE.search(line):
            continue
        requested = {normalize_name(p.name): p.version for p in read[1].requested}
        if "torch" in requested:
            continue  # the command chooses its torch itself
        for name in sorted(names & requested.keys()):
            text = requested[name]
            version = version_or_none(text) if text else None
            if text and (version is None or version.local):
                continue  # a range, or a build of its own (0.7.3+cu118)
            found.append(PinnedInstall(package=name, version=version, line=index + 1,
                                       text=line.strip()[:200]))
    return tuple(found)


def pinned_torch_findings(installs: Sequence[PinnedInstall],
                          snapshot: Snapshot) -> list[Finding]:
    """An error when the driver read cannot run the CUDA of the torch an install brings; for
    an install with no release, a warning when only the newer releases' torch is beyond it."""
    torch, driver = snapshot.torch, snapshot.driver
    os_name = (snapshot.system.os or "").lower()
    if (torch.status == "ok" and torch.version is not None) or driver.status != "ok" or (
            driver.version is None and driver.cuda_driver_api is None) or (
            "windows" in os_name or "macos" in os_name):
        return []
    for install in reversed(installs):
        if install.version is not None:
            pin = pin_for(install.package, install.version)
            pins: tuple[TorchPin, ...] = (pin,) if pin is not None else ()
        else:
            pins = pins_of(install.package)
        verdicts = [_verdict(pin, snapshot) for pin in pins]
        if pins and all(verdict == "no" for verdict in verdicts):
            return [_finding(install, pins, snapshot)]
        if install.version is None and (split := _newest_runnable(install, pins, verdicts,
                                                                  snapshot)):
            return [split]
    return []


Verdict = Literal["yes", "no"] | None


def _pypi_builds(pin: TorchPin) -> list[tuple[Version, Version | None]]:
    """(torch release, its PyPI Linux build's CUDA) of every release in envcheck's torch table
    the pin allows; none for a release that names no torch."""
    if not str(pin.torch):
        return []
    return [(release.version, parse_variant_name(release.pypi_default))
            for release in torch_releases() if pin.torch.contains(release.version)]


def _verdict(pin: TorchPin, snapshot: Snapshot) -> Verdict:
    """"no": the driver runs none of the torch builds the pin allows; "yes": all of them;
    None: some, or the table knows none of them."""
    runs = {cuda is not None and not _cannot_run(snapshot, cuda)
            for _, cuda in _pypi_builds(pin)}
    return None if len(runs) != 1 else ("yes" if runs.pop() else "no")


def _cannot_run(snapshot: Snapshot, cuda: Version) -> bool:
    driver = snapshot.driver
    if driver.version is not None:
        return driver_runs_cuda(driver.version, cuda) == "no"
    api = driver.cuda_driver_api
    return api is not None and api.major < cuda.major


def _oldest_cuda(pins: Sequence[TorchPin]) -> Version:
    return min(cuda for pin in pins for _, cuda in _pypi_builds(pin) if cuda is not None)


def _driver_found(snapshot: Snapshot) -> str:
    driver = snapshot.driver
    return (str(driver.version) if driver.version
            else f"supporting CUDA up to {driver.cuda_driver_api}")


def _finding(install: PinnedInstall, pins: Sequence[TorchPin], snapshot: Snapshot) -> Finding:
    oldest = _oldest_cuda(pins)
    # The oldest driver that runs it: its major's minor-version compatibility floor.
    minimum = minor_compat_floor(oldest.major) or min_driver_for_cuda(oldest)
    if install.version is not None:
        pin = pins[0]
        torch = f"torch {pin.exact}" if pin.exact else f"torch{pin.torch}"
        what = (f"`pip install {install.package}=={install.version}` (line {install.line}) "
                f"installs {torch}, whose PyPI "
                + (f"build is CUDA {oldest}" if pin.exact
                   else f"builds are CUDA {oldest} or newer"))
    else:
        what = (f"`pip install {install.package}` (line {install.line}) installs torch built "
                f"with CUDA {oldest} or newer, whichever release of {install.package} it "
                "resolves")
    source = pins[0].source
    need = f" (CUDA {oldest.major}.x needs ≥ {minimum})" if minimum else ""
    found = _driver_found(snapshot)
    return Finding(
        id="driver-too-old-for-pinned-torch", category="driver_too_old", severity="error",
        summary=f"{what}: NVIDIA driver {found} cannot run it{need}",
        explanation=f"Each {install.package} release requires its torch ({source.title}, "
                    f"{source.url}); with no other index pip installs it from PyPI, whose "
                    "Linux wheel of each such torch release is a CUDA build this driver is "
                    "too old for (envcheck's torch_releases.toml), beyond minor-version "
                    "compatibility, so CUDA fails to start.",
        fix=(f"upgrade the NVIDIA driver to {minimum} or newer, or install a "
             f"{install.package} build made for a CUDA this driver runs") if minimum
            else "upgrade the NVIDIA driver",
        evidence={"package": install.package, "version": str(install.version or ""),
                  "line": str(install.line), "torch": str(pins[0].torch),
                  "torch_cuda": str(oldest), "driver": found, "source": source.url},
        rule="report-pinned-torch")


def _newest_runnable(install: PinnedInstall, pins: Sequence[TorchPin],
                     verdicts: Sequence[Verdict], snapshot: Snapshot) -> Finding | None:
    """`pip install vllm` with no release, where the releases disagree: pip installs the
    newest release it finds, so the paste does not say which. A warning when the driver runs
    the torch of an older release and of none after it."""
    rows = list(zip(pins, verdicts, strict=True))
    runnable = [pin.version for pin, verdict in rows if verdict == "yes"]
    if not runnable:
        return None
    newest_ok = max(runnable)
    after = [pin for pin, verdict in rows if pin.version > newest_ok]
    if not after or any(verdict != "no" for pin, verdict in rows if pin.version > newest_ok):
        return None
    oldest = _oldest_cuda(after)
    floor = minor_compat_floor(oldest.major)
    found = _driver_found(snapshot)
    return Finding(
        id="driver-too-old-for-newer-pinned-torch", category="driver_too_old",
        severity="warning",
        summary=f"`pip install {install.package}` (line {install.line}) names no release: "
                f"NVIDIA driver {found} cannot run the torch of {install.package} "
                f"{after[0].version} to {after[-1].version} (CUDA {oldest} and newer builds); "
                f"{newest_ok} is the newest release whose torch it runs",
        explanation=f"Each {install.package} release requires its torch ({after[0].source.url}"
                    "), and pip installs the newest release it finds: which one the paste "
                    "does not say. From "
                    f"{after[0].version} on, that torch's PyPI build needs a driver "
                    f"{'≥ ' + str(floor) if floor else 'newer than this one'}.",
        fix="upgrade the NVIDIA driver" + (f" to {floor} or newer" if floor else "")
            + f" (or pin {install.package}=={newest_ok}, the newest release whose torch this "
              "driver runs)",
        evidence={"package": install.package, "line": str(install.line),
                  "newest_runnable": str(newest_ok), "first_unrunnable": str(after[0].version),
                  "driver": found},
        rule="report-pinned-torch")
