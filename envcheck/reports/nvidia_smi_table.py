"""Read nvidia-smi's default table and `nvidia-smi -L` lines.

The table has had two layouts (samples in tests/data/report_formats/):

    R3xx-R4xx:
    | NVIDIA-SMI 440.100      Driver Version: 440.100      CUDA Version: 10.2     |
    |   0  GeForce RTX 207...  Off  | 00000000:01:00.0  On |                  N/A |
    | N/A   48C    P8     6W /  N/A |    246MiB /  7973MiB |      6%      Default |
    R5xx (wider columns):
    | NVIDIA-SMI 550.127.05      Driver Version: 550.127.05     CUDA Version: 12.4 |
    |   0  NVIDIA A40               On  |   00000000:4F:00.0 Off |              0 |
    |  0%   29C    P8        23W /  300W |    1MiB /  46068MiB |  0%      Default |

Drivers before R410 print no "CUDA Version"; R450 added a "MIG M." row and the GI/CI
columns of the processes table; Windows prints WDDM/TCC where Linux prints persistence mode.
GPU names longer than the column end in "..." and are kept as printed, marked truncated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.version import Version

from envcheck.snapshot import DriverVersion, Gpu, GpuProcess
from envcheck.versions import version_or_none

_HEADER = re.compile(
    r"NVIDIA-SMI\s+\S+\s+Driver Version:\s+(?P<driver>\S+)(?:\s+CUDA Version:\s+(?P<cuda>\S+))?"
)
_NAME_CELL = re.compile(r"^\s*(?P<index>\d{1,4})\s+(?P<name>\S.*?)\s+(?:On|Off|WDDM|TCC|N/A)\s*$")
_BUS_CELL = re.compile(r"^\s*[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f]")
_STATE_CELL = re.compile(
    r"^\s*(?:\d{1,3}%|N/A|ERR!)\s+(?P<temp>\d{1,3}C|N/A|ERR!)\s+(?:P\d{1,2}|N/A|ERR!)\s+"
    r"(?P<power>\d{1,5}W|N/A|ERR!)\s*/\s*(?P<cap>\d{1,5}W|N/A|ERR!)\s*$"
)
_MEMORY_CELL = re.compile(r"^\s*(?P<used>\d{1,9})MiB\s*/\s*(?P<total>\d{1,9})MiB\s*$")
_UTIL_CELL = re.compile(r"^\s*(?P<util>\d{1,3})%")
_PROCESS_ROW = re.compile(
    r"^\s*\|\s*(?P<gpu>\d{1,4})\s+(?:(?:N/A|\d{1,4})\s+(?:N/A|\d{1,4})\s+)?(?P<pid>\d{1,10})\s+"
    r"(?:C\+G|M\+C|C|G|M)\s+(?P<name>.*?)\s+(?P<memory>\d{1,9}MiB|N/A)\s*\|\s*$"
)
_SMI_L = re.compile(r"^\s*GPU (?P<index>\d{1,4}): (?P<name>.+?) \(UUID: (?P<uuid>[^)\s]+)\)\s*$")

TRUNCATED = "truncated in nvidia-smi's table"


@dataclass(frozen=True, kw_only=True)
class SmiTable:
    driver_version: DriverVersion | None
    cuda_version: Version | None
    """The header's "CUDA Version": the newest CUDA the driver supports."""
    gpus: tuple[Gpu, ...]


@dataclass
class _GpuRow:
    index: int
    name: str
    temperature_c: int | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    memory_used_mib: int | None = None
    memory_total_mib: int | None = None
    utilization_pct: int | None = None


def parse_nvidia_smi_table(lines: tuple[str, ...]) -> SmiTable:
    """Facts in one table piece; missing rows leave their fields None."""
    driver: DriverVersion | None = None
    cuda: Version | None = None
    rows: list[_GpuRow] = []
    processes: dict[int, list[GpuProcess]] = {}
    in_processes = False
    for line in lines:
        header = _HEADER.search(line)
        if header:
            driver = driver or _driver_version(header.group("driver"))
            cuda = cuda or _version(header.group("cuda"))
            continue
        if "Processes:" in line:
            in_processes = True
            continue
        if in_processes:
            _read_process(line, processes)
            continue
        cells = line.split("|")
        if len(cells) < 4:
            continue
        name = _NAME_CELL.match(cells[1])
        if name and _BUS_CELL.match(cells[2]):
            rows.append(_GpuRow(index=int(name.group("index")), name=name.group("name")))
        elif rows and _STATE_CELL.match(cells[1]):
            _read_state(rows[-1], cells)
    gpus = tuple(_gpu(row, tuple(processes.get(row.index, ()))) for row in rows)
    return SmiTable(driver_version=driver, cuda_version=cuda, gpus=gpus)


def parse_nvidia_smi_list(lines: tuple[str, ...]) -> list[Gpu]:
    """`nvidia-smi -L`: index, full name and UUID of each GPU (MIG lines are skipped)."""
    gpus = []
    for line in lines:
        match = _SMI_L.match(line)
        if match:
            gpus.append(Gpu(index=int(match.group("index")), name=match.group("name"),
                            uuid=match.group("uuid")))
    return gpus


def _read_state(row: _GpuRow, cells: list[str]) -> None:
    state = _STATE_CELL.match(cells[1])
    if state is None:
        return
    row.temperature_c = _number(state.group("temp"), "C")
    power = _number(state.group("power"), "W")
    cap = _number(state.group("cap"), "W")
    row.power_w = None if power is None else float(power)
    row.power_limit_w = None if cap is None else float(cap)
    memory = _MEMORY_CELL.match(cells[2])
    if memory:
        row.memory_used_mib = int(memory.group("used"))
        row.memory_total_mib = int(memory.group("total"))
    utilization = _UTIL_CELL.match(cells[3])
    if utilization:
        row.utilization_pct = int(utilization.group("util"))


def _read_process(line: str, processes: dict[int, list[GpuProcess]]) -> None:
    match = _PROCESS_ROW.match(line)
    if match is None:
        return
    memory = match.group("memory")
    processes.setdefault(int(match.group("gpu")), []).append(
        GpuProcess(
            pid=int(match.group("pid")),
            name=match.group("name") or None,
            used_mib=int(memory[:-3]) if memory.endswith("MiB") else None,
        )
    )


def _gpu(row: _GpuRow, processes: tuple[GpuProcess, ...]) -> Gpu:
    unavailable = {"name": TRUNCATED} if row.name.endswith("...") else {}
    return Gpu(
        index=row.index,
        name=row.name,
        memory_total_mib=row.memory_total_mib,
        memory_used_mib=row.memory_used_mib,
        temperature_c=row.temperature_c,
        power_w=row.power_w,
        power_limit_w=row.power_limit_w,
        utilization_pct=row.utilization_pct,
        processes=processes,
        unavailable=unavailable,
    )


def _number(value: str, unit: str) -> int | None:
    digits = value[: -len(unit)]
    return int(digits) if value.endswith(unit) and digits.isdecimal() else None


def _driver_version(value: str) -> DriverVersion | None:
    if len(value) > 32:
        return None
    try:
        return DriverVersion(value)
    except ValueError:
        return None


def _version(text: str | None) -> Version | None:
    return version_or_none(text, max_length=64)
