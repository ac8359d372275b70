"""Facts the rules share: what the Snapshot says, completed from the knowledge tables.

A Snapshot read from files may lack the arch list (a source build) or a GPU's compute
capability (nvidia-smi never prints it); the tables fill those in when the build or the
GPU is a known one, and say so, so that no rule guesses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from packaging.version import Version

from envcheck.knowledge.cuda_tables import driver_runs_cuda
from envcheck.knowledge.gpu_tables import find_gpu
from envcheck.knowledge.model import TorchRelease, TorchVariant
from envcheck.knowledge.nvcc_targets import NvccTargets, nvcc_reach, targets_for
from envcheck.knowledge.torch_tables import find_release, find_variant, torch_releases
from envcheck.snapshot import DriverVersion, Gpu, Package, Snapshot

DriverPlatform = Literal["linux", "windows"]
_ARCH = re.compile(r"(sm|compute)_(\d+)([a-z]?)")


def driver_platform(snapshot: Snapshot) -> DriverPlatform:
    """WSL reports the Windows driver, so its minimums apply there too."""
    os_name = (snapshot.system.os or "").lower()
    if snapshot.system.wsl or "windows" in os_name:
        return "windows"
    return "linux"


def public_version(version: Version) -> Version:
    return Version(version.public)


@dataclass(frozen=True, kw_only=True)
class TorchBuild:
    """torch as the rules see it: the Snapshot's facts plus the tables' where missing."""

    version: Version
    cuda: Version | None
    arch_list: tuple[str, ...]
    arch_source: Literal["measured", "derived", "knowledge", "bounded", "unknown"]
    """"bounded": the list is not recorded, but the toolkit of the build (`arch_bound`) caps
    what it can contain."""
    release: TorchRelease | None
    variant: TorchVariant | None
    arch_bound: NvccTargets | None = None
    """For a "bounded" build, what its CUDA toolkit's nvcc compiles for."""


def torch_build(snapshot: Snapshot) -> TorchBuild | None:
    torch = snapshot.torch
    if torch.status != "ok" or torch.version is None:
        return None
    found = find_variant(torch.version)
    release = found[0] if found else find_release(torch.version)
    variant = found[1] if found else None
    if variant is not None and torch.cuda is not None and variant.cuda != _minor(torch.cuda):
        # The local label and the CUDA build disagree (a custom build): trust the build.
        variant = None
    arch_list: tuple[str, ...] = torch.arch_list
    source: Literal["measured", "derived", "knowledge", "bounded", "unknown"]
    bound = None
    if arch_list:
        source = "measured" if torch.provenance.get("arch_list") == "measured" else "derived"
    elif variant is not None and variant.arch_list:
        arch_list, source = variant.arch_list, "knowledge"
    elif (variant is not None and variant.arch_source == "bounded" and variant.cuda is not None
          and (bound := targets_for(variant.cuda)) is not None):
        source = "bounded"
    else:
        source = "unknown"
    return TorchBuild(version=torch.version, cuda=torch.cuda, arch_list=arch_list,
                      arch_source=source, release=release, variant=variant, arch_bound=bound)


def _minor(version: Version) -> Version:
    return Version(".".join(str(p) for p in version.release[:2]))


def gpu_capability(gpu: Gpu) -> str | None:
    """The GPU's compute capability, measured or from the GPU table by name."""
    if gpu.compute_capability:
        return gpu.compute_capability
    model = find_gpu(gpu.name)
    return model.compute_capability if model else None


def _parse_arch(entry: str) -> tuple[str, int, int, str] | None:
    match = _ARCH.fullmatch(entry)
    if match is None:
        return None
    major, minor = divmod(int(match.group(2)), 10)
    return match.group(1), major, minor, match.group(3)


def arch_covers(arch_list: tuple[str, ...], capability: str) -> bool:
    """Can a build with these GPU binaries run on a GPU of this compute capability?

    Machine code for sm_XY runs on the same major with a minor >= Y; arch-specific code
    (sm_90a) only on its own GPU; PTX for compute_XY is JIT-compiled for any newer GPU.
    Source: CUDA C++ Programming Guide, "Binary Compatibility" and "PTX Compatibility".
    """
    try:
        major_text, minor_text = capability.split(".")
        major, minor = int(major_text), int(minor_text)
    except ValueError:
        return False
    for entry in arch_list:
        parsed = _parse_arch(entry)
        if parsed is None:
            continue
        kind, a_major, a_minor, suffix = parsed
        if kind == "sm":
            if suffix:
                if (a_major, a_minor) == (major, minor):
                    return True
            elif a_major == major and a_minor <= minor:
                return True
        elif (a_major, a_minor) <= (major, minor):
            return True
    return False


def arch_span(arch_list: tuple[str, ...]) -> str:
    """A short description: `sm_50 … sm_90 (+PTX compute_90)`."""
    machine = [a for a in arch_list if a.startswith("sm_")]
    ptx = [a for a in arch_list if a.startswith("compute_")]
    text = " ".join(machine) if len(machine) <= 6 else f"{machine[0]} … {machine[-1]}"
    if ptx:
        text += f" (+PTX {' '.join(ptx)})"
    return text or "none"


