"""The Snapshot: one frozen, versioned record of an environment (`envcheck.snapshot/1`).

The same record comes from a live host, from inside a container, or from a parsed report,
so the rules never care where a fact came from. Unknown is a value (`status` + `detail`),
never an exception. `envcheck.jsoncodec` turns it into JSON and back losslessly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from packaging.version import Version

from envcheck.errors import SnapshotFormatError

SCHEMA: Literal["envcheck.snapshot/1"] = "envcheck.snapshot/1"



class DriverVersion(str):
    """An NVIDIA driver version as NVIDIA writes it ("535.104.05").

    packaging's Version would normalise "535.104.05" to "535.104.5", a version no user has
    seen; compare driver versions with `.key` instead.
    """

    __slots__ = ()

    def __new__(cls, text: str) -> DriverVersion:
        if not re.fullmatch(r"\d+(?:\.\d+){1,3}", text):
            raise ValueError(f"not an NVIDIA driver version: {text!r}")
        return super().__new__(cls, text)

    @property
    def key(self) -> tuple[int, ...]:
        return tuple(int(part) for part in self.split("."))


Status = Literal["ok", "absent", "error", "unknown"]
"""ok: measured; absent: looked and it is not there; error: looked and could not tell;
unknown: not looked at (a pasted report that does not mention it). Rules never draw a
confident conclusion from `unknown`."""

Provenance = Literal["measured", "derived"]
"""measured: observed by running the thing (torch imported); derived: read from files."""

DiskRole = Literal["cwd", "home", "hf_cache", "tmp", "shm"]
SnapshotSource = Literal["host", "container", "report", "profile"]
"""profile: synthesized from a saved hardware profile and a lockfile, for gating."""
DriverSource = Literal["nvml", "proc", "nvidia-smi", "report"]
ToolkitSource = Literal["PATH", "CUDA_HOME", "CUDA_PATH", "default"]
LibraryOrigin = Literal["system", "pip", "conda"]
LibraryFoundVia = Literal[
    "ldconfig", "LD_LIBRARY_PATH", "toolkit", "wheel", "torch-bundled", "conda-meta", "report"
]


@dataclass(frozen=True, kw_only=True)
class ProbeRun:
    """How one probe went: kept so a hung or failing probe is visible, not silent."""

    name: str
    status: Status
    seconds: float
    detail: str | None = None


@dataclass(frozen=True, kw_only=True)
class GpuProcess:
    pid: int
    name: str | None
    used_mib: int | None


@dataclass(frozen=True, kw_only=True)
class Gpu:
    index: int
    name: str
    uuid: str | None = None
    compute_capability: str | None = None
    memory_total_mib: int | None = None
    memory_used_mib: int | None = None
    temperature_c: int | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    utilization_pct: int | None = None
    throttle_reasons: tuple[str, ...] = ()
    processes: tuple[GpuProcess, ...] = ()
    mig_mode: bool | None = None
    ecc_uncorrected: int | None = None
    unavailable: Mapping[str, str] = field(default_factory=dict)
    """Field name -> why it could not be read (an older driver lacks the call, ...)."""


@dataclass(frozen=True, kw_only=True)
class Driver:
    status: Status
    detail: str | None = None
    version: DriverVersion | None = None
    cuda_driver_api: Version | None = None
    """The newest CUDA version this driver supports (what nvidia-smi prints as CUDA Version)."""
    kernel_module_version: DriverVersion | None = None
    """From /proc/driver/nvidia/version; differs from `version` in a library mismatch."""
    source: DriverSource | None = None
    error_code: str | None = None
    """NVML's error name when status is error or absent (NVML_ERROR_DRIVER_NOT_LOADED...)."""


@dataclass(frozen=True, kw_only=True)
class Toolkit:
    path: str
    nvcc_version: Version | None
    nvcc_build: str | None = None
    sources: tuple[ToolkitSource, ...] = ()
    """Every way it was found, in the order an extension build looks."""
    detail: str | None = None
    source: ToolkitSource | None = field(init=False)
    """The first of `sources`: how an extension build would find this toolkit."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", self.sources[0] if self.sources else None)


@dataclass(frozen=True, kw_only=True)
class CudaLibrary:
    name: str
    """Short name: cudart, cudnn, cublas, cublasLt, nccl, nvjitlink, nvrtc, cuda, nvidia-ml..."""
    version: str | None
    path: str
    origin: LibraryOrigin
    found_via: tuple[LibraryFoundVia, ...] = ()
    distribution: str | None = None
    """The pip or conda distribution that ships it, when it comes from one."""


@dataclass(frozen=True, kw_only=True)
class PythonEnv:
    status: Status
    detail: str | None = None
    executable: str | None = None
    version: Version | None = None
    implementation: str | None = None
    platform: str | None = None
    """sysconfig's platform tag, e.g. linux-x86_64."""
    prefix: str | None = None
    kind: Literal["venv", "conda", "system"] | None = None
    selected_by: str | None = None
    """Why this interpreter: --python, VIRTUAL_ENV, CONDA_PREFIX, PATH, or envcheck's own."""


