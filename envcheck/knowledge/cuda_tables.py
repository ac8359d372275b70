"""CUDA driver minimums, minor-version compatibility and cuDNN builds.

The facts live in data files (cuda_drivers.toml, cudnn.toml), each citing its sources; this
module validates them once, caches the records and answers lookups. GPU models are in
gpu_tables.py.
A malformed file raises KnowledgeError naming the file and the entry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from itertools import pairwise
from typing import Any, Literal

from packaging.version import InvalidVersion, Version

from envcheck.knowledge.data_files import data_error, load_sources, read_data_file
from envcheck.knowledge.model import (
    CudaRelease,
    CudnnSupport,
    MinorCompatibility,
    Source,
    ToolkitRelease,
)
from envcheck.snapshot import DriverVersion

Platform = Literal["linux", "windows"]
DriverVerdict = Literal["yes", "minor-compat", "no", "unknown"]

CUDA_FILE = "cuda_drivers.toml"
CUDNN_FILE = "cudnn.toml"

_MAJOR_MINOR = re.compile(r"\d+\.\d+")
_RELEASE = re.compile(r"\d+\.\d+\.\d+")


# --- reading and validating -------------------------------------------------------------------


_fail = data_error


def _entries(name: str, document: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    raw = document.get(key)
    if not isinstance(raw, list) or not raw:
        raise _fail(name, key, f"needs a non-empty list of [[{key}]] entries")
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise _fail(name, f"{key}[{index}]", "is not a table")
    return raw


def _source_ids(name: str, document: dict[str, Any]) -> frozenset[str]:
    load_sources(name, document)  # raises when the file cites nothing
    return frozenset(
        str(entry["id"])
        for entry in document["sources"]
        if isinstance(entry, dict) and "id" in entry
    )


def _check_source(name: str, where: str, entry: Mapping[str, Any], ids: frozenset[str]) -> None:
    cited = entry.get("source")
    if cited is not None and cited not in ids:
        raise _fail(name, where, f"cites source {cited!r}, which is not in `sources`")


def _text(name: str, where: str, entry: Mapping[str, Any], field: str) -> str:
    value = entry.get(field)
    if not isinstance(value, str) or not value.strip():
        raise _fail(name, where, f"`{field}` must be a non-empty string, got {value!r}")
    return value


def _major_minor(name: str, where: str, entry: Mapping[str, Any], field: str) -> Version:
    text = _text(name, where, entry, field)
    if not _MAJOR_MINOR.fullmatch(text):
        raise _fail(name, where, f"`{field}` must be major.minor like \"12.4\", got {text!r}")
    try:
        return Version(text)
    except InvalidVersion as e:  # unreachable for major.minor digits; kept for the message
        raise _fail(name, where, f"`{field}` {text!r} is not a version") from e


def _driver(name: str, where: str, entry: Mapping[str, Any], field: str) -> DriverVersion | None:
    value = entry.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(name, where, f"`{field}` must be a string like \"535.104.05\", got {value!r}")
    try:
        return DriverVersion(value)
    except ValueError as e:
        raise _fail(name, where, f"`{field}` {value!r} is not an NVIDIA driver version") from e


def _required_driver(name: str, where: str, entry: Mapping[str, Any], field: str) -> DriverVersion:
    driver = _driver(name, where, entry, field)
    if driver is None:
        raise _fail(name, where, f"`{field}` is required")
    return driver


def _ascending(name: str, key: str, versions: list[Version]) -> None:
    for earlier, later in pairwise(versions):
        if later <= earlier:
            raise _fail(name, key, f"entries must be ascending without duplicates: {later} "
                        f"follows {earlier}")


@cache
def _cuda_document() -> dict[str, Any]:
    return read_data_file(CUDA_FILE)


@cache
def cuda_sources() -> tuple[Source, ...]:
    return load_sources(CUDA_FILE, _cuda_document())


@cache
def cuda_releases() -> tuple[CudaRelease, ...]:
    """Every CUDA minor release in the table, oldest first."""
    return parse_cuda_releases(_cuda_document())


def parse_cuda_releases(document: dict[str, Any]) -> tuple[CudaRelease, ...]:
    """The [[cuda]] rows of a cuda_drivers.toml document, validated."""
    ids = _source_ids(CUDA_FILE, document)
    releases = []
    for index, entry in enumerate(_entries(CUDA_FILE, document, "cuda")):
        where = f"cuda[{index}] ({entry.get('cuda')!r})"
        _check_source(CUDA_FILE, where, entry, ids)
        releases.append(CudaRelease(
            cuda=_major_minor(CUDA_FILE, where, entry, "cuda"),
            min_linux=_required_driver(CUDA_FILE, where, entry, "min_linux"),
            min_windows=_driver(CUDA_FILE, where, entry, "min_windows"),
        ))
    _ascending(CUDA_FILE, "cuda", [release.cuda for release in releases])
    return tuple(releases)


@cache
def toolkit_releases() -> tuple[ToolkitRelease, ...]:
    """Every CUDA toolkit release in the table, GA and updates, oldest first."""
    return parse_toolkit_releases(_cuda_document())


def parse_toolkit_releases(document: dict[str, Any]) -> tuple[ToolkitRelease, ...]:
    """The [[toolkit]] rows of a cuda_drivers.toml document, validated: each cites a source,
    releases ascend without duplicates, update numbers ascend within a minor from GA (0)."""
    ids = _source_ids(CUDA_FILE, document)
    rows: list[ToolkitRelease] = []
    for index, entry in enumerate(_entries(CUDA_FILE, document, "toolkit")):
        where = f"toolkit[{index}] ({entry.get('release')!r})"
        cited = entry.get("source")
        if not isinstance(cited, str):
            raise _fail(CUDA_FILE, where, "`source` is required: every row names where it "
                        "came from")
        _check_source(CUDA_FILE, where, entry, ids)
        text = _text(CUDA_FILE, where, entry, "release")
        if not _RELEASE.fullmatch(text):
            raise _fail(CUDA_FILE, where, f"`release` must be major.minor.patch like "
                        f"\"12.2.2\", got {text!r}")
        update = entry.get("update")
        if not isinstance(update, int) or isinstance(update, bool) or update < 0:
            raise _fail(CUDA_FILE, where, f"`update` must be 0 (GA) or a positive integer, "
                        f"got {update!r}")
        row = ToolkitRelease(
            release=Version(text), update=update,
            min_linux=_required_driver(CUDA_FILE, where, entry, "min_linux"),
            min_windows=_driver(CUDA_FILE, where, entry, "min_windows"), source=cited,
        )
        previous = rows[-1] if rows else None
        if previous is not None and previous.cuda == row.cuda and row.update <= previous.update:
            raise _fail(CUDA_FILE, where, f"update {row.update} follows update "
                        f"{previous.update} of CUDA {row.cuda}")
        if (previous is None or previous.cuda != row.cuda) and row.update != 0:
            raise _fail(CUDA_FILE, where, f"CUDA {row.cuda} starts with update {row.update}, "
                        "not its GA (0)")
        rows.append(row)
    _ascending(CUDA_FILE, "toolkit", [row.release for row in rows])
    return tuple(rows)


def toolkit_release(version: Version) -> ToolkitRelease | None:
    """The row of one toolkit release ("12.2.2"); None when NVIDIA's table lists none."""
    return next((r for r in toolkit_releases() if r.release == version), None)


