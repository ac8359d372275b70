"""NVML through NVIDIA's own binding (nvidia-ml-py, import name `pynvml`).

The only module that imports pynvml. It returns raw readings; the driver probe turns them
into Snapshot records. Failures of the whole library (not loaded, version mismatch) raise
NvmlError; a call that one GPU or an older driver lacks degrades only that field.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from envcheck.errors import NvmlError

T = TypeVar("T")

# nvml.h constants used below; stable parts of the C API, not version facts.
_NVML_TEMPERATURE_GPU = 0
_NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1
_NVML_VOLATILE_ECC = 0


@dataclass(frozen=True, kw_only=True)
class NvmlProcess:
    pid: int
    name: str | None
    used_bytes: int | None


@dataclass(frozen=True, kw_only=True)
class NvmlDevice:
    index: int
    name: str
    uuid: str | None = None
    compute_capability: tuple[int, int] | None = None
    memory_total_bytes: int | None = None
    memory_used_bytes: int | None = None
    temperature_c: int | None = None
    power_mw: int | None = None
    power_limit_mw: int | None = None
    utilization_pct: int | None = None
    throttle_mask: int | None = None
    processes: tuple[NvmlProcess, ...] | None = None
    mig_mode: bool | None = None
    ecc_uncorrected: int | None = None
    unavailable: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class NvmlReading:
    driver_version: str
    cuda_driver_version: int | None
    devices: tuple[NvmlDevice, ...]


class Nvml(Protocol):
    def read(self) -> NvmlReading:
        """Read the driver and every GPU; raise NvmlError when NVML cannot start."""
        ...


class PynvmlNvml:
    """Reads NVML from the `libnvidia-ml.so.1` the dynamic loader finds."""

    def read(self) -> NvmlReading:
        try:
            import pynvml
        except ImportError as e:
            raise NvmlError(
                "nvidia-ml-py is not installed in envcheck's environment",
                code=None,
                name="NVML_BINDING_MISSING",
            ) from e
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as e:
            raise _translate(pynvml, e) from e
        try:
            return _read_initialised(pynvml)
        except pynvml.NVMLError as e:
            raise _translate(pynvml, e) from e
        finally:
            with contextlib.suppress(pynvml.NVMLError):
                pynvml.nvmlShutdown()


def _translate(pynvml: Any, error: Any) -> NvmlError:
    code = getattr(error, "value", None)
    name = next(
        (n for n in dir(pynvml) if n.startswith("NVML_ERROR_") and getattr(pynvml, n) == code),
        f"NVML_ERROR_{code}",
    )
    return NvmlError(f"NVML: {error}", code=code, name=name)


def _text(value: object) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _read_initialised(pynvml: Any) -> NvmlReading:
    driver_version = _text(pynvml.nvmlSystemGetDriverVersion())
    try:
        cuda_driver_version: int | None = int(pynvml.nvmlSystemGetCudaDriverVersion())
    except pynvml.NVMLError:
        cuda_driver_version = None
    count = int(pynvml.nvmlDeviceGetCount())
    devices = tuple(_read_device(pynvml, index) for index in range(count))
    return NvmlReading(
        driver_version=driver_version, cuda_driver_version=cuda_driver_version, devices=devices
    )


def _read_device(pynvml: Any, index: int) -> NvmlDevice:
    handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    unavailable: dict[str, str] = {}

    def field_of(name: str, call: Callable[[], T]) -> T | None:
        try:
            return call()
        except pynvml.NVMLError_FunctionNotFound:
            unavailable[name] = "this driver's NVML lacks the call (older driver)"
        except pynvml.NVMLError_NotSupported:
            unavailable[name] = "not supported on this GPU"
        except pynvml.NVMLError as e:
            unavailable[name] = f"NVML: {e}"
        return None

    def throttle_mask() -> int:
        try:
            return int(pynvml.nvmlDeviceGetCurrentClocksEventReasons(handle))
        except pynvml.NVMLError_FunctionNotFound:
            # Renamed in driver 535's NVML; older drivers only have the throttle name.
            return int(pynvml.nvmlDeviceGetCurrentClocksThrottleReasons(handle))

    def processes() -> tuple[NvmlProcess, ...]:
        found = []
        for proc in pynvml.nvmlDeviceGetComputeRunningProcesses(handle):
            used = proc.usedGpuMemory
            found.append(
                NvmlProcess(
                    pid=int(proc.pid),
                    name=_process_name(pynvml, int(proc.pid)),
                    used_bytes=int(used) if isinstance(used, int) else None,
                )
            )
        return tuple(found)

    memory = field_of("memory", lambda: pynvml.nvmlDeviceGetMemoryInfo(handle))
    capability = field_of(
        "compute_capability", lambda: pynvml.nvmlDeviceGetCudaComputeCapability(handle)
    )
    mig = field_of("mig_mode", lambda: pynvml.nvmlDeviceGetMigMode(handle))
    utilization = field_of("utilization", lambda: pynvml.nvmlDeviceGetUtilizationRates(handle))
    return NvmlDevice(
        index=index,
        name=_text(pynvml.nvmlDeviceGetName(handle)),
        uuid=field_of("uuid", lambda: _text(pynvml.nvmlDeviceGetUUID(handle))),
        compute_capability=(int(capability[0]), int(capability[1])) if capability else None,
        memory_total_bytes=int(memory.total) if memory is not None else None,
        memory_used_bytes=int(memory.used) if memory is not None else None,
        temperature_c=field_of(
            "temperature",
            lambda: int(pynvml.nvmlDeviceGetTemperature(handle, _NVML_TEMPERATURE_GPU)),
        ),
        power_mw=field_of("power", lambda: int(pynvml.nvmlDeviceGetPowerUsage(handle))),
        power_limit_mw=field_of(
            "power_limit", lambda: int(pynvml.nvmlDeviceGetEnforcedPowerLimit(handle))
        ),
        utilization_pct=int(utilization.gpu) if utilization is not None else None,
        throttle_mask=field_of("throttle_reasons", throttle_mask),
        processes=field_of("processes", processes),
        mig_mode=bool(mig[0]) if mig is not None else None,
        ecc_uncorrected=field_of(
            "ecc_uncorrected",
            lambda: int(
                pynvml.nvmlDeviceGetTotalEccErrors(
                    handle, _NVML_MEMORY_ERROR_TYPE_UNCORRECTED, _NVML_VOLATILE_ECC
                )
            ),
        ),
        unavailable=unavailable,
    )


def _process_name(pynvml: Any, pid: int) -> str | None:
    try:
        return _text(pynvml.nvmlSystemGetProcessName(pid))
    except pynvml.NVMLError:
        return None
