#!/usr/bin/env python3
"""Refresh the index-derived fields of envcheck/knowledge/data/torch_releases.toml from PyPI.

What PyPI itself says about each torch release since 1.13 is recomputed:

- the release list and the CPython minors of its Linux x86_64 wheels (cpXY tags; free-threaded
  cpXYt builds are not counted),
- the glibc those wheels need (their manylinux tag),
- the variant the PyPI wheel is (its `nvidia-cuda-runtime-cuXX==A.B.*` or, from 2.11 on,
  `cuda-toolkit[...]==A.B.*` pin; no CUDA pin means "cpu"), its cuDNN (`nvidia-cudnn-cuXX`)
  and its NCCL (`nvidia-nccl-cuXX`; absent where the wheel bundles NCCL, as up to 1.13 did),
- the torchvision and torchaudio releases whose own Linux x86_64 wheels pin `torch==<release>`
  exactly (the newest non-yanked one wins; a release with no exact pin gets none).

The script prints how the data file differs. With --write it updates those fields in place
(tomlkit keeps comments) and appends releases the file lacks; hand-sourced facts, the arch
lists of the variants and the variants that are not on PyPI, are left as they are.

The project JSON comes from https://pypi.org/pypi/<name>/json. A wheel's METADATA comes from
its PEP 658 `.metadata` file when the index has one, else from the wheel itself by HTTP range
requests (the zip's central directory, then the one member), so no wheel is downloaded whole.

    python scripts/refresh_torch_releases.py
    python scripts/refresh_torch_releases.py --write
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import urllib.request
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path
from typing import Any, BinaryIO

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

DATA_FILE = Path(__file__).resolve().parents[1] / "envcheck/knowledge/data/torch_releases.toml"
PYPI_JSON = "https://pypi.org/pypi/{name}/json"
FILES_HOST = "https://files.pythonhosted.org/packages/"
FIRST_RELEASE = Version("1.13.0")
COMPANIONS = ("torchvision", "torchaudio")
# The ids of the PyPI sources in the data file's `sources`; new entries cite them.
PYPI_SOURCE_IDS = ("pypi-json", "pypi-metadata")

_LEGACY_MANYLINUX = {"manylinux1": "2.5", "manylinux2010": "2.12", "manylinux2014": "2.17"}
_MANYLINUX = re.compile(r"^(manylinux1|manylinux2010|manylinux2014|manylinux_(\d+)_(\d+))_x86_64$")
_CPYTHON = re.compile(r"^cp(\d)(\d+)$")
# The CUDA runtime pin: per-library wheels up to 2.10, the cuda-toolkit meta wheel from 2.11.
_CUDA_RUNTIME = re.compile(r"^(nvidia-cuda-runtime-cu\d+|cuda-toolkit)$")
_CUDNN = re.compile(r"^nvidia-cudnn-cu\d+$")
_NCCL = re.compile(r"^nvidia-nccl-cu\d+$")


@dataclass(frozen=True, kw_only=True)
class LinuxWheel:
    filename: str
    url: str
    python: str | None
    """"3.11" for a cp311-cp311 wheel; None for py3-none or free-threaded builds."""
    glibc: Version
    build: int
    core_metadata: bool


@dataclass(frozen=True, kw_only=True)
class DefaultVariant:
    name: str
    """"cu124", or "cpu" when the wheel pins no CUDA runtime."""
    cuda: Version | None
    cudnn: Version | None
    nccl: Version | None = None


@dataclass(frozen=True, kw_only=True)
class IndexFacts:
    """What PyPI says about one torch release."""

    version: Version
    python: tuple[str, ...]
    manylinux_glibc: Version
    default: DefaultVariant
    torchvision: Version | None
    torchaudio: Version | None


# --- pure functions over the index's JSON and the wheels' METADATA ---------------------------


def wheel_url(file_entry: Mapping[str, Any]) -> str:
    """The download URL of a file entry; mirrors of PyPI may give it relative to the index."""
    url = str(file_entry["url"])
    if url.startswith("http"):
        return url
    marker = "/packages/packages/" if "/packages/packages/" in url else "/packages/"
    return FILES_HOST + url.split(marker, 1)[1]


def manylinux_glibc(platform_tag: str) -> Version | None:
    """manylinux1_x86_64 -> 2.5, manylinux2014_x86_64 -> 2.17, manylinux_2_28_x86_64 -> 2.28."""
    match = _MANYLINUX.match(platform_tag)
    if match is None:
        return None
    if match.group(2) is not None:
        return Version(f"{match.group(2)}.{match.group(3)}")
    return Version(_LEGACY_MANYLINUX[match.group(1)])


def linux_x86_64_wheels(files: Iterable[Mapping[str, Any]]) -> list[LinuxWheel]:
    """The release's non-yanked Linux x86_64 wheels."""
    wheels = []
    for entry in files:
        filename = str(entry.get("filename", ""))
        if entry.get("yanked") or not filename.endswith(".whl"):
            continue
        try:
            _name, _version, build, tags = parse_wheel_filename(filename)
        except (InvalidWheelFilename, InvalidVersion):
            continue
        glibcs = [g for g in (manylinux_glibc(tag.platform) for tag in tags) if g is not None]
        if not glibcs:
            continue
        python = None
        for tag in tags:
            cpython = _CPYTHON.match(tag.interpreter)
            # cp37m is CPython 3.7's ABI; cp313t is a free-threaded build, not counted.
            if cpython is not None and tag.abi in (tag.interpreter, f"{tag.interpreter}m"):
                python = f"{cpython.group(1)}.{cpython.group(2)}"
        wheels.append(LinuxWheel(
            filename=filename, url=wheel_url(entry), python=python, glibc=min(glibcs),
            build=build[0] if build else 0, core_metadata=bool(entry.get("core-metadata")),
        ))
    return wheels


