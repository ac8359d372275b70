"""The NVIDIA driver and its GPUs: NVML first, then /proc and `nvidia-smi -q -x`.

NVML is what CUDA itself uses, so its verdict decides the status. The fallbacks exist for
machines where the NVML library is not loadable (a container started without the
`utility` driver capability, a broken install) while the kernel module is there.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import Version

from envcheck.adapters.nvml import NvmlDevice, NvmlReading
from envcheck.errors import CommandNotFoundError, CommandTimeoutError, NvmlError, ParseError
from envcheck.host import Host
from envcheck.parsers.nvidia_smi_xml import parse_nvidia_smi_xml
from envcheck.parsers.proc_driver_version import parse_proc_driver_version
from envcheck.snapshot import Driver, DriverSource, DriverVersion, Gpu, GpuProcess
from envcheck.throttle import throttle_names

PROC_VERSION = "/proc/driver/nvidia/version"
_MIB = 1024 * 1024

# NVML errors that mean "there is no usable NVIDIA driver here" rather than "it is broken".
_ABSENT_CODES = {"NVML_ERROR_DRIVER_NOT_LOADED", "NVML_ERROR_LIBRARY_NOT_FOUND"}


@dataclass(frozen=True, kw_only=True)
class DriverFacts:
    driver: Driver
    gpus: tuple[Gpu, ...]


def cuda_version_from_nvml(value: int) -> Version:
    """NVML encodes CUDA 12.4 as 12040 (major * 1000 + minor * 10)."""
    return Version(f"{value // 1000}.{value % 1000 // 10}")


def probe_driver(host: Host) -> DriverFacts:
    kernel_module, proc_problem = _read_proc_version(host)
    try:
        reading = host.nvml.read()
    except NvmlError as e:
        return _without_nvml(host, e, kernel_module, proc_problem)
    return DriverFacts(
        driver=Driver(
            status="ok",
            version=_driver_version_or_none(reading.driver_version),
            cuda_driver_api=(
                cuda_version_from_nvml(reading.cuda_driver_version)
                if reading.cuda_driver_version
                else None
            ),
            kernel_module_version=kernel_module,
            source="nvml",
        ),
        gpus=gpus_from_nvml(reading),
    )


def gpus_from_nvml(reading: NvmlReading) -> tuple[Gpu, ...]:
    return tuple(_gpu_from_device(device) for device in reading.devices)


def _gpu_from_device(device: NvmlDevice) -> Gpu:
    processes = tuple(
        GpuProcess(
            pid=p.pid,
            name=p.name,
            used_mib=p.used_bytes // _MIB if p.used_bytes is not None else None,
        )
        for p in device.processes or ()
    )
    capability = device.compute_capability
    return Gpu(
        index=device.index,
        name=device.name,
        uuid=device.uuid,
        compute_capability=f"{capability[0]}.{capability[1]}" if capability else None,
        memory_total_mib=_mib(device.memory_total_bytes),
        memory_used_mib=_mib(device.memory_used_bytes),
        temperature_c=device.temperature_c,
        power_w=device.power_mw / 1000 if device.power_mw is not None else None,
        power_limit_w=device.power_limit_mw / 1000 if device.power_limit_mw is not None else None,
        utilization_pct=device.utilization_pct,
        throttle_reasons=throttle_names(device.throttle_mask) if device.throttle_mask else (),
        processes=processes,
        mig_mode=device.mig_mode,
        ecc_uncorrected=device.ecc_uncorrected,
        unavailable=dict(device.unavailable),
    )


def _mib(value: int | None) -> int | None:
    return value // _MIB if value is not None else None


def _driver_version_or_none(text: str) -> DriverVersion | None:
    try:
        return DriverVersion(text.strip())
    except ValueError:
        return None


def _read_proc_version(host: Host) -> tuple[DriverVersion | None, str | None]:
    """The kernel module's version, or why it could not be read (None when absent)."""
    try:
        text = host.fs.read_text(PROC_VERSION)
    except OSError as e:
        return None, f"cannot read {PROC_VERSION}: {e.strerror or e}"
    if text is None:
        return None, None
    try:
        return parse_proc_driver_version(text), None
    except ParseError as e:
        return None, f"{PROC_VERSION} is not understood: {e}"