@dataclass(frozen=True, kw_only=True)
class Torch:
    status: Status
    detail: str | None = None
    version: Version | None = None
    cuda: Version | None = None
    """The CUDA version torch was built with; None for CPU builds."""
    hip: str | None = None
    cudnn: Version | None = None
    nccl: Version | None = None
    cublas: Version | None = None
    arch_list: tuple[str, ...] = ()
    cuda_available: bool | None = None
    cuda_error: str | None = None
    device_capabilities: tuple[str, ...] = ()
    location: str | None = None
    provenance: Mapping[str, Provenance] = field(default_factory=dict)
    """Fact name -> measured (torch imported) or derived (read from files)."""


@dataclass(frozen=True, kw_only=True)
class Package:
    name: str
    version: str
    requires: tuple[str, ...] = ()
    """Its Requires-Dist lines (PEP 508), so `pip check`-style conflicts can be found."""


@dataclass(frozen=True, kw_only=True)
class Disk:
    path: str
    role: DiskRole
    total_gib: float
    free_gib: float


@dataclass(frozen=True, kw_only=True)
class System:
    os: str | None = None
    kernel: str | None = None
    glibc: Version | None = None
    arch: str | None = None
    memory_total_mib: int | None = None
    memory_available_mib: int | None = None
    cpu_count: int | None = None
    in_container: bool | None = None
    container_evidence: tuple[str, ...] = ()
    wsl: bool | None = None
    nvidia_devices: tuple[str, ...] | None = None
    """The /dev/nvidia* device nodes; None when not looked at (a report)."""
    disks: tuple[Disk, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    schema: Literal["envcheck.snapshot/1"] = SCHEMA
    envcheck_version: str
    taken_at: str
    source: SnapshotSource
    system: System
    driver: Driver
    gpus: tuple[Gpu, ...] = ()
    toolkits: tuple[Toolkit, ...] = ()
    cuda_libraries: tuple[CudaLibrary, ...] = ()
    python: PythonEnv
    torch: Torch
    packages: tuple[Package, ...] = ()
    probes: tuple[ProbeRun, ...] = ()


def snapshot_to_json(snapshot: Snapshot) -> str:
    """The Snapshot as JSON text, with credentials redacted wherever they hide."""
    from envcheck.jsoncodec import encode
    from envcheck.redaction import redact_json

    return json.dumps(redact_json(encode(snapshot)), indent=2) + "\n"


def snapshot_from_json(text: str, *, origin: str) -> Snapshot:
    """Parse a Snapshot document; `origin` (a file name) goes into the error message."""
    from envcheck.jsoncodec import DecodeError, decode

    try:
        document = json.loads(text)
    except RecursionError as e:
        raise SnapshotFormatError(
            f"{origin} nests JSON arrays or objects deeper than Python can read; no Snapshot "
            "does", hint="Give a file written by `envcheck inspect --json` or `-o FILE`.",
        ) from e
    except json.JSONDecodeError as e:
        raise SnapshotFormatError(
            f"{origin} is not JSON ({e.msg} at line {e.lineno}, column {e.colno})",
            hint="Give a file written by `envcheck inspect --json` or `-o FILE`.",
        ) from e
    if not isinstance(document, dict):
        raise SnapshotFormatError(f"{origin} holds a JSON {type(document).__name__}, "
                                  "not a Snapshot object")
    schema = document.get("schema")
    if schema != SCHEMA:
        raise SnapshotFormatError(
            f"{origin} has schema {schema!r}; this envcheck reads {SCHEMA!r}",
            hint="Re-create it with this version of `envcheck inspect --json`.",
        )
    try:
        return decode(Snapshot, document)
    except DecodeError as e:
        raise SnapshotFormatError(f"{origin} is not a valid Snapshot: {e}") from e
