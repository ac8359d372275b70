"""Fold the line-level facts (envcheck.reports.line_facts) into the Snapshot's records.

The blocks of a report (collect_env, nvidia-smi, package lists) stay the first authority; a
line fact fills what they leave unknown, in this order of evidence:

- torch: collect_env, then what torch printed while running (REPL output, its warnings:
  provenance "measured"), then package lists and pip's log, then a wheel file named outside
  pip's progress lines, then an install command, then a build label written in a log line or
  the issue template (all "derived"). torch's messages also add what collect_env never shows:
  the measured arch list, the CUDA version a build script read from torch.
- Within one kind of evidence the last one in the paste wins: reports are written in time
  order, and a later line is the state after an upgrade or a reinstall.
- The driver: an NVML error nvidia-smi printed is the driver's state; /proc gives the kernel
  module; the driver's Debian packages give the user-space version when no tool output does;
  torch's "found version 11040" gives the CUDA API version.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TypeVar

from packaging.version import Version

from envcheck.knowledge.torch_tables import cuda_from_local_label
from envcheck.reports.install_logs import debian_version
from envcheck.reports.line_facts import LineFacts, ReportedGpu, WheelFile
from envcheck.reports.package_lists import normalize_name
from envcheck.reports.segments import SegmentKind
from envcheck.snapshot import (
    CudaLibrary,
    Driver,
    DriverVersion,
    Gpu,
    LibraryFoundVia,
    Package,
    Provenance,
    PythonEnv,
    System,
    Toolkit,
    Torch,
)
from envcheck.versions import version_or_none

_T = TypeVar("_T")

# Install commands: what was asked for, the weakest evidence of what is installed.
_COMMANDS: tuple[SegmentKind, ...] = ("pip-command", "conda-command")
# Lines where torch (or a tool importing it) printed its own version: measured.
MEASURED_TORCH: tuple[SegmentKind, ...] = ("torch-repl", "torch-message", "banner")

# The driver's user-space packages in Debian and Ubuntu (their version is the libcuda /
# libnvidia-ml version that "Driver/library version mismatch" compares with the module).
_DRIVER_DEBS = (
    "nvidia-smi", "nvidia-utils", "nvidia-driver", "libnvidia-compute", "libnvidia-common",
    "libnvidia-gl", "nvidia-compute-utils", "libcuda", "libnvidia-ml",
)
_LIBRARY_DEBS = (("libcudnn", "cudnn"), ("libnccl", "nccl"))
# torch/backends/cudnn/__init__.py blames LD_LIBRARY_PATH for a foreign cuDNN when it holds
# either word; the same test attributes the runtime cuDNN to it here.
_CUDA_PATH_WORDS = ("cuda", "cudnn")


@dataclass(frozen=True)
class LineEvidence:
    """The line facts of one report, in paste order."""

    items: tuple[tuple[SegmentKind, LineFacts], ...]

    def values(self, kinds: Iterable[SegmentKind],
               get: Callable[[LineFacts], _T | None]) -> list[_T]:
        wanted = set(kinds)
        found = [get(facts) for kind, facts in self.items if kind in wanted]
        return [value for value in found if value is not None]

    def last(self, kinds: Iterable[SegmentKind],
             get: Callable[[LineFacts], _T | None]) -> _T | None:
        found = self.values(kinds, get)
        return found[-1] if found else None

    @property
    def ld_library_path(self) -> str | None:
        return self.last(("ld-library-path",), lambda f: f.ld_library_path)


def installed_packages(evidence: LineEvidence) -> list[Package]:
    """What pip's log and `pip show` say is installed at the end of the paste."""
    installed: dict[str, Package] = {}
    for kind, facts in evidence.items:
        if kind in ("pip-grep", "prose", "package-mention"):
            # prose lists torch's companions and CUDA packages ("- torchvision: 0.17.1")
            for package in facts.listed:
                installed[normalize_name(package.name)] = package
        if kind not in ("pip-log", "pip-show"):
            continue
        for package in facts.installed:
            installed[normalize_name(package.name)] = package
        for name in facts.uninstalled:
            installed.pop(normalize_name(name), None)
    return list(installed.values())


def merge_torch(torch: Torch, evidence: LineEvidence, *, from_collect_env: bool) -> Torch:
    if torch.status == "absent":
        return torch
    measured_version = evidence.last(MEASURED_TORCH, lambda f: f.torch_version)
    if torch.status == "unknown" or (not from_collect_env and measured_version is not None):
        torch = _torch_from_lines(evidence, measured_version) or torch
    return _with_prose_cuda(_with_measurements(torch, evidence), evidence)


