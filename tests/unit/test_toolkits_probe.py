from __future__ import annotations

from pathlib import Path

from packaging.version import Version

from envcheck.errors import CommandTimeoutError
from envcheck.probes.toolkits import probe_toolkits
from tests.fakes import FakeRunner, make_host, ok, write_tree

NVCC_13 = (Path(__file__).parents[1] / "data" / "debian12-cuda13-nogpu" / "nvcc-version.txt")
NVCC_12_1 = """nvcc: NVIDIA (R) Cuda compiler driver
Copyright (c) 2005-2023 NVIDIA Corporation
Built on Mon_Apr__3_17:16:06_PDT_2023
Cuda compilation tools, release 12.1, V12.1.105
Build cuda_12.1.r12.1/compiler.32688072_0
"""  # synthetic: the shape of nvcc 12.1's banner


def _toolkit_tree(root: Path, name: str) -> None:
    write_tree(root, {f"/usr/local/{name}/bin/nvcc": "#!binary",
                      f"/usr/local/{name}/include/cuda.h": "/* cuda */"})


def test_every_toolkit_in_extension_build_order(tmp_path: Path) -> None:
    _toolkit_tree(tmp_path, "cuda-12.1")
    _toolkit_tree(tmp_path, "cuda-13.0")
    (tmp_path / "usr/local/cuda").symlink_to("cuda-13.0")
    runner = FakeRunner({
        ("/usr/local/cuda-12.1/bin/nvcc", "--version"): ok(NVCC_12_1),
        ("/usr/local/cuda-13.0/bin/nvcc", "--version"): ok(NVCC_13.read_text()),
    })
    host = make_host(tmp_path, runner=runner,
                     env={"PATH": "/usr/local/cuda-12.1/bin:/usr/bin",
                          "CUDA_HOME": "/usr/local/cuda"})
    toolkits = probe_toolkits(host)
    assert [(t.path, t.sources) for t in toolkits] == [
        ("/usr/local/cuda-13.0", ("CUDA_HOME", "default")),
        ("/usr/local/cuda-12.1", ("PATH", "default")),
    ]
    assert [t.nvcc_version for t in toolkits] == [Version("13.0"), Version("12.1")]
    assert toolkits[1].nvcc_build == "V12.1.105"


def test_wrapper_script_nvcc_asks_nvcc_for_its_root(tmp_path: Path) -> None:
    _toolkit_tree(tmp_path, "cuda-13.0")
    write_tree(tmp_path, {"/usr/bin/nvcc": "#!/bin/sh\nexec /usr/local/cuda-13.0/bin/nvcc"})
    runner = FakeRunner({
        ("/usr/bin/nvcc", "--dryrun"): ok("#$ _NVVM_BRANCH_=nvvm\n"
                                          "#$ TOP=/usr/local/cuda-13.0/bin/..\n"),
        ("/usr/local/cuda-13.0/bin/nvcc", "--version"): ok(NVCC_13.read_text()),
    })
    toolkits = probe_toolkits(make_host(tmp_path, runner=runner))
    assert [(t.path, t.sources) for t in toolkits] == [
        ("/usr/local/cuda-13.0", ("PATH", "default"))]


def test_runtime_only_toolkit_and_missing_cuda_home(tmp_path: Path) -> None:
    write_tree(tmp_path, {"/usr/local/cuda-12.4/version.json":
                          '{"cuda": {"name": "CUDA SDK", "version": "12.4.1"}}'})
    host = make_host(tmp_path, env={"PATH": "/usr/bin", "CUDA_HOME": "/opt/missing"})
    toolkits = probe_toolkits(host)
    assert toolkits[0].path == "/opt/missing"
    assert toolkits[0].detail == "this folder does not exist"
    assert toolkits[1].path == "/usr/local/cuda-12.4"
    assert toolkits[1].nvcc_version == Version("12.4")
    assert "runtime-only" in (toolkits[1].detail or "")


def test_hanging_nvcc_is_recorded_not_raised(tmp_path: Path) -> None:
    _toolkit_tree(tmp_path, "cuda-13.0")
    runner = FakeRunner({("/usr/local/cuda-13.0/bin/nvcc",): CommandTimeoutError(
        "/usr/local/cuda-13.0/bin/nvcc did not finish within 10 s and was killed")})
    (toolkit,) = probe_toolkits(make_host(tmp_path, runner=runner))
    assert toolkit.nvcc_version is None
    assert "did not finish" in (toolkit.detail or "")
