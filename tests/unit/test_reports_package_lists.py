"""pip list, pip freeze, conda list and ldd pieces of pasted reports."""

from __future__ import annotations

from pathlib import Path

from packaging.version import Version

from envcheck.reports.build import ReportSnapshot, snapshot_from_report
from envcheck.reports.package_lists import parse_conda_row, parse_pip_freeze
from envcheck.snapshot import CudaLibrary, Package

FORMATS = Path(__file__).resolve().parent.parent / "data" / "report_formats"


def read_text(text: str) -> ReportSnapshot:
    return snapshot_from_report(text, taken_at="t", envcheck_version="v")


def read(name: str) -> ReportSnapshot:
    return read_text((FORMATS / name).read_text())


def test_pip_list_with_cuda_wheels() -> None:
    result = read("pip-list-pytorch143288.txt")
    snapshot = result.snapshot

    assert result.recognised == ("pip-list",)
    packages = {p.name: p.version for p in snapshot.packages}
    assert len(packages) == 38
    assert packages["nvidia-cudnn-cu12"] == "9.1.0.70"
    assert packages["Jinja2"] == "3.1.4"
    assert CudaLibrary(name="cudnn", version="9.1.0.70", path="", origin="pip",
                       found_via=("report",),
                       distribution="nvidia-cudnn-cu12") in snapshot.cuda_libraries
    assert {lib.name for lib in snapshot.cuda_libraries} >= {"cublas", "nccl", "cudart",
                                                             "nvjitlink"}
    assert snapshot.torch.status == "unknown"  # torch is not in the shortened list
    assert "installed packages" not in result.missing


def test_conda_list_gives_torch_cuda_and_cudnn_from_the_build_string() -> None:
    result = read("conda-list-ninet.txt")
    snapshot = result.snapshot

    assert result.recognised == ("conda-list",)
    assert len(snapshot.packages) == 134
    assert snapshot.torch.status == "ok"
    assert snapshot.torch.version == Version("2.0.1")
    assert snapshot.torch.cuda == Version("11.8")
    assert snapshot.torch.cudnn == Version("8.7.0")
    assert snapshot.torch.provenance == {"version": "derived", "cuda": "derived",
                                         "cudnn": "derived"}
    assert snapshot.python.version == Version("3.9.19")
    assert snapshot.python.kind == "conda"
    assert "torch's CUDA build" not in result.missing


def test_conda_rows_of_every_shape() -> None:
    row = parse_conda_row("pytorch                   2.0.1           py3.9_cuda11.8_cudnn8.7.0_0"
                          "    pytorch")
    assert row is not None
    assert (row.name, row.version, row.channel) == ("pytorch", "2.0.1", "pytorch")
    blas = parse_conda_row("blas                      1.0                         mkl  ")
    assert blas is not None
    assert blas.channel is None
    old_pip = parse_conda_row("numpy                     1.19.1                    <pip>")
    assert old_pip is not None
    assert old_pip.channel == "pypi"
    # Synthetic `conda list --export` row.
    exported = parse_conda_row("pytorch=1.11.0=py3.9_cuda11.3_cudnn8.2.0_0")
    assert exported is not None
    assert (exported.name, exported.version) == ("pytorch", "1.11.0")
    assert parse_conda_row("# Name  Version  Build  Channel") is None


def test_pip_freeze_pins_direct_references_and_editables() -> None:
    # The absl-py line is quoted from
    # https://discourse.nixos.org/t/new-python-pip-20-1-1-changed-requirements-txt-format/9321;
    # the other lines are synthetic.
    lines = (
        "absl-py @ file:///build/absl-py-0.9.0/dist/absl_py-0.9.0-py3-none-any.whl",
        "torch==2.1.0+cu121",
        "uvicorn[standard]==0.23.2",
        "mypkg @ git+https://github.com/example/mypkg@0123abc",
        "-e git+https://github.com/example/tool.git@abc123#egg=tool",
        "-e /home/me/src/project",
        "certifi @ file:///croot/certifi_1690232220950/work/certifi",
    )
    assert parse_pip_freeze(lines) == [
        Package(name="absl-py", version="0.9.0"),
        Package(name="torch", version="2.1.0+cu121"),
        Package(name="uvicorn", version="0.23.2"),
        Package(name="mypkg", version=""),
        Package(name="tool", version=""),
        Package(name="certifi", version=""),
    ]


def test_pip_freeze_torch_local_tag_gives_its_cuda_build() -> None:
    # Synthetic pip freeze pieces.
    cu121 = read_text("```\nnumpy==1.26.4\ntorch==2.1.0+cu121\n```\n").snapshot.torch
    assert cu121.version == Version("2.1.0+cu121")
    assert cu121.cuda == Version("12.1")
    assert cu121.provenance["cuda"] == "derived"

    cpu = read_text("numpy==1.26.4\ntorch==2.3.0+cpu\n").snapshot.torch
    assert cpu.cuda is None
    assert cpu.provenance["cuda"] == "derived"

    plain = read_text("numpy==1.26.4\ntorch==2.1.0\n")
    assert plain.snapshot.torch.cuda is None
    assert "cuda" not in plain.snapshot.torch.provenance  # not a CPU build: unknown
    assert "torch's CUDA build" in plain.missing


def test_a_single_requirement_line_in_prose_is_not_a_pip_freeze() -> None:
    result = read_text("I installed it with\ntorch==2.1.0\nand nvidia-smi said\n"
                       "NVIDIA-SMI 535.104.05   Driver Version: 535.104.05   CUDA Version: 12.2\n")
    assert result.recognised == ("nvidia-smi-table",)
    assert result.snapshot.packages == ()


def test_ldd_records_resolved_cuda_libraries_and_not_found_lines() -> None:
    result = read("ldd-tensorrt-paddleseg.txt")
    snapshot = result.snapshot

    assert result.recognised == ("ldd",)
    assert result.unresolved_libraries == ("libcublas.so.11", "libcublasLt.so.11",
                                           "libcudnn.so.8")
    (probe_ok, probe_missing) = [p for p in snapshot.probes if p.name == "report:ldd"]
    assert probe_ok.status == "ok"
    assert probe_missing.status == "error"
    assert probe_missing.detail is not None
    assert "not found: libcublas.so.11, libcublasLt.so.11, libcudnn.so.8" in probe_missing.detail
    # libnvinfer is not a CUDA library envcheck tracks; the missing ones have no path.
    assert snapshot.cuda_libraries == ()


def test_ldd_with_resolved_cudart() -> None:
    # Synthetic ldd lines in the shape the brief describes.
    text = (
        "\tlibcudart.so.12 => /usr/local/cuda/lib64/libcudart.so.12 (0x00007f2a1c000000)\n"
        "\tlibcudnn.so.9 => not found\n"
    )
    result = read_text(text)

    assert result.snapshot.cuda_libraries == (
        CudaLibrary(name="cudart", version="12", path="/usr/local/cuda/lib64/libcudart.so.12",
                    origin="system", found_via=("report",)),
    )
    assert result.unresolved_libraries == ("libcudnn.so.9",)