def _with_prose_cuda(torch: Torch, evidence: LineEvidence) -> Torch:
    """"PyTorch 2.2.0 (compiled with CUDA 11.8)": torch's build, when nothing better says."""
    if torch.status != "ok" or torch.version is None or "cuda" in torch.provenance:
        return torch
    cuda = evidence.last(("prose",), lambda f: next(
        (m.version for m in reversed(f.cuda_mentions) if m.role == "torch"), None))
    if cuda is None:
        return torch
    return replace(torch, cuda=cuda, provenance={**torch.provenance, "cuda": "derived"},
                   detail=(torch.detail or "").replace(
                       "; torch's CUDA build is not in the report", "")
                   + "; its CUDA build as the text states it")


def merge_python(python: PythonEnv, evidence: LineEvidence) -> PythonEnv:
    platform = evidence.last(("python-banner",), lambda f: f.python_platform) or _wheel_platform(
        evidence)
    if python.status == "ok":
        return python if python.platform or platform is None else replace(python,
                                                                          platform=platform)
    candidates: tuple[tuple[SegmentKind, Callable[[LineFacts], Version | None], str], ...] = (
        ("python-banner", lambda f: f.python_version, "the Python banner"),
        ("banner", lambda f: f.python_version, "a tool's start-up banner"),
        ("issue-template", lambda f: f.python_version, "the issue template"),
        ("package-mention", lambda f: f.python_version, "the issue template"),
        ("prose", lambda f: f.python_version, "the text"),
    )
    for kind, get, what in candidates:
        version = evidence.last((kind,), get)
        if version is not None:
            return PythonEnv(status="ok", version=version, platform=platform,
                             detail=f"from the report: {what}")
    wheel_minor = _single(_wheel_python(wheel) for wheel in _wheels(evidence))
    if wheel_minor is not None:
        return PythonEnv(status="ok", version=wheel_minor, platform=platform,
                         detail="from the report: the tags of the wheels pip chose")
    path_minor = _single(evidence.values(("python-path",), lambda f: f.python_minor_from_path))
    if path_minor is not None:
        return PythonEnv(status="ok", version=path_minor, platform=platform,
                         detail="from the report: site-packages paths")
    return python


def merge_system(system: System, evidence: LineEvidence) -> System:
    os_name = system.os or evidence.last(("os-release", "issue-template"), lambda f: f.os) or (
        evidence.last(("prose-os", "package-mention"), lambda f: f.os))
    glibc = system.glibc or evidence.last(("glibc-version",), lambda f: f.glibc)
    env = dict(system.env)
    ld_library_path = evidence.ld_library_path
    if ld_library_path is not None and "LD_LIBRARY_PATH" not in env:
        env["LD_LIBRARY_PATH"] = ld_library_path
    for settings in evidence.values(("nccl-setting",), lambda f: f.nccl_env or None):
        env.update(settings)  # the later setting wins, as in the shell
    wsl = system.wsl
    if wsl is None and any("wsl" in named.lower() for named in evidence.values(
            ("os-release", "issue-template", "prose-os", "package-mention"), lambda f: f.os)):
        # "OS: Windows 11" then "inside WSL2": the run is on WSL's Linux, whichever OS line
        # is kept as the name.
        wsl = True
    return replace(system, os=os_name, glibc=glibc, env=env, wsl=wsl)


def merge_driver(driver: Driver, evidence: LineEvidence) -> Driver:
    module = evidence.last(("proc-driver-version",), lambda f: f.kernel_module_version)
    packaged = _driver_package_version(evidence)
    nvml = [facts for kind, facts in evidence.items if kind == "nvml-error"]
    if nvml:
        return Driver(status="error", source="report", detail=nvml[-1].nvml_detail,
                      error_code=nvml[-1].nvml_error_code,
                      version=driver.version or packaged or nvml[-1].driver_version,
                      cuda_driver_api=driver.cuda_driver_api,
                      kernel_module_version=(driver.kernel_module_version or module
                                             or nvml[-1].kernel_module_version))
    api = evidence.last(("torch-message",), lambda f: f.cuda_driver_api) or evidence.last(
        ("prose",), lambda f: next((m.version for m in reversed(f.cuda_mentions)
                                    if m.role == "driver"), None))
    written = evidence.last(("prose",), lambda f: f.driver_version)
    if driver.status == "unknown" and (packaged or api or written):
        what = ("the driver's packages" if packaged else
                "the driver version as the text states it" if written else
                "torch's message 'The NVIDIA driver on your system is too old'")
        driver = Driver(status="ok", source="report", version=packaged or written,
                        detail=f"from the report: {what}")
    if driver.status != "ok":
        return driver
    return replace(driver, cuda_driver_api=driver.cuda_driver_api or api,
                   kernel_module_version=driver.kernel_module_version or module)


