"""GPUs older than a build's lowest architecture: tools with their own CUDA kernels (ollama,
vLLM, RAPIDS), and torch builds whose arch list envcheck does not record (releases before
1.13), bounded below by a maintainer's statement or by what their CUDA toolkit compiles for.

torch covering a GPU does not mean vLLM does; a torch 1.2 cu100 build has no code for a
compute capability 1.2 GPU, whatever its arch list, because nvcc 10.0 compiles for sm_30 at
the lowest and machine code never runs on an older GPU."""

from __future__ import annotations

from collections.abc import Iterator

from packaging.version import Version

from envcheck.findings import Finding
from envcheck.knowledge.gpu_floors import cited_urls, floor_for, legacy_torch, tool_names
from envcheck.knowledge.model import TorchVariant
from envcheck.knowledge.nvcc_targets import capability_number, nvcc_reach, targets_for
from envcheck.knowledge.torch_tables import torch_releases
from envcheck.rules.context import Thresholds
from envcheck.rules.facts import arch_covers, gpu_capability, install_command, torch_build
from envcheck.rules.registry import Rule
from envcheck.snapshot import Gpu, Package, Snapshot
from envcheck.versions import version_or_none


def _tools(snapshot: Snapshot) -> list[Package]:
    names = tool_names()
    return [p for p in snapshot.packages if p.name.lower().replace("_", "-") in names]


def _under_wsl(snapshot: Snapshot) -> bool:
    """WSL2 as a probe saw it, or as the report names the OS ("WSL2 Ubuntu 20.04")."""
    return snapshot.system.wsl is True or "wsl" in (snapshot.system.os or "").lower()


def _below(capability: str, floor: str) -> bool:
    number, lowest = capability_number(capability), capability_number(floor)
    return number is not None and lowest is not None and number < lowest


def _sm(capability: str) -> str:
    return "sm_" + capability.replace(".", "")


def check_tool_floors(snapshot: Snapshot, _t: Thresholds) -> Iterator[Finding]:
    for package in _tools(snapshot):
        version = version_or_none(package.version)
        floor = floor_for(package.name, version, wsl=_under_wsl(snapshot))
        if floor is None:
            continue
        release = f"{package.name} {package.version}" if version else package.name
        for gpu in snapshot.gpus:
            capability = gpu_capability(gpu)
            if capability is None or not _below(capability, floor.min_capability):
                continue
            stated = (f"releases {floor.versions}" if floor.versions is not None
                      else "its documentation") + (" under WSL2" if floor.wsl_only else "")
            yield Finding(
                id="gpu-below-tool-floor", category="arch_not_in_wheel", severity="error",
                summary=f"GPU {gpu.index} ({gpu.name}, compute capability {capability}) is "
                        f"older than {release} supports: its CUDA builds need compute "
                        f"capability {floor.min_capability} or newer ({stated})",
                explanation=f"{package.name} ships its own CUDA kernels, built for compute "
                            f"capability {floor.min_capability} and newer; on an older GPU it "
                            "finds no kernel image, fails, or falls back to the CPU, whatever "
                            "torch's own build covers. (Sources: "
                            f"{cited_urls(floor.sources)}.)",
                fix=f"use a GPU of compute capability {floor.min_capability} or newer for "
                    f"{package.name}, or build {package.name} from source for "
                    f"{_sm(capability)}",
                evidence={"gpu": gpu.name, "compute_capability": capability,
                          "package": package.name, "version": package.version,
                          "min_capability": floor.min_capability,
                          "outranks": "driver_too_old"})


def _knows_tool_floors(snapshot: Snapshot) -> bool:
    """Nothing to check without such a tool; with one, every GPU's capability is needed."""
    tools = _tools(snapshot)
    return not tools or (bool(snapshot.gpus)
                         and all(gpu_capability(g) for g in snapshot.gpus))


def _torch_floor(snapshot: Snapshot) -> tuple[str, str] | None:
    """(lowest compute capability, why) of a torch build whose arch list is not recorded."""
    build = torch_build(snapshot)
    torch = snapshot.torch
    if build is None or build.arch_list or build.release is not None or torch.cuda is None:
        return None
    legacy = legacy_torch(build.version)
    if legacy is not None and legacy.min_capability is not None:
        cited = cited_urls(legacy.sources)
        return legacy.min_capability, (f"torch {build.version}'s binaries start at "
                                       f"{_sm(legacy.min_capability)} ({cited})")
    targets = targets_for(torch.cuda)
    if targets is None:
        return None
    lowest = f"{targets.lowest // 10}.{targets.lowest % 10}"
    cuda = f"{torch.cuda.major}.{torch.cuda.minor}"
    return lowest, f"nvcc {cuda}, which built it, compiles for sm_{targets.lowest} at the lowest"


def check_torch_floor(snapshot: Snapshot, _t: Thresholds) -> Iterator[Finding]:
    floor = _torch_floor(snapshot)
    if floor is None:
        return
    lowest, why = floor
    for gpu in snapshot.gpus:
        capability = gpu_capability(gpu)
        if capability is None or not _below(capability, lowest):
            continue
        yield _torch_floor_finding(snapshot, gpu, capability, lowest, why)


