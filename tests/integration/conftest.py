"""Integration tier: real subprocesses, the real NVML binding against the stand-in library,
the real CUDA toolkit and torch wheels where the machine has them, a real Docker engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.engine_fixtures import (  # noqa: F401
    base_image,
    docker_client,
    registry,
)
from tests.standin_nvml.build import build_standin_nvml

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "tests" / "data" / "nvml"
# Test environments (torch venvs) outlive one run: building them costs minutes.
TEST_ENVS = Path(os.environ.get("ENVCHECK_TEST_ENVS", REPO / ".cache" / "test-envs"))


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


CliRunner = Callable[..., CliResult]


@pytest.fixture(scope="session")
def standin_nvml_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_standin_nvml(tmp_path_factory.mktemp("standin-nvml"))


def base_env(tmp_path: Path) -> dict[str, str]:
    """A clean environment: no stand-in, no venv, a private cache, the real PATH."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"VIRTUAL_ENV", "CONDA_PREFIX", "LD_LIBRARY_PATH", "CUDA_HOME",
                        "CUDA_PATH", "ENVCHECK_NVML_SCENARIO", "PYTHONPATH"}}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["HOME"] = str(tmp_path / "home")
    return env


@pytest.fixture
def envcheck_cli(tmp_path: Path, standin_nvml_dir: Path) -> CliRunner:
    """Run `envcheck ...` as a subprocess; `scenario=` loads the stand-in NVML with it."""

    def run(*args: str, scenario: str | None = None, env: Mapping[str, str] | None = None,
            cwd: Path | None = None, timeout: float = 120) -> CliResult:
        full_env = base_env(tmp_path)
        if scenario is not None:
            full_env["LD_LIBRARY_PATH"] = str(standin_nvml_dir)
            full_env["ENVCHECK_NVML_SCENARIO"] = str(SCENARIOS / f"{scenario}.scenario")
        full_env.update(env or {})
        proc = subprocess.run(
            [sys.executable, "-m", "envcheck.cli.main", *args],
            capture_output=True, text=True, env=full_env, cwd=cwd or tmp_path, timeout=timeout,
            check=False,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return run


def _make_venv(path: Path, *pip_args: str) -> Path:
    """A venv with `pip install pip_args`, built once and reused (marker file last)."""
    marker = path / ".envcheck-ready"
    python = path / "bin" / "python"
    if marker.exists():
        return python
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *pip_args], check=True,
                   timeout=1800)
    marker.write_text(" ".join(pip_args))
    return python


@pytest.fixture(scope="session")
def torch_cpu_python() -> Path:
    """The real torch 2.13.0 CPU wheel the machine's mirror has."""
    return _make_venv(TEST_ENVS / "torch-2.13.0-cpu", "torch==2.13.0")


@pytest.fixture(scope="session")
def torch_cuda_python() -> Path:
    """The real torch 2.14.1 CUDA 13.0 wheel, without its nvidia-* wheels (GBs, and
    nothing here can use them without a GPU): enough to read what the build contains."""
    return _make_venv(TEST_ENVS / "torch-2.14.1-cu130-nodeps", "--no-deps", "torch==2.14.1")
