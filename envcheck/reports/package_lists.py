"""Read `pip list`, `pip freeze` and `conda list` output into `Package` records.

- pip freeze: "name==version" (also "===", extras), "name @ url" for direct references
  (pip >= 20.1 prints these for packages installed from a file or VCS, e.g.
  "absl-py @ file:///build/absl-py-0.9.0/dist/absl_py-0.9.0-py3-none-any.whl"), and
  "-e <url-or-path>" for editable installs.
- pip list: a "Package Version [Location]" table under a dashed rule.
- conda list: "name version build [channel]" rows under "# Name Version Build Channel"
  (old conda wrote "<pip>" as the build of pip-installed rows), and `conda list --export`'s
  "name=version=build".

A direct reference or editable install names no version; the version is read from a wheel or
sdist file name in the URL when there is one, else it is the empty string: the package is
known to be installed, its version is not in the report.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

from envcheck.snapshot import Package

_PINNED = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*===?\s*(?P<version>[^\s;#]+)"
)
_DIRECT = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s+@\s+(?P<url>\S+)")
_EDITABLE = re.compile(r"^-e\s+(?P<target>\S+)")
_EGG = re.compile(r"[#&]egg=(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)")
_ARCHIVE = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._]*?)-(?P<version>\d[A-Za-z0-9.+!_]*?)"
    r"(?:-[^-]+-[^-]+-[^-]+\.whl|\.tar\.gz|\.zip|\.tar\.bz2)$"
)
_LEGACY_PIP = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s+\((?P<version>[^)\s]+)\)$")
_ROW = re.compile(r"^(?P<name>[^\s#=]+)\s+(?P<version>\S+)(?:\s+(?P<rest>\S.*))?$")
_EXPORT_ROW = re.compile(r"^(?P<name>[^\s#=]+)=(?P<version>[^\s=]+)=(?P<build>\S+)$")


@dataclass(frozen=True, kw_only=True)
class CondaPackage:
    name: str
    version: str
    build: str
    channel: str | None
    """None for the defaults channel (printed empty); "pypi" for pip-installed rows."""


@lru_cache(maxsize=4096)
def normalize_name(name: str) -> str:
    """PEP 503 normalisation, so "Jinja2", "jinja2" and "jinja_2" compare equal (kept: a long
    paste lists the same distributions again and again)."""
    return _SEPARATORS.sub("-", name).lower()


_SEPARATORS = re.compile(r"[-_.]+")


# Kept (a frozen record each): a long paste lists the same packages again and again.
@lru_cache(maxsize=8192)
def parse_requirement_line(line: str) -> Package | None:
    """One pip freeze line (also collect_env's "[pip3] numpy==1.26.4" after the prefix)."""
    text = line.strip()
    if match := _PINNED.match(text):
        return Package(name=match.group("name"), version=match.group("version"))
    if match := _DIRECT.match(text):
        return Package(name=match.group("name"), version=_version_in_url(match.group("url")))
    if match := _EDITABLE.match(text):
        egg = _EGG.search(match.group("target"))
        return Package(name=egg.group("name"), version="") if egg else None
    if match := _LEGACY_PIP.match(text):
        # torch 1.0's collect_env ran `pip list --format=legacy`: "numpy (1.15.4)".
        return Package(name=match.group("name"), version=match.group("version"))
    return None


def parse_pip_freeze(lines: tuple[str, ...]) -> list[Package]:
    packages = []
    for line in lines:
        package = parse_requirement_line(line)
        if package is not None:
            packages.append(package)
    return packages


def parse_pip_list(lines: tuple[str, ...]) -> list[Package]:
    packages = []
    for line in lines[2:]:  # the header and the dashed rule
        match = _ROW.match(line.strip())
        if match:
            packages.append(Package(name=match.group("name"), version=match.group("version")))
    return packages


# Kept, as parse_requirement_line.
@lru_cache(maxsize=8192)
def parse_conda_row(line: str) -> CondaPackage | None:
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    if match := _EXPORT_ROW.match(text):
        return CondaPackage(name=match.group("name"), version=match.group("version"),
                            build=match.group("build"), channel=None)
    match = _ROW.match(text)
    if match is None or not match.group("rest"):
        return None
    rest = match.group("rest").split()
    if len(rest) > 2:
        return None
    return CondaPackage(
        name=match.group("name"),
        version=match.group("version"),
        build=rest[0],
        channel=rest[1] if len(rest) == 2 else ("pypi" if rest[0] == "<pip>" else None),
    )


def parse_conda_list(lines: tuple[str, ...]) -> list[CondaPackage]:
    packages = []
    for line in lines:
        package = parse_conda_row(line)
        if package is not None:
            packages.append(package)
    return packages


def _version_in_url(url: str) -> str:
    filename = posixpath.basename(unquote(url.split("#", 1)[0].split("?", 1)[0]))
    match = _ARCHIVE.match(filename)
    return match.group("version") if match else ""
