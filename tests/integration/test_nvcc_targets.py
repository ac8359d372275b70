"""nvcc_targets.toml against the real nvcc on this machine (CUDA 13.0 on the development
machines): the row of its CUDA minor must be exactly what it says it compiles for."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from envcheck.knowledge.nvcc_targets import nvcc_reach, targets_for

needs_nvcc = pytest.mark.skipif(shutil.which("nvcc") is None, reason="no CUDA toolkit here")
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "refresh_cuda_tables.py"


def _nvcc(*args: str) -> str:
    return subprocess.run(["nvcc", *args], capture_output=True, text=True, check=True,
                          timeout=60).stdout


def _cuda() -> Version:
    match = re.search(r"release (\d+\.\d+),", _nvcc("--version"))
    assert match is not None
    return Version(match.group(1))


@needs_nvcc
def test_table_row_is_what_this_nvcc_compiles_for() -> None:
    row = targets_for(_cuda())
    assert row is not None, f"nvcc_targets.toml has no row for CUDA {_cuda()}"
    machine = sorted({int(n) for n in re.findall(r"\bsm_(\d+)\b", _nvcc("--list-gpu-code"))})
    ptx = sorted({int(n) for n in re.findall(r"\bcompute_(\d+)\b", _nvcc("--list-gpu-arch"))})
    assert list(row.sm) == machine
    assert list(row.sm) == ptx


@needs_nvcc
def test_lowest_target_really_is_the_floor(tmp_path: Path) -> None:
    # The first sm below the table's lowest must be refused by nvcc itself, and the lowest
    # accepted: the "cannot build for your GPU" finding rests on this bound.
    row = targets_for(_cuda())
    assert row is not None
    source = tmp_path / "k.cu"
    source.write_text("__global__ void k(float *a) { a[threadIdx.x] = 1.0f; }\n")

    def compiles(sm: int) -> bool:
        result = subprocess.run(["nvcc", "-c", f"-arch=sm_{sm}", "-o", str(tmp_path / "k.o"),
                                 str(source)], check=False, capture_output=True, text=True,
                                timeout=300)
        return result.returncode == 0

    assert compiles(row.lowest)
    below = 70 if row.lowest == 75 else row.lowest - 1
    assert not compiles(below)
    assert nvcc_reach(row, f"{below // 10}.{below % 10}") == "none"


@needs_nvcc
def test_refresh_script_agrees() -> None:
    listing = _nvcc("--list-gpu-code")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--nvcc-list", "-", "--nvcc-cuda", str(_cuda())],
        input=listing, check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "matches nvcc" in result.stdout
