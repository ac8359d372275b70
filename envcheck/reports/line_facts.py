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

Unlike the blocks of envcheck.reports.segments these are found line by line over the whole
paste, also inside blocks (a torch warning printed in the middle of collect_env's output).
Each recogniser reads from one line and at most the next two, so a line counts only when its
own shape says which tool printed it; a version number in a sentence is not a fact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from packaging.version import Version

from envcheck.snapshot import DriverVersion, Package


@dataclass(frozen=True, kw_only=True)
class ReportedGpu:
    """A GPU named by a message; `index` is None when the message does not give one."""

    index: int | None
    name: str
    compute_capability: str | None = None


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


Reader = Callable[[Sequence[str], int], "tuple[int, LineFacts] | None"]
"""Reads at `index`: (lines used, facts) or None when the line is not this kind."""


def read_lines(reader: Reader, lines: Sequence[str]) -> LineFacts | None:
    """The facts of one recognised piece (its lines as `find` cut them)."""
    found = reader(lines, 0)
    return found[1] if found else None