def _without_nvml(
    host: Host, error: NvmlError, kernel_module: DriverVersion | None, proc_problem: str | None
) -> DriverFacts:
    if error.name == "NVML_ERROR_LIB_RM_VERSION_MISMATCH":
        module = f" (kernel module {kernel_module})" if kernel_module else ""
        return DriverFacts(
            driver=Driver(
                status="error",
                detail=(
                    "Driver/library version mismatch: the loaded NVIDIA kernel module"
                    f"{module} differs from the user-space driver library. This usually "
                    "follows a driver upgrade without a reboot; reboot, or unload and reload "
                    "the nvidia kernel modules."
                ),
                kernel_module_version=kernel_module,
                source="nvml",
                error_code=error.name,
            ),
            gpus=(),
        )
    if error.name == "NVML_ERROR_DRIVER_NOT_LOADED":
        return DriverFacts(
            driver=Driver(
                status="absent",
                detail=(
                    "NVML is installed but the NVIDIA kernel driver is not loaded "
                    "(no GPU, the module failed to load, or Secure Boot blocked it); "
                    "`sudo modprobe nvidia` or `dmesg | grep -i nvidia` says which."
                ),
                kernel_module_version=kernel_module,
                source="nvml",
                error_code=error.name,
            ),
            gpus=(),
        )
    if error.name in _ABSENT_CODES or error.name == "NVML_BINDING_MISSING":
        return _fallback_to_smi(host, error, kernel_module, proc_problem)
    return _broken(f"NVML failed to start: {error.message}", error=error,
                   kernel_module=kernel_module, source="nvml")


def _broken(detail: str, *, error: NvmlError, kernel_module: DriverVersion | None,
            source: DriverSource) -> DriverFacts:
    return DriverFacts(
        driver=Driver(status="error", detail=detail, kernel_module_version=kernel_module,
                      source=source, error_code=error.name),
        gpus=(),
    )


def _fallback_to_smi(
    host: Host, error: NvmlError, kernel_module: DriverVersion | None, proc_problem: str | None
) -> DriverFacts:
    try:
        result = host.runner.run(
            ["nvidia-smi", "-q", "-x"], timeout=host.limits.nvidia_smi, env=host.env
        )
    except CommandNotFoundError:
        return _from_proc_only(error, kernel_module, proc_problem)
    except CommandTimeoutError as e:
        return _broken(f"NVML could not be loaded and {e.message}", error=error,
                       kernel_module=kernel_module, source="nvidia-smi")
    if not result.ok:
        return _broken(f"NVML could not be loaded and {result.describe_failure()}",
                       error=error, kernel_module=kernel_module, source="nvidia-smi")
    try:
        report = parse_nvidia_smi_xml(result.stdout)
    except ParseError as e:
        return _broken(
            f"NVML could not be loaded and nvidia-smi -q -x printed no usable XML: {e}",
            error=error, kernel_module=kernel_module, source="nvidia-smi")
    return DriverFacts(
        driver=Driver(
            status="ok",
            detail=f"read through nvidia-smi because {error.message}",
            version=report.driver_version,
            cuda_driver_api=report.cuda_version,
            kernel_module_version=kernel_module,
            source="nvidia-smi",
        ),
        gpus=report.gpus,
    )


def _from_proc_only(
    error: NvmlError, kernel_module: DriverVersion | None, proc_problem: str | None
) -> DriverFacts:
    if proc_problem is not None:
        return _broken(proc_problem, error=error, kernel_module=None, source="proc")
    if kernel_module is None:
        return DriverFacts(
            driver=Driver(
                status="absent",
                detail=(
                    "no NVIDIA driver: libnvidia-ml.so.1 cannot be loaded, "
                    f"{PROC_VERSION} does not exist and nvidia-smi is not installed"
                ),
                error_code=error.name,
            ),
            gpus=(),
        )
    # The kernel module is loaded but its user-space library is not reachable: typical of a
    # container run without the NVIDIA runtime or without the `utility` capability.
    return DriverFacts(
        driver=Driver(
            status="error",
            detail=(
                f"the NVIDIA kernel module {kernel_module} is loaded, but libnvidia-ml.so.1 "
                "cannot be loaded and nvidia-smi is missing; in a container, run it with "
                "`--gpus all` (NVIDIA Container Toolkit) and NVIDIA_DRIVER_CAPABILITIES "
                "including utility,compute"
            ),
            version=kernel_module,
            kernel_module_version=kernel_module,
            source="proc",
            error_code=error.name,
        ),
        gpus=(),
    )
