"""Facts scattered through a paste: in error output, warnings, REPL sessions, install logs.

Bug reports are mostly prose, tracebacks and logs, and the facts in them are as good as a
tool's output when the line that carries them is one a tool printed:

- torch's own messages: "<GPU> with CUDA capability sm_120 is not compatible with the current
  PyTorch installation." and the arch list after it, "Found GPU0 <GPU> which is of cuda
  capability 3.5", "The NVIDIA driver on your system is too old (found version 11040)", the
  cuDNN and cpp_extension version checks; REPL and build-log lines such as
  `>>> torch.__version__` / `'1.3.0'` and "torch.__version__  = 2.0.1+cu117"
  (envcheck/reports/torch_output.py);
- shell output: the Python REPL banner, `ldd --version`, /etc/redhat-release, `echo
  $LD_LIBRARY_PATH`, /proc/driver/nvidia/version, nvidia-smi's NVML errors, library paths in
  loader errors, nccl-tests' device lines, the old PyTorch issue template
  (envcheck/reports/shell_output.py);
- install logs: pip commands and logs, wheel file names, `pip show`, dpkg/apt package lines
  (envcheck/reports/install_logs.py).

- prose, banners and build logs: versions written after their names, OS and GPU names,
  start-up banners, conda commands, toolkit paths, docker run flags, the facts inside error
  messages (envcheck/reports/prose_facts.py).

Unlike the blocks of envcheck.reports.segments these are found line by line over the whole
paste, also inside collect_env's block (a torch warning printed in the middle of its output),
not inside a tool's table or list. Each recogniser reads from one line and at most the next
two. A tool's line counts by its shape; a version in a sentence counts only right after the
name it belongs to ("Driver: 545.29.06", "torch:2.0.1"), and is the weakest evidence of all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from packaging.version import Version

from envcheck.snapshot import DriverVersion, Package


@dataclass(frozen=True, kw_only=True)
class ReportedGpu:
    """A GPU named by a message; `index` is None when the message does not give one."""

    index: int | None
    name: str
    compute_capability: str | None = None
    memory_mib: int | None = None


CudaRole = Literal["driver", "toolkit", "torch", "unknown"]
"""Which CUDA a "CUDA X.Y" in prose names, as far as the words around it tell."""


@dataclass(frozen=True, kw_only=True)
class CudaMention:
    version: Version
    role: CudaRole


@dataclass(frozen=True, kw_only=True)
class DockerRun:
    """The flags of a `docker run` line that decide what the container can use."""

    gpus: bool
    nvidia_runtime: bool
    ipc_host: bool
    shm_size: str | None


@dataclass(frozen=True, kw_only=True)
class WheelFile:
    """A wheel pip chose: its tags say which interpreter and platform it is for."""

    name: str
    version: str
    python_tag: str
    platform_tag: str
    in_pip_log: bool
    """Named in pip's "Downloading"/"Using cached" line: chosen, not necessarily installed."""


@dataclass(frozen=True, kw_only=True)
class LineFacts:
    """What one recognised line (or two) says; every field is optional."""

    # torch, measured: torch printed it while running
    torch_version: Version | None = None
    torch_cuda: Version | None = None
    torch_cpu_build: bool = False
    """torch.version.cuda printed None."""
    cuda_available: bool | None = None
    arch_list: tuple[str, ...] = ()
    gpus: tuple[ReportedGpu, ...] = ()
    cuda_driver_api: Version | None = None
    cudnn_compiled: Version | None = None
    cudnn_runtime: Version | None = None
    detected_nvcc: Version | None = None
    """The toolkit torch.utils.cpp_extension found (CUDA_HOME or nvcc on PATH)."""
    # shell output
    python_version: Version | None = None
    python_platform: str | None = None
    python_minor_from_path: Version | None = None
    glibc: Version | None = None
    os: str | None = None
    ld_library_path: str | None = None
    library_paths: tuple[str, ...] = ()
    nvml_error_code: str | None = None
    nvml_detail: str | None = None
    kernel_module_version: DriverVersion | None = None
    # install logs
    installed: tuple[Package, ...] = ()
    uninstalled: tuple[str, ...] = ()
    requested: tuple[Package, ...] = ()
    requested_index_cuda: Version | None = None
    """The CUDA variant of a download.pytorch.org index the install command used."""
    wheels: tuple[WheelFile, ...] = ()
    deb_packages: tuple[tuple[str, str], ...] = ()
    torch_mention: Version | None = None
    """"torch 2.0.1+cu118" written in a log or in prose: a full build label."""
    # prose (envcheck.reports.prose_facts)
    torch_prose: Version | None = None
    """"torch:2.0.1", "PyTorch 2.2": a release without its build label."""
    listed: tuple[Package, ...] = ()
    """A package list's row without its header ("torch  2.14.1", from pip list | grep)."""
    driver_version: DriverVersion | None = None
    driver_branch: int | None = None
    """"driver 470": the branch only."""
    cuda_mentions: tuple[CudaMention, ...] = ()
    gpu_count: int | None = None
    glibc_missing: Version | None = None
    """The loader's "GLIBC_2.28 not found": the system's glibc is older than this."""
    nvcc_rejects_arch: str | None = None
    """nvcc's "Unsupported gpu architecture 'compute_120'": the toolkit cannot target it."""
    builds_cuda_code: bool = False
    """The line shows CUDA code being compiled (nvcc, cpp_extension, CMake's CUDA language)."""
    docker_run: DockerRun | None = None
    nvidia_smi_missing: bool = False
    managed_runtime: str | None = None
    """A hosted notebook the code ran in ("Google Colab", "Kaggle"): a container it does not
    control, whose GPU is attached (or not) by a setting."""
    nccl_env: tuple[tuple[str, str], ...] = ()
    """NCCL_* variables a command sets or NCCL says it read (envcheck.reports.nccl_settings)."""


