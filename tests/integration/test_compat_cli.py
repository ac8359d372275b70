"""`envcheck compat` as a user runs it: updates, nvcc targets, and unknown shown as unknown."""

from __future__ import annotations

import re

from tests.integration.conftest import CliRunner


def test_compat_cuda_update_and_minor(envcheck_cli: CliRunner) -> None:
    update = envcheck_cli("compat", "cuda", "12.2.2")
    assert update.returncode == 0, update.stderr
    assert "CUDA 12.2 Update 2 (12.2.2) needs driver ≥ 535.104.05 (Linux), ≥ 537.13" in (
        update.stdout)
    minor = envcheck_cli("compat", "cuda", "12.2")
    assert "CUDA 12.2 GA (12.2.0) needs driver ≥ 535.54.03" in minor.stdout
    assert "Updates of CUDA 12.2 need their own minimums" in minor.stdout
    assert "12.2.2 (CUDA 12.2 Update 2): ≥ 535.104.05" in minor.stdout
    assert envcheck_cli("compat", "cuda", "12.2", "--json").json()["updates_differ"] is True
    unlisted = envcheck_cli("compat", "cuda", "12.3.2")
    assert unlisted.returncode == 2
    assert "12.3.1 (CUDA 12.3 Update 1)" in unlisted.stderr


def test_compat_cuda_13_says_what_nvcc_dropped(envcheck_cli: CliRunner) -> None:
    result = envcheck_cli("compat", "cuda", "13.0")
    assert "nvcc 13.0 compiles for sm_75 to sm_121; drops sm_50" in result.stdout
    assert "none listed (Windows)" in result.stdout


def test_compat_torch_shows_unknown_as_unknown(envcheck_cli: CliRunner) -> None:
    result = envcheck_cli("compat", "torch", "2.14.1")
    assert result.returncode == 0, result.stderr
    assert "None" not in result.stdout
    assert not re.search(r"^\s+cu\d+: *$", result.stdout, re.M)  # no empty arch list
    assert "torchvision unknown" in result.stdout
    assert "cu126: sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90 (release-matrix)" in result.stdout
    older = envcheck_cli("compat", "torch", "2.7.1").stdout
    assert "cu118: not recorded; at most sm_90 (bounded by its CUDA toolkit)" in older


def test_compat_gpu_lists_every_variant_with_its_status(envcheck_cli: CliRunner) -> None:
    result = envcheck_cli("compat", "gpu", "RTX 5090")
    assert result.returncode == 0, result.stderr
    line = next(row for row in result.stdout.splitlines() if row.startswith("  torch 2.6.0:"))
    assert line == ("  torch 2.6.0: cu118 cannot have code for it (beyond its CUDA toolkit); "
                    "cu124 no code for it; cu126 cannot have code for it (beyond its CUDA "
                    "toolkit)")
