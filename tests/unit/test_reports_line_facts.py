"""Line-level facts, on lines copied from the evidence corpus (tests/data/reports/*/SOURCE.md
names each thread) unless marked synthetic."""

from __future__ import annotations

from dataclasses import replace

from packaging.version import Version

from envcheck.diagnosis import assess_error
from envcheck.reports.build import snapshot_from_report
from envcheck.reports.install_logs import (
    debian_version,
    read_debian_packages,
    read_pip_command,
    read_pip_log,
    read_pip_show,
    read_torch_mention,
    read_wheel_file,
)
from envcheck.reports.line_facts import LineFacts, Reader, ReportedGpu
from envcheck.reports.segments import find_line_facts, split_report
from envcheck.reports.shell_output import (
    read_glibc_version,
    read_issue_template,
    read_ld_library_path,
    read_loader_error,
    read_nccl_tests,
    read_nvml_error,
    read_os_release,
    read_proc_driver_version,
    read_python_banner,
    read_python_path,
)
from envcheck.reports.torch_output import read_torch_message, read_torch_repl
from envcheck.rules import run_rules
from envcheck.snapshot import Package
from tests.snapshots import healthy, with_gpu, with_torch


def read(reader: Reader, *lines: str) -> LineFacts | None:
    found = reader(list(lines), 0)
    return found[1] if found else None


def facts(reader: Reader, *lines: str) -> LineFacts:
    found = read(reader, *lines)
    assert found is not None
    return found


# --- torch's messages -------------------------------------------------------------------------

def test_arch_warning_gives_the_gpu_and_the_measured_arch_list() -> None:
    found = facts(
        read_torch_message,
        "`NVIDIA GeForce RTX 5060 Ti with CUDA capability sm_120 is not compatible with the "
        "current PyTorch installation.",
        "The current PyTorch install supports CUDA capabilities sm_37 sm_50 sm_60 sm_61 sm_70 "
        "sm_75 sm_80 sm_86 sm_90 compute_37.")
    assert found.gpus == (ReportedGpu(index=None, name="NVIDIA GeForce RTX 5060 Ti",
                                      compute_capability="12.0"),)
    assert found.arch_list[-2:] == ("sm_90", "compute_37")


def test_old_capability_message_and_driver_api() -> None:
    old = facts(read_torch_message, "Found GPU0 NVIDIA GTX TITAN Black which is of cuda "
                "capability 3.5. PyTorch no longer supports this GPU because it is too old.")
    assert old.gpus == (ReportedGpu(index=0, name="NVIDIA GTX TITAN Black",
                                    compute_capability="3.5"),)
    driver = facts(read_torch_message, "UserWarning: CUDA initialization: The NVIDIA driver on "
                   "your system is too old (found version 11000). Please update your GPU driver")
    assert driver.cuda_driver_api == Version("11.0")
    cuda_10_1 = facts(read_torch_message, "The NVIDIA driver on your system is too old (found "
                      "version 10010)")  # synthetic
    assert cuda_10_1.cuda_driver_api == Version("10.1")


def test_build_checks_name_the_cuda_versions() -> None:
    wrapped = facts(read_torch_message,
                    " The detected CUDA version (12.1) mismatches the version that was used to "
                    "compile", "      PyTorch (11.8). Please make sure to use the same CUDA "
                    "versions.")
    assert (wrapped.detected_nvcc, wrapped.torch_cuda) == (Version("12.1"), Version("11.8"))
    apex = facts(read_torch_message, "Pytorch binaries were compiled with Cuda 10.0.130.")
    assert apex.torch_cuda == Version("10.0")
    cudnn = facts(read_torch_message, "RuntimeError: cuDNN version incompatibility: PyTorch "
                  "was compiled against (8, 3, 2) but linked against (8, 0, 3)")
    assert (cudnn.cudnn_compiled, cudnn.cudnn_runtime) == (Version("8.3.2"), Version("8.0.3"))


def test_repl_and_build_log_values() -> None:
    assert facts(read_torch_repl, "    torch.__version__  =  1.2.0").torch_version == Version(
        "1.2.0")
    assert facts(read_torch_repl, "print(torch.__version__) # 1.9.1+cu102").torch_version == (
        Version("1.9.1+cu102"))
    assert facts(read_torch_repl, ">>> torch.cuda.is_available()", "False").cuda_available is (
        False)
    assert facts(read_torch_repl, "`torch.version.cuda`", "    `'10.0'`").torch_cuda == (
        Version("10.0"))
    assert facts(read_torch_repl, ">>> torch.version.cuda", "None").torch_cpu_build
    assert read(read_torch_repl, "assert torch.__version__ == '2.1'") is None  # synthetic


