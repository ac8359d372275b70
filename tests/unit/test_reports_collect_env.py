"""snapshot_from_report on recorded collect_env output of each era (tests/data/report_formats)."""

from __future__ import annotations

from pathlib import Path

from packaging.version import Version

from envcheck.reports.build import ReportSnapshot, snapshot_from_report

FORMATS = Path(__file__).resolve().parent.parent / "data" / "report_formats"


def read(name: str) -> ReportSnapshot:
    return snapshot_from_report((FORMATS / name).read_text(), taken_at="2026-01-01T00:00:00Z",
                                envcheck_version="0.1.0")


def test_torch_1_0_indented_with_cudnn_candidates_of_two_versions() -> None:
    result = read("collect_env-1.0-aiwiki170.txt")
    snapshot = result.snapshot

    assert result.recognised == ("collect_env",)
    assert snapshot.source == "report"
    assert snapshot.taken_at == "2026-01-01T00:00:00Z"
    assert snapshot.envcheck_version == "0.1.0"
    assert snapshot.torch.status == "ok"
    assert snapshot.torch.version == Version("1.0.1")
    assert snapshot.torch.cuda == Version("9.0.176")
    assert snapshot.torch.cuda_available is True  # "Is CUDA available: Yes"
    assert snapshot.torch.provenance["cuda_available"] == "measured"
    assert snapshot.torch.cudnn is None  # 7.6.5 and 7.3.0 both listed: ambiguous
    assert snapshot.driver.status == "ok"
    assert snapshot.driver.version == "430.50"
    assert snapshot.driver.source == "report"
    assert snapshot.driver.cuda_driver_api is None
    assert [gpu.name for gpu in snapshot.gpus] == ["GeForce GTX 1080 Ti"] * 3
    assert [gpu.index for gpu in snapshot.gpus] == [0, 1, 2]
    (toolkit,) = snapshot.toolkits
    assert toolkit.path == ""
    assert toolkit.nvcc_version == Version("9.0")
    assert toolkit.nvcc_build == "V9.0.176"
    # .dpkg-new, .deb and _static.a candidates are not libraries
    assert sorted((lib.path, lib.version) for lib in snapshot.cuda_libraries) == [
        ("/usr/local/cuda-10.0/lib64/libcudnn.so", None),
        ("/usr/local/cuda-10.0/lib64/libcudnn.so.7", "7"),
        ("/usr/local/cuda-10.0/lib64/libcudnn.so.7.6.5", "7.6.5"),
        ("/usr/local/cuda-9.0/lib64/libcudnn.so", None),
        ("/usr/local/cuda-9.0/lib64/libcudnn.so.7", "7"),
        ("/usr/local/cuda-9.0/lib64/libcudnn.so.7.3.0", "7.3.0"),
    ]
    assert all(lib.origin == "system" and lib.found_via == ("report",)
               for lib in snapshot.cuda_libraries)
    assert snapshot.python.version == Version("3.6")
    assert snapshot.system.os == "Ubuntu 18.04.2 LTS"
    assert snapshot.packages == ()  # "[pip] Could not collect" is not a package
    assert "installed packages" in result.missing
    assert "the glibc version" in result.missing


def test_torch_1_1_macos_single_gpu_without_index_and_pip_prefix() -> None:
    snapshot = read("collect_env-1.1-macos-pytorch16999.txt").snapshot

    assert snapshot.torch.version == Version("1.1.0a0+4335aac")
    assert snapshot.torch.cuda == Version("10.0")
    assert [(gpu.index, gpu.name) for gpu in snapshot.gpus] == [
        (0, "GeForce GTX 1060 with Max-Q Design")
    ]
    assert snapshot.driver.version == "1.1.0"
    assert {(p.name, p.version) for p in snapshot.packages} >= {
        ("numpy", "1.15.4"), ("torch", "1.1.0a0+4335aac"), ("mkl-include", "2019.1"),
    }
    assert snapshot.cuda_libraries == ()  # a .dylib is not a Linux soname


def test_torch_1_6_cuda_unavailable_is_a_measurement_and_smi_header_adds_driver_api() -> None:
    result = read("collect_env-1.6-with-smi418-pytorch43058.txt")
    snapshot = result.snapshot

    assert result.recognised == ("collect_env", "nvidia-smi-table", "prose-gpu")  # "V100 GPU(s)"
    assert snapshot.torch.cuda_available is False
    assert snapshot.torch.provenance["cuda_available"] == "measured"
    assert snapshot.torch.cuda == Version("10.2")
    assert snapshot.driver.version == "418.67"
    assert snapshot.driver.cuda_driver_api == Version("10.1")
    assert snapshot.driver.detail is None  # collect_env and the table agree
    assert [gpu.name for gpu in snapshot.gpus] == ["Tesla V100-PCIE-16GB"] * 2
    assert snapshot.toolkits == ()  # "CUDA runtime version: Could not collect"
    assert {(p.name, p.version) for p in snapshot.packages} == {
        ("numpy", "1.19.1"), ("torch", "1.6.0")
    }


