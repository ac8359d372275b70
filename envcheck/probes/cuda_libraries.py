"""Every copy of every CUDA library the target can load, and where it comes from.

Two cuDNNs on one machine is the root of many "works in one shell, not in the other"
reports, so every copy is its own entry: the dynamic loader's cache, each LD_LIBRARY_PATH
folder, the pip `nvidia-*` wheels, the libraries bundled inside torch, and conda packages.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from envcheck.errors import CommandNotFoundError, CommandTimeoutError
from envcheck.host import Host
from envcheck.parsers.ldconfig import identify_cuda_library, parse_ldconfig_cache
from envcheck.probes.python_env import RawLibrary
from envcheck.snapshot import CudaLibrary, LibraryOrigin

_LDCONFIG_CANDIDATES = ("ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig")


def loader_libraries(host: Host) -> tuple[list[RawLibrary], str | None]:
    """Libraries the dynamic loader finds (its cache and LD_LIBRARY_PATH), and any problem."""
    found: list[RawLibrary] = []
    problem = None
    for program in _LDCONFIG_CANDIDATES:
        try:
            result = host.runner.run([program, "-p"], timeout=host.limits.ldconfig, env=host.env)
        except CommandNotFoundError:
            continue
        except CommandTimeoutError as e:
            problem = e.message
            break
        if result.ok:
            found.extend(
                RawLibrary(path=path, via="ldconfig")
                for soname, path in parse_ldconfig_cache(result.stdout)
                if identify_cuda_library(soname) is not None
            )
        else:
            problem = result.describe_failure()
        break
    for directory in host.env.get("LD_LIBRARY_PATH", "").split(":"):
        if not directory:
            continue
        found.extend(
            RawLibrary(path=posixpath.join(directory, name), via="LD_LIBRARY_PATH")
            for name in host.fs.list_dir(directory)
            if identify_cuda_library(name) is not None
        )
    return found, problem


def _origin(library: RawLibrary) -> LibraryOrigin:
    if library.via == "conda-meta":
        return "conda"
    if library.via in ("wheel", "torch-bundled"):
        return "pip"
    # A conda environment's lib folder on LD_LIBRARY_PATH is still conda's copy.
    if "/conda-meta" not in library.path and (
        "/site-packages/nvidia/" in library.path or "/site-packages/torch/" in library.path
    ):
        return "pip"
    return "system"


def identify_libraries(host: Host, raw: Iterable[RawLibrary]) -> tuple[CudaLibrary, ...]:
    """One entry per real file: symlinks to the same file merge, different files do not."""
    merged: dict[str, CudaLibrary] = {}
    for library in raw:
        real = host.fs.resolve(library.path) if host.fs.exists(library.path) else library.path
        identity = identify_cuda_library(posixpath.basename(real)) or identify_cuda_library(
            posixpath.basename(library.path)
        )
        if identity is None:
            continue
        name, file_version = identity
        via = library.via
        existing = merged.get(real)
        if existing is not None:
            if via not in existing.found_via:
                merged[real] = CudaLibrary(
                    name=existing.name,
                    version=existing.version,
                    path=existing.path,
                    origin=existing.origin,
                    found_via=(*existing.found_via, via),
                    distribution=existing.distribution,
                )
            continue
        # A wheel's file name carries only the major version (libcudnn.so.9); its
        # distribution's version is the precise one.
        version = file_version
        if library.distribution_version and library.distribution not in (None, "torch") and (
            file_version is None or library.distribution_version.startswith(file_version)
        ):
            version = library.distribution_version
        merged[real] = CudaLibrary(
            name=name,
            version=version,
            path=real,
            origin=_origin(library),
            found_via=(via,),
            distribution=library.distribution,
        )
    return tuple(sorted(merged.values(), key=lambda lib: (lib.name, lib.origin, lib.path)))