def merge_gpus(gpus: tuple[Gpu, ...], evidence: LineEvidence) -> tuple[Gpu, ...]:
    merged = list(gpus)
    reported: list[ReportedGpu] = [
        gpu for kind, facts in evidence.items if kind != "prose-gpu" for gpu in facts.gpus]
    count = None
    if not merged and not reported:
        # A GPU named in the text counts only where no tool output names one: "V100" in a
        # sentence does not say which board nvidia-smi showed.
        reported = [gpu for kind, facts in evidence.items if kind == "prose-gpu"
                    for gpu in facts.gpus]
        count = evidence.last(("prose-gpu",), lambda f: f.gpu_count)
    names = {_gpu_key(gpu.name) for gpu in reported}
    if count and len(names) == 1 and len(reported) < count:
        # "2x A6000": as many GPUs as the count says, all of that model.
        reported = [replace(reported[0], index=None)] * count
    for gpu in reported:
        position = _matching_gpu(merged, gpu) if not count else None
        if position is None:
            taken = {g.index for g in merged}
            index = gpu.index if gpu.index is not None and gpu.index not in taken else (
                max(taken, default=-1) + 1)
            merged.append(Gpu(index=index, name=gpu.name,
                              compute_capability=gpu.compute_capability,
                              memory_total_mib=gpu.memory_mib))
        elif merged[position].compute_capability is None and gpu.compute_capability:
            merged[position] = replace(merged[position],
                                       compute_capability=gpu.compute_capability)
    return tuple(sorted(_completed_by_prose(merged, evidence), key=lambda g: g.index))


def _completed_by_prose(gpus: list[Gpu], evidence: LineEvidence) -> list[Gpu]:
    """A tool's GPU name cut short in the paste ("GPU 0: NVIDIA GeForce GTX") takes the full
    name the text gives for it ("GTX 1080 Ti") when that name starts the same way."""
    from envcheck.knowledge.gpu_tables import find_gpu

    written = [gpu for kind, facts in evidence.items if kind == "prose-gpu"
               for gpu in facts.gpus]
    completed = []
    for gpu in gpus:
        fuller: list[ReportedGpu] = []
        if gpu.compute_capability is None and written and find_gpu(gpu.name) is None:
            key = _gpu_key(gpu.name).removeprefix("geforce ")
            fuller = [w for w in written if key
                      and _gpu_key(w.name).removeprefix("geforce ").startswith(key)]
        if len({w.name for w in fuller}) == 1:
            completed.append(replace(gpu, name=fuller[0].name))
        else:
            completed.append(gpu)
    return completed


def merge_toolkits(toolkits: tuple[Toolkit, ...], evidence: LineEvidence) -> tuple[Toolkit, ...]:
    detected = evidence.last(("torch-message",), lambda f: f.detected_nvcc)
    what = ("the CUDA version torch.utils.cpp_extension detected (the nvcc of CUDA_HOME or "
            "PATH; path not given)")
    if detected is None and not toolkits:
        detected = evidence.last(("build-output", "prose", "package-mention"),
                                 lambda f: f.detected_nvcc or next(
            (m.version for m in reversed(f.cuda_mentions) if m.role == "toolkit"), None))
        what = "the toolkit as a path, a build log or the text names it (path not given)"
    if detected is None or any(t.nvcc_version is not None and t.nvcc_version.release[:2]
                               == detected.release[:2] for t in toolkits):
        return toolkits
    return (*toolkits, Toolkit(
        path="", nvcc_version=detected,
        detail=f"from the report: {what}"))


