"""The stand-in libnvidia-ml.so.1 answers the real pynvml as each scenario file says.

Each check runs in a subprocess because the dynamic loader reads LD_LIBRARY_PATH only
at process start, and pynvml keeps the first library it loads for the life of the process.
The expectations are derived from the scenario files by a small reader here, so a
scenario added later is checked too; a second set of tests pins literal real-world values
so that a mistake shared by the reader and the C parser cannot hide.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.standin_nvml.build import LIBRARY_NAME, build_standin_nvml

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "data" / "nvml"
SCENARIOS = sorted(SCENARIO_DIR.glob("*.scenario"))
MIB = 1048576
NOT_AVAILABLE_UINT = 0xFFFFFFFF

# Queries everything the stand-in answers, in a fixed order (list-valued fields advance
# per call, so the expectations below follow the same order), and prints one JSON object.
QUERY_SNIPPET = r"""
import json
import pynvml

def attempt(call, *args):
    try:
        return {"value": call(*args)}
    except pynvml.NVMLError as e:
        return {"error": type(e).__name__}

def memory_v1(handle):
    m = pynvml.nvmlDeviceGetMemoryInfo(handle)
    return {"total": m.total, "free": m.free, "used": m.used}

def memory_v2(handle):
    m = pynvml.nvmlDeviceGetMemoryInfo(handle, version=pynvml.nvmlMemory_v2)
    return {"total": m.total, "reserved": m.reserved, "free": m.free, "used": m.used}

def utilization(handle):
    u = pynvml.nvmlDeviceGetUtilizationRates(handle)
    return {"gpu": u.gpu, "memory": u.memory}

def processes(call, handle):
    return [
        {
            "pid": p.pid,
            "used_bytes": p.usedGpuMemory,
            "gpu_instance_id": p.gpuInstanceId,
            "compute_instance_id": p.computeInstanceId,
        }
        for p in call(handle)
    ]

try:
    pynvml.nvmlInit()
except pynvml.NVMLError as e:
    print(json.dumps({"init_error": type(e).__name__, "init_message": str(e)}))
    raise SystemExit(0)

report = {
    "driver_version": attempt(pynvml.nvmlSystemGetDriverVersion),
    "nvml_version": attempt(pynvml.nvmlSystemGetNVMLVersion),
    "cuda_driver_version": attempt(pynvml.nvmlSystemGetCudaDriverVersion),
    "cuda_driver_version_v2": attempt(pynvml.nvmlSystemGetCudaDriverVersion_v2),
    "device_count": attempt(pynvml.nvmlDeviceGetCount),
    "gpus": [],
}
for index in range(report["device_count"].get("value", 0)):
    handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    gpu = {
        "index": attempt(pynvml.nvmlDeviceGetIndex, handle),
        "name": attempt(pynvml.nvmlDeviceGetName, handle),
        "uuid": attempt(pynvml.nvmlDeviceGetUUID, handle),
        "compute_capability": attempt(
            lambda: list(pynvml.nvmlDeviceGetCudaComputeCapability(handle))
        ),
        "memory": attempt(memory_v1, handle),
        "memory_v2": attempt(memory_v2, handle),
        "temperature": attempt(
            pynvml.nvmlDeviceGetTemperature, handle, pynvml.NVML_TEMPERATURE_GPU
        ),
        "temperature_v": attempt(
            pynvml.nvmlDeviceGetTemperatureV, handle, pynvml.NVML_TEMPERATURE_GPU
        ),
        "power_mw": attempt(pynvml.nvmlDeviceGetPowerUsage, handle),
        "enforced_power_limit_mw": attempt(pynvml.nvmlDeviceGetEnforcedPowerLimit, handle),
        "power_management_limit_mw": attempt(
            pynvml.nvmlDeviceGetPowerManagementLimit, handle
        ),
        "clocks_event_reasons": attempt(
            pynvml.nvmlDeviceGetCurrentClocksEventReasons, handle
        ),
        "clocks_throttle_reasons": attempt(
            pynvml.nvmlDeviceGetCurrentClocksThrottleReasons, handle
        ),
        "utilization": attempt(utilization, handle),
        "mig_mode": attempt(pynvml.nvmlDeviceGetMigMode, handle),
        "ecc_uncorrected_volatile": attempt(
            pynvml.nvmlDeviceGetTotalEccErrors,
            handle,
            pynvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED,
            pynvml.NVML_VOLATILE_ECC,
        ),
        "ecc_corrected_volatile": attempt(
            pynvml.nvmlDeviceGetTotalEccErrors,
            handle,
            pynvml.NVML_MEMORY_ERROR_TYPE_CORRECTED,
            pynvml.NVML_VOLATILE_ECC,
        ),
        "compute_processes": attempt(
            processes, pynvml.nvmlDeviceGetComputeRunningProcesses, handle
        ),
        "compute_processes_v2": attempt(
            processes, pynvml.nvmlDeviceGetComputeRunningProcesses_v2, handle
        ),
        "graphics_processes": attempt(
            processes, pynvml.nvmlDeviceGetGraphicsRunningProcesses_v3, handle
        ),
    }
    gpu["process_names"] = {
        str(p["pid"]): attempt(pynvml.nvmlSystemGetProcessName, p["pid"])
        for p in gpu["compute_processes"].get("value", [])
    }
    gpu["handle_by_uuid_index"] = attempt(
        lambda: pynvml.nvmlDeviceGetIndex(
            pynvml.nvmlDeviceGetHandleByUUID(gpu["uuid"]["value"])
        )
    )
    report["gpus"].append(gpu)
