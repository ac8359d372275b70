"""`envcheck lock` gates the new lock against its target's profiles; `check-lock` does it
for an existing lock. Real uv against the package index (torch resolves from metadata)."""

from __future__ import annotations

import json
from pathlib import Path

from packaging.version import Version

from envcheck.knowledge.cuda_tables import min_driver_for_cuda
from tests.integration.conftest import CliRunner

CU130_MINIMUM = min_driver_for_cuda(Version("13.0"))


def _project(root: Path) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text(f'''\
[project]
name = "trainer"
version = "0.1.0"
dependencies = ["torch==2.14.1"]

[tool.envcheck.targets.cloud]
python = "3.11"
platform = "linux/x86_64"
cuda = "cu130"
torch = "==2.14.1"
profiles = ["workstation", "h100-box"]

[tool.envcheck.profiles.workstation]
driver = "550.54.15"
runtime = "docker+nvidia"
gpus = [{{ name = "NVIDIA GeForce RTX 4090", compute_capability = "8.9", count = 1 }}]

[tool.envcheck.profiles.h100-box]
driver = "{CU130_MINIMUM}"
runtime = "docker+nvidia"
gpus = [{{ name = "NVIDIA H100 80GB HBM3", compute_capability = "9.0", count = 8 }}]

[tool.envcheck.profiles.pascal]
driver = "{CU130_MINIMUM}"
gpus = [{{ name = "NVIDIA GeForce GTX 1080", compute_capability = "6.1", count = 2 }}]
''')
    return root


def test_lock_is_gated_against_every_profile(envcheck_cli: CliRunner, tmp_path: Path) -> None:
    project = _project(tmp_path / "trainer")
    result = envcheck_cli("lock", "--json", "--project", str(project), timeout=600)
    assert result.returncode == 3, result.stderr
    (outcome,) = result.json()
    gate = outcome["gate"]
    assert gate["verdict"] == "fail"
    workstation = {f["id"] for f in gate["profiles"]["workstation"]}
    assert "driver-too-old-for-torch-cuda" in workstation
    assert not [f for f in gate["profiles"]["h100-box"] if f["severity"] == "error"]
    # The lock itself is written: gating judges it, it does not undo it.
    assert (project / "lockfiles" / "cloud.txt").exists()


def test_check_lock_on_chosen_profiles(envcheck_cli: CliRunner, tmp_path: Path) -> None:
    project = _project(tmp_path / "trainer")
    envcheck_cli("lock", "--project", str(project), timeout=600)
    lock = project / "lockfiles" / "cloud.txt"
    good = envcheck_cli("check-lock", str(lock), "--profile", "h100-box", "--project",
                        str(project))
    assert good.returncode == 0, good.stdout + good.stderr
    bad = envcheck_cli("check-lock", str(lock), "--profile", "pascal", "--json", "--project",
                       str(project))
    assert bad.returncode == 3
    findings = json.loads(bad.stdout)["profiles"]["pascal"]
    assert [f["id"] for f in findings if f["severity"] == "error"] == [
        "gpu-arch-not-in-torch-build", "gpu-arch-not-in-torch-build"]
    unknown = envcheck_cli("check-lock", str(lock), "--profile", "nope", "--project",
                           str(project))
    assert unknown.returncode == 2
    assert "no profile named nope" in unknown.stderr