def python_minor(snapshot: Snapshot) -> str | None:
    version = snapshot.python.version
    if version is None:
        return None
    return f"{version.major}.{version.minor}"


def package(snapshot: Snapshot, name: str) -> Package | None:
    wanted = name.lower().replace("_", "-")
    return next(
        (p for p in snapshot.packages if p.name.lower().replace("_", "-") == wanted), None
    )


def build_runs(release: TorchRelease, variant: TorchVariant, *, driver: DriverVersion | None,
               platform: DriverPlatform, capabilities: tuple[str | None, ...],
               python: str | None) -> bool:
    """Would this build run with this driver, on GPUs of these compute capabilities, under
    this Python minor? `driver` None means no usable driver (CPU builds only); no
    capabilities means no GPU to check; a GPU of unknown capability cannot be verified.

    A recorded arch list must cover every GPU. An unrecorded ("bounded") one is accepted when
    its CUDA toolkit produces machine code for every GPU; one whose toolkit's targets are
    unknown too is not accepted while there is a GPU to check."""
    if python is not None and release.python and python not in release.python:
        return False
    if variant.cuda is None:
        return True
    if driver is None:
        return False
    if driver_runs_cuda(driver, variant.cuda, platform) not in ("yes", "minor-compat"):
        return False
    targets = None if variant.arch_list else targets_for(variant.cuda)
    for capability in capabilities:
        if capability is None:
            return False
        if variant.arch_list:
            if not arch_covers(variant.arch_list, capability):
                return False
        elif targets is None or nvcc_reach(targets, capability) != "machine-code":
            return False
    return True


def newest_runnable_build(*, driver: DriverVersion | None, platform: DriverPlatform = "linux",
                          capabilities: tuple[str | None, ...] = (), python: str | None = None,
                          prefer: TorchRelease | tuple[TorchRelease, ...] | None = None
                          ) -> tuple[TorchRelease, TorchVariant] | None:
    """The one answer to "which CUDA build of torch runs here": the newest CUDA variant that
    runs of the preferred release(s), tried in the order given, else of the newest release
    that has one. The doctor's fixes, lock gating and `envcheck compat driver` all ask this."""
    preferred = () if prefer is None else (prefer,) if isinstance(prefer, TorchRelease) else prefer
    first = {r.version for r in preferred}
    releases = [*preferred, *(r for r in reversed(torch_releases()) if r.version not in first)]
    for release in releases:
        for variant in _cuda_variants_newest_first(release):
            if build_runs(release, variant, driver=driver, platform=platform,
                          capabilities=capabilities, python=python):
                return release, variant
    return None


def _driver_here(snapshot: Snapshot) -> DriverVersion | None:
    driver = snapshot.driver
    return driver.version if driver.status == "ok" else None


def variant_ok_here(snapshot: Snapshot, release: TorchRelease, variant: TorchVariant) -> bool:
    """Would this build run on this machine: driver, every GPU, the Python?"""
    return build_runs(release, variant, driver=_driver_here(snapshot),
                      platform=driver_platform(snapshot),
                      capabilities=tuple(gpu_capability(g) for g in snapshot.gpus),
                      python=python_minor(snapshot))


def _cuda_variants_newest_first(release: TorchRelease) -> Iterator[TorchVariant]:
    cuda_variants = [v for v in release.variants if v.cuda is not None]
    yield from sorted(cuda_variants, key=lambda v: v.cuda or Version("0"), reverse=True)


def recommend_cuda_build(
    snapshot: Snapshot, prefer: TorchRelease | None = None
) -> tuple[TorchRelease, TorchVariant] | None:
    """The CUDA build of torch to install here (see newest_runnable_build)."""
    return newest_runnable_build(driver=_driver_here(snapshot),
                                 platform=driver_platform(snapshot),
                                 capabilities=tuple(gpu_capability(g) for g in snapshot.gpus),
                                 python=python_minor(snapshot), prefer=prefer)


def install_command(release: TorchRelease, variant: TorchVariant, note: str | None = None
                    ) -> str:
    """pip's command for one build, from PyTorch's own index for that variant.

    Always the variant's index, even for PyPI's default build: an `--extra-index-url` for
    another variant in the user's pip configuration would otherwise win (a local version
    such as +cpu sorts above the plain one)."""
    pins = " ".join(f"{name}=={version}" for name, version in (
        ("torch", release.version), ("torchvision", release.torchvision),
        ("torchaudio", release.torchaudio)) if version is not None)
    command = f"pip install {pins} --index-url https://download.pytorch.org/whl/{variant.name}"
    notes = [note] if note else []
    if variant.cuda is not None and not variant.arch_list:
        notes.append("its arch list is not recorded, only bounded by its CUDA toolkit: check "
                     "torch.cuda.get_arch_list() after installing")
    return f"{command}   # {'; '.join(notes)}" if notes else command
