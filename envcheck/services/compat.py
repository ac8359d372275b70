"""`envcheck compat`: the knowledge tables, queryable. Pure functions to JSON-ready dicts.

Unknown stays unknown: a fact the tables lack is None with a status saying why ("bounded":
the arch list was not read, only its toolkit's newest target is known), never an empty list
that reads as "no code" or the text "None".
"""

from __future__ import annotations

from typing import Any, Literal

from packaging.version import InvalidVersion, Version

from envcheck.errors import UsageError
from envcheck.knowledge.cuda_tables import (
    cuda_releases,
    driver_runs_cuda,
    min_driver_for_cuda,
    minor_compat_floor,
    newest_cuda_for_driver,
    newest_toolkit_for_driver,
    toolkit_release,
    toolkit_updates,
)
from envcheck.knowledge.gpu_tables import find_gpu
from envcheck.knowledge.model import ToolkitRelease, TorchVariant
from envcheck.knowledge.nvcc_targets import dropped_by, nvcc_reach, targets_for
from envcheck.knowledge.torch_tables import cuda_from_local_label, find_release, torch_releases
from envcheck.rules.facts import arch_covers, newest_runnable_build
from envcheck.snapshot import DriverVersion

CoverStatus = Literal["has-code", "ptx-only", "no-code", "cannot-have-code", "unknown"]


def _cuda_version(text: str) -> Version:
    """12.4, 12.4.1 or a variant name (cu124)."""
    spec = text.strip()
    labelled = cuda_from_local_label(spec)
    if labelled is not None:
        spec = str(labelled)
    try:
        version = Version(spec)
    except InvalidVersion as e:
        raise UsageError(f"{text!r} is not a CUDA version",
                         hint="For example: 12.4, 12.2.2 or cu124") from e
    if len(version.release) > 3 or version.local or version.pre or version.post:
        raise UsageError(f"{text!r} is not a CUDA version",
                         hint="For example: 12.4, 12.2.2 or cu124")
    return version


def _minimums(linux: DriverVersion | None, windows: DriverVersion | None) -> dict[str, Any]:
    return {"linux": linux, "windows": windows}


def _update_row(row: ToolkitRelease) -> dict[str, Any]:
    return {"release": str(row.release), "label": row.label,
            "min_driver": _minimums(row.min_linux, row.min_windows), "source": row.source}


def _nvcc_targets(cuda: Version) -> dict[str, Any] | None:
    targets = targets_for(cuda)
    if targets is None:
        return None
    return {"sm": list(targets.arch_names), "lowest": f"sm_{targets.lowest}",
            "highest": f"sm_{targets.highest}",
            "dropped": [f"sm_{n}" for n in dropped_by(cuda)]}


def compat_cuda(text: str) -> dict[str, Any]:
    """A CUDA release's driver minimums. "12.2" answers the GA row and lists its updates
    (which may need more); "12.2.2" answers that update's own row."""
    version = _cuda_version(text)
    minor = Version(".".join(str(p) for p in (*version.release, 0)[:2]))
    ga_linux = min_driver_for_cuda(minor, "linux")
    if ga_linux is None:
        known = ", ".join(str(r.cuda) for r in cuda_releases())
        raise UsageError(f"CUDA {minor} is not in envcheck's driver table",
                         hint=f"Known releases: {known}.")
    updates = toolkit_updates(minor)
    asked_update = len(version.release) == 3
    if asked_update:
        row = toolkit_release(version)
        if row is None:
            listed = ", ".join(f"{r.release} ({r.label})" for r in updates) or "none"
            raise UsageError(
                f"CUDA {version} is not in NVIDIA's driver table",
                hint=f"For CUDA {minor} the table lists: {listed}. `envcheck compat cuda "
                     f"{minor}` gives the GA minimum.")
        release: str | None = str(row.release)
        label = row.label
        minimums = _minimums(row.min_linux, row.min_windows)
    else:
        ga = next((r for r in updates if r.update == 0), None)
        release = str(ga.release) if ga else None
        label = ga.label if ga else f"CUDA {minor} GA"
        minimums = _minimums(ga_linux, min_driver_for_cuda(minor, "windows"))
    ga_minimums = (minimums["linux"], minimums["windows"])
    differ = [r for r in updates if (r.min_linux, r.min_windows) != ga_minimums]
    return {
        "cuda": str(minor),
        "release": release,
        "label": label,
        "min_driver": minimums,
        "minor_compat_min_driver": _minimums(minor_compat_floor(minor.major, "linux"),
                                             minor_compat_floor(minor.major, "windows")),
        "updates": [_update_row(r) for r in updates],
        "updates_differ": bool(differ) and not asked_update,
        "nvcc_targets": _nvcc_targets(minor),
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
    toolkit = newest_toolkit_for_driver(driver)
    build = newest_runnable_build(driver=driver)
    return {
        "driver": driver,
        "newest_cuda": str(newest) if newest else None,
        "newest_toolkit": None if toolkit is None else {
            "release": str(toolkit.release), "label": toolkit.label},
        "newest_build": None if build is None else {
            "torch": str(build[0].version), "variant": build[1].name},
        "torch": torch,
    }


def _cover(variant: TorchVariant, capability: str) -> CoverStatus:
    """Whether one CUDA variant has code for a GPU, and how sure that is."""
    if variant.arch_list:
        if arch_covers(tuple(a for a in variant.arch_list if a.startswith("sm_")), capability):
            return "has-code"
        return "ptx-only" if arch_covers(variant.arch_list, capability) else "no-code"
    targets = targets_for(variant.cuda) if variant.cuda is not None else None
    if targets is not None and nvcc_reach(targets, capability) != "machine-code":
        return "cannot-have-code"
    return "unknown"


def compat_gpu(name: str) -> dict[str, Any]:
    model = find_gpu(name)
    if model is None:
        raise UsageError(f"no GPU called {name!r} in envcheck's table",
                         hint="Use the name nvidia-smi prints, e.g. \"RTX 4090\" or "
                              "\"A100-SXM4-80GB\".")
    torch = []
    for release in reversed(torch_releases()):
        variants = [{"variant": v.name, "status": _cover(v, model.compute_capability),
                     "arch_source": v.arch_source}
                    for v in release.variants if v.cuda is not None]
        torch.append({"torch": str(release.version), "variants": variants})
    return {
        "name": model.name,
        "compute_capability": model.compute_capability,
        "architecture": model.architecture,
        "segment": model.segment,
        "memory_gib": model.memory_gib,
        "torch": torch,
    }


def _arch_entry(variant: TorchVariant) -> dict[str, Any]:
    if variant.arch_list:
        return {"status": variant.arch_source, "arch_list": list(variant.arch_list)}
    bound = targets_for(variant.cuda) if variant.cuda is not None else None
    return {"status": "bounded" if bound else "unknown", "arch_list": None,
            "at_most": f"sm_{bound.highest}" if bound else None}


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
        "cudnn": {v.name: str(v.cudnn) if v.cudnn else None
                  for v in release.variants if v.cuda},
        "nccl": {v.name: str(v.nccl) if v.nccl else None for v in release.variants if v.cuda},
        "arch_list": {v.name: _arch_entry(v) for v in release.variants if v.cuda},
    }
