"""The target interpreter and torch: real venvs, the real torch wheels the machine has."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from tests.integration.conftest import CliRunner


def _inspect(envcheck_cli: CliRunner, *args: str, **kwargs: Any) -> Any:
    result = envcheck_cli("inspect", "--json", *args, **kwargs)
    assert result.returncode == 0, result.stderr
    return result.json()


def _probe(snapshot: Any, name: str) -> Any:
    return next(run for run in snapshot["probes"] if run["name"] == name)


def test_active_virtualenv_is_the_default_target(envcheck_cli: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True)
    snapshot = _inspect(envcheck_cli, env={"VIRTUAL_ENV": str(target)})
    python = snapshot["python"]
    assert python["status"] == "ok"
    assert python["selected_by"] == "VIRTUAL_ENV"
    assert python["executable"] == str(target / "bin" / "python")
    assert python["kind"] == "venv"
    assert snapshot["torch"]["status"] == "absent"
    assert snapshot["packages"] == []


def test_python_that_does_not_exist_is_an_error_not_a_crash(envcheck_cli: CliRunner) -> None:
    snapshot = _inspect(envcheck_cli, "--python", "/nonexistent/bin/python")
    assert snapshot["python"]["status"] == "error"
    assert "does not exist" in snapshot["python"]["detail"]
    assert snapshot["driver"]["status"] in {"ok", "absent", "error"}


def test_python_that_is_not_a_python_is_an_error(envcheck_cli: CliRunner) -> None:
    snapshot = _inspect(envcheck_cli, "--python", "/bin/ls")
    assert snapshot["python"]["status"] == "error"
    assert snapshot["python"]["detail"]


def test_torch_cpu_wheel_fast_path_does_not_import_torch(
    envcheck_cli: CliRunner, torch_cpu_python: Path
) -> None:
    snapshot = _inspect(envcheck_cli, "--python", str(torch_cpu_python))
    torch = snapshot["torch"]
    assert torch["status"] == "ok"
    assert torch["version"] == "2.13.0+cpu"
    assert torch["cuda"] is None
    # A build without CUDA: no GPU code and never available, derived from its files.
    assert torch["arch_list"] == []
    assert torch["cuda_available"] is False
    assert torch["provenance"]["cuda_available"] == "derived"
    assert torch["provenance"]["arch_list"] == "derived"
    assert torch["provenance"]["version"] == "derived"
    torch_package = next(p for p in snapshot["packages"] if p["name"] == "torch")
    assert torch_package["version"] == "2.13.0+cpu"
    assert any(r.startswith("filelock") for r in torch_package["requires"])


def test_torch_cpu_wheel_deep_measures_and_caches(
    envcheck_cli: CliRunner, torch_cpu_python: Path
) -> None:
    first = _inspect(envcheck_cli, "--python", str(torch_cpu_python), "--deep")
    torch = first["torch"]
    assert torch["cuda_available"] is False
    assert torch["provenance"]["cuda_available"] == "measured"
    assert torch["version"] == "2.13.0+cpu"
    assert _probe(first, "torch-deep")["detail"] is None
    second = _inspect(envcheck_cli, "--python", str(torch_cpu_python), "--deep")
    assert second["torch"] == torch
    assert "cache" in _probe(second, "torch-deep")["detail"]


def test_torch_cuda_wheel_reports_its_cuda_build_and_compiled_archs(
    envcheck_cli: CliRunner, torch_cuda_python: Path
) -> None:
    torch = _inspect(envcheck_cli, "--python", str(torch_cuda_python))["torch"]
    assert torch["status"] == "ok"
    assert torch["version"] == "2.14.1+cu130"
    assert torch["cuda"] == "13.0"
    # Read from libtorch_cuda.so's fatbinary: real machine code for the data-centre GPUs
    # a CUDA 13 build targets.
    assert "sm_80" in torch["arch_list"]
    assert "sm_90" in torch["arch_list"]
    assert torch["provenance"]["arch_list"] == "derived"


def _fake_torch(tmp_path: Path, init_body: str) -> Path:
    site = tmp_path / "fake-site"
    package = site / "torch"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(init_body))
    (package / "version.py").write_text("__version__ = '2.5.1+cu124'\ncuda = '12.4'\n")
    dist_info = site / "torch-2.5.1+cu124.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: torch\nVersion: 2.5.1+cu124\n"
    )
    return site


def test_torch_that_segfaults_on_import_is_an_error_with_the_signal(
    envcheck_cli: CliRunner, tmp_path: Path
) -> None:
    site = _fake_torch(tmp_path, "import ctypes\nctypes.string_at(0)\n")
    snapshot = _inspect(envcheck_cli, "--python", sys.executable, "--deep",
                        env={"PYTHONPATH": str(site)})
    torch = snapshot["torch"]
    assert torch["status"] == "error"
    assert "SIGSEGV" in torch["detail"]
    # What was read without importing it survives the crash.
    assert torch["version"] == "2.5.1+cu124"
    assert torch["cuda"] == "12.4"


def test_torch_import_that_hangs_costs_at_most_the_limit(
    envcheck_cli: CliRunner, tmp_path: Path
) -> None:
    site = _fake_torch(tmp_path, "import time\ntime.sleep(600)\n")
    result = envcheck_cli("inspect", "--json", "--python", sys.executable, "--deep",
                          "--timeout", "3", env={"PYTHONPATH": str(site)}, timeout=60)
    assert result.returncode == 0, result.stderr
    torch = result.json()["torch"]
    assert torch["status"] == "error"
    assert "did not finish within 3 s" in torch["detail"]