def test_what_a_python_c_print_printed() -> None:
    # The one-liner maintainers ask for; print() puts a space between its arguments.
    one = facts(read_torch_repl, '$ python -c "import torch; print(torch.__version__)"',
                "2.3.1+cu121")
    assert one.torch_version == Version("2.3.1+cu121")
    three = facts(read_torch_repl, 'python -c "import torch; print(torch.__version__, '
                  'torch.version.cuda, torch.cuda.is_available())"', "2.3.1+cu121 12.1 False")
    assert three.torch_version == Version("2.3.1+cu121")
    assert three.torch_cuda == Version("12.1")
    assert three.cuda_available is False
    # Not what the command printed: another number of words, or code after the print.
    assert read(read_torch_repl, 'python -c "import torch; print(torch.__version__)"',
                "model = Net()") is None
    assert read(read_torch_repl, "print(torch.__version__, torch.version.cuda)",
                "2.3.1+cu121") is None


# --- shell output ---------------------------------------------------------------------------------

def test_python_banner() -> None:
    conda = facts(read_python_banner, "Python 3.8.12 | packaged by conda-forge | (default, Jan "
                  "30 2022, 23:42:07)", "[GCC 9.4.0] on linux")
    assert conda.python_version == Version("3.8.12")
    windows = facts(read_python_banner, "Python 3.8.7 (tags/v3.8.7:6503f05, Dec 21 2020, "
                    "17:59:51) [MSC v.1928 64 bit (AMD64)] on win32")
    assert windows.python_platform == "win-amd64"
    uv = facts(read_python_banner, "Using Python 3.12.7 environment at: venv")
    assert uv.python_version == Version("3.12.7")
    assert read(read_python_banner, "Python 3.10 and pip 21.3.1 are what I use") is None


def test_system_lines() -> None:
    assert facts(read_glibc_version, "`ldd --version` gives me `ldd (GNU libc) 2.12`").glibc == (
        Version("2.12"))
    assert facts(read_os_release, "`lsb_release -a` prints `CentOS release 6.8 (Final)`").os == (
        "CentOS release 6.8 (Final)")
    module = facts(read_proc_driver_version, "NVRM version: NVIDIA UNIX x86_64 Kernel Module  "
                   "520.56.06  Thu Oct  6 21:38:55 UTC 2022")
    assert module.kernel_module_version == "520.56.06"
    nvml = facts(read_nvml_error, "Failed to initialize NVML: Driver/library version mismatch")
    assert nvml.nvml_error_code == "NVML_ERROR_LIB_RM_VERSION_MISMATCH"


def test_ld_library_path() -> None:
    echoed = facts(read_ld_library_path,
                   "(py38) [0] rzou@devfair0317:~/binaries_test  $ echo $LD_LIBRARY_PATH",
                   "/public/apps/cudnn/v8.0.3.33-cuda.11.0/cuda/lib64:/public/apps/cuda/11.0/"
                   "lib64:/usr/local/cuda/lib64:/usr/local/cuda/lib64::/public/slurm/20.11.8/lib")
    assert echoed.ld_library_path is not None
    assert echoed.ld_library_path.startswith("/public/apps/cudnn/v8.0.3.33")
    assigned = facts(read_ld_library_path, "LD_LIBRARY_PATH=/usr/local/nvidia/lib:/usr/local/"
                     "nvidia/lib64")  # synthetic
    assert assigned.ld_library_path == "/usr/local/nvidia/lib:/usr/local/nvidia/lib64"
    assert read(read_ld_library_path, "export LD_LIBRARY_PATH=$CUDA_HOME/lib64") is None


def test_loader_error_paths_and_devices() -> None:
    loaded = facts(read_loader_error, "ImportError: /home/mit/kxyRAG/ragflow/.venv/lib/python3.12/"
                   "site-packages/torch/lib/../../nvidia/cusparse/lib/libcusparse.so.12: "
                   "undefined symbol: __nvJitLinkAddData_12_1, version libnvJitL")
    assert loaded.library_paths == ("/home/mit/kxyRAG/ragflow/.venv/lib/python3.12/"
                                    "site-packages/nvidia/cusparse/lib/libcusparse.so.12",)
    assert read(read_loader_error, "ImportError: /lib64/libc.so.6: version `GLIBC_2.17' not "
                "found") is None  # not a CUDA library
    devices = facts(read_nccl_tests,
                    "#   Rank  0 Pid   1688 on    fastmoe device  0 [0x18] GeForce RTX 2080 Ti",
                    "#   Rank  1 Pid   1688 on    fastmoe device  1 [0x3b] GeForce RTX 2080 Ti")
    assert [gpu.index for gpu in devices.gpus] == [0, 1]
    path = facts(read_python_path, '  File "/opt/conda/envs/server/lib/python3.8/site-packages/'
                 'torch/backends/cudnn/__init__.py", line 68, in version')
    assert path.python_minor_from_path == Version("3.8")


