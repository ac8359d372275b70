"""The records of envcheck's compatibility knowledge.

Every fact comes from a data file under envcheck/knowledge/data/ that names its sources;
no version table is written in Python. The loader (envcheck/knowledge/tables.py) validates
the files once and builds these records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from packaging.version import Version

from envcheck.snapshot import DriverVersion

GpuSegment = Literal["datacenter", "workstation", "consumer", "jetson"]
ArchSource = Literal["measured", "build-script", "release-matrix", "bounded", "none"]
"""Where a torch variant's arch list comes from: "measured" from the wheel, "build-script"
from the TORCH_CUDA_ARCH_LIST PyTorch's build script sets for that CUDA version,
"release-matrix" from the CUDA Support Matrix of PyTorch's RELEASE.md, "bounded" when none was
read (only the toolkit's newest target bounds it), "none" for a CPU build."""


@dataclass(frozen=True, kw_only=True)
class Source:
    title: str
    url: str
    retrieved: str
    """ISO date the facts were copied from the source."""
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class CudaRelease:
    """One CUDA toolkit minor release and the driver it needs at least."""

    cuda: Version
    """Major.minor, e.g. 12.4 (the GA release; updates of a minor share the minimum)."""
    min_linux: DriverVersion
    min_windows: DriverVersion | None


@dataclass(frozen=True, kw_only=True)
class ToolkitRelease:
    """One CUDA toolkit release, GA or update, and the driver it needs at least."""

    release: Version
    """The version the toolkit installs: 12.2.2 (11.0's GA is 11.0.2)."""
    update: int
    """NVIDIA's update number: 0 for GA, 2 for "CUDA 12.2 Update 2"."""
    min_linux: DriverVersion
    min_windows: DriverVersion | None
    source: str
    """The id of the cited source in cuda_drivers.toml."""

    @property
    def cuda(self) -> Version:
        """Major.minor, 12.2."""
        return Version(f"{self.release.major}.{self.release.minor}")

    @property
    def label(self) -> str:
        """As NVIDIA's table names it: "CUDA 12.2 GA", "CUDA 12.2 Update 2"."""
        kind = "GA" if self.update == 0 else f"Update {self.update}"
        return f"CUDA {self.cuda} {kind}"


@dataclass(frozen=True, kw_only=True)
class MinorCompatibility:
    """CUDA minor-version compatibility: any X.y runtime runs on a driver >= this floor
    for major X (with limits on PTX JIT, per NVIDIA's CUDA Compatibility guide)."""

    major: int
    min_linux: DriverVersion
    min_windows: DriverVersion | None


@dataclass(frozen=True, kw_only=True)
class GpuModel:
    name: str
    """Canonical name as NVML prints it, e.g. "NVIDIA GeForce RTX 4090"."""
    aliases: tuple[str, ...]
    compute_capability: str
    """"8.9"."""
    architecture: str
    """"Ada Lovelace", "Hopper", ..."""
    segment: GpuSegment
    memory_gib: float | None
    """Memory of one GPU of this variant, as the maker specifies it; None when no source gives
    it or when the model stands for several variants of different sizes."""
    source: str | None = None
    """The `sources` id the compute capability was read from."""
    memory_source: str | None = None
    """The `sources` id memory_gib was read from."""


@dataclass(frozen=True, kw_only=True)
class TorchVariant:
    """One build of one torch release: cu124, cu128, cpu, ..."""

    name: str
    """"cu124" or "cpu"."""
    cuda: Version | None
    """12.4, or None for cpu."""
    cudnn: Version | None
    arch_list: tuple[str, ...]
    """sm_XX machine code and compute_XX PTX, as torch.cuda.get_arch_list() prints them;
    empty when `arch_source` is "bounded" or "none"."""
    arch_source: ArchSource = "bounded"
    nccl: Version | None = None
    """The nvidia-nccl-cuXX the wheel pins; None where not recorded (or bundled)."""


@dataclass(frozen=True, kw_only=True)
class TorchRelease:
    version: Version
    """The public release, e.g. 2.5.1 (no local label)."""
    python: tuple[str, ...]
    """Supported CPython minors, e.g. ("3.9", "3.10", "3.11", "3.12")."""
    pypi_default: str
    """The variant `pip install torch` gets from PyPI on Linux x86_64, e.g. "cu124"."""
    torchvision: Version | None
    torchaudio: Version | None
    """None when no release on the index pins this torch exactly."""
    variants: tuple[TorchVariant, ...]
    manylinux_glibc: Version | None
    """The glibc the Linux x86_64 wheels require (from their manylinux tag)."""


@dataclass(frozen=True, kw_only=True)
class CudnnSupport:
    """A cuDNN major.minor and the CUDA majors it ships builds for."""

    cudnn: Version
    cuda_majors: tuple[int, ...]


Category = Literal[
    "driver_too_old", "cpu_only_wheel", "arch_not_in_wheel", "torchvision_mismatch",
    "toolkit_torch_cuda_mismatch", "cudnn_mismatch", "lib_shadowing", "nccl", "glibc",
    "python_unsupported", "no_gpu_in_container", "driver_not_loaded", "gpu_health", "memory",
    "disk", "broken_requirements", "other",
]


@dataclass(frozen=True, kw_only=True)
class ErrorSignature:
    """An error message users see, and the causes that produce it."""

    id: str
    pattern: str
    """A Python regular expression, matched case-insensitively against the pasted error."""
    example: str
    """A real instance of the message (tests check that `pattern` matches it)."""
    categories: tuple[Category, ...]
    """Likely causes, most likely first; the Snapshot confirms or rules each out."""
    explanation: str
    source: str
    """Where the message was seen (an issue thread or the code that prints it)."""