pynvml.nvmlShutdown()
print(json.dumps(report))
"""

# Reads list-valued fields repeatedly, across a shutdown/init, as a watch loop would.
RAMP_SNIPPET = r"""
import json
import pynvml

pynvml.nvmlInit()
handle = pynvml.nvmlDeviceGetHandleByIndex(0)
temperatures = [pynvml.nvmlDeviceGetTemperature(handle, 0) for _ in range(3)]
pynvml.nvmlShutdown()
pynvml.nvmlInit()
handle = pynvml.nvmlDeviceGetHandleByIndex(0)
temperatures += [pynvml.nvmlDeviceGetTemperature(handle, 0) for _ in range(5)]
memory_used = [pynvml.nvmlDeviceGetMemoryInfo(handle).used for _ in range(8)]
throttle = [pynvml.nvmlDeviceGetCurrentClocksEventReasons(handle) for _ in range(7)]
power = [pynvml.nvmlDeviceGetPowerUsage(handle) for _ in range(7)]
pynvml.nvmlShutdown()
print(json.dumps({
    "temperatures": temperatures,
    "memory_used": memory_used,
    "throttle": throttle,
    "power": power,
}))
"""

# Positions survive shutdown/init; a rewritten file is parsed again at the next init.
RELOAD_SNIPPET = r"""
import json
import os
import pathlib
import pynvml

path = pathlib.Path(os.environ["ENVCHECK_NVML_SCENARIO"])

def temperature():
    pynvml.nvmlInit()
    value = pynvml.nvmlDeviceGetTemperature(pynvml.nvmlDeviceGetHandleByIndex(0), 0)
    pynvml.nvmlShutdown()
    return value

readings = [temperature(), temperature()]
path.write_text(path.read_text().replace("temperature_c 50,51", "temperature_c 77"))
readings.append(temperature())
print(json.dumps(readings))
"""

# Error paths of the library itself, not of a scenario.
EDGE_SNIPPET = r"""
import json
import pynvml

def error_of(call, *args):
    try:
        call(*args)
    except pynvml.NVMLError as e:
        return type(e).__name__
    return None