def test_issue_template() -> None:
    assert facts(read_issue_template, " - PyTorch Version (1.9.0+cu102):").torch_mention == (
        Version("1.9.0+cu102"))
    assert facts(read_issue_template, " - Python version: 3.6.2").python_version == Version(
        "3.6.2")
    assert facts(read_issue_template, "- OS: CentOS release 6.7 (Final)").os == (
        "CentOS release 6.7 (Final)")
    assert read(read_issue_template, " - CUDA/cuDNN version:") is None
    assert read(read_issue_template, "- PyTorch Version (e.g., 1.0):") is None  # the template


# --- install logs ---------------------------------------------------------------------------------

def test_pip_commands() -> None:
    pinned = facts(read_pip_command, "pip3 install torch==1.10.0+cu113 torchvision==0.11.1+cu113 "
                   "torchaudio===0.10.0+cu113 -f https://download.pytorch.org/whl/cu113/"
                   "torch_stable.html")
    assert pinned.requested[0] == Package(name="torch", version="1.10.0+cu113")
    assert pinned.requested_index_cuda == Version("11.3")
    index = facts(read_pip_command, " pip3 install torch --extra-index-url "
                  "https://download.pytorch.org/whl/cu113")
    assert index.requested == (Package(name="torch", version=""),)
    assert index.requested_index_cuda == Version("11.3")
    assert read(read_pip_command, "you can pip install the latest version") is None


def test_pip_log_and_wheels() -> None:
    assert facts(read_pip_log, "Successfully installed torch-1.7.1").installed == (
        Package(name="torch", version="1.7.1"),)
    assert facts(read_pip_log, "  Successfully uninstalled torch-2.8.0").uninstalled == (
        "torch",)
    satisfied = facts(read_pip_log, r"Requirement already satisfied: numpy in c:\users\bramv"
                      r"\.virtualenvs\tprdb-inspect-71dsb1yl\lib\site-packages (from "
                      r"torch===1.7.1) (1.20.1)")
    assert satisfied.installed == (Package(name="numpy", version="1.20.1"),)
    wheel = facts(read_wheel_file, "  Using cached https://download.pytorch.org/whl/cu121/torch-"
                  "2.5.1%2Bcu121-cp312-cp312-win_amd64.whl (2449.3 MB)").wheels[0]
    assert (wheel.version, wheel.python_tag, wheel.platform_tag, wheel.in_pip_log) == (
        "2.5.1+cu121", "cp312", "win_amd64", True)
    show = facts(read_pip_show, "Name: torch", "Version: 1.11.0+cu113")
    assert show.installed == (Package(name="torch", version="1.11.0+cu113"),)
    mention = facts(read_torch_mention, "16:25:20-583053 INFO     Torch 2.0.1+cu118")
    assert mention.torch_mention == Version("2.0.1+cu118")
    assert read(read_torch_mention, "[conda] torch    1.12.1+cu116   pypi_0  pypi") is None


def test_debian_packages() -> None:
    dpkg = facts(read_debian_packages, "ii  nvidia-smi     525.85.12-1  amd64        NVIDIA "
                 "System Management Interface")
    assert dpkg.deb_packages == (("nvidia-smi", "525.85.12-1"),)
    history = facts(read_debian_packages, "Upgrade: libnvidia-common-460:amd64 (460.56-0ubuntu0."
                    "20.04.1, 460.73.01-0ubuntu0.20.04.1)")
    assert history.deb_packages == (("libnvidia-common-460", "460.73.01-0ubuntu0.20.04.1"),)
    apt = facts(read_debian_packages, "libnccl2/unknown,now 2.8.4-1+cuda11.2 amd64 [installed]")
    assert apt.deb_packages == (("libnccl2", "2.8.4-1+cuda11.2"),)
    pin = facts(read_debian_packages, "libnccl2=2.7.3-1+cuda10.1 \\")
    assert pin.deb_packages == (("libnccl2", "2.7.3-1+cuda10.1"),)
    assert debian_version("7.6.0.64-1+cuda10.1") == "7.6.0.64"
    assert debian_version("1:2.3-4") == "2.3"