def newest_build(wheels: Sequence[LinuxWheel]) -> list[LinuxWheel]:
    """Only the wheels of the highest build tag: pip prefers them (torch 2.10.0 has a `-3`)."""
    if not wheels:
        return []
    top = max(wheel.build for wheel in wheels)
    return [wheel for wheel in wheels if wheel.build == top]


def python_minors(wheels: Iterable[LinuxWheel]) -> tuple[str, ...]:
    minors = {wheel.python for wheel in wheels if wheel.python is not None}
    return tuple(sorted(minors, key=Version))


def release_versions(project: Mapping[str, Any], first: Version = FIRST_RELEASE) -> list[Version]:
    """Final releases from `first` on that have a Linux x86_64 wheel."""
    versions = []
    for raw, files in project["releases"].items():
        try:
            version = Version(raw)
        except InvalidVersion:
            continue
        if version.is_prerelease or version.is_devrelease or version < first:
            continue
        if linux_x86_64_wheels(files):
            versions.append(version)
    return sorted(versions)


def first_upload(project: Mapping[str, Any], version: Version) -> str:
    """The ISO time the release's first file was uploaded."""
    files = project["releases"][str(version)]
    return min(str(entry["upload_time_iso_8601"]) for entry in files)


def companion_versions(
    companion: Mapping[str, Any], torch_project: Mapping[str, Any], first: Version
) -> list[Version]:
    """The companion's releases uploaded since torch `first` was: the only ones that can pin it
    or a later torch, so older ones need not be fetched."""
    since = first_upload(torch_project, first)
    return [version for version in release_versions(companion, Version("0"))
            if first_upload(companion, version) >= since]


def requires_dist(metadata: str) -> list[str]:
    """The Requires-Dist lines of a wheel's METADATA (the headers only; the body is ignored)."""
    headers = HeaderParser().parsestr(metadata, headersonly=True)
    return [str(line) for line in headers.get_all("Requires-Dist") or []]


def _requirements(lines: Iterable[str]) -> list[Requirement]:
    parsed = []
    for line in lines:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if requirement.marker is not None and "extra" in str(requirement.marker):
            continue
        parsed.append(requirement)
    return parsed


def _exact_pin(requirement: Requirement) -> Version | None:
    specifiers = list(requirement.specifier)
    if len(specifiers) != 1 or specifiers[0].operator not in ("==", "==="):
        return None
    try:
        return Version(specifiers[0].version)
    except InvalidVersion:
        return None


def default_variant(lines: Iterable[str]) -> DefaultVariant:
    """nvidia-cuda-runtime-cu12==12.4.127 -> cu124; cuda-toolkit[...]==13.0.2 -> cu130."""
    cuda: Version | None = None
    cudnn: Version | None = None
    nccl: Version | None = None
    for requirement in _requirements(lines):
        name = requirement.name.lower()
        pin = _exact_pin(requirement)
        if pin is None:
            continue
        if _CUDA_RUNTIME.match(name):
            cuda = Version(f"{pin.major}.{pin.minor}")
        elif _CUDNN.match(name):
            cudnn = pin
        elif _NCCL.match(name):
            nccl = pin
    if cuda is None:
        return DefaultVariant(name="cpu", cuda=None, cudnn=None)
    return DefaultVariant(name=f"cu{cuda.major}{cuda.minor}", cuda=cuda, cudnn=cudnn,
                          nccl=nccl)