pynvml.nvmlInit()
pynvml.nvmlInit()
count = pynvml.nvmlDeviceGetCount()
bad_index = error_of(pynvml.nvmlDeviceGetHandleByIndex, count)
handle = pynvml.nvmlDeviceGetHandleByIndex(0)
bad_sensor = error_of(pynvml.nvmlDeviceGetTemperature, handle, 1)
unknown_pid = error_of(pynvml.nvmlSystemGetProcessName, 1)
unknown_uuid = error_of(
    pynvml.nvmlDeviceGetHandleByUUID, "GPU-00000000-0000-0000-0000-000000000000"
)
pynvml.nvmlShutdown()
still_initialized = error_of(pynvml.nvmlDeviceGetCount)
pynvml.nvmlShutdown()
after_shutdown = error_of(pynvml.nvmlDeviceGetCount)
extra_shutdown = error_of(pynvml.nvmlShutdown)
print(json.dumps({
    "bad_index": bad_index,
    "bad_sensor": bad_sensor,
    "unknown_pid": unknown_pid,
    "unknown_uuid": unknown_uuid,
    "still_initialized": still_initialized,
    "after_shutdown": after_shutdown,
    "extra_shutdown": extra_shutdown,
    "error_string": pynvml.nvmlErrorString(pynvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH),
}))
"""

# The unversioned process symbol fills the 16-byte v1 struct, which pynvml no longer wraps.
V1_PROCESSES_SNIPPET = r"""
import ctypes
import json
import pynvml

class ProcessInfoV1(ctypes.Structure):
    _fields_ = [("pid", ctypes.c_uint), ("usedGpuMemory", ctypes.c_ulonglong)]

