from __future__ import annotations

from pathlib import Path

from packaging.version import Version

from envcheck.adapters.nvml import NvmlDevice, NvmlProcess, NvmlReading
from envcheck.adapters.runner import CommandResult
from envcheck.errors import CommandTimeoutError, NvmlError
from envcheck.probes.driver import cuda_version_from_nvml, probe_driver
from tests.fakes import FakeNvml, FakeRunner, make_host, ok, write_tree

DATA = Path(__file__).parents[1] / "data"
PROC_TEXT = ("NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC"
             " 2024\nGCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n")
NOT_FOUND = NvmlError("NVML: Library Not Found", code=12, name="NVML_ERROR_LIBRARY_NOT_FOUND")


def _reading() -> NvmlReading:
    return NvmlReading(
        driver_version="550.54.15",
        cuda_driver_version=12040,
        devices=(NvmlDevice(index=0, name="NVIDIA GeForce RTX 4090", compute_capability=(8, 9),
                            memory_total_bytes=24564 * 2**20, memory_used_bytes=1024 * 2**20,
                            power_mw=35500, power_limit_mw=450000, throttle_mask=0x60,
                            processes=(NvmlProcess(pid=7, name="python", used_bytes=2**30),),
                            unavailable={"ecc_uncorrected": "not supported on this GPU"}),),
    )


def test_nvml_encodes_cuda_versions_as_integers() -> None:
    assert cuda_version_from_nvml(12040) == Version("12.4")
    assert cuda_version_from_nvml(13000) == Version("13.0")
    assert cuda_version_from_nvml(11080) == Version("11.8")


def test_nvml_reading_becomes_records(tmp_path: Path) -> None:
    write_tree(tmp_path, {"/proc/driver/nvidia/version": PROC_TEXT})
    facts = probe_driver(make_host(tmp_path, nvml=FakeNvml(_reading())))
    assert facts.driver.status == "ok"
    assert facts.driver.version == "550.54.15"
    assert facts.driver.kernel_module_version == "550.54.15"
    (gpu,) = facts.gpus
    assert gpu.compute_capability == "8.9"
    assert gpu.memory_used_mib == 1024
    assert gpu.power_w == 35.5
    assert gpu.throttle_reasons == ("sw_thermal_slowdown", "hw_thermal_slowdown")
    assert gpu.processes[0].used_mib == 1024
    assert gpu.unavailable == {"ecc_uncorrected": "not supported on this GPU"}


def test_mismatch_names_the_kernel_module(tmp_path: Path) -> None:
    write_tree(tmp_path, {"/proc/driver/nvidia/version": PROC_TEXT})
    error = NvmlError("NVML: Driver/library version mismatch", code=18,
                      name="NVML_ERROR_LIB_RM_VERSION_MISMATCH")
    facts = probe_driver(make_host(tmp_path, nvml=FakeNvml(error=error)))
    assert facts.driver.status == "error"
    assert "kernel module 550.54.15" in (facts.driver.detail or "")
    assert "reboot" in (facts.driver.detail or "")


def test_no_library_no_proc_no_smi_is_absent(tmp_path: Path) -> None:
    facts = probe_driver(make_host(tmp_path, nvml=FakeNvml(error=NOT_FOUND)))
    assert facts.driver.status == "absent"
    assert facts.gpus == ()


def test_kernel_module_without_user_space_library_points_at_the_container_runtime(
    tmp_path: Path,
) -> None:
    write_tree(tmp_path, {"/proc/driver/nvidia/version": PROC_TEXT})
    facts = probe_driver(make_host(tmp_path, nvml=FakeNvml(error=NOT_FOUND)))
    assert facts.driver.status == "error"
    assert facts.driver.version == "550.54.15"
    assert "--gpus all" in (facts.driver.detail or "")


def test_garbage_proc_version_without_nvml_is_an_error_with_the_reason(tmp_path: Path) -> None:
    write_tree(tmp_path, {"/proc/driver/nvidia/version": "\x00\x01 not a version file"})
    facts = probe_driver(make_host(tmp_path, nvml=FakeNvml(error=NOT_FOUND)))
    assert facts.driver.status == "error"
    assert "/proc/driver/nvidia/version" in (facts.driver.detail or "")


def test_garbage_proc_version_does_not_spoil_a_working_nvml(tmp_path: Path) -> None:
    write_tree(tmp_path, {"/proc/driver/nvidia/version": "garbage"})
    facts = probe_driver(make_host(tmp_path, nvml=FakeNvml(_reading())))
    assert facts.driver.status == "ok"
    assert facts.driver.kernel_module_version is None


def test_smi_fallback_reads_recorded_xml(tmp_path: Path) -> None:
    xml = (DATA / "rtx4090-driver535" / "nvidia-smi-q-x.xml").read_text()
    runner = FakeRunner({("nvidia-smi", "-q", "-x"): ok(xml)})
    facts = probe_driver(make_host(tmp_path, runner=runner, nvml=FakeNvml(error=NOT_FOUND)))
    assert facts.driver.status == "ok"
    assert facts.driver.source == "nvidia-smi"
    assert facts.driver.version == "535.86.05"
    assert facts.driver.cuda_driver_api == Version("12.2")
    assert facts.gpus[0].name == "NVIDIA GeForce RTX 4090"


def test_smi_that_hangs_is_an_error(tmp_path: Path) -> None:
    runner = FakeRunner({("nvidia-smi",): CommandTimeoutError(
        "nvidia-smi did not finish within 10 s and was killed")})
    facts = probe_driver(make_host(tmp_path, runner=runner, nvml=FakeNvml(error=NOT_FOUND)))
    assert facts.driver.status == "error"
    assert "did not finish" in (facts.driver.detail or "")


def test_smi_that_fails_reports_its_words(tmp_path: Path) -> None:
    failed = CommandResult(argv=("nvidia-smi",), returncode=9, stdout="",
                           stderr="NVIDIA-SMI has failed because it couldn't communicate with "
                                  "the NVIDIA driver.")
    runner = FakeRunner({("nvidia-smi",): failed})
    facts = probe_driver(make_host(tmp_path, runner=runner, nvml=FakeNvml(error=NOT_FOUND)))
    assert facts.driver.status == "error"
    assert "couldn't communicate" in (facts.driver.detail or "")
