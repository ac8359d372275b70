"""`envcheck doctor` end to end: the real probes, the stand-in NVML, real torch wheels."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import CliRunner

REPORTS = Path(__file__).parents[1] / "data" / "reports"


def _doctor_json(envcheck_cli: CliRunner, *args: str, **kwargs: Any) -> tuple[int, Any]:
    result = envcheck_cli("doctor", "--json", *args, **kwargs)
    assert result.returncode in (0, 3), result.stderr
    return result.returncode, result.json()


def _ids(document: Any, severity: str | None = None) -> set[str]:
    return {f["id"] for f in document["findings"]
            if severity is None or f["severity"] == severity}


def test_cpu_torch_on_a_hot_gpu_box(envcheck_cli: CliRunner, torch_cpu_python: Path) -> None:
    code, document = _doctor_json(envcheck_cli, "--python", str(torch_cpu_python),
                                  scenario="hot_throttling")
    assert code == 3
    assert "cpu-only-torch-on-gpu-machine" in _ids(document, "error")
    assert {"gpu-hot", "gpu-thermal-throttling",
            "gpu-memory-held-by-other-processes"} <= _ids(document, "warning")
    assert document["verdict"] == "fail"
    assert document["snapshot"]["schema"] == "envcheck.snapshot/1"


def test_cu130_torch_on_driver_550_is_too_old(
    envcheck_cli: CliRunner, torch_cuda_python: Path
) -> None:
    code, document = _doctor_json(envcheck_cli, "--python", str(torch_cuda_python),
                                  scenario="rtx4090_driver550")
    assert code == 3
    (finding,) = [f for f in document["findings"] if f["id"] == "driver-too-old-for-torch-cuda"]
    assert "550.54.15" in finding["summary"]
    assert "13.0" in finding["summary"]
    assert finding["fix"]


def test_cpu_machine_with_cpu_torch_is_healthy(
    envcheck_cli: CliRunner, torch_cpu_python: Path
) -> None:
    # No NVIDIA library at all and a CPU build of torch: nothing is wrong (false alarms
    # are bugs), whatever else this machine has.
    code, document = _doctor_json(envcheck_cli, "--python", str(torch_cpu_python))
    assert code == 0, document["findings"]
    assert _ids(document, "error") == set()


def test_installed_driver_that_is_not_loaded(envcheck_cli: CliRunner,
                                             torch_cpu_python: Path) -> None:
    code, document = _doctor_json(envcheck_cli, "--python", str(torch_cpu_python),
                                  scenario="no_driver")
    assert code == 3
    assert "driver-not-loaded" in _ids(document, "error")
    assert "cpu-only-torch-on-gpu-machine" not in _ids(document)


def test_plan_a_build_before_installing_it(envcheck_cli: CliRunner) -> None:
    code, document = _doctor_json(envcheck_cli, "--plan", "cu130", scenario="a100_driver525")
    assert code == 3
    assert "driver-too-old-for-torch-cuda" in _ids(document, "error")
    assert document["plan"].startswith("torch==")


def test_unknown_plan_names_the_variants(envcheck_cli: CliRunner) -> None:
    result = envcheck_cli("doctor", "--plan", "torch==2.5.1+cu999", scenario="rtx4090_driver550")
    assert result.returncode == 2
    assert "cu124" in result.stderr


def test_saved_snapshot_from_another_machine(envcheck_cli: CliRunner, tmp_path: Path,
                                            torch_cpu_python: Path) -> None:
    saved = tmp_path / "cloud.json"
    inspect = envcheck_cli("inspect", "--python", str(torch_cpu_python), "-o", str(saved),
                           scenario="h100x8_driver535_mig")
    assert inspect.returncode == 0, inspect.stderr
    code, document = _doctor_json(envcheck_cli, "--snapshot", str(saved))
    assert code == 3
    assert "cpu-only-torch-on-gpu-machine" in _ids(document)
    assert "gpu-mig-enabled" in _ids(document, "info")


def test_bad_snapshot_file_is_a_usage_error(envcheck_cli: CliRunner, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema": "envcheck.snapshot/1", "driver": ')
    result = envcheck_cli("doctor", "--snapshot", str(broken))
    assert result.returncode == 2
    assert "broken.json is not JSON" in result.stderr
    missing = envcheck_cli("doctor", "--snapshot", str(tmp_path / "nope.json"))
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr


def test_empty_report_says_what_is_understood(envcheck_cli: CliRunner, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("hello, my training does not work\n")
    result = envcheck_cli("doctor", "--from-report", str(empty))
    assert result.returncode == 2
    assert "no environment facts found" in result.stderr
    assert "collect_env" in result.stderr


def test_github_annotations(envcheck_cli: CliRunner, torch_cpu_python: Path) -> None:
    result = envcheck_cli("doctor", "--format", "github", "--python", str(torch_cpu_python),
                          scenario="hot_throttling")
    assert result.returncode == 3
    lines = result.stdout.splitlines()
    assert any(line.startswith("::error title=envcheck cpu-only-torch-on-gpu-machine::")
               for line in lines)
    assert any(line.startswith("::warning title=envcheck gpu-hot::") for line in lines)
    assert all("\n" not in line for line in lines)


def test_junit_report_file(envcheck_cli: CliRunner, tmp_path: Path,
                           torch_cpu_python: Path) -> None:
    target = tmp_path / "envcheck.xml"
    result = envcheck_cli("doctor", "--format", "junit", "-o", str(target), "--python",
                          str(torch_cpu_python), scenario="hot_throttling")
    assert result.returncode == 3
    suite = ET.parse(target).getroot().find("testsuite")
    assert suite is not None
    failed = {case.get("name") for case in suite.iter("testcase")
              if case.find("failure") is not None}
    assert "torch-has-cuda" in failed
    assert int(suite.get("failures", "0")) == len(failed)
    assert int(suite.get("tests", "0")) > len(failed)


def test_strict_turns_warnings_into_failure(envcheck_cli: CliRunner, tmp_path: Path) -> None:
    saved = tmp_path / "hot.json"
    envcheck_cli("inspect", "-o", str(saved), "--python", "/nonexistent", scenario="hot_throttling")
    relaxed = envcheck_cli("doctor", "--snapshot", str(saved))
    strict = envcheck_cli("doctor", "--snapshot", str(saved), "--strict")
    assert relaxed.returncode == 0, relaxed.stdout
    assert strict.returncode == 3


def test_error_text_is_ranked_and_checked(envcheck_cli: CliRunner,
                                          torch_cuda_python: Path) -> None:
    code, document = _doctor_json(
        envcheck_cli, "--python", str(torch_cuda_python), "--error",
        "RuntimeError: The NVIDIA driver on your system is too old (found version 12040).",
        scenario="rtx4090_driver550")
    assert code == 3
    first = document["causes"][0]
    assert first["category"] == "driver_too_old"
    assert first["verdict"] == "confirmed"


def test_collect_env_reports_through_the_command_line(envcheck_cli: CliRunner) -> None:
    # The evidence corpus is judged in tests/unit/test_evidence_reports.py; here the
    # command-line path (file, --error-file, JSON) is exercised on real collect_env pastes.
    folders = sorted(p for p in REPORTS.iterdir() if p.is_dir()
                     and "PyTorch version:" in (p / "report.txt").read_text(errors="replace"))
    assert len(folders) >= 3
    for folder in folders[:3]:
        args = ["doctor", "--json", "--from-report", str(folder / "report.txt")]
        if (folder / "error.txt").exists():
            args += ["--error-file", str(folder / "error.txt")]
        result = envcheck_cli(*args)
        assert result.returncode in (0, 3), (folder.name, result.stderr)
        document = json.loads(result.stdout)
        assert document["snapshot"]["source"] == "report"
        assert document["snapshot"]["torch"]["version"] is not None


def test_a_planned_run_that_does_not_fit(envcheck_cli: CliRunner, torch_cpu_python: Path) -> None:
    code, document = _doctor_json(envcheck_cli, "--python", str(torch_cpu_python),
                                  "--fit", "7B", "--fit-method", "full", "--fit-batch", "8",
                                  scenario="rtx4090_driver550")
    assert code == 3
    (finding,) = [f for f in document["findings"] if f["id"] == "run-does-not-fit-gpu-memory"]
    assert finding["category"] == "memory"
    assert "RTX 4090" in finding["summary"]
    small = envcheck_cli("doctor", "--json", "--python", str(torch_cpu_python), "--fit", "350M",
                         "--fit-method", "inference", scenario="rtx4090_driver550")
    assert "run-does-not-fit-gpu-memory" not in small.stdout
    bad = envcheck_cli("doctor", "--fit", "7B", "--fit-method", "sideways",
                       scenario="rtx4090_driver550")
    assert bad.returncode == 2
    assert "--fit-method" in bad.stderr


# `--plan` on stand-in hosts, on this machine whose CUDA 13.0 toolkit (nvcc on PATH) is not
# the CUDA of most planned builds: the toolkit is then a warning for extension builds, never
# an error, and each impossible build gets the error that names why.
PLANS_THAT_FAIL = [
    # sm_120 cannot be in a cu126 build: nvcc 12.6 stops at sm_90.
    ("rtx5090_driver570", "torch==2.6.0+cu126", "gpu-arch-beyond-torch-build-toolkit"),
    # cu130 wheels carry sm_75 and newer; a Pascal card has no code in them.
    ("gtx1080ti_driver580", "torch==2.14.1+cu130", "gpu-arch-not-in-torch-build"),
    # CUDA 12.x needs 525 at least; 470 runs 11.x only.
    ("t4_driver470", "torch==2.1.0+cu121", "driver-too-old-for-torch-cuda"),
    ("a100_driver525", "cu130", "driver-too-old-for-torch-cuda"),
    ("h100_driver535", "torch==2.14.1", "driver-too-old-for-torch-cuda"),
]
PLANS_THAT_RUN = [
    ("rtx5090_driver570", "torch==2.8.0+cu128"),
    ("gtx1080ti_driver580", "torch==2.8.0+cu126"),
    ("t4_driver470", "torch==2.0.1+cu117"),
    ("a100_driver525", "torch==2.1.0+cu121"),
    ("h100_driver535", "torch==2.14.1+cu126"),
]


@pytest.mark.parametrize(("scenario", "plan", "expected"), PLANS_THAT_FAIL)
def test_plan_of_an_impossible_build_names_why(envcheck_cli: CliRunner, scenario: str,
                                               plan: str, expected: str) -> None:
    code, document = _doctor_json(envcheck_cli, "--plan", plan, scenario=scenario)
    assert code == 3
    assert expected in _ids(document, "error")
    assert "nvcc-major-differs-from-torch-cuda" not in _ids(document, "error")


@pytest.mark.parametrize(("scenario", "plan"), PLANS_THAT_RUN)
def test_plan_of_a_build_that_runs_has_no_error(envcheck_cli: CliRunner, scenario: str,
                                                plan: str) -> None:
    code, document = _doctor_json(envcheck_cli, "--plan", plan, scenario=scenario)
    assert _ids(document, "error") == set(), document["findings"]
    assert code == 0
    if shutil.which("nvcc") is not None:
        # The CUDA 13 toolkit next to a CUDA 11/12 build matters only for extension builds.
        warnings = {f["id"]: f for f in document["findings"] if f["severity"] == "warning"}
        finding = warnings["nvcc-major-differs-from-torch-cuda"]
        assert "only when something compiles CUDA code" in finding["explanation"]


def test_a_prose_report_with_its_traceback_through_the_command_line(
        envcheck_cli: CliRunner, tmp_path: Path) -> None:
    # issue 14: the traceback inside the report is the error judged, without --error
    report = tmp_path / "issue.md"
    report.write_text("Hi, my setup:\n- **OS:** Ubuntu 22.04\n- Driver: 470.82.01\n"
                      "- GPU: 2x RTX3090\n- torch:2.1.0\n\nTraceback (most recent call last):\n"
                      "RuntimeError: The NVIDIA driver on your system is too old (found "
                      "version 11040).\n")
    table = envcheck_cli("doctor", "--from-report", str(report))
    assert table.returncode == 3, table.stderr
    assert "Read from the report" in table.stdout
    assert "470.82.01" in table.stdout
    code, document = _doctor_json(envcheck_cli, "--from-report", str(report))
    assert code == 3
    assert document["causes"][0]["category"] == "driver_too_old"
    assert document["causes"][0]["verdict"] == "confirmed"
    assert {"fact": "driver", "value": "470.82.01", "line": 3,
            "text": "- Driver: 470.82.01"} in document["read_from_report"]
