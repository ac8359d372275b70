"""NVML through NVIDIA's own binding (nvidia-ml-py, import name `pynvml`).

The only module that imports pynvml. It returns raw readings; the driver probe turns them
into Snapshot records. `read()` is one reading (inspect); `session()` holds NVML open for a
watch (guard), so that each sample reads only what can change. Failures of the whole library
(not loaded, version mismatch, a GPU lost) raise NvmlError; a call that one GPU or an older
driver lacks degrades only that field.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from envcheck.errors import NvmlError

T = TypeVar("T")

# nvml.h constants used below; stable parts of the C API, not version facts.
# Errors after which no call of this session can succeed: the session is closed, and the
# next sample initialises NVML again (a reloaded driver, a GPU that fell off the bus).
_SESSION_ENDING_ERRORS = frozenset({
    "NVML_ERROR_UNINITIALIZED", "NVML_ERROR_DRIVER_NOT_LOADED", "NVML_ERROR_GPU_IS_LOST",
    "NVML_ERROR_LIB_RM_VERSION_MISMATCH", "NVML_ERROR_RESET_REQUIRED",
})
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


class NvmlSampler(Protocol):
    def sample(self) -> NvmlReading:
        """The GPUs now; raise NvmlError when NVML fails (the next sample starts again)."""
        ...


class NvmlSessions(Protocol):
    def session(self) -> AbstractContextManager[NvmlSampler]:
        """One NVML session for a watch: opened on the first sample, closed on exit."""
        ...


class PynvmlNvml:
    """Reads NVML from the `libnvidia-ml.so.1` the dynamic loader finds."""

    def read(self) -> NvmlReading:
        with self.session() as session:
            return session.sample()

    def session(self) -> PynvmlSession:
        return PynvmlSession()


def _import_pynvml() -> Any:
    try:
        import pynvml
    except ImportError as e:
        raise NvmlError(
            "nvidia-ml-py is not installed in envcheck's environment",
            code=None,
            name="NVML_BINDING_MISSING",
        ) from e
    return pynvml


@dataclass(frozen=True, kw_only=True)
class _StaticDevice:
    """What cannot change while NVML is open: read once per session."""

    index: int
    handle: Any
    name: str
    uuid: str | None
    compute_capability: tuple[int, int] | None
    power_limit_mw: int | None
    mig_mode: bool | None
    ecc_uncorrected: int | None
    """As of the session's start: guard, the only long session, does not judge it."""
    unavailable: Mapping[str, str]


@dataclass(frozen=True, kw_only=True)
class _StaticSystem:
    driver_version: str
    cuda_driver_version: int | None
    devices: tuple[_StaticDevice, ...]