def merge_libraries(libraries: tuple[CudaLibrary, ...], evidence: LineEvidence,
                    torch: Torch, torch_from_pip: bool) -> tuple[CudaLibrary, ...]:
    merged = list(libraries)
    ld_dirs = ld_library_dirs(evidence.ld_library_path)
    for path in evidence.values(("loader-error",), lambda f: f.library_paths or None):
        merged.extend(library_at(p, ld_dirs) for p in path)
    for name, version in [pair for _, facts in evidence.items for pair in facts.deb_packages]:
        short = next((short for prefix, short in _LIBRARY_DEBS
                      if name.startswith(prefix) and not name.endswith("-dev")), None)
        upstream = debian_version(version)
        if short and upstream:
            merged.append(CudaLibrary(name=short, version=upstream, path="", origin="system",
                                      found_via=("report",), distribution=name))
    cudnn = [facts for kind, facts in evidence.items
             if kind == "torch-message" and facts.cudnn_runtime is not None]
    if cudnn and torch.status != "absent":
        compiled, runtime = cudnn[-1].cudnn_compiled, cudnn[-1].cudnn_runtime
        on_path = evidence.ld_library_path is not None and any(
            word in evidence.ld_library_path for word in _CUDA_PATH_WORDS)
        via: tuple[LibraryFoundVia, ...] = ("report", "LD_LIBRARY_PATH") if on_path else (
            "report",)
        merged.append(CudaLibrary(name="cudnn", version=str(runtime), path="",
                                  origin="system", found_via=via))
        if torch_from_pip and compiled is not None:
            merged.append(CudaLibrary(name="cudnn", version=str(compiled), path="",
                                      origin="pip", found_via=("torch-bundled",),
                                      distribution="torch"))
    return tuple(dict.fromkeys(merged))


def ld_library_dirs(value: str | None) -> frozenset[str]:
    if not value:
        return frozenset()
    return frozenset(posixpath.normpath(entry) for entry in value.split(":") if entry)


def library_at(path: str, ld_dirs: frozenset[str]) -> CudaLibrary:
    """A library file the report shows loaded (a loader error or ldd names it)."""
    from envcheck.parsers.ldconfig import identify_cuda_library

    identity = identify_cuda_library(path)
    name, version = identity if identity else (posixpath.basename(path), None)
    in_wheel = any(part in path for part in ("/site-packages/nvidia/", "/dist-packages/nvidia/"))
    via: tuple[LibraryFoundVia, ...] = ("report",)
    if posixpath.dirname(posixpath.normpath(path)) in ld_dirs and not in_wheel:
        via = ("report", "LD_LIBRARY_PATH")
    return CudaLibrary(name=name, version=version, path=path,
                       origin="pip" if in_wheel else "system", found_via=via)


def torch_came_from_pip(torch: Torch, packages: list[Package], evidence: LineEvidence) -> bool:
    """A pip install of torch is in the report: its cuDNN is the one the wheel brings."""
    local = torch.version.local if torch.version else None
    if local and (local.startswith("cu") or local == "cpu"):
        return True
    requested = [package for facts in evidence.values(("pip-command",),
                                                      lambda f: f.requested or None)
                 for package in facts]
    return any(normalize_name(p.name) == "torch" for p in [*packages, *requested])


def _torch_from_lines(evidence: LineEvidence, measured: Version | None) -> Torch | None:
    if measured is not None:
        return _torch_from_version(measured, "measured", "torch's own output")
    candidates: tuple[tuple[str, Callable[[], Version | None]], ...] = (
        ("a wheel file name", lambda: _last_wheel_version(evidence)),
        ("an install command", lambda: _requested_version(evidence)),
        ("a build label in the text", lambda: evidence.last(
            ("torch-mention", "issue-template", "prose"), lambda f: f.torch_mention)),
        ("the version as the text states it", lambda: evidence.last(
            ("prose",), lambda f: f.torch_prose)),
    )
    for what, get in candidates:
        version = get()
        if version is not None:
            return _torch_from_version(version, "derived", what)
    index_cuda = evidence.last(_COMMANDS, lambda f: f.requested_index_cuda if any(
        normalize_name(p.name) == "torch" and not p.version for p in f.requested) else None)
    if index_cuda is not None:
        return Torch(status="ok", cuda=index_cuda, provenance={"cuda": "derived"},
                     detail=f"from the report: pip install torch from the cu"
                            f"{index_cuda.major}{index_cuda.minor} index; version not given")
    return None


def _torch_from_version(version: Version, provenance: Provenance, what: str) -> Torch:
    facts: dict[str, Provenance] = {"version": provenance}
    cuda: Version | None = None
    local = version.local
    # The build is read from the version's local label, even when torch printed the version.
    if local == "cpu":
        facts["cuda"] = "derived"
    elif local and (tagged := cuda_from_local_label(local)):
        cuda = tagged
        facts["cuda"] = "derived"
    detail = f"from the report: {what}"
    if "cuda" not in facts:
        detail += "; torch's CUDA build is not in the report"
    return Torch(status="ok", version=version, cuda=cuda, provenance=facts, detail=detail)


