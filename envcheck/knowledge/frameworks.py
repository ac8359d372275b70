"""Frameworks beside torch: the GPU builds a platform lacks (TensorFlow on native Windows from
2.11), and distributions that install one Python module (onnxruntime and onnxruntime-gpu).

The facts live in envcheck/knowledge/data/framework_packaging.toml, each row with its source."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from packaging.version import Version

from envcheck.knowledge.data_files import (
    KnowledgeError,
    data_error,
    load_sources,
    read_data_file,
    source_urls,
)
from envcheck.versions import version_or_none

DATA_FILE = "framework_packaging.toml"

Platform = Literal["windows"]


@dataclass(frozen=True, kw_only=True)
class NoGpuBuild:
    """From `from_version` on, `distribution` has no GPU build for `platform`."""

    distribution: str
    platform: Platform
    from_version: Version
    last_gpu_version: Version
    fix: str
    source: str
    """The source's URL."""


@dataclass(frozen=True, kw_only=True)
class SharedModule:
    """Distributions that all install `module`: the CPU ones and the CUDA builds."""

    module: str
    cpu: tuple[str, ...]
    gpu: tuple[str, ...]
    gpu_pattern: re.Pattern[str] | None
    cpu_message: re.Pattern[str] | None
    """A message only the module's CPU build prints."""
    source: str

    def is_gpu(self, name: str) -> bool:
        name = normalized(name)
        return name in self.gpu or (self.gpu_pattern is not None
                                    and self.gpu_pattern.fullmatch(name) is not None)

    def provides(self, name: str) -> bool:
        return normalized(name) in self.cpu or self.is_gpu(name)


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def no_gpu_builds() -> tuple[NoGpuBuild, ...]:
    document, urls = _document()
    rows = []
    for index, entry in enumerate(_rows(document, "no_gpu_build")):
        where = f"no_gpu_build[{index}]"
        platform = entry.get("platform")
        if platform != "windows":
            raise _fail(where, f"platform must be 'windows', got {platform!r}")
        rows.append(NoGpuBuild(
            distribution=normalized(_text(where, entry, "distribution")), platform=platform,
            from_version=_version(where, entry, "from_version"),
            last_gpu_version=_version(where, entry, "last_gpu_version"),
            fix=_text(where, entry, "fix"), source=_source(where, entry, urls)))
    return tuple(rows)


@cache
def shared_modules() -> tuple[SharedModule, ...]:
    document, urls = _document()
    rows = []
    for index, entry in enumerate(_rows(document, "shared_module")):
        where = f"shared_module[{index}]"
        gpu = entry.get("gpu", [])
        cpu = entry.get("cpu")
        if not isinstance(cpu, list) or not cpu or not isinstance(gpu, list):
            raise _fail(where, "cpu must be a non-empty list and gpu a list")
        pattern = entry.get("gpu_pattern")
        if not gpu and not pattern:
            raise _fail(where, "needs gpu or gpu_pattern")
        rows.append(SharedModule(
            module=_text(where, entry, "module"),
            cpu=tuple(normalized(str(n)) for n in cpu),
            gpu=tuple(normalized(str(n)) for n in gpu),
            gpu_pattern=_regex(where, pattern), cpu_message=_regex(where,
                                                                  entry.get("cpu_message")),
            source=_source(where, entry, urls)))
    return tuple(rows)


def _document() -> tuple[dict[str, Any], dict[str, str]]:
    document = read_data_file(DATA_FILE)
    load_sources(DATA_FILE, document)
    urls = source_urls(document)
    return document, urls


def _rows(document: dict[str, Any], array: str) -> list[dict[str, Any]]:
    rows = document.get(array)
    if not isinstance(rows, list) or not rows:
        raise KnowledgeError(f"knowledge file {DATA_FILE} has no [[{array}]] rows")
    return [row for row in rows if isinstance(row, dict)]


def _text(where: str, entry: dict[str, Any], field: str) -> str:
    value = entry.get(field)
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f"{field} must be a non-empty string")
    return value


def _version(where: str, entry: dict[str, Any], field: str) -> Version:
    version = version_or_none(_text(where, entry, field))
    if version is None:
        raise _fail(where, f"{field} is not a version")
    return version


def _regex(where: str, value: object) -> re.Pattern[str] | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(where, "patterns must be strings")
    try:
        return re.compile(value, re.IGNORECASE)
    except re.error as e:
        raise _fail(where, f"pattern does not compile: {e}") from e


def _source(where: str, entry: dict[str, Any], urls: dict[str, str]) -> str:
    source = entry.get("source")
    if source not in urls:
        raise _fail(where, f"source {source!r} is not one of the file's sources")
    return urls[str(source)]


def _fail(where: str, problem: str) -> KnowledgeError:
    return data_error(DATA_FILE, where, problem)
