"""GPU builds of frameworks other than torch (ONNX Runtime, PaddlePaddle): the cuDNN major
each was built with and the glibc its Linux wheels need, from data/framework_builds.toml;
the glibc of operating system releases, from data/os_glibc.toml; and libstdc++'s symbol
versions (GLIBCXX_3.4.N -> the first GCC that has it), from data/libstdcxx_abi.toml.

Both files are validated at first use: a malformed row is a bug in envcheck's package,
reported as KnowledgeError.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from envcheck.knowledge.data_files import KnowledgeError, data_error, load_sources, read_data_file
from envcheck.knowledge.model import Source

BUILDS_FILE = "framework_builds.toml"
ABI_FILE = "libstdcxx_abi.toml"
OS_FILE = "os_glibc.toml"


@dataclass(frozen=True, kw_only=True)
class FrameworkBuild:
    framework: str
    versions: SpecifierSet
    cuda: str
    """The CUDA it was built with, as the source writes it ("12.x", "11.8")."""
    cudnn_major: int
    tag: str | None = None
    """Paddle's "postXY" local tag that names the build; None where the name has none."""
    source: Source

    @property
    def cuda_major(self) -> int:
        return int(self.cuda.split(".", 1)[0])


@dataclass(frozen=True, kw_only=True)
class GlibcxxVersion:
    version: Version
    gcc: Version
    """The first GCC release whose libstdc++ defines this symbol version."""
    source: Source


@dataclass(frozen=True, kw_only=True)
class WheelGlibc:
    """The glibc a framework release's Linux x86_64 wheels need (their manylinux_X_Y tag)."""

    framework: str
    versions: SpecifierSet
    glibc: Version
    source: Source


@dataclass(frozen=True, kw_only=True)
class OsGlibc:
    name: str
    """The distribution as it names itself ("CentOS")."""
    major: int
    glibc: Version
    source: Source


@cache
def framework_builds() -> tuple[FrameworkBuild, ...]:
    return parse_framework_builds(read_data_file(BUILDS_FILE))


def builds_for(framework: str, version: Version, *, cuda_major: int | None = None,
               tag: str | None = None) -> tuple[FrameworkBuild, ...]:
    """The rows that could be this build: same framework and tag, a covering version range,
    and the CUDA major when the package name says it (onnxruntime-win-x64-cuda12-...)."""
    return tuple(build for build in framework_builds()
                 if build.framework == framework and build.tag == tag
                 and build.versions.contains(version, prereleases=True)
                 and (cuda_major is None or build.cuda_major == cuda_major))


@cache
def wheel_glibc() -> tuple[WheelGlibc, ...]:
    return parse_wheel_glibc(read_data_file(BUILDS_FILE))


def glibc_needed(framework: str, version: Version) -> WheelGlibc | None:
    return next((row for row in wheel_glibc() if row.framework == framework
                 and row.versions.contains(version, prereleases=True)), None)


@cache
def os_glibc() -> tuple[OsGlibc, ...]:
    return parse_os_glibc(read_data_file(OS_FILE))


def glibc_of_os(name: str, major: int) -> OsGlibc | None:
    return next((row for row in os_glibc()
                 if row.name.lower() == name.lower() and row.major == major), None)


def parse_wheel_glibc(document: Mapping[str, Any]) -> tuple[WheelGlibc, ...]:
    sources = _sources(BUILDS_FILE, document)
    rows: list[WheelGlibc] = []
    for index, entry in enumerate(_entries(BUILDS_FILE, document, "wheel_glibc")):
        where = f"wheel_glibc[{index}]"
        try:
            versions = SpecifierSet(_text(BUILDS_FILE, where, entry, "versions"))
            glibc = Version(_text(BUILDS_FILE, where, entry, "glibc"))
        except (InvalidSpecifier, InvalidVersion) as e:
            raise _fail(BUILDS_FILE, where, f"not a specifier set or version: {e}") from e
        rows.append(WheelGlibc(framework=_text(BUILDS_FILE, where, entry, "framework"),
                               versions=versions, glibc=glibc,
                               source=_source(BUILDS_FILE, where, entry, sources)))
    return tuple(rows)


def parse_os_glibc(document: Mapping[str, Any]) -> tuple[OsGlibc, ...]:
    sources = _sources(OS_FILE, document)
    rows: list[OsGlibc] = []
    for index, entry in enumerate(_entries(OS_FILE, document, "os")):
        where = f"os[{index}]"
        major = entry.get("major")
        if not isinstance(major, int) or isinstance(major, bool):
            raise _fail(OS_FILE, where, "`major` must be an integer")
        try:
            glibc = Version(_text(OS_FILE, where, entry, "glibc"))
        except InvalidVersion as e:
            raise _fail(OS_FILE, where, f"`glibc` is not a version: {e}") from e
        rows.append(OsGlibc(name=_text(OS_FILE, where, entry, "name"), major=major,
                            glibc=glibc, source=_source(OS_FILE, where, entry, sources)))
    return tuple(rows)