class PynvmlSession:
    """nvmlInit once, the handles and the facts that cannot change once, then only the
    dynamic readings per sample (temperature, power, memory, utilisation, throttle reasons,
    processes). On a GPU without persistence mode an init can take seconds and wakes the
    driver (issue 13), so a watch must not init per sample. After an NVML error the session
    shuts down, and the next sample opens it again; leaving the `with` shuts it down."""

    def __init__(self) -> None:
        self._pynvml: Any = None
        self._static: _StaticSystem | None = None
        self._process_names: dict[int, str | None] = {}
        self._throttle_call: str | None = None
        self.opened = 0
        """How many times NVML was initialised (once, unless an error re-opened it)."""

    def __enter__(self) -> PynvmlSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._static is None and self._pynvml is None:
            return
        pynvml, self._pynvml, self._static = self._pynvml, None, None
        self._process_names.clear()
        if pynvml is not None:
            with contextlib.suppress(pynvml.NVMLError):
                pynvml.nvmlShutdown()

    def sample(self) -> NvmlReading:
        if self._static is None:
            self._open()
        assert self._static is not None
        pynvml = self._pynvml
        try:
            devices = tuple(self._read_dynamic(device) for device in self._static.devices)
        except pynvml.NVMLError as e:
            self.close()
            raise _translate(pynvml, e) from e
        return NvmlReading(driver_version=self._static.driver_version,
                           cuda_driver_version=self._static.cuda_driver_version,
                           devices=devices)

    def _open(self) -> None:
        pynvml = _import_pynvml()
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as e:
            raise _translate(pynvml, e) from e
        self._pynvml = pynvml
        self.opened += 1
        try:
            self._static = _read_static(pynvml)
        except pynvml.NVMLError as e:
            self.close()
            raise _translate(pynvml, e) from e

    def _read_dynamic(self, device: _StaticDevice) -> NvmlDevice:
        pynvml, handle = self._pynvml, device.handle
        unavailable = dict(device.unavailable)
        field_of = _field_reader(pynvml, unavailable)
        memory = field_of("memory", lambda: pynvml.nvmlDeviceGetMemoryInfo(handle))
        utilization = field_of("utilization", lambda: pynvml.nvmlDeviceGetUtilizationRates(handle))
        return NvmlDevice(
            index=device.index, name=device.name, uuid=device.uuid,
            compute_capability=device.compute_capability,
            memory_total_bytes=int(memory.total) if memory is not None else None,
            memory_used_bytes=int(memory.used) if memory is not None else None,
            temperature_c=field_of(
                "temperature",
                lambda: int(pynvml.nvmlDeviceGetTemperature(handle, _NVML_TEMPERATURE_GPU)),
            ),
            power_mw=field_of("power", lambda: int(pynvml.nvmlDeviceGetPowerUsage(handle))),
            power_limit_mw=device.power_limit_mw,
            utilization_pct=int(utilization.gpu) if utilization is not None else None,
            throttle_mask=field_of("throttle_reasons", lambda: self._throttle_mask(handle)),
            processes=field_of("processes", lambda: self._processes(handle)),
            mig_mode=device.mig_mode,
            ecc_uncorrected=device.ecc_uncorrected,
            unavailable=unavailable,
        )

    def _throttle_mask(self, handle: Any) -> int:
        pynvml = self._pynvml
        if self._throttle_call is None:
            try:
                mask = int(pynvml.nvmlDeviceGetCurrentClocksEventReasons(handle))
            except pynvml.NVMLError_FunctionNotFound:
                # Renamed in driver 535's NVML; older drivers only have the throttle name.
                self._throttle_call = "nvmlDeviceGetCurrentClocksThrottleReasons"
            else:
                self._throttle_call = "nvmlDeviceGetCurrentClocksEventReasons"
                return mask
        return int(getattr(pynvml, self._throttle_call)(handle))

    def _processes(self, handle: Any) -> tuple[NvmlProcess, ...]:
        found = []
        for proc in self._pynvml.nvmlDeviceGetComputeRunningProcesses(handle):
            pid, used = int(proc.pid), proc.usedGpuMemory
            if pid not in self._process_names:
                self._process_names[pid] = _process_name(self._pynvml, pid)
            found.append(NvmlProcess(pid=pid, name=self._process_names[pid],
                                     used_bytes=int(used) if isinstance(used, int) else None))
        return tuple(found)


def _translate(pynvml: Any, error: Any) -> NvmlError:
    code = getattr(error, "value", None)
    name = next(
        (n for n in dir(pynvml) if n.startswith("NVML_ERROR_") and getattr(pynvml, n) == code),
        f"NVML_ERROR_{code}",
    )
    return NvmlError(f"NVML: {error}", code=code, name=name)


def _text(value: object) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _field_reader(pynvml: Any, unavailable: dict[str, str]
                  ) -> Callable[[str, Callable[[], T]], T | None]:
    """A call that one GPU or an older driver lacks degrades only its field."""

    def field_of(name: str, call: Callable[[], T]) -> T | None:
        try:
            return call()
        except pynvml.NVMLError_FunctionNotFound:
            unavailable[name] = "this driver's NVML lacks the call (older driver)"
        except pynvml.NVMLError_NotSupported:
            unavailable[name] = "not supported on this GPU"
        except pynvml.NVMLError as e:
            if _translate(pynvml, e).name in _SESSION_ENDING_ERRORS:
                raise
            unavailable[name] = f"NVML: {e}"
        return None

    return field_of


def _read_static(pynvml: Any) -> _StaticSystem:
    driver_version = _text(pynvml.nvmlSystemGetDriverVersion())
    try:
        cuda_driver_version: int | None = int(pynvml.nvmlSystemGetCudaDriverVersion())
    except pynvml.NVMLError:
        cuda_driver_version = None
    count = int(pynvml.nvmlDeviceGetCount())
    return _StaticSystem(driver_version=driver_version, cuda_driver_version=cuda_driver_version,
                         devices=tuple(_read_static_device(pynvml, i) for i in range(count)))


def _read_static_device(pynvml: Any, index: int) -> _StaticDevice:
    handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    unavailable: dict[str, str] = {}
    field_of = _field_reader(pynvml, unavailable)
    capability = field_of(
        "compute_capability", lambda: pynvml.nvmlDeviceGetCudaComputeCapability(handle)
    )
    mig = field_of("mig_mode", lambda: pynvml.nvmlDeviceGetMigMode(handle))
    return _StaticDevice(
        index=index,
        handle=handle,
        name=_text(pynvml.nvmlDeviceGetName(handle)),
        uuid=field_of("uuid", lambda: _text(pynvml.nvmlDeviceGetUUID(handle))),
        compute_capability=(int(capability[0]), int(capability[1])) if capability else None,
        power_limit_mw=field_of(
            "power_limit", lambda: int(pynvml.nvmlDeviceGetEnforcedPowerLimit(handle))
        ),
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