def toolkit_updates(cuda: Version) -> tuple[ToolkitRelease, ...]:
    """Every listed release of one CUDA minor (12.2: GA, Update 1, Update 2), oldest first."""
    wanted = (cuda.major, cuda.minor)
    return tuple(r for r in toolkit_releases() if (r.cuda.major, r.cuda.minor) == wanted)


@cache
def minor_compat() -> tuple[MinorCompatibility, ...]:
    """The driver floor of CUDA minor-version compatibility, one entry per CUDA major."""
    return parse_minor_compat(_cuda_document())


def parse_minor_compat(document: dict[str, Any]) -> tuple[MinorCompatibility, ...]:
    """The [[minor_compat]] rows of a cuda_drivers.toml document, validated."""
    ids = _source_ids(CUDA_FILE, document)
    floors: list[MinorCompatibility] = []
    for index, entry in enumerate(_entries(CUDA_FILE, document, "minor_compat")):
        where = f"minor_compat[{index}] (major {entry.get('major')!r})"
        _check_source(CUDA_FILE, where, entry, ids)
        major = entry.get("major")
        if not isinstance(major, int) or isinstance(major, bool) or major < 1:
            raise _fail(CUDA_FILE, where, f"`major` must be a positive integer, got {major!r}")
        if any(floor.major == major for floor in floors):
            raise _fail(CUDA_FILE, where, f"major {major} is listed twice")
        floors.append(MinorCompatibility(
            major=major,
            min_linux=_required_driver(CUDA_FILE, where, entry, "min_linux"),
            min_windows=_driver(CUDA_FILE, where, entry, "min_windows"),
        ))
    return tuple(floors)


