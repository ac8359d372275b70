"""Installs of packages that pin torch, and the driver they need.

`pip install vllm==0.7.3` installs torch 2.5.1 with it: vLLM's wheel requires that release
exactly (envcheck/knowledge/torch_pins.py, from PyPI's METADATA), and pip takes it from PyPI,
whose Linux build of 2.5.1 is its CUDA 12.4 one (torch_releases.toml's `pypi_default`). A
driver read from the same paste that cannot run that CUDA (not even by minor-version
compatibility) cannot run what the command installs (vLLM's PyPI wheels are Linux x86_64
only, so the platform is taken to be Linux unless the paste names another).

The finding is made only when the paste shows what pip resolves: a command naming the release
(or, for `pip install vllm` with no version, every release in the table needing a CUDA the
driver cannot run), with no other index or wheel source (-i, --extra-index-url, -f) and no
torch of its own, and no torch already read from the paste.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from packaging.version import Version

from envcheck.findings import Finding
from envcheck.knowledge.cuda_tables import (
    driver_runs_cuda,
    min_driver_for_cuda,
    minor_compat_floor,
)
from envcheck.knowledge.torch_pins import TorchPin, pin_for, pinned_packages, pins_of
from envcheck.knowledge.torch_tables import find_release, parse_variant_name
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
    """An error when the driver read cannot run the CUDA of the torch an install brings."""
    torch, driver = snapshot.torch, snapshot.driver
    os_name = (snapshot.system.os or "").lower()
    if (torch.status == "ok" and torch.version is not None) or driver.status != "ok" or (
            driver.version is None and driver.cuda_driver_api is None) or (
            "windows" in os_name or "macos" in os_name):
        return []
    for install in reversed(installs):
        pins = ((pin_for(install.package, install.version),) if install.version is not None
                else pins_of(install.package))
        builds = [_pypi_build(pin) for pin in pins]
        if not builds or any(build is None or not _cannot_run(snapshot, build[1])
                             for build in builds):
            continue
        known = [build for build in builds if build is not None]
        return [_finding(install, known, snapshot)]
    return []


def _pypi_build(pin: TorchPin | None) -> tuple[Version, Version] | None:
    """(torch release, its PyPI Linux build's CUDA) of an exact pin envcheck's table knows."""
    exact = pin.exact if pin is not None else None
    release = find_release(exact) if exact is not None else None
    cuda = parse_variant_name(release.pypi_default) if release is not None else None
    return (release.version, cuda) if release is not None and cuda is not None else None


def _cannot_run(snapshot: Snapshot, cuda: Version) -> bool:
    driver = snapshot.driver
    if driver.version is not None:
        return driver_runs_cuda(driver.version, cuda) == "no"
    api = driver.cuda_driver_api
    return api is not None and api.major < cuda.major


def _finding(install: PinnedInstall, builds: list[tuple[Version, Version]],
             snapshot: Snapshot) -> Finding:
    driver = snapshot.driver
    found = (str(driver.version) if driver.version
             else f"supporting CUDA up to {driver.cuda_driver_api}")
    oldest = min(builds, key=lambda build: build[1])[1]
    # The oldest driver that runs it: its major's minor-version compatibility floor.
    minimum = minor_compat_floor(oldest.major) or min_driver_for_cuda(oldest)
    if install.version is not None:
        torch_version, cuda = builds[0]
        what = (f"`pip install {install.package}=={install.version}` (line {install.line}) "
                f"installs torch {torch_version}, whose PyPI build is CUDA {cuda}")
    else:
        cudas = sorted({str(cuda) for _, cuda in builds}, key=Version)
        what = (f"`pip install {install.package}` (line {install.line}) installs torch built "
                f"with CUDA {' to '.join(dict.fromkeys((cudas[0], cudas[-1])))}, whichever "
                f"release of {install.package} it resolves")
    pin = pins_of(install.package)[0]
    need = f" (CUDA {oldest.major}.x needs ≥ {minimum})" if minimum else ""
    return Finding(
        id="driver-too-old-for-pinned-torch", category="driver_too_old", severity="error",
        summary=f"{what}: NVIDIA driver {found} cannot run it{need}",
        explanation=f"Each {install.package} release requires one torch release exactly "
                    f"({pin.source.title}, {pin.source.url}); with no other index pip "
                    "installs it from PyPI, whose Linux wheel of it is that CUDA build "
                    "(envcheck's torch_releases.toml). The driver is older than that CUDA's "
                    "minimum, beyond minor-version compatibility, so CUDA fails to start.",
        fix=f"upgrade the NVIDIA driver to {minimum} or newer, or install a {install.package} "
            "build made for a CUDA this driver runs" if minimum else "upgrade the NVIDIA driver",
        evidence={"package": install.package, "version": str(install.version or ""),
                  "line": str(install.line), "torch": str(builds[0][0]),
                  "torch_cuda": str(builds[0][1]), "driver": found,
                  "source": pin.source.url},
        rule="report-pinned-torch")