FactName = Literal[
    "driver", "driver branch", "driver's CUDA", "kernel module", "GPU", "GPU count",
    "compute capability", "torch", "torch's CUDA", "torch is a CPU build", "torch arch list",
    "CUDA available", "CUDA (role unclear)", "toolkit (nvcc)", "toolkit cannot target",
    "cuDNN", "Python", "OS", "glibc", "glibc older than", "LD_LIBRARY_PATH", "library",
    "package", "docker run", "nvidia-smi not found", "builds CUDA code", "NVML error",
    "change that worked", "NCCL setting", "vLLM memory budget",
]


_ROLE_FACTS: dict[CudaRole, FactName] = {
    "driver": "driver's CUDA", "toolkit": "toolkit (nvcc)", "torch": "torch's CUDA",
    "unknown": "CUDA (role unclear)",
}


def describe(facts: LineFacts) -> list[tuple[FactName, str]]:
    """(fact, value) pairs for the "read from the report" table, in a fixed order."""
    found: list[tuple[FactName, str]] = []
    torch = facts.torch_version or facts.torch_mention or facts.torch_prose
    pairs: list[tuple[FactName, object]] = [
        ("driver", facts.driver_version), ("driver branch", facts.driver_branch),
        ("driver's CUDA", facts.cuda_driver_api),
        ("kernel module", facts.kernel_module_version), ("torch", torch),
        ("torch's CUDA", facts.torch_cuda),
        ("torch is a CPU build", "yes" if facts.torch_cpu_build else None),
        ("torch arch list", " ".join(facts.arch_list) or None),
        ("CUDA available", facts.cuda_available),
        ("toolkit (nvcc)", facts.detected_nvcc),
        ("toolkit cannot target", facts.nvcc_rejects_arch),
        ("cuDNN", facts.cudnn_runtime), ("Python", facts.python_version),
        ("OS", facts.os), ("glibc", facts.glibc), ("glibc older than", facts.glibc_missing),
        ("LD_LIBRARY_PATH", facts.ld_library_path), ("NVML error", facts.nvml_detail),
        ("GPU count", facts.gpu_count),
        ("nvidia-smi not found", "yes" if facts.nvidia_smi_missing else None),
        ("builds CUDA code", "yes" if facts.builds_cuda_code else None),
    ]
    for name, value in pairs:
        if value is not None:
            found.append((name, str(value)))
    for mention in facts.cuda_mentions:
        found.append((_ROLE_FACTS[mention.role], str(mention.version)))
    for gpu in facts.gpus:
        found.append(("GPU", gpu.name + (f" (sm {gpu.compute_capability})"
                                         if gpu.compute_capability else "")))
    for package in (*facts.installed, *facts.listed):
        # and what a sentence or a template names (envcheck.reports.package_mentions)
        if package.name.lower() in ("torch", "torchvision", "torchaudio", "xformers",
                                    "tensorflow") or not package.version:
            found.append(("package", f"{package.name} {package.version}".strip()))
    for path in facts.library_paths:
        found.append(("library", path))
    for variable, setting in facts.nccl_env:
        found.append(("NCCL setting", f"{variable}={setting}"))
    if facts.docker_run is not None:
        run = facts.docker_run
        flags = [flag for flag, on in (("--gpus", run.gpus), ("--runtime=nvidia",
                                       run.nvidia_runtime), ("--ipc=host", run.ipc_host))
                 if on]
        if run.shm_size:
            flags.append(f"--shm-size={run.shm_size}")
        found.append(("docker run", " ".join(flags) or "no GPU flags"))
    return found


Reader = Callable[[Sequence[str], int], "tuple[int, LineFacts] | None"]
"""Reads at `index`: (lines used, facts) or None when the line is not this kind."""


def read_lines(reader: Reader, lines: Sequence[str]) -> LineFacts | None:
    """The facts of one recognised piece (its lines as `find` cut them)."""
    found = reader(lines, 0)
    return found[1] if found else None