def _with_measurements(torch: Torch, evidence: LineEvidence) -> Torch:
    kinds: tuple[SegmentKind, ...] = (*MEASURED_TORCH, "build-output")
    cuda = evidence.last(kinds, lambda f: f.torch_cuda)
    cpu_build = any(evidence.values(kinds, lambda f: f.torch_cpu_build or None))
    arch_list = evidence.last(kinds, lambda f: f.arch_list or None)
    available = evidence.last(kinds, lambda f: f.cuda_available)
    if cuda is None and not cpu_build and arch_list is None and available is None:
        return torch
    if torch.status == "unknown":
        torch = Torch(status="ok", detail="from the report: torch's own output; its version "
                                          "is not in the report")
    provenance = dict(torch.provenance)
    torch_cuda = torch.cuda
    if provenance.get("cuda") != "measured" and (cuda is not None or cpu_build):
        torch_cuda = cuda
        provenance["cuda"] = "measured"
    own_arch_list = torch.arch_list
    if arch_list and not own_arch_list:
        own_arch_list = arch_list
        provenance["arch_list"] = "measured"
    cuda_available = torch.cuda_available
    if available is not None and cuda_available is None:
        cuda_available = available
        provenance["cuda_available"] = "measured"
    return replace(torch, cuda=torch_cuda, arch_list=own_arch_list,
                   cuda_available=cuda_available, provenance=provenance)


def _wheels(evidence: LineEvidence) -> list[WheelFile]:
    return [wheel for _, facts in evidence.items for wheel in facts.wheels]


def _last_wheel_version(evidence: LineEvidence) -> Version | None:
    versions = [_version(wheel.version) for wheel in _wheels(evidence)
                if not wheel.in_pip_log and normalize_name(wheel.name) == "torch"]
    found = [v for v in versions if v is not None]
    return found[-1] if found else None


def _requested_version(evidence: LineEvidence) -> Version | None:
    versions = [_version(p.version) for facts in evidence.values(
        _COMMANDS, lambda f: f.requested or None) for p in facts
        if normalize_name(p.name) == "torch" and p.version]
    found = [v for v in versions if v is not None]
    return found[-1] if found else None


def _wheel_python(wheel: WheelFile) -> Version | None:
    tag = wheel.python_tag
    if not tag.startswith("cp") or not tag[2:].isdecimal() or len(tag) < 4:
        return None
    return Version(f"{tag[2]}.{tag[3:]}")


def _wheel_platform(evidence: LineEvidence) -> str | None:
    platforms = set()
    for wheel in _wheels(evidence):
        tag = wheel.platform_tag
        if tag in ("win_amd64", "win32", "win_arm64"):
            platforms.add(tag.replace("_", "-"))
        elif tag.endswith("_x86_64") and ("linux" in tag):
            platforms.add("linux-x86_64")
        elif tag.endswith("_aarch64") and ("linux" in tag):
            platforms.add("linux-aarch64")
    return platforms.pop() if len(platforms) == 1 else None


def _driver_package_version(evidence: LineEvidence) -> DriverVersion | None:
    found: DriverVersion | None = None
    for _, facts in evidence.items:
        for name, version in facts.deb_packages:
            stem = name.removesuffix("-server").removesuffix("-open")
            stem = stem.rstrip("0123456789").rstrip("-")
            upstream = debian_version(version)
            if stem in _DRIVER_DEBS and upstream and "." in upstream:
                try:
                    found = DriverVersion(upstream)
                except ValueError:
                    continue
    return found


def _matching_gpu(gpus: list[Gpu], reported: ReportedGpu) -> int | None:
    wanted = _gpu_key(reported.name)
    for position, gpu in enumerate(gpus):
        known = _gpu_key(gpu.name.removesuffix("..."))
        same_name = bool(known) and (known == wanted or (
            gpu.name.endswith("...") and wanted.startswith(known)))
        if same_name and (reported.index is None or reported.index == gpu.index):
            return position
    return None


@lru_cache(maxsize=1024)  # every GPU a long log reports is compared with every one known
def _gpu_key(name: str) -> str:
    return " ".join(name.lower().removeprefix("nvidia ").split())


def _single(values: Iterable[_T | None]) -> _T | None:
    distinct = {value for value in values if value is not None}
    return distinct.pop() if len(distinct) == 1 else None


def _version(text: str | None) -> Version | None:
    return version_or_none(text, max_length=60)