@cache
def _cudnn_document() -> dict[str, Any]:
    return read_data_file(CUDNN_FILE)


@cache
def cudnn_sources() -> tuple[Source, ...]:
    return load_sources(CUDNN_FILE, _cudnn_document())


@cache
def cudnn_support() -> tuple[CudnnSupport, ...]:
    """cuDNN major.minor releases and the CUDA majors NVIDIA builds each for, oldest first."""
    return parse_cudnn_support(_cudnn_document())


def parse_cudnn_support(document: dict[str, Any]) -> tuple[CudnnSupport, ...]:
    """The [[cudnn]] rows of a cudnn.toml document, validated."""
    ids = _source_ids(CUDNN_FILE, document)
    rows = []
    for index, entry in enumerate(_entries(CUDNN_FILE, document, "cudnn")):
        where = f"cudnn[{index}] ({entry.get('cudnn')!r})"
        _check_source(CUDNN_FILE, where, entry, ids)
        majors = entry.get("cuda_majors")
        if (
            not isinstance(majors, list) or not majors
            or not all(isinstance(m, int) and not isinstance(m, bool) for m in majors)
            or majors != sorted(set(majors))
        ):
            raise _fail(CUDNN_FILE, where,
                        f"`cuda_majors` must be ascending distinct integers, got {majors!r}")
        rows.append(CudnnSupport(cudnn=_major_minor(CUDNN_FILE, where, entry, "cudnn"),
                                 cuda_majors=tuple(majors)))
    _ascending(CUDNN_FILE, "cudnn", [row.cudnn for row in rows])
    return tuple(rows)


# --- driver lookups ---------------------------------------------------------------------------


def _release(cuda: Version) -> CudaRelease | None:
    return next(
        (r for r in cuda_releases() if (r.cuda.major, r.cuda.minor) == (cuda.major, cuda.minor)),
        None,
    )


def _minimum(release: CudaRelease, platform: Platform) -> DriverVersion | None:
    return release.min_linux if platform == "linux" else release.min_windows


def min_driver_for_cuda(cuda: Version, platform: Platform = "linux") -> DriverVersion | None:
    """The oldest driver a CUDA minor release (its GA) needs; None when the table lacks it.

    Only major.minor of `cuda` counts: 12.4.1 is looked up as 12.4.
    """
    release = _release(cuda)
    return None if release is None else _minimum(release, platform)


def minor_compat_floor(major: int, platform: Platform = "linux") -> DriverVersion | None:
    """The oldest driver that runs any CUDA `major`.x under minor-version compatibility."""
    for floor in minor_compat():
        if floor.major == major:
            return floor.min_linux if platform == "linux" else floor.min_windows
    return None


def newest_cuda_for_driver(driver: DriverVersion, platform: Platform = "linux") -> Version | None:
    """The newest CUDA minor whose own minimum `driver` meets; None when older than all."""
    for release in reversed(cuda_releases()):
        minimum = _minimum(release, platform)
        if minimum is not None and driver.key >= minimum.key:
            return release.cuda
    return None


def newest_toolkit_for_driver(driver: DriverVersion, platform: Platform = "linux"
                              ) -> ToolkitRelease | None:
    """The newest toolkit release, updates included, whose own minimum `driver` meets
    (535.86.09 -> 12.2 Update 1: Update 2 needs 535.104.05); None when older than all."""
    for release in reversed(toolkit_releases()):
        minimum = release.min_linux if platform == "linux" else release.min_windows
        if minimum is not None and driver.key >= minimum.key:
            return release
    return None


def driver_runs_cuda(
    driver: DriverVersion, cuda: Version, platform: Platform = "linux"
) -> DriverVerdict:
    """Whether `driver` runs programs built with CUDA `cuda`.

    "yes": the driver meets the release's own minimum. "minor-compat": it does not, but it
    meets the major's minor-version compatibility floor, so the program runs except for
    features that need a newer driver (PTX JIT of code newer than the driver, new APIs).
    "no": neither. "unknown": the table does not have this CUDA minor for the platform.
    """
    release = _release(cuda)
    minimum = None if release is None else _minimum(release, platform)
    if minimum is None:
        return "unknown"
    if driver.key >= minimum.key:
        return "yes"
    floor = minor_compat_floor(cuda.major, platform)
    if floor is not None and driver.key >= floor.key:
        return "minor-compat"
    return "no"
