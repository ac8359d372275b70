"""`envcheck inspect` through the real nvidia-ml-py against the stand-in NVML, per scenario."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import CliRunner


def _inspect(envcheck_cli: CliRunner, scenario: str | None, **kwargs: Any) -> Any:
    result = envcheck_cli("inspect", "--json", scenario=scenario, **kwargs)
    assert result.returncode == 0, result.stderr
    return result.json()


def test_rtx4090_on_driver_550(envcheck_cli: CliRunner) -> None:
    snapshot = _inspect(envcheck_cli, "rtx4090_driver550")
    driver = snapshot["driver"]
    assert driver["status"] == "ok"
    assert driver["version"] == "550.54.15"
    assert driver["cuda_driver_api"] == "12.4"
    assert driver["source"] == "nvml"
    (gpu,) = snapshot["gpus"]
    assert gpu["name"] == "NVIDIA GeForce RTX 4090"
    assert gpu["compute_capability"] == "8.9"
    assert gpu["memory_total_mib"] == 24564
    assert gpu["uuid"].startswith("GPU-")
    assert gpu["throttle_reasons"] == []
    # GeForce cards have no MIG or ECC: the stand-in answers NOT_SUPPORTED like the driver.
    assert gpu["mig_mode"] is None
    assert "mig_mode" in gpu["unavailable"]


def test_eight_h100_with_mig_on_one(envcheck_cli: CliRunner) -> None:
    snapshot = _inspect(envcheck_cli, "h100x8_driver535_mig")
    assert snapshot["driver"]["version"] == "535.104.05"
    assert snapshot["driver"]["cuda_driver_api"] == "12.2"
    gpus = snapshot["gpus"]
    assert [g["index"] for g in gpus] == list(range(8))
    assert {g["name"] for g in gpus} == {"NVIDIA H100 80GB HBM3"}
    assert len({g["uuid"] for g in gpus}) == 8
    assert [g["index"] for g in gpus if g["mig_mode"]] == [3]
    assert all(g["compute_capability"] == "9.0" for g in gpus)
    assert all(g["ecc_uncorrected"] == 0 for g in gpus)


def test_hot_throttling_gpu_with_a_foreign_process(envcheck_cli: CliRunner) -> None:
    (gpu,) = _inspect(envcheck_cli, "hot_throttling")["gpus"]
    assert gpu["temperature_c"] == 91
    assert set(gpu["throttle_reasons"]) == {
        "hw_slowdown", "sw_thermal_slowdown", "hw_thermal_slowdown"
    }
    assert gpu["processes"] == [{"pid": 31337, "name": "python3", "used_mib": 22000}]
    assert gpu["power_w"] == pytest.approx(348.2)
    assert gpu["power_limit_w"] == 350


def test_driver_not_loaded_is_absent_with_the_reason(envcheck_cli: CliRunner) -> None:
    snapshot = _inspect(envcheck_cli, "no_driver")
    assert snapshot["driver"]["status"] == "absent"
    assert snapshot["driver"]["error_code"] == "NVML_ERROR_DRIVER_NOT_LOADED"
    assert "not loaded" in snapshot["driver"]["detail"]
    assert snapshot["gpus"] == []


def test_driver_library_mismatch_says_reboot(envcheck_cli: CliRunner) -> None:
    driver = _inspect(envcheck_cli, "driver_library_mismatch")["driver"]
    assert driver["status"] == "error"
    assert driver["error_code"] == "NVML_ERROR_LIB_RM_VERSION_MISMATCH"
    assert "Driver/library version mismatch" in driver["detail"]
    assert "reboot" in driver["detail"]


def test_calls_an_older_driver_lacks_degrade_only_their_field(envcheck_cli: CliRunner) -> None:
    snapshot = _inspect(envcheck_cli, "old_driver_missing_calls")
    assert snapshot["driver"]["status"] == "ok"
    (gpu,) = snapshot["gpus"]
    assert gpu["throttle_reasons"] == []
    assert "older driver" in gpu["unavailable"]["throttle_reasons"]
    assert gpu["power_w"] is None
    assert gpu["unavailable"]["power"] == "not supported on this GPU"
    assert gpu["temperature_c"] is not None


def test_no_nvml_library_and_no_nvidia_smi_means_no_driver(
    envcheck_cli: CliRunner, tmp_path: Path
) -> None:
    snapshot = _inspect(envcheck_cli, None, env={"PATH": "/usr/bin:/bin"})
    assert snapshot["driver"]["status"] == "absent"
    assert "libnvidia-ml.so.1" in snapshot["driver"]["detail"]


def _fake_nvidia_smi(tmp_path: Path, body: str) -> str:
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "nvidia-smi"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"


def test_nvidia_smi_fallback_printing_garbage_is_an_error(
    envcheck_cli: CliRunner, tmp_path: Path
) -> None:
    path = _fake_nvidia_smi(tmp_path, "echo 'Segmentation fault in libnvidia'; exit 0")
    driver = _inspect(envcheck_cli, None, env={"PATH": path})["driver"]
    assert driver["status"] == "error"
    assert driver["source"] == "nvidia-smi"
    assert "no usable XML" in driver["detail"]


def test_hanging_nvidia_smi_costs_at_most_its_limit(
    envcheck_cli: CliRunner, tmp_path: Path
) -> None:
    path = _fake_nvidia_smi(tmp_path, "exec sleep 600")
    result = envcheck_cli("inspect", "--json", "--timeout", "2", env={"PATH": path},
                          timeout=60)
    assert result.returncode == 0, result.stderr
    driver = result.json()["driver"]
    assert driver["status"] == "error"
    assert "did not finish within 2 s" in driver["detail"]


def test_nvidia_smi_fallback_reads_real_xml(envcheck_cli: CliRunner, tmp_path: Path) -> None:
    recorded = Path(__file__).parents[1] / "data" / "rtx4090-driver535" / "nvidia-smi-q-x.xml"
    path = _fake_nvidia_smi(tmp_path, f"cat '{recorded}'")
    snapshot = _inspect(envcheck_cli, None, env={"PATH": path})
    assert snapshot["driver"]["status"] == "ok"
    assert snapshot["driver"]["source"] == "nvidia-smi"
    assert snapshot["driver"]["version"].startswith("535.")
    assert snapshot["gpus"][0]["name"] == "NVIDIA GeForce RTX 4090"


SCENARIO_FILES = sorted((Path(__file__).parents[1] / "data" / "nvml").glob("*.scenario"))


def _scenario_fields(path: Path) -> dict[str, str]:
    fields = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            key, _, value = line.partition(" ")
            fields[key] = value.strip()
    return fields


@pytest.mark.parametrize("scenario", SCENARIO_FILES, ids=lambda p: p.stem)
def test_every_scenario_gives_a_valid_snapshot(envcheck_cli: CliRunner, scenario: Path) -> None:
    fields = _scenario_fields(scenario)
    snapshot = _inspect(envcheck_cli, scenario.stem)
    driver = snapshot["driver"]
    if "init_error" in fields:
        assert driver["status"] in {"absent", "error"}
        assert driver["error_code"] == fields["init_error"]
        assert snapshot["gpus"] == []
    else:
        assert driver["status"] == "ok"
        assert driver["version"] == fields["driver_version"]
        count = int(fields.get("device_count", "1"))
        assert [g["index"] for g in snapshot["gpus"]] == list(range(count))
        assert [g["name"] for g in snapshot["gpus"]] == [
            fields[f"gpu{i}.name"] for i in range(count)]