# --- into the Snapshot -------------------------------------------------------------------------

def test_line_facts_are_found_inside_blocks() -> None:
    # The warning torch prints before collect_env's output ends up inside its block.
    lines = ["Collecting environment information...",
             "/x/torch/cuda/__init__.py:235: UserWarning: ",
             "NVIDIA GeForce RTX 5090 D with CUDA capability sm_120 is not compatible with the "
             "current PyTorch installation.",
             "The current PyTorch install supports CUDA capabilities sm_50 sm_90.",
             "PyTorch version: 2.6.0+cu126"]
    kinds = [segment.kind for segment in find_line_facts(lines, in_blocks=frozenset({4}))]
    assert kinds == ["torch-message"]
    assert {s.kind for s in split_report("\n".join(lines))} >= {"collect_env", "torch-message"}


def test_a_prose_report_becomes_facts() -> None:
    text = ("After installing the toolkit `nvidia-smi` fails:\n```\n$ nvidia-smi\n"
            "Failed to initialize NVML: Driver/library version mismatch\n"
            "$ cat /proc/driver/nvidia/version\nNVRM version: NVIDIA UNIX x86_64 Kernel Module  "
            "520.56.06  Thu Oct  6 21:38:55 UTC 2022\n"
            "ii  nvidia-smi     525.85.12-1  amd64        NVIDIA System Management Interface\n"
            "```\n")
    snapshot = snapshot_from_report(text, taken_at="t", envcheck_version="0").snapshot
    assert snapshot.driver.status == "error"
    assert snapshot.driver.error_code == "NVML_ERROR_LIB_RM_VERSION_MISMATCH"
    assert (snapshot.driver.version, snapshot.driver.kernel_module_version) == (
        "525.85.12", "520.56.06")
    assert "driver-library-version-mismatch" in {f.id for f in run_rules(snapshot)}


def test_measured_arch_list_without_a_torch_version_is_checked() -> None:
    text = ("NVIDIA A100-SXM4-80GB with CUDA capability sm_80 is not compatible with the current "
            "PyTorch installation.\nThe current PyTorch install supports CUDA capabilities sm_37 "
            "sm_50 sm_60 sm_70.\n")
    snapshot = snapshot_from_report(text, taken_at="t", envcheck_version="0").snapshot
    assert snapshot.torch.version is None
    assert snapshot.torch.provenance["arch_list"] == "measured"
    assert snapshot.gpus[0].compute_capability == "8.0"
    assert "gpu-arch-not-in-torch-build" in {f.id for f in run_rules(snapshot)}


def test_a_known_error_message_alone_is_recognised_without_facts() -> None:
    result = snapshot_from_report("IndexError: Target 24 is out of bounds.\n", taken_at="t",
                                  envcheck_version="0")
    assert result.recognised == ("error-message",)
    assert result.snapshot.torch.status == "unknown"
    assert run_rules(result.snapshot) == ()


def test_a_resolver_version_list_is_not_a_pip_freeze() -> None:
    text = "          torch==1.0.0\n          torch==1.0.1\n          torch==1.1.0\n"
    assert [s.kind for s in split_report(text)] == []


# --- rules on the new facts ------------------------------------------------------------------

def test_ptx_only_coverage_is_a_warning() -> None:
    snapshot = with_gpu(with_torch(healthy(), arch_list=("sm_37", "sm_90", "compute_37"),
                                   provenance={"arch_list": "measured"}),
                        name="NVIDIA GeForce RTX 5060 Ti", compute_capability="12.0")
    findings = {f.id: f for f in run_rules(snapshot)}
    assert findings["gpu-arch-only-ptx-in-torch-build"].severity == "warning"
    assert "gpu-arch-not-in-torch-build" not in findings
    causes = assess_error("no kernel image is available for execution on the device", snapshot,
                          run_rules(snapshot))
    # The warning is the risk the message's first cause names: likely (stated), never
    # confirmed, never ruled out.
    assert causes[0].category == "arch_not_in_wheel"
    assert causes[0].verdict == "likely"
    assert causes[0].assumption == "the error is the one this risk leads to"


def test_a_report_without_torchvision_cannot_rule_out_the_pairing() -> None:
    snapshot = replace(healthy(), source="report",
                       packages=(Package(name="torch", version="2.5.1"),))
    causes = assess_error("RuntimeError: operator torchvision::nms does not exist", snapshot,
                          run_rules(snapshot))
    assert {c.category: c.verdict for c in causes}["torchvision_mismatch"] == "possible"