def test_torch_1_8_major_only_cudnn_files_give_no_torch_cudnn() -> None:
    snapshot = read("collect_env-1.8-cudnn-candidates-yanhui51833.txt").snapshot

    assert snapshot.torch.cudnn is None
    assert len(snapshot.cuda_libraries) == 14
    assert {lib.name for lib in snapshot.cuda_libraries} >= {"cudnn", "cudnn_ops_infer"}
    assert {lib.version for lib in snapshot.cuda_libraries} == {"8"}
    assert snapshot.torch.hip is None  # "ROCM used to build PyTorch: N/A"
    assert snapshot.system.arch == "x86_64"  # from "OS: Ubuntu 20.04.1 LTS (x86_64)"


def test_torch_1_11_cpu_build_and_no_cuda() -> None:
    result = read("collect_env-1.11-cpu-build-yanhui74626.txt")
    snapshot = result.snapshot

    assert snapshot.torch.status == "ok"
    assert snapshot.torch.cuda is None
    assert snapshot.torch.provenance["cuda"] == "measured"  # None means a CPU build
    assert snapshot.torch.cuda_available is False
    assert "torch's CUDA build" not in result.missing
    assert snapshot.driver.status == "error"  # collect_env looked and got nothing
    assert snapshot.driver.detail == "collect_env printed 'No CUDA' for the driver version"
    assert snapshot.gpus == ()
    assert snapshot.system.glibc == Version("2.33")  # "Libc version", not "-with-glibc2.10"
    assert snapshot.system.kernel == "5.15.18-100.fc34.x86_64"
    assert snapshot.system.os == "Fedora release 34 (Thirty Four)"
    assert snapshot.python.version == Version("3.8.12")
    assert snapshot.python.platform == "linux-x86_64"


def test_torch_1_12_glibc_platform_and_three_gpus() -> None:
    snapshot = read("collect_env-1.12-yanhui86556.txt").snapshot

    assert snapshot.torch.version == Version("1.12.1+cu116")
    assert snapshot.torch.cuda == Version("11.6")
    assert snapshot.system.glibc == Version("2.35")
    assert snapshot.system.kernel == "5.15.0-48-generic"
    assert snapshot.system.wsl is False
    assert len(snapshot.gpus) == 3
    assert snapshot.toolkits[0].nvcc_build == "V11.6.124"
    assert snapshot.driver.version == "515.65.01"


def test_torch_2_2_in_a_fence_with_cpu_block_and_single_cudnn_version() -> None:
    result = read("collect_env-2.2-kickastone.txt")
    snapshot = result.snapshot

    assert result.recognised == ("collect_env",)
    assert snapshot.torch.version == Version("2.2.2")
    assert snapshot.torch.cuda == Version("12.1")
    assert snapshot.torch.cudnn == Version("8.9.7")
    assert snapshot.torch.provenance["cudnn"] == "derived"
    assert snapshot.driver.version == "550.67"
    assert snapshot.system.cpu_count == 32
    assert snapshot.system.kernel == "6.8.2-arch2-1"
    assert snapshot.system.glibc == Version("2.39")
    assert snapshot.system.os == "Arch Linux"
    assert snapshot.python.version == Version("3.12.2")
    assert snapshot.toolkits[0].nvcc_version == Version("12.4")
    packages = {p.name: p.version for p in snapshot.packages}
    assert packages["torch"] == "2.2.2"  # [pip3] wins over the conda row of the same name
    assert packages["pytorch"] == "2.2.2"
    assert packages["pytorch-cuda"] == "12.1"


def test_torch_2_2_macos_with_a_wrapped_python_version_line() -> None:
    result = read("collect_env-2.2-macos-wrapped-pytorch121067.txt")
    snapshot = result.snapshot

    assert snapshot.python.version == Version("3.10.13")
    assert snapshot.python.platform is None  # macOS tags are not derivable from the report
    assert snapshot.torch.cuda is None
    assert snapshot.torch.cuda_available is False
    assert snapshot.system.os == "macOS 14.5"
    assert snapshot.system.arch == "x86_64"
    assert snapshot.system.glibc is None  # "Libc version: N/A"
    assert {p.name for p in snapshot.packages} == {
        "mypy-extensions", "numpy", "onnxruntime", "torch"
    }


def test_pytorch_version_na_means_torch_could_not_be_imported() -> None:
    # Synthetic, shaped like the torch-less output shown in pytorch/pytorch#42887.
    text = (
        "PyTorch version: N/A\nIs debug build: N/A\nCUDA used to build PyTorch: N/A\n\n"
        "Python version: 2.7 (64-bit runtime)\nIs CUDA available: N/A\n"
        "Nvidia driver version: Could not collect\n"
    )
    snapshot = snapshot_from_report(text, taken_at="t", envcheck_version="v").snapshot

    assert snapshot.torch.status == "absent"
    assert "N/A" in (snapshot.torch.detail or "")
    assert snapshot.torch.cuda_available is None
    assert snapshot.driver.status == "error"
    assert "Could not collect" in (snapshot.driver.detail or "")