def parse_framework_builds(document: Mapping[str, Any]) -> tuple[FrameworkBuild, ...]:
    sources = _sources(BUILDS_FILE, document)
    rows: list[FrameworkBuild] = []
    for index, entry in enumerate(_entries(BUILDS_FILE, document, "build")):
        where = f"build[{index}]"
        try:
            versions = SpecifierSet(_text(BUILDS_FILE, where, entry, "versions"))
        except InvalidSpecifier as e:
            raise _fail(BUILDS_FILE, where, f"`versions` is not a specifier set: {e}") from e
        cuda = _text(BUILDS_FILE, where, entry, "cuda")
        if not cuda.split(".", 1)[0].isdigit():
            raise _fail(BUILDS_FILE, where, f"`cuda` must start with its major, got {cuda!r}")
        cudnn = entry.get("cudnn_major")
        if not isinstance(cudnn, int) or isinstance(cudnn, bool):
            raise _fail(BUILDS_FILE, where, "`cudnn_major` must be an integer")
        tag = entry.get("tag")
        if tag is not None and not isinstance(tag, str):
            raise _fail(BUILDS_FILE, where, "`tag` must be a string")
        rows.append(FrameworkBuild(
            framework=_text(BUILDS_FILE, where, entry, "framework"), versions=versions,
            cuda=cuda, cudnn_major=cudnn, tag=tag,
            source=_source(BUILDS_FILE, where, entry, sources)))
    return tuple(rows)


@cache
def glibcxx_versions() -> tuple[GlibcxxVersion, ...]:
    return parse_glibcxx_versions(read_data_file(ABI_FILE))


@cache
def cxxabi_versions() -> tuple[GlibcxxVersion, ...]:
    return parse_glibcxx_versions(read_data_file(ABI_FILE), label="cxxabi")


def gcc_for_glibcxx(version: Version, *, label: str = "GLIBCXX") -> GlibcxxVersion | None:
    """The row of this GLIBCXX_3.4.N (or CXXABI_1.3.N); None when the table lacks it."""
    rows = cxxabi_versions() if label == "CXXABI" else glibcxx_versions()
    return next((row for row in rows if row.version == version), None)


def parse_glibcxx_versions(document: Mapping[str, Any], *,
                           label: str = "glibcxx") -> tuple[GlibcxxVersion, ...]:
    """The [[glibcxx]] (or [[cxxabi]]) rows of a libstdcxx_abi.toml document."""
    sources = _sources(ABI_FILE, document)
    rows: list[GlibcxxVersion] = []
    for index, entry in enumerate(_entries(ABI_FILE, document, label)):
        where = f"{label}[{index}]"
        try:
            version = Version(_text(ABI_FILE, where, entry, "version"))
            gcc = Version(_text(ABI_FILE, where, entry, "gcc"))
        except InvalidVersion as e:
            raise _fail(ABI_FILE, where, f"not a version: {e}") from e
        if rows and (version <= rows[-1].version or gcc <= rows[-1].gcc):
            raise _fail(ABI_FILE, where, "rows must ascend in both version and gcc")
        rows.append(GlibcxxVersion(version=version, gcc=gcc,
                                   source=_source(ABI_FILE, where, entry, sources)))
    return tuple(rows)


def _sources(name: str, document: Mapping[str, Any]) -> dict[str, Source]:
    listed = load_sources(name, dict(document))
    raw = document.get("sources")
    ids = [entry.get("id") for entry in raw] if isinstance(raw, list) else []
    if any(not isinstance(i, str) for i in ids) or len(set(ids)) != len(ids):
        raise KnowledgeError(f"knowledge file {name}: every source needs a distinct `id`")
    return {str(i): source for i, source in zip(ids, listed, strict=True)}


def _entries(name: str, document: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    raw = document.get(key)
    if not isinstance(raw, list) or not raw or not all(isinstance(e, Mapping) for e in raw):
        raise KnowledgeError(f"knowledge file {name} has no [[{key}]] tables")
    return raw


def _source(name: str, where: str, entry: Mapping[str, Any],
            sources: Mapping[str, Source]) -> Source:
    source = sources.get(str(entry.get("source")))
    if source is None:
        raise _fail(name, where, f"`source` {entry.get('source')!r} is not a sources id")
    return source


def _text(name: str, where: str, entry: Mapping[str, Any], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(name, where, f"`{key}` must be a non-empty string")
    return value


_fail = data_error