def torch_pin(lines: Iterable[str]) -> Version | None:
    """The torch release a companion wheel pins exactly (`torch==2.5.1`), without local label."""
    for requirement in _requirements(lines):
        if requirement.name.lower() == "torch":
            pin = _exact_pin(requirement)
            return Version(pin.public) if pin is not None else None
    return None


def companion_for(torch_version: Version, pins: Mapping[Version, Version | None]) -> Version | None:
    """The newest companion release (torchvision, torchaudio) that pins this torch exactly.

    `pins` maps each non-yanked companion release to its exact torch pin (None: no exact pin,
    e.g. torchvision 0.29.1's `torch>=2.14.0`, which pairs it with no release in particular).
    """
    matching = [companion for companion, pin in pins.items() if pin == torch_version]
    return max(matching) if matching else None


def index_facts(
    *,
    torch_project: Mapping[str, Any],
    torch_metadata: Mapping[Version, str],
    companion_pins: Mapping[str, Mapping[Version, Version | None]],
    first: Version = FIRST_RELEASE,
) -> list[IndexFacts]:
    """Everything the index says, one entry per torch release from `first` on.

    `torch_metadata` holds the METADATA of one Linux x86_64 wheel of each release (they share
    their Requires-Dist); `companion_pins` is {"torchvision": {0.20.1: 2.5.1, ...}, ...}.
    """
    facts = []
    for version in release_versions(torch_project, first):
        wheels = newest_build(linux_x86_64_wheels(torch_project["releases"][str(version)]))
        facts.append(IndexFacts(
            version=version,
            python=python_minors(wheels),
            manylinux_glibc=min(wheel.glibc for wheel in wheels),
            default=default_variant(requires_dist(torch_metadata[version])),
            torchvision=companion_for(version, companion_pins.get("torchvision", {})),
            torchaudio=companion_for(version, companion_pins.get("torchaudio", {})),
        ))
    return facts


def _release_fields(facts: IndexFacts) -> dict[str, Any]:
    return {
        "python": list(facts.python),
        "pypi_default": facts.default.name,
        "torchvision": str(facts.torchvision) if facts.torchvision else None,
        "torchaudio": str(facts.torchaudio) if facts.torchaudio else None,
        "manylinux_glibc": str(facts.manylinux_glibc),
    }


def _variant_fields(variant: DefaultVariant) -> dict[str, Any]:
    return {
        "cuda": str(variant.cuda) if variant.cuda else None,
        "cudnn": str(variant.cudnn) if variant.cudnn else None,
        "nccl": str(variant.nccl) if variant.nccl else None,
    }


def _plain(value: Any) -> Any:
    return value.unwrap() if hasattr(value, "unwrap") else value


def diff_releases(document: Mapping[str, Any], facts: Sequence[IndexFacts]) -> list[str]:
    """One line per field where the data file and the index disagree."""
    lines = []
    by_version = {Version(str(entry["version"])): entry for entry in document.get("release", [])}
    for fact in facts:
        entry = by_version.get(fact.version)
        if entry is None:
            lines.append(f"+ {fact.version}: missing from the data file "
                         f"(PyPI default {fact.default.name})")
            continue
        for key, want in _release_fields(fact).items():
            have = _plain(entry.get(key))
            if have != want:
                lines.append(f"~ {fact.version} {key}: file {have!r}, PyPI {want!r}")
        variant = _find_variant(entry, fact.default.name)
        if variant is None:
            lines.append(f"~ {fact.version}: no [[release.variant]] {fact.default.name}")
            continue
        for key, want in _variant_fields(fact.default).items():
            have = _plain(variant.get(key))
            if have != want:
                lines.append(f"~ {fact.version} {fact.default.name}.{key}: "
                             f"file {have!r}, PyPI {want!r}")
    known = {fact.version for fact in facts}
    lines.extend(f"- {version}: in the data file, not on PyPI"
                 for version in sorted(by_version) if version not in known)
    return lines


def _find_variant(entry: Mapping[str, Any], name: str) -> Any:
    for variant in entry.get("variant", []):
        if variant.get("name") == name:
            return variant
    return None


def _set_or_drop(table: Any, key: str, value: Any) -> None:
    if value is None:
        if key in table:
            del table[key]
    else:
        table[key] = value


