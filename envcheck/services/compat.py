"""`envcheck compat`: the knowledge tables, queryable. Pure functions to JSON-ready dicts."""

from __future__ import annotations

from typing import Any

from packaging.version import InvalidVersion, Version

from envcheck.errors import UsageError
from envcheck.knowledge.cuda_tables import (
    cuda_releases,
    driver_runs_cuda,
    min_driver_for_cuda,
    minor_compat_floor,
    newest_cuda_for_driver,
)
from envcheck.knowledge.gpu_tables import find_gpu
from envcheck.knowledge.torch_tables import cuda_from_local_label, find_release, torch_releases
from envcheck.rules.facts import arch_covers
from envcheck.snapshot import DriverVersion


def _cuda_version(text: str) -> Version:
    """12.4, 12.4.1 or a variant name (cu124) -> 12.4."""
    spec = text.strip()
    labelled = cuda_from_local_label(spec)
    if labelled is not None:
        spec = str(labelled)
    try:
        version = Version(spec)
    except InvalidVersion as e:
        raise UsageError(f"{text!r} is not a CUDA version", hint="For example: 12.4") from e
    return Version(".".join(str(p) for p in (*version.release, 0)[:2]))


def compat_cuda(text: str) -> dict[str, Any]:
    cuda = _cuda_version(text)
    linux = min_driver_for_cuda(cuda, "linux")
    if linux is None:
        known = ", ".join(str(r.cuda) for r in cuda_releases())
        raise UsageError(f"CUDA {cuda} is not in envcheck's driver table",
                         hint=f"Known releases: {known}.")
    return {
        "cuda": str(cuda),
        "min_driver": {"linux": linux, "windows": min_driver_for_cuda(cuda, "windows")},
        "minor_compat_min_driver": {
            "linux": minor_compat_floor(cuda.major, "linux"),
            "windows": minor_compat_floor(cuda.major, "windows"),
        },
    }


def compat_driver(text: str) -> dict[str, Any]:
    try:
        driver = DriverVersion(text.strip())
    except ValueError as e:
        raise UsageError(f"{text!r} is not an NVIDIA driver version",
                         hint="For example: 535.104.05") from e
    torch = []
    for release in reversed(torch_releases()):
        runs = [v.name for v in release.variants
                if v.cuda is None or driver_runs_cuda(driver, v.cuda) in ("yes", "minor-compat")]
        torch.append({"torch": str(release.version), "variants": runs})
    newest = newest_cuda_for_driver(driver)
    return {"driver": driver, "newest_cuda": str(newest) if newest else None, "torch": torch}


def compat_gpu(name: str) -> dict[str, Any]:
    model = find_gpu(name)
    if model is None:
        raise UsageError(f"no GPU called {name!r} in envcheck's table",
                         hint="Use the name nvidia-smi prints, e.g. \"RTX 4090\" or "
                              "\"A100-SXM4-80GB\".")
    torch = []
    for release in reversed(torch_releases()):
        covering = [v.name for v in release.variants
                    if v.cuda is not None and arch_covers(v.arch_list, model.compute_capability)]
        torch.append({"torch": str(release.version), "variants": covering})
    return {
        "name": model.name,
        "compute_capability": model.compute_capability,
        "architecture": model.architecture,
        "segment": model.segment,
        "memory_gib": model.memory_gib,
        "torch": torch,
    }


def compat_torch(text: str) -> dict[str, Any]:
    try:
        version = Version(text.strip().removeprefix("torch==").removeprefix("torch"))
    except InvalidVersion as e:
        raise UsageError(f"{text!r} is not a torch version", hint="For example: 2.5.1") from e
    release = find_release(version)
    if release is None:
        known = ", ".join(str(r.version) for r in torch_releases()[-6:])
        raise UsageError(f"torch {version} is not in envcheck's knowledge",
                         hint=f"Newest known: {known}.")
    return {
        "torch": str(release.version),
        "cuda_variants": [v.name for v in release.variants],
        "pypi_default": release.pypi_default,
        "python": list(release.python),
        "torchvision": str(release.torchvision) if release.torchvision else None,
        "torchaudio": str(release.torchaudio) if release.torchaudio else None,
        "manylinux_glibc": str(release.manylinux_glibc) if release.manylinux_glibc else None,
        "cudnn": {v.name: str(v.cudnn) for v in release.variants if v.cudnn},
        "arch_list": {v.name: list(v.arch_list) for v in release.variants if v.cuda},
    }
