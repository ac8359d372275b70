"""The image entrypoint's pre-flight, run as it runs in a container: as a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.integration.conftest import SCENARIOS, base_env


def _preflight(tmp_path: Path, standin: Path, *command: str, scenario: str | None = None,
               **env: str) -> subprocess.CompletedProcess[str]:
    full_env = base_env(tmp_path)
    if scenario is not None:
        full_env["LD_LIBRARY_PATH"] = str(standin)
        full_env["ENVCHECK_NVML_SCENARIO"] = str(SCENARIOS / f"{scenario}.scenario")
    full_env.update(env)
    return subprocess.run([sys.executable, "-m", "envcheck.cli.preflight", *command],
                          env=full_env, capture_output=True, text=True, timeout=120,
                          check=False)


def test_runs_the_command_when_the_host_is_fine(tmp_path: Path, standin_nvml_dir: Path,
                                                torch_cpu_python: Path) -> None:
    result = _preflight(tmp_path, standin_nvml_dir, "sh", "-c", "echo started; exit 7",
                        ENVCHECK_TRAINING_PYTHON=str(torch_cpu_python))
    assert result.returncode == 7, result.stderr
    assert result.stdout == "started\n"


def test_stops_when_the_host_cannot_run_the_build(tmp_path: Path, standin_nvml_dir: Path,
                                                  torch_cuda_python: Path) -> None:
    result = _preflight(tmp_path, standin_nvml_dir, "sh", "-c", "echo started",
                        scenario="rtx4090_driver550",
                        ENVCHECK_TRAINING_PYTHON=str(torch_cuda_python))
    assert result.returncode == 3
    assert "started" not in result.stdout
    assert "550.54.15 is too old" in result.stderr
    assert "ENVCHECK_PREFLIGHT=0" in result.stderr


def test_can_be_skipped_or_made_advisory(tmp_path: Path, standin_nvml_dir: Path,
                                         torch_cuda_python: Path) -> None:
    for mode in ("0", "warn"):
        result = _preflight(tmp_path, standin_nvml_dir, "sh", "-c", "echo started",
                            scenario="rtx4090_driver550", ENVCHECK_PREFLIGHT=mode,
                            ENVCHECK_TRAINING_PYTHON=str(torch_cuda_python))
        assert result.returncode == 0, (mode, result.stderr)
        assert result.stdout == "started\n"
    assert "too old" in result.stderr  # warn still says why


def test_a_command_that_does_not_exist(tmp_path: Path, standin_nvml_dir: Path) -> None:
    result = _preflight(tmp_path, standin_nvml_dir, "no-such-program-xyz",
                        ENVCHECK_PREFLIGHT="0")
    assert result.returncode == 127
    assert "cannot run no-such-program-xyz" in result.stderr