def apply_facts(text: str, facts: Sequence[IndexFacts]) -> str:
    """The data file with the index-derived fields set from `facts`; comments survive."""
    document = tomlkit.parse(text)
    releases = document.setdefault("release", tomlkit.aot())
    by_version = {Version(str(entry["version"])): entry for entry in releases}
    for fact in facts:
        entry = by_version.get(fact.version)
        if entry is None:
            entry = tomlkit.table()
            entry["version"] = str(fact.version)
            releases.append(entry)
            entry = releases[-1]
        for key, value in _release_fields(fact).items():
            _set_or_drop(entry, key, value)
        if "sources" not in entry:
            entry["sources"] = list(PYPI_SOURCE_IDS)
        variants = entry.setdefault("variant", tomlkit.aot())
        variant = _find_variant(entry, fact.default.name)
        if variant is None:
            variant = tomlkit.table()
            variant["name"] = fact.default.name
            variant["sources"] = ["pypi-metadata"]
            variants.append(variant)
            variant = variants[-1]
        for key, value in _variant_fields(fact.default).items():
            _set_or_drop(variant, key, value)
    return tomlkit.dumps(document)


# --- fetching (the only part that touches the network) --------------------------------------


class _RangeReader(io.RawIOBase):
    """A seekable read-only view of a remote file, read by HTTP Range requests."""

    def __init__(self, url: str) -> None:
        self._url = url
        request = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(request, timeout=60) as response:
            self._size = int(response.headers["Content-Length"])
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = base + offset
        return self._position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)
        if self._position >= self._size or len(view) == 0:
            return 0
        last = min(self._position + len(view), self._size) - 1
        request = urllib.request.Request(
            self._url, headers={"Range": f"bytes={self._position}-{last}"})
        with urllib.request.urlopen(request, timeout=120) as response:
            chunk = response.read()
        view[: len(chunk)] = chunk
        self._position += len(chunk)
        return len(chunk)


def fetch_json(name: str) -> dict[str, Any]:
    with urllib.request.urlopen(PYPI_JSON.format(name=name), timeout=120) as response:
        document: dict[str, Any] = json.load(response)
    return document


def fetch_metadata(wheel: LinuxWheel) -> str:
    if wheel.core_metadata:
        with urllib.request.urlopen(wheel.url + ".metadata", timeout=120) as response:
            return bytes(response.read()).decode("utf-8")
    remote: BinaryIO = io.BufferedReader(_RangeReader(wheel.url), buffer_size=1 << 16)
    with zipfile.ZipFile(remote) as archive:
        name = next(n for n in archive.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n))
        return archive.read(name).decode("utf-8")


def _first_wheel(project: Mapping[str, Any], version: Version) -> LinuxWheel:
    wheels = newest_build(linux_x86_64_wheels(project["releases"][str(version)]))
    return sorted(wheels, key=lambda wheel: wheel.filename)[0]


def fetch_facts(first: Version, log: Any) -> list[IndexFacts]:
    torch_project = fetch_json("torch")
    torch_metadata = {}
    for version in release_versions(torch_project, first):
        print(f"torch {version}", file=log)
        torch_metadata[version] = fetch_metadata(_first_wheel(torch_project, version))
    companion_pins: dict[str, dict[Version, Version | None]] = {}
    for name in COMPANIONS:
        project = fetch_json(name)
        pins: dict[Version, Version | None] = {}
        for version in companion_versions(project, torch_project, first):
            pins[version] = torch_pin(requires_dist(fetch_metadata(_first_wheel(project, version))))
            print(f"{name} {version} -> torch {pins[version]}", file=log)
        companion_pins[name] = pins
    return index_facts(torch_project=torch_project, torch_metadata=torch_metadata,
                       companion_pins=companion_pins, first=first)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--write", action="store_true", help="update the data file in place")
    parser.add_argument("--since", type=Version, default=FIRST_RELEASE,
                        help="first torch release to consider (default: %(default)s)")
    parser.add_argument("--data-file", type=Path, default=DATA_FILE)
    args = parser.parse_args(argv)
    facts = fetch_facts(args.since, sys.stderr)
    text = args.data_file.read_text(encoding="utf-8")
    changes = diff_releases(tomlkit.parse(text).unwrap(), facts)
    print("\n".join(changes) if changes else "the data file agrees with PyPI")
    if args.write and changes:
        args.data_file.write_text(apply_facts(text, facts), encoding="utf-8")
        print(f"wrote {args.data_file}; update the PyPI source's `retrieved` date by hand")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