def _torch_floor_finding(snapshot: Snapshot, gpu: Gpu, capability: str, lowest: str,
                         why: str) -> Finding:
    torch = snapshot.torch
    version = torch.version or Version("0")
    return Finding(
        id="gpu-below-torch-build-floor", category="arch_not_in_wheel", severity="error",
        summary=f"GPU {gpu.index} ({gpu.name}, {_sm(capability)}) is older than any "
                f"architecture torch {version} carries: {why}",
        explanation="Machine code runs only on its own architecture major and later minors, "
                    "and PTX only on the same or newer GPUs, so a build whose lowest target "
                    "is newer than the GPU has no kernel it can run: CUDA reports 'no kernel "
                    "image is available for execution on the device', or torch calls the "
                    "GPU too old. A newer driver does not change that.",
        fix=f"use a GPU of compute capability {lowest} or newer, or build torch from source "
            f"with TORCH_CUDA_ARCH_LIST={capability} and a CUDA toolkit that still targets it",
        # No driver gives the GPU code the build lacks: the driver's fix alone is moot.
        evidence={"gpu": gpu.name, "compute_capability": capability,
                  "torch": str(version), "lowest": lowest, "outranks": "driver_too_old"})


def _knows_torch_floor(snapshot: Snapshot) -> bool:
    return _torch_floor(snapshot) is None or (
        bool(snapshot.gpus) and all(gpu_capability(g) for g in snapshot.gpus))


def _carries_code(variant: TorchVariant, capability: str) -> bool:
    """Machine code for the GPU in this build: its recorded arch list, else what its CUDA
    toolkit compiles for (a bound: the build has at most that)."""
    if variant.cuda is None:
        return False
    if variant.arch_list:
        return arch_covers(tuple(a for a in variant.arch_list if a.startswith("sm_")),
                           capability)
    targets = targets_for(variant.cuda)
    return targets is not None and nvcc_reach(targets, capability) == "machine-code"


def check_torch_for_gpu(snapshot: Snapshot, _t: Thresholds) -> Iterator[Finding]:
    """torch is not in the report, and only the newest few torch releases have a build with
    code for the GPU: a risk to name (an RTX 5070 needs a CUDA 12.8 build, torch 2.7 or
    later)."""
    # Only a pasted report that leaves torch out: on a machine, torch not installed is a plan
    # for later, which `doctor --plan` judges with the build it names.
    if snapshot.source != "report" or snapshot.torch.status != "unknown":
        return
    releases = torch_releases()
    for gpu in snapshot.gpus:
        capability = gpu_capability(gpu)
        if capability is None:
            continue
        covering = [(r, v) for r in releases for v in r.variants if _carries_code(v, capability)]
        with_code = {r.version for r, _ in covering}
        newest = {r.version for r in releases[len(releases) - len(with_code):]}
        if not with_code or with_code != newest or 2 * len(with_code) > len(releases):
            # Only a GPU newer than most releases' builds (a new generation: the releases with
            # code for it are the newest few) is worth naming without torch's build; a GPU that
            # older releases cover (a V100 the newest CUDA 13 builds dropped) is not a risk
            # the report points at.
            continue
        sm = _sm(capability)
        first, last = covering[0], covering[-1]
        where = (f"only torch {first[0].version}+{first[1].name} and newer builds carry "
                 f"machine code for it ({len(with_code)} of the {len(releases)} releases "
                 "envcheck knows)")
        cuda = last[1].cuda
        fix = install_command(*last, note=f"its CUDA {cuda} build needs a driver for CUDA "
                                          f"{cuda} or newer; `envcheck compat gpu` lists every "
                                          "build for this GPU")
        yield Finding(
            id="gpu-needs-a-torch-build-for-it", category="arch_not_in_wheel",
            severity="warning",
            summary=f"GPU {gpu.index} ({gpu.name}, {sm}) is newer than most torch builds: "
                    f"{where}, and torch's build is not in the report",
            explanation="A torch build without machine code (or usable PTX) for the GPU's "
                        "architecture fails every kernel with 'no kernel image is available "
                        "for execution on the device'. torch.__version__ and "
                        "torch.cuda.get_arch_list() on the machine decide it.",
            fix=fix,
            evidence={"gpu": gpu.name, "compute_capability": capability,
                      "releases_with_code": str(len(with_code))})


RULES = (
    Rule(id="tool-supports-gpu", category="arch_not_in_wheel", check=check_tool_floors,
         knows=_knows_tool_floors,
         needs="each GPU's compute capability and the GPU floor of ollama/vLLM/RAPIDS"),
    Rule(id="torch-build-floor", category="arch_not_in_wheel", check=check_torch_floor,
         knows=_knows_torch_floor,
         needs="each GPU's compute capability and the lowest architecture of torch's build"),
    # A risk, never a decision: torch unknown leaves gpu-arch-in-build undecided anyway.
    Rule(id="torch-exists-for-gpu", category="arch_not_in_wheel", check=check_torch_for_gpu,
         knows=lambda _s: True, needs="each GPU's compute capability"),
)
