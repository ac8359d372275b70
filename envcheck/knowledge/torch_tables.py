"""The torch release table: which variants each release was built as, and what pairs with it.

Loaded once from data/torch_releases.toml (refreshed by scripts/refresh_torch_releases.py) and
validated at load, so a malformed file fails loudly, naming the file and the entry.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from packaging.version import InvalidVersion, Version

from envcheck.knowledge.data_files import KnowledgeError, load_sources, read_data_file
from envcheck.knowledge.model import ArchSource, Source, TorchRelease, TorchVariant

TORCH_RELEASES_FILE = "torch_releases.toml"

_VARIANT_NAME = re.compile(r"^cu(\d+)$")
_ARCH = re.compile(r"^(sm|compute)_(\d+)$")


def parse_variant_name(name: str) -> Version | None:
    """"cu128" -> 12.8, "cu130" -> 13.0; "cpu" (or anything not cuNNN) -> None."""
    match = _VARIANT_NAME.match(name)
    if match is None or len(match.group(1)) < 3:
        return None
    digits = match.group(1)
    # The last digit is the minor: CUDA minors have stayed single-digit (cu118, cu124, cu130).
    return Version(f"{int(digits[:-1])}.{digits[-1]}")


def cuda_from_local_label(label: str) -> Version | None:
    """The CUDA version a wheel's local label names: "cu124" -> 12.4, and the two-digit
    labels of old releases ("cu92" -> 9.2, "cu80" -> 8.0); None for anything else."""
    match = re.fullmatch(r"cu(\d{1,2})(\d)", label)
    if match is None:
        return None
    return Version(f"{int(match.group(1))}.{match.group(2)}")


def arch_names(torch_cuda_arch_list: str) -> tuple[str, ...]:
    """TORCH_CUDA_ARCH_LIST as torch.cuda.get_arch_list() prints the build's result:
    "7.0;8.6;12.0+PTX" -> sm_70 sm_86 sm_120 compute_120 (spaces also separate entries)."""
    names: list[str] = []
    for item in re.split(r"[;\s]+", torch_cuda_arch_list.strip()):
        if not item:
            continue
        match = re.fullmatch(r"(\d+)\.(\d)(\+PTX)?", item)
        if match is None:
            raise ValueError(f"{item!r} is not an architecture like 8.6 or 12.0+PTX")
        number = f"{match.group(1)}{match.group(2)}"
        names.append(f"sm_{number}")
        if match.group(3):
            names.append(f"compute_{number}")
    return tuple(sorted(set(names), key=_arch_key))


def variant_name(cuda: Version) -> str:
    return f"cu{cuda.major}{cuda.minor}"


@cache
def torch_releases() -> tuple[TorchRelease, ...]:
    """Every release in the table, oldest first."""
    return _load(read_data_file(TORCH_RELEASES_FILE))


@cache
def torch_sources() -> tuple[Source, ...]:
    return load_sources(TORCH_RELEASES_FILE, read_data_file(TORCH_RELEASES_FILE))


def find_release(version: Version) -> TorchRelease | None:
    """The release of `version`, ignoring its local label (2.5.1+cu124 -> 2.5.1)."""
    public = Version(version.public)
    for release in torch_releases():
        if release.version == public:
            return release
    return None


def find_variant(version: Version) -> tuple[TorchRelease, TorchVariant] | None:
    """The build `version` names: "+cu124" -> cu124, "+cpu" -> cpu, no label -> PyPI's default.

    None when the release, or a variant of that name, is not in the table.
    """
    release = find_release(version)
    if release is None:
        return None
    name = version.local or release.pypi_default
    for variant in release.variants:
        if variant.name == name:
            return release, variant
    return None


def variant_for_cuda(release: TorchRelease, cuda: Version) -> TorchVariant | None:
    """The CUDA build of `release` that torch.version.cuda `cuda` ("12.4") reports."""
    wanted = Version(f"{cuda.major}.{cuda.minor}")
    for variant in release.variants:
        if variant.cuda == wanted:
            return variant
    return None


def newest_release() -> TorchRelease:
    return torch_releases()[-1]


# --- loading and validation ------------------------------------------------------------------


def _fail(entry: str, problem: str) -> KnowledgeError:
    return KnowledgeError(f"knowledge file {TORCH_RELEASES_FILE}: {entry}: {problem}")


def _version(entry: str, key: str, raw: object) -> Version:
    try:
        return Version(str(raw))
    except InvalidVersion as e:
        raise _fail(entry, f"{key} {raw!r} is not a version") from e


def _optional_version(entry: str, key: str, table: Mapping[str, Any]) -> Version | None:
    return _version(entry, key, table[key]) if key in table else None


def _strings(entry: str, key: str, raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise _fail(entry, f"{key} must be a list of strings, got {raw!r}")
    return tuple(raw)


def _arch_key(arch: str) -> tuple[int, int]:
    match = _ARCH.match(arch)
    assert match is not None
    return int(match.group(2)), 0 if match.group(1) == "sm" else 1


def _check_sources(entry: str, table: Mapping[str, Any], known: set[str]) -> None:
    cited = _strings(entry, "sources", table.get("sources"))
    if not cited:
        raise _fail(entry, "cites no sources")
    unknown = sorted(set(cited) - known)
    if unknown:
        raise _fail(entry, f"cites unknown sources {unknown}; known: {sorted(known)}")


def _variant(entry: str, table: Mapping[str, Any], known: set[str]) -> TorchVariant:
    name = str(table.get("name", ""))
    where = f"{entry} variant {name or '?'}"
    _check_sources(where, table, known)
    cuda = _optional_version(where, "cuda", table)
    if name == "cpu":
        if cuda is not None:
            raise _fail(where, f"a cpu variant has no cuda, got {cuda}")
    elif parse_variant_name(name) is None:
        raise _fail(where, "name must be cpu or cuNNN (cu118, cu124, cu130)")
    elif cuda != parse_variant_name(name):
        raise _fail(where, f"cuda {cuda} does not match the name ({parse_variant_name(name)})")
    arch_list = _strings(where, "arch_list", table.get("arch_list", []))
    bad = [arch for arch in arch_list if not _ARCH.match(arch)]
    if bad:
        raise _fail(where, f"arch entries must be sm_NN or compute_NN, got {bad}")
    if list(arch_list) != sorted(arch_list, key=_arch_key) or len(set(arch_list)) != len(arch_list):
        raise _fail(where, f"arch_list must be unique and sorted by number: {list(arch_list)}")
    if name == "cpu" and arch_list:
        raise _fail(where, "a cpu variant carries no GPU code")
    arch_source = _arch_source(where, name, table)
    nccl = _optional_version(where, "nccl", table)
    if name == "cpu" and nccl is not None:
        raise _fail(where, "a cpu variant pins no NCCL")
    return TorchVariant(name=name, cuda=cuda, cudnn=_optional_version(where, "cudnn", table),
                        arch_list=arch_list, arch_source=arch_source, nccl=nccl)


def _arch_source(where: str, name: str, table: Mapping[str, Any]) -> ArchSource:
    """"measured" or "build-script" as the row says, with a list; "bounded" for a CUDA
    variant without one; "none" for a CPU build."""
    raw = table.get("arch_from")
    if name == "cpu":
        if raw is not None:
            raise _fail(where, "a cpu variant has no arch_from")
        return "none"
    if "arch_list" not in table:
        if raw is not None:
            raise _fail(where, f"arch_from {raw!r} without an arch_list")
        return "bounded"
    if raw == "measured":
        return "measured"
    if raw == "build-script":
        return "build-script"
    if raw == "release-matrix":
        return "release-matrix"
    raise _fail(where, f"arch_list needs arch_from = \"measured\", \"build-script\" or "
                       f"\"release-matrix\", got {raw!r}")


def _release(table: Mapping[str, Any], known: set[str]) -> TorchRelease:
    entry = f"release {table.get('version', '?')}"
    version = _version(entry, "version", table.get("version"))
    if version.local is not None:
        raise _fail(entry, "version is the public release, without a local label")
    _check_sources(entry, table, known)
    raw_variants = table.get("variant", [])
    if not isinstance(raw_variants, list):
        raise _fail(entry, "[[release.variant]] must be an array of tables")
    variants = tuple(_variant(entry, variant, known) for variant in raw_variants)
    names = [variant.name for variant in variants]
    if len(set(names)) != len(names):
        raise _fail(entry, f"duplicate variant names {names}")
    pypi_default = str(table.get("pypi_default", ""))
    if pypi_default not in names:
        raise _fail(entry, f"pypi_default {pypi_default!r} is not one of its variants {names}")
    glibc = _optional_version(entry, "manylinux_glibc", table)
    return TorchRelease(
        version=version,
        python=_strings(entry, "python", table.get("python")),
        pypi_default=pypi_default,
        # No torchaudio on PyPI pins torch 2.11 or later, nor a torchvision 2.14.1/2.15.0:
        # the table leaves them out rather than guess, so these are None there.
        # model.TorchRelease should say `Version | None`; until it does, mypy is told here.
        torchvision=_optional_version(entry, "torchvision", table),
        torchaudio=_optional_version(entry, "torchaudio", table),
        variants=variants,
        manylinux_glibc=glibc,
    )


def _load(document: Mapping[str, Any]) -> tuple[TorchRelease, ...]:
    sources = document.get("sources")
    load_sources(TORCH_RELEASES_FILE, dict(document))
    assert isinstance(sources, list)
    known = {str(source["id"]) for source in sources if "id" in source}
    raw: Sequence[Mapping[str, Any]] = document.get("release", [])
    if not raw:
        raise KnowledgeError(f"knowledge file {TORCH_RELEASES_FILE} has no [[release]] entries")
    releases = tuple(_release(table, known) for table in raw)
    versions = [release.version for release in releases]
    for earlier, later in itertools.pairwise(versions):
        if not earlier < later:
            raise _fail(f"release {later}", f"releases must be sorted ascending and unique; "
                                            f"{later} follows {earlier}")
    return releases
