"""The lowest GPU compute capability prebuilt builds run on: tools with their own CUDA kernels
(ollama, vLLM, RAPIDS) and torch releases older than torch_releases.toml, with the CUDA build
an unlabelled old torch was. The facts live in gpu_floors.toml, each row citing its sources."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from envcheck.knowledge.data_files import (
    KnowledgeError,
    data_error,
    load_sources,
    read_data_file,
    source_urls,
)
from envcheck.knowledge.model import Source
from envcheck.versions import version_or_none

FLOORS_FILE = "gpu_floors.toml"
_CAPABILITY = re.compile(r"\d{1,2}\.\d")


@dataclass(frozen=True, kw_only=True)
class ToolFloor:
    package: str
    aliases: tuple[str, ...]
    min_capability: str
    versions: SpecifierSet | None
    """The releases the row is stated for; None: the floor the tool's documentation states."""
    sources: tuple[str, ...]
    wsl_only: bool = False
    """Stated for WSL2 only (RAPIDS on Pascal GPUs there)."""


@dataclass(frozen=True, kw_only=True)
class LegacyTorch:
    version: Version
    default_cuda: Version | None
    """The CUDA build of `pip install torch==X` without a build label (Linux)."""
    min_capability: str | None
    sources: tuple[str, ...]


def _fail(where: str, problem: str) -> KnowledgeError:
    return data_error(FLOORS_FILE, where, problem)


@cache
def _document() -> dict[str, Any]:
    return read_data_file(FLOORS_FILE)


@cache
def floor_sources() -> tuple[Source, ...]:
    return load_sources(FLOORS_FILE, _document())


def _cited(where: str, entry: Mapping[str, Any], ids: frozenset[str]) -> tuple[str, ...]:
    cited = entry.get("sources")
    if not isinstance(cited, list) or not cited:
        raise _fail(where, "needs a non-empty `sources` list")
    unknown = [c for c in cited if c not in ids]
    if unknown:
        raise _fail(where, f"cites {unknown!r}, not in `sources`")
    return tuple(str(c) for c in cited)


def _capability(where: str, value: object, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not _CAPABILITY.fullmatch(value):
        raise _fail(where, f"compute capability must be N.N, got {value!r}")
    return value


def _specifier(where: str, value: object) -> SpecifierSet | None:
    if value is None:
        return None
    try:
        return SpecifierSet(str(value))
    except InvalidSpecifier as e:
        raise _fail(where, f"`versions` is not a version specifier: {value!r}") from e


def _platform(where: str, value: object) -> bool:
    if value is None:
        return False
    if value != "wsl":
        raise _fail(where, f"`platform` can only be \"wsl\", got {value!r}")
    return True


def parse_floors(document: Mapping[str, Any]) -> tuple[tuple[ToolFloor, ...],
                                                        tuple[LegacyTorch, ...]]:
    load_sources(FLOORS_FILE, dict(document))
    ids = frozenset(source_urls(document))
    tools = []
    for index, entry in enumerate(document.get("tool", [])):
        where = f"tool[{index}]"
        package = entry.get("package")
        if not isinstance(package, str) or not package:
            raise _fail(where, "needs a `package` name")
        tools.append(ToolFloor(
            package=package, aliases=tuple(entry.get("aliases", [])),
            min_capability=_capability(where, entry.get("min_capability"), required=True) or "",
            versions=_specifier(where, entry.get("versions")), sources=_cited(where, entry, ids),
            wsl_only=_platform(where, entry.get("platform"))))
    torches = []
    for index, entry in enumerate(document.get("torch", [])):
        where = f"torch[{index}]"
        version = version_or_none(str(entry.get("version")))
        if version is None:
            raise _fail(where, f"bad `version` {entry.get('version')!r}")
        cuda = entry.get("default_cuda")
        torches.append(LegacyTorch(
            version=version, default_cuda=Version(cuda) if cuda else None,
            min_capability=_capability(where, entry.get("min_capability"), required=False),
            sources=_cited(where, entry, ids)))
    return tuple(tools), tuple(torches)


@cache
def _floors() -> tuple[tuple[ToolFloor, ...], tuple[LegacyTorch, ...]]:
    return parse_floors(_document())


def tool_floors() -> tuple[ToolFloor, ...]:
    return _floors()[0]


def _normalize(name: str) -> str:
    return name.lower().replace("_", "-")


def tool_names() -> frozenset[str]:
    """Every package name (and alias) a floor is recorded for."""
    return frozenset(_normalize(n) for f in tool_floors() for n in (f.package, *f.aliases))


def floor_for(package: str, version: Version | None, *, wsl: bool = False) -> ToolFloor | None:
    """The floor of this release of `package`: the highest of the rows stated for its version
    (WSL2's rows only under WSL2), else the one its documentation states. Without a version,
    the documented floor when no row states a lower one (a GPU below it has no kernels in any
    listed release); else None."""
    name = _normalize(package)
    rows = [f for f in tool_floors() if name in (_normalize(n) for n in (f.package, *f.aliases))
            and (wsl or not f.wsl_only)]
    if not rows:
        return None
    if version is None:
        lowest = min(rows, key=lambda f: Version(f.min_capability))
        return next((f for f in rows if f.versions is None
                     and f.min_capability == lowest.min_capability), None)
    stated = [f for f in rows if f.versions is not None and version in f.versions]
    if stated:
        return max(stated, key=lambda f: Version(f.min_capability))
    return next((f for f in rows if f.versions is None), None)


def legacy_torch(version: Version) -> LegacyTorch | None:
    public = Version(version.public)
    return next((t for t in _floors()[1] if t.version == public), None)


def cited_urls(ids: tuple[str, ...]) -> str:
    """The URLs of the cited sources, for the user ("https://github.com/.../issues/30631")."""
    urls = source_urls(_document())
    return ", ".join(urls.get(i, i) for i in ids)