pynvml.nvmlInit()
handle = pynvml.nvmlDeviceGetHandleByIndex(0)
function = pynvml.nvmlLib.nvmlDeviceGetComputeRunningProcesses
count = ctypes.c_uint(0)
first = function(handle, ctypes.byref(count), None)
needed = count.value
buffer = (ProcessInfoV1 * 4)()
count.value = 4
second = function(handle, ctypes.byref(count), buffer)
print(json.dumps({
    "first": first,
    "needed": needed,
    "second": second,
    "processes": [[buffer[i].pid, buffer[i].usedGpuMemory] for i in range(count.value)],
}))
"""


@dataclass(frozen=True, kw_only=True)
class ScenarioProcess:
    pid: int
    used_mib: int
    name: str


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """A scenario file as the C library documents it, read independently of the C code."""

    keys: dict[str, str]
    processes: dict[int, list[ScenarioProcess]]
    missing: frozenset[str]
    unsupported: frozenset[str]


def strip_comment(line: str) -> str:
    for position, char in enumerate(line):
        if char == "#" and (position == 0 or line[position - 1] in " \t"):
            return line[:position]
    return line


def parse_process(value: str) -> ScenarioProcess:
    pid, second, rest = value.split(maxsplit=2)
    if second.isdigit():
        return ScenarioProcess(pid=int(pid), used_mib=int(second), name=rest)
    return ScenarioProcess(pid=int(pid), used_mib=int(rest), name=second)


def read_scenario(path: Path) -> Scenario:
    keys: dict[str, str] = {}
    processes: dict[int, list[ScenarioProcess]] = {}
    missing: set[str] = set()
    unsupported: set[str] = set()
    for raw_line in path.read_text().splitlines():
        line = strip_comment(raw_line).strip()
        if not line:
            continue
        key, value = line.split(maxsplit=1)
        if key == "missing":
            missing.add(value)
        elif key == "unsupported":
            unsupported.add(value)
        elif key.startswith("gpu") and key.endswith(".process"):
            gpu_index = int(key[3:].split(".")[0])
            processes.setdefault(gpu_index, []).append(parse_process(value))
        else:
            keys[key] = value
    return Scenario(
        keys=keys,
        processes=processes,
        missing=frozenset(missing),
        unsupported=frozenset(unsupported),
    )


class Series:
    """A list-valued field: each read returns the next value, then stays on the last."""

    def __init__(self, values: list[int]) -> None:
        self.values = values
        self.position = 0

    def take(self) -> int:
        value = self.values[self.position]
        self.position = min(self.position + 1, len(self.values) - 1)
        return value


def integer_series(text: str | None) -> Series:
    return Series([parse_number(item) for item in text.split(",")] if text else [])


def milli_series(text: str | None) -> Series:
    return Series([to_milli(item) for item in text.split(",")] if text else [])


def parse_number(text: str) -> int:
    text = text.strip()
    return int(text, 16) if text.lower().startswith("0x") else int(text)


def to_milli(text: str) -> int:
    return int(Decimal(text.strip()) * 1000)


def ok(value: object) -> dict[str, object]:
    return {"value": value}


def error(nvml_error_name: str) -> dict[str, object]:
    # Same naming rule as pynvml's _extractNVMLErrorsAsClasses.
    words = nvml_error_name.removeprefix("NVML_ERROR_").split("_")
    return {"error": "NVMLError_" + "".join(word.capitalize() for word in words)}


def expected_gpu(scenario: Scenario, index: int) -> dict[str, object]:
    prefix = f"gpu{index}."

    def get(field: str) -> str | None:
        return scenario.keys.get(prefix + field)

    def answer(function: str, field: str, read: Callable[[], object] | None) -> dict[str, object]:
        """What one call returns; ``read`` is None when the scenario leaves the field out."""
        if function in scenario.missing:
            return error("NVML_ERROR_FUNCTION_NOT_FOUND")
        if prefix + field in scenario.unsupported or read is None:
            return error("NVML_ERROR_NOT_SUPPORTED")
        return ok(read())

    def constant(value: object) -> Callable[[], object] | None:
        return None if value is None else lambda: value

    def reads(series: Series) -> Callable[[], object] | None:
        return series.take if series.values else None

    memory_used = integer_series(get("memory_used_mib"))
    temperature = integer_series(get("temperature_c"))
    power = milli_series(get("power_w"))
    throttle = integer_series(get("throttle_reasons"))
    utilization_gpu = integer_series(get("utilization_gpu"))
    utilization_memory = integer_series(get("utilization_memory"))
    total_text = get("memory_total_mib")
    total_mib = int(total_text or 0)
    reserved_mib = int(get("memory_reserved_mib") or 0)

    def memory(*, with_reserved: bool) -> dict[str, int]:
        used_mib = memory_used.take() if memory_used.values else 0
        free_mib = max(total_mib - reserved_mib - used_mib, 0)
        if with_reserved:
            return {
                "total": total_mib * MIB,
                "reserved": reserved_mib * MIB,
                "free": free_mib * MIB,
                "used": used_mib * MIB,
            }
        # nvmlMemory_t has no reserved field; the driver counts reserved memory as used.
        return {
            "total": total_mib * MIB,
            "free": free_mib * MIB,
            "used": (used_mib + reserved_mib) * MIB,
        }

    def utilization() -> dict[str, int]:
        return {
            "gpu": utilization_gpu.take(),
            "memory": utilization_memory.take() if utilization_memory.values else 0,
        }

    def ecc(field: str) -> Callable[[], object] | None:
        text = get(field)
        return constant(None if text is None else int(text))

    cc = get("compute_capability")
    power_limit = get("power_limit_w")
    enforced_limit = get("enforced_power_limit_w") or power_limit
    mig = (get("mig_mode") or "").split()
    procs = scenario.processes.get(index, [])
    compute_processes = [
        {
            "pid": proc.pid,
            "used_bytes": proc.used_mib * MIB,
            "gpu_instance_id": NOT_AVAILABLE_UINT,
            "compute_instance_id": NOT_AVAILABLE_UINT,
        }
        for proc in procs
    ]
    # nvmlSystemGetProcessName answers from the first GPU listing the pid.
    name_by_pid: dict[int, str] = {}
    for gpu_index in sorted(scenario.processes):
        for proc in scenario.processes[gpu_index]:
            name_by_pid.setdefault(proc.pid, proc.name)
    processes_unsupported = prefix + "processes" in scenario.unsupported
    # Built in the snippet's order, because list-valued fields advance per successful call.
    return {
        "index": ok(index),
        "name": answer("nvmlDeviceGetName", "name", constant(get("name"))),
        "uuid": answer("nvmlDeviceGetUUID", "uuid", constant(get("uuid"))),
        "compute_capability": answer(
            "nvmlDeviceGetCudaComputeCapability",
            "compute_capability",
            constant([int(part) for part in cc.split(".")] if cc else None),
        ),
        "memory": answer(
            "nvmlDeviceGetMemoryInfo",
            "memory",
            (lambda: memory(with_reserved=False)) if total_text else None,
        ),
        "memory_v2": answer(
            "nvmlDeviceGetMemoryInfo_v2",
            "memory",
            (lambda: memory(with_reserved=True)) if total_text else None,
        ),
        "temperature": answer("nvmlDeviceGetTemperature", "temperature", reads(temperature)),
        "temperature_v": answer("nvmlDeviceGetTemperatureV", "temperature", reads(temperature)),
        "power_mw": answer("nvmlDeviceGetPowerUsage", "power", reads(power)),
        "enforced_power_limit_mw": answer(
            "nvmlDeviceGetEnforcedPowerLimit",
            "power_limit",
            constant(to_milli(enforced_limit) if enforced_limit else None),
        ),
        "power_management_limit_mw": answer(
            "nvmlDeviceGetPowerManagementLimit",
            "power_limit",
            constant(to_milli(power_limit) if power_limit else None),
        ),
        "clocks_event_reasons": answer(
            "nvmlDeviceGetCurrentClocksEventReasons", "throttle_reasons", reads(throttle)
        ),
        "clocks_throttle_reasons": answer(
            "nvmlDeviceGetCurrentClocksThrottleReasons", "throttle_reasons", reads(throttle)
        ),
        "utilization": answer(
            "nvmlDeviceGetUtilizationRates",
            "utilization",
            utilization if utilization_gpu.values else None,
        ),
        "mig_mode": answer(
            "nvmlDeviceGetMigMode",
            "mig_mode",
            constant([int(mig[0]), int(mig[-1])] if mig else None),
        ),
        "ecc_uncorrected_volatile": answer(
            "nvmlDeviceGetTotalEccErrors", "ecc", ecc("ecc_uncorrected")
        ),
        "ecc_corrected_volatile": answer(
            "nvmlDeviceGetTotalEccErrors", "ecc", ecc("ecc_corrected")
        ),
        "compute_processes": answer(
            "nvmlDeviceGetComputeRunningProcesses_v3", "processes", constant(compute_processes)
        ),
        "compute_processes_v2": answer(
            "nvmlDeviceGetComputeRunningProcesses_v2", "processes", constant(compute_processes)
        ),
        "graphics_processes": answer(
            "nvmlDeviceGetGraphicsRunningProcesses_v3", "processes", constant([])
        ),
        "process_names": (
            {} if processes_unsupported else {str(p.pid): ok(name_by_pid[p.pid]) for p in procs}
        ),
        "handle_by_uuid_index": ok(index),
    }


def expected_report(scenario: Scenario) -> dict[str, object]:
    keys = scenario.keys
    init_error = keys.get("init_error")
    if init_error is not None:
        return {"init_error": error(init_error)["error"]}
    gpu_indexes = {int(key[3:].split(".")[0]) for key in keys if key.startswith("gpu")}
    gpu_indexes |= set(scenario.processes)
    count = int(keys.get("device_count", max(gpu_indexes, default=-1) + 1))
    cuda = int(keys["cuda_driver_version"])
    return {
        "driver_version": ok(keys["driver_version"]),
        "nvml_version": ok(keys.get("nvml_version", f"{cuda // 1000}.{keys['driver_version']}")),
        "cuda_driver_version": ok(cuda),
        "cuda_driver_version_v2": ok(cuda),
        "device_count": ok(count),
        "gpus": [expected_gpu(scenario, index) for index in range(count)],
    }


@pytest.fixture(scope="module")
def standin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("pynvml") is None:
        pytest.fail(f"nvidia-ml-py (pynvml) is not installed for {sys.executable}")
    return build_standin_nvml(tmp_path_factory.mktemp("standin_nvml"))


def run_snippet(
    standin: Path, snippet: str, scenario: Path | None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ENVCHECK_NVML_SCENARIO"}
    inherited = env.get("LD_LIBRARY_PATH")
    env["LD_LIBRARY_PATH"] = f"{standin}:{inherited}" if inherited else str(standin)
    if scenario is not None:
        env["ENVCHECK_NVML_SCENARIO"] = str(scenario)
    return subprocess.run(
        [sys.executable, "-c", snippet],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def query(standin: Path, snippet: str, scenario: Path | None) -> dict[str, Any]:
    completed = run_snippet(standin, snippet, scenario)
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def query_scenario(standin: Path, name: str) -> dict[str, Any]:
    return query(standin, QUERY_SNIPPET, SCENARIO_DIR / name)


def test_every_expected_scenario_is_shipped() -> None:
    assert {path.name for path in SCENARIOS} >= {
        "no_driver.scenario",
        "rtx4090_driver550.scenario",
        "h100x8_driver535_mig.scenario",
        "driver_library_mismatch.scenario",
        "hot_throttling.scenario",
        "a100_driver525.scenario",
        "old_driver_missing_calls.scenario",
        "thermal_ramp.scenario",
    }


@pytest.mark.parametrize("scenario_path", SCENARIOS, ids=[path.stem for path in SCENARIOS])
def test_pynvml_reports_what_the_scenario_says(standin_dir: Path, scenario_path: Path) -> None:
    report = query(standin_dir, QUERY_SNIPPET, scenario_path)
    expected = expected_report(read_scenario(scenario_path))
    if "init_error" in expected:
        assert report["init_error"] == expected["init_error"]
    else:
        assert report == expected


def test_library_is_the_one_loaded(standin_dir: Path) -> None:
    snippet = "import pynvml; pynvml.nvmlInit(); print(pynvml.nvmlLib._name)"
    completed = run_snippet(standin_dir, snippet, SCENARIO_DIR / "rtx4090_driver550.scenario")
    assert completed.stdout.strip() == LIBRARY_NAME
    assert (standin_dir / LIBRARY_NAME).is_file()


@pytest.mark.parametrize(
    ("scenario_name", "exception_class", "message"),
    [
        ("no_driver.scenario", "NVMLError_DriverNotLoaded", "Driver Not Loaded"),
        (
            "driver_library_mismatch.scenario",
            "NVMLError_LibRmVersionMismatch",
            "RM has detected an NVML/RM version mismatch.",
        ),
    ],
)
def test_init_errors_raise_the_pynvml_class(
    standin_dir: Path, scenario_name: str, exception_class: str, message: str
) -> None:
    report = query_scenario(standin_dir, scenario_name)
    assert report == {"init_error": exception_class, "init_message": message}


def test_rtx4090_on_driver_550(standin_dir: Path) -> None:
    report = query_scenario(standin_dir, "rtx4090_driver550.scenario")
    assert report["driver_version"] == {"value": "550.54.15"}
    assert report["nvml_version"] == {"value": "12.550.54.15"}
    assert report["cuda_driver_version"] == {"value": 12040}
    assert report["device_count"] == {"value": 1}
    (gpu,) = report["gpus"]
    assert gpu["name"] == {"value": "NVIDIA GeForce RTX 4090"}
    assert gpu["compute_capability"] == {"value": [8, 9]}
    assert gpu["memory"]["value"]["total"] == 24564 * MIB
    assert gpu["temperature"] == {"value": 41}
    assert gpu["power_mw"] == {"value": 35500}
    assert gpu["enforced_power_limit_mw"] == {"value": 450000}
    assert gpu["clocks_event_reasons"] == {"value": 0}
    assert gpu["mig_mode"] == {"error": "NVMLError_NotSupported"}
    assert gpu["ecc_uncorrected_volatile"] == {"error": "NVMLError_NotSupported"}
    assert gpu["compute_processes"] == {"value": []}


def test_h100_node_has_mig_on_gpu3_only(standin_dir: Path) -> None:
    report = query_scenario(standin_dir, "h100x8_driver535_mig.scenario")
    assert report["driver_version"] == {"value": "535.104.05"}
    assert report["cuda_driver_version"] == {"value": 12020}
    gpus = report["gpus"]
    assert len(gpus) == 8
    assert {gpu["name"]["value"] for gpu in gpus} == {"NVIDIA H100 80GB HBM3"}
    assert len({gpu["uuid"]["value"] for gpu in gpus}) == 8
    assert all(gpu["uuid"]["value"].startswith("GPU-") for gpu in gpus)
    assert all(gpu["compute_capability"] == {"value": [9, 0]} for gpu in gpus)
    assert all(gpu["memory"]["value"]["total"] == 81559 * MIB for gpu in gpus)
    assert [gpu["mig_mode"]["value"] for gpu in gpus] == [
        [1, 1] if index == 3 else [0, 0] for index in range(8)
    ]
    assert all(gpu["ecc_uncorrected_volatile"] == {"value": 0} for gpu in gpus)


def test_hot_rtx3090_reports_thermal_throttling_and_a_foreign_process(standin_dir: Path) -> None:
    report = query_scenario(standin_dir, "hot_throttling.scenario")
    (gpu,) = report["gpus"]
    assert gpu["name"] == {"value": "NVIDIA GeForce RTX 3090"}
    assert gpu["compute_capability"] == {"value": [8, 6]}
    assert gpu["memory"]["value"]["total"] == 24576 * MIB
    assert gpu["temperature"] == {"value": 91}
    # nvmlClocksThrottleReasonHwSlowdown | SwThermalSlowdown | HwThermalSlowdown in pynvml
    assert gpu["clocks_event_reasons"] == {"value": 0x08 | 0x20 | 0x40}
    assert gpu["clocks_throttle_reasons"] == {"value": 0x68}
    assert gpu["compute_processes"] == {
        "value": [
            {
                "pid": 31337,
                "used_bytes": 22000 * MIB,
                "gpu_instance_id": NOT_AVAILABLE_UINT,
                "compute_instance_id": NOT_AVAILABLE_UINT,
            }
        ]
    }
    assert gpu["process_names"] == {"31337": {"value": "python3"}}


def test_throttle_bits_match_pynvml_constants(standin_dir: Path) -> None:
    snippet = (
        "import pynvml; print(pynvml.nvmlClocksThrottleReasonHwSlowdown"
        " | pynvml.nvmlClocksEventReasonSwThermalSlowdown"
        " | pynvml.nvmlClocksThrottleReasonHwThermalSlowdown)"
    )
    completed = run_snippet(standin_dir, snippet, None)
    assert completed.stdout.strip() == str(0x68)


def test_a100_on_driver_525(standin_dir: Path) -> None:
    report = query_scenario(standin_dir, "a100_driver525.scenario")
    assert report["driver_version"] == {"value": "525.147.05"}
    assert report["cuda_driver_version"] == {"value": 12000}
    (gpu,) = report["gpus"]
    assert gpu["name"] == {"value": "NVIDIA A100-SXM4-80GB"}
    assert gpu["compute_capability"] == {"value": [8, 0]}
    assert gpu["memory"]["value"]["total"] == 81920 * MIB


def test_old_driver_lacks_clock_reason_calls_and_power(standin_dir: Path) -> None:
    report = query_scenario(standin_dir, "old_driver_missing_calls.scenario")
    (gpu,) = report["gpus"]
    assert gpu["clocks_event_reasons"] == {"error": "NVMLError_FunctionNotFound"}
    assert gpu["clocks_throttle_reasons"] == {"error": "NVMLError_FunctionNotFound"}
    assert gpu["power_mw"] == {"error": "NVMLError_NotSupported"}
    assert gpu["enforced_power_limit_mw"] == {"value": 450000}
    assert gpu["temperature"] == {"value": 38}


def test_thermal_ramp_advances_per_call_and_survives_shutdown(standin_dir: Path) -> None:
    report = query(standin_dir, RAMP_SNIPPET, SCENARIO_DIR / "thermal_ramp.scenario")
    assert report["temperatures"] == [60, 70, 80, 88, 92, 95, 95, 95]
    assert report["memory_used"] == [
        mib * MIB for mib in (2048, 6144, 10240, 14336, 18432, 22528, 22528, 22528)
    ]
    assert report["throttle"] == [0, 0, 0, 0, 0x20, 0x60, 0x60]
    assert report["power"] == [120500, 250000, 380250, 430000, 445000, 450000, 450000]


def test_rewritten_scenario_is_parsed_again_at_init(standin_dir: Path, tmp_path: Path) -> None:
    scenario = tmp_path / "reload.scenario"
    scenario.write_text(
        "driver_version 550.54.15\n"
        "cuda_driver_version 12040\n"
        "gpu0.name NVIDIA GeForce RTX 4090\n"
        "gpu0.uuid GPU-5c1d3f0e-8a7b-4c2d-9e1f-0a2b3c4d5e6f\n"
        "gpu0.temperature_c 50,51\n"
    )
    completed = run_snippet(standin_dir, RELOAD_SNIPPET, scenario)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == [50, 51, 77]


def test_edge_cases_follow_nvml(standin_dir: Path) -> None:
    report = query(standin_dir, EDGE_SNIPPET, SCENARIO_DIR / "rtx4090_driver550.scenario")
    assert report == {
        "bad_index": "NVMLError_InvalidArgument",
        "bad_sensor": "NVMLError_InvalidArgument",
        "unknown_pid": "NVMLError_NotFound",
        "unknown_uuid": "NVMLError_NotFound",
        "still_initialized": None,
        "after_shutdown": "NVMLError_Uninitialized",
        "extra_shutdown": "NVMLError_Uninitialized",
        "error_string": "RM has detected an NVML/RM version mismatch.",
    }


def test_unversioned_process_call_fills_the_v1_struct(standin_dir: Path) -> None:
    report = query(standin_dir, V1_PROCESSES_SNIPPET, SCENARIO_DIR / "hot_throttling.scenario")
    insufficient_size = 7
    assert report == {
        "first": insufficient_size,
        "needed": 1,
        "second": 0,
        "processes": [[31337, 22000 * MIB]],
    }


def test_unset_scenario_means_no_driver(standin_dir: Path) -> None:
    report = query(standin_dir, QUERY_SNIPPET, None)
    assert report["init_error"] == "NVMLError_DriverNotLoaded"


def test_malformed_scenario_names_the_line(standin_dir: Path, tmp_path: Path) -> None:
    scenario = tmp_path / "broken.scenario"
    scenario.write_text(
        "driver_version 550.54.15\ncuda_driver_version 12040\ngpu0.temperature_c hot\n"
    )
    completed = run_snippet(standin_dir, QUERY_SNIPPET, scenario)
    assert json.loads(completed.stdout)["init_error"] == "NVMLError_Unknown"
    stderr_lines = completed.stderr.strip().splitlines()
    assert len(stderr_lines) == 1
    assert f"{scenario}:3:" in stderr_lines[0]
    assert "'hot'" in stderr_lines[0]


def test_missing_scenario_file_is_reported(standin_dir: Path, tmp_path: Path) -> None:
    completed = run_snippet(standin_dir, QUERY_SNIPPET, tmp_path / "absent.scenario")
    assert json.loads(completed.stdout)["init_error"] == "NVMLError_Unknown"
    assert "absent.scenario" in completed.stderr


def test_process_line_accepts_name_before_used_mib(standin_dir: Path, tmp_path: Path) -> None:
    scenario = tmp_path / "process_order.scenario"
    scenario.write_text(
        "driver_version 550.54.15\n"
        "cuda_driver_version 12040\n"
        "some_future_key is ignored\n"
        "gpu0.name NVIDIA GeForce RTX 4090   # inline comment\n"
        "gpu0.uuid GPU-5c1d3f0e-8a7b-4c2d-9e1f-0a2b3c4d5e6f\n"
        "gpu0.process 4242 python 18432\n"
        "gpu0.process 4243 512 /usr/bin/python3 -m torch.distributed.run\n"
    )
    report = query(standin_dir, QUERY_SNIPPET, scenario)
    (gpu,) = report["gpus"]
    assert gpu["name"] == {"value": "NVIDIA GeForce RTX 4090"}
    assert [(p["pid"], p["used_bytes"]) for p in gpu["compute_processes"]["value"]] == [
        (4242, 18432 * MIB),
        (4243, 512 * MIB),
    ]
    assert gpu["process_names"] == {
        "4242": {"value": "python"},
        "4243": {"value": "/usr/bin/python3 -m torch.distributed.run"},
    }
    assert gpu["temperature"] == {"error": "NVMLError_NotSupported"}
    assert report == expected_report(read_scenario(scenario))


def test_build_is_skipped_when_the_library_is_current(standin_dir: Path) -> None:
    library = standin_dir / LIBRARY_NAME
    built_at = library.stat().st_mtime_ns
    assert build_standin_nvml(standin_dir) == standin_dir
    assert library.stat().st_mtime_ns == built_at
