"""The real CUDA toolkit on this machine, and the fatbinary reader against real nvcc output."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from envcheck.probe.envprobe import fatbin_architectures
from tests.integration.conftest import CliRunner

needs_nvcc = pytest.mark.skipif(shutil.which("nvcc") is None, reason="no CUDA toolkit here")


@needs_nvcc
def test_real_toolkit_is_found_with_its_nvcc_version(envcheck_cli: CliRunner) -> None:
    result = envcheck_cli("inspect", "--json")
    assert result.returncode == 0, result.stderr
    toolkits = result.json()["toolkits"]
    expected = subprocess.run(["nvcc", "--version"], capture_output=True, text=True,
                              check=True).stdout
    on_path = next(t for t in toolkits if "PATH" in t["sources"])
    assert f"release {on_path['nvcc_version']}," in expected
    assert Path(on_path["path"], "bin", "nvcc").exists()
    # /usr/local/cuda and /usr/local/cuda-X.Y are one toolkit, not two.
    assert len({t["path"] for t in toolkits}) == len(toolkits)


@needs_nvcc
def test_cuda_home_that_does_not_exist_is_listed_first_with_why(envcheck_cli: CliRunner) -> None:
    result = envcheck_cli("inspect", "--json", env={"CUDA_HOME": "/opt/no-such-cuda"})
    first = result.json()["toolkits"][0]
    assert first["path"] == "/opt/no-such-cuda"
    assert first["sources"] == ["CUDA_HOME"]
    assert first["source"] == "CUDA_HOME"
    assert first["nvcc_version"] is None
    assert "does not exist" in first["detail"]


@needs_nvcc
def test_fatbin_reader_matches_what_nvcc_compiled(tmp_path: Path) -> None:
    source = tmp_path / "kernel.cu"
    source.write_text(
        "__global__ void add(float *a, const float *b) { a[threadIdx.x] += b[threadIdx.x]; }\n"
        'extern "C" void launch(float *a, const float *b) { add<<<1, 32>>>(a, b); }\n'
    )
    library = tmp_path / "libkernel.so"
    subprocess.run(
        ["nvcc", "-shared", "-Xcompiler", "-fPIC",
         "-gencode", "arch=compute_75,code=sm_75",
         "-gencode", "arch=compute_90,code=sm_90",
         "-gencode", "arch=compute_90,code=compute_90",
         "-o", str(library), str(source)],
        check=True, capture_output=True, timeout=300,
    )
    assert fatbin_architectures(str(library)) == ["sm_75", "sm_90", "compute_90"]


def test_fatbin_reader_on_a_library_without_gpu_code() -> None:
    libc = next(p for p in ("/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6")
                if Path(p).exists())
    assert fatbin_architectures(libc) == []
