"""The readers of prose, banners, build logs and message facts (envcheck.reports.prose_facts),
the other readings of a report (envcheck.reports.readings) and the verdicts they lead to.

Lines are real: from the reports in tests/data/reports (named in each test) or quoted in
issue 11 as what people paste."""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version
from rich.console import Console

from envcheck.cli.render_doctor import render_doctor
from envcheck.doctor_output import render_json
from envcheck.errors import ParseError
from envcheck.knowledge.model import ErrorSignature
from envcheck.knowledge.signatures import deciding_signatures, error_signatures, required_literals
from envcheck.reports.build import snapshot_from_report
from envcheck.reports.install_logs import read_torch_mention
from envcheck.reports.line_facts import CudaMention, LineFacts
from envcheck.reports.prose_facts import (
    read_banner,
    read_build_output,
    read_conda_command,
    read_pip_grep,
    read_prose_gpus,
    read_prose_os,
    read_prose_versions,
    shows_cuda_build,
)
from envcheck.services.doctor import DoctorRequest, DoctorResult, read_report, run_doctor


def prose(line: str) -> LineFacts:
    """What the three prose readers read from one line, together."""
    found = [reader([line], 0) for reader in (read_prose_versions, read_prose_os,
                                              read_prose_gpus)]
    assert any(found), line
    merged = LineFacts()
    for item in found:
        if item is not None:
            changes: dict[str, Any] = {k: v for k, v in vars(item[1]).items()
                                       if v not in (None, (), False)}
            merged = replace(merged, **changes)
    return merged


def doctor(text: str, error: str | None = None) -> DoctorResult:
    reading = read_report(text, error, taken_at="2026-01-01T00:00:00Z", envcheck_version="0")
    report = reading.report
    return run_doctor(DoctorRequest(snapshot=report.snapshot, error_text=reading.error_text,
                                    missing=report.missing, report=report))


def verdicts(result: DoctorResult) -> dict[str, str]:
    return {cause.category: cause.verdict for cause in result.causes}


# --- versions in prose ---------------------------------------------------------------------

def test_bullets_of_a_flash_attn_report() -> None:  # flashattn-1759
    torch = prose("- PyTorch: 2.2.0 (installed via conda, compiled with CUDA 11.8)")
    assert torch.torch_prose == Version("2.2.0")
    assert torch.cuda_mentions == (CudaMention(version=Version("11.8"), role="torch"),)
    nvcc = prose("- System CUDA (nvcc): 12.9")
    assert nvcc.detected_nvcc == Version("12.9")
    assert prose("- Python: 3.10").python_version == Version("3.10")


def test_driver_and_cuda_in_a_sentence() -> None:  # vllm-14608
    facts = prose("I have a notebook using cuda 11.6 and nvidia Driver Version: 510.108.03.")
    assert facts.driver_version == "510.108.03"
    assert [m.version for m in facts.cuda_mentions] == [Version("11.6")]


def test_the_spellings_issue_11_lists() -> None:
    assert prose("Driver: 545.29.06").driver_version == "545.29.06"
    assert prose("driver 470").driver_branch == 470
    assert prose("CUDA: 12.3").cuda_mentions == (
        CudaMention(version=Version("12.3"), role="unknown"),)
    assert prose("torch:2.0.1").torch_prose == Version("2.0.1")
    assert prose("PyTorch 2.2 + cu121").torch_mention == Version("2.2+cu121")
    assert prose("pytorch1.8").torch_prose == Version("1.8")
    assert prose("python3.7").python_version == Version("3.7")
    assert prose("Ubuntu 18.04").os == "Ubuntu 18.04"
    assert prose("- **OS:** CentOS 7").os == "CentOS 7"


def test_full_width_punctuation_and_other_languages() -> None:
    line = "驱动版本\uff1a535.104.05\uff0cCUDA版本\uff1a12.2"  # full-width colon and comma
    assert prose(line).driver_version == "535.104.05"
    assert prose(line).cuda_mentions[0].version == Version("12.2")
    assert prose("Версия драйвера: драйвер 525.85.12").driver_version == "525.85.12"


def test_a_gpu_and_the_cuda_beside_it() -> None:  # vllm-3812
    facts = prose("Tesla V100, cuda11.4")
    # The family (every V100 is 7.0); which memory variant, the line does not say.
    assert [gpu.name for gpu in facts.gpus] == ["Tesla V100"]
    assert facts.cuda_mentions == (CudaMention(version=Version("11.4"), role="unknown"),)


def test_bare_gpu_names_and_counts() -> None:
    assert [g.name for g in prose("GPU: 2x RTX3090").gpus] == ["NVIDIA GeForce RTX 3090"]
    assert prose("GPU: 2x RTX3090").gpu_count == 2
    # a count written with spaces, from a PyTorch Lightning report
    eight = prose("I'm getting a new error while trying to train a model on a 8 x V100 box.")
    assert eight.gpu_count == 8
    assert [g.name for g in prose("a RTX 3060 card").gpus] == ["NVIDIA GeForce RTX 3060"]


def test_a_gpu_at_the_end_of_a_sentence() -> None:
    # The full stop after the name: "RTX 2080 Ti." was read as an RTX 2080 (8 GiB, not 11)
    # and "GPU RTX 3090." as no GPU at all.
    assert [g.name for g in prose("GPU: RTX 2080 Ti.").gpus] == ["NVIDIA GeForce RTX 2080 Ti"]
    assert [g.name for g in prose("GPU RTX 3090.").gpus] == ["NVIDIA GeForce RTX 3090"]
    assert prose("We have 2x RTX A6000.").gpu_count == 2


def test_numbers_that_are_not_facts() -> None:
    assert read_prose_versions(["torch==1.0.0"], 0) is None  # a requirement, read elsewhere
    assert read_prose_versions(["torch has 3 issues open"], 0) is None
    assert read_prose_gpus(["see line 2048 of the log"], 0) is None  # no GPU word
    assert read_prose_versions(["CUDA 12 is required"], 0) is None  # a major, not a version


# --- banners, package rows, build logs ---------------------------------------------------------

def test_ultralytics_banner() -> None:
    found = read_banner(["YOLOv5 🚀 v6.0 torch 1.10.0+cu111 CUDA:0 (Tesla T4, 15110MiB)"], 0)
    assert found is not None
    facts = found[1]
    assert facts.torch_version == Version("1.10.0+cu111")
    assert [(g.name, g.memory_mib) for g in facts.gpus] == [("Tesla T4", 15110)]
    assert facts.cuda_available is True


def test_transformers_env_banner() -> None:
    found = read_banner(["- PyTorch version (GPU?): 2.1.0+cu121 (True)"], 0)
    assert found is not None
    assert found[1].torch_version == Version("2.1.0+cu121")
    assert found[1].cuda_available is True


def test_a_headerless_pip_list_row_is_a_package() -> None:  # issue 14, item 2
    found = read_pip_grep(["torch  2.14.1"], 0)
    assert found is not None
    assert [(p.name, p.version) for p in found[1].listed] == [("torch", "2.14.1")]
    snapshot = snapshot_from_report("$ pip list | grep torch\ntorch  2.14.1\n",
                                    taken_at="t", envcheck_version="0").snapshot
    assert snapshot.torch.version == Version("2.14.1")
    assert "cuda" not in snapshot.torch.provenance  # no label: the build is not stated


def test_build_log_lines() -> None:
    loader = read_build_output([
        "OSError: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by "
        "/opt/anaconda3/lib/python3.10/site-packages/bitsandbytes/libbitsandbytes_cuda126.so)"],
        0)  # bnb-1610
    assert loader is not None
    assert loader[1].glibc_missing == Version("2.34")
    nvcc = read_build_output(["nvcc fatal   : Unsupported gpu architecture 'compute_90'"], 0)
    assert nvcc is not None
    assert nvcc[1].nvcc_rejects_arch == "compute_90"
    assert nvcc[1].builds_cuda_code
    path = read_build_output(["/usr/local/cuda-11.7/bin/nvcc -c foo.cu"], 0)
    assert path is not None
    assert path[1].detected_nvcc == Version("11.7")
    cpu = read_build_output(["AssertionError: Torch not compiled with CUDA enabled"], 0)
    assert cpu is not None
    assert cpu[1].torch_cpu_build


def test_docker_run_flags() -> None:  # gpujupyter-22, nccl-290
    gpus = read_build_output(["docker run --gpus all nvidia/cuda:10.1-base-ubuntu18.04 "
                              "nvidia-smi"], 0)
    assert gpus is not None
    assert gpus[1].docker_run is not None
    assert gpus[1].docker_run.gpus
    runtime = read_build_output([
        "1. `docker run -it -d --rm --net=host --mount type=bind,source=/home,destination=/home "
        "--runtime nvidia nvcr.io/nvidia/tensorflow:20.01-tf1-py3 sh`"], 0)
    assert runtime is not None
    assert runtime[1].docker_run is not None
    assert runtime[1].docker_run.nvidia_runtime
    assert not runtime[1].docker_run.ipc_host
    assert runtime[1].docker_run.shm_size is None


def test_what_shows_cuda_code_being_built() -> None:
    assert shows_cuda_build("Building wheel for flash-attn (setup.py): started")
    assert shows_cuda_build("  File \"/x/torch/utils/cpp_extension.py\", line 1, in _check")
    assert shows_cuda_build("-- The CUDA compiler identification is NVIDIA 12.1.105")
    assert not shows_cuda_build("RuntimeError: CUDA error: no kernel image is available")
    assert not shows_cuda_build("nvcc: NVIDIA (R) Cuda compiler driver")


# --- provenance --------------------------------------------------------------------------------

def test_every_fact_read_names_its_line() -> None:
    text = ("Hi, my setup:\n- **OS:** Ubuntu 22.04\n- Driver: 470.82.01\n- GPU: 2x RTX3090\n"
            "- torch:2.1.0\n")
    report = snapshot_from_report(text, taken_at="t", envcheck_version="0")
    read = {(fact.fact, fact.value): (fact.line, fact.text) for fact in report.read}
    assert read[("driver", "470.82.01")] == (3, "- Driver: 470.82.01")
    assert read[("torch", "2.1.0")] == (5, "- torch:2.1.0")
    assert read[("GPU", "NVIDIA GeForce RTX 3090")][0] == 4
    assert ("compute capability", "8.6 (NVIDIA GeForce RTX 3090, from envcheck's GPU table)") \
        in read
    assert [gpu.compute_capability for gpu in report.snapshot.gpus] == ["8.6", "8.6"]


# --- verdicts ----------------------------------------------------------------------------------

SMI_HEADER = "| NVIDIA-SMI 535.104.05   Driver Version: 535.104.05   CUDA Version: 12.2     |"
TOO_OLD = "RuntimeError: The NVIDIA driver on your system is too old (found version 12020)."


def test_a_missing_build_is_never_ruled_out() -> None:  # issue 14, item 1
    text = f"{SMI_HEADER}\n\nPackage Version\n------- -------\ntorch   2.14.1\n"
    result = doctor(text, TOO_OLD)
    cause = next(c for c in result.causes if c.category == "driver_too_old")
    assert cause.verdict in ("confirmed", "likely")


def test_likely_states_its_assumption() -> None:
    text = f"{SMI_HEADER}\n\nPackage Version\n------- -------\ntorch   2.14.1\n"
    result = doctor(text, "RuntimeError: CUDA error: no kernel image is available for "
                          "execution on the device")
    likely = [c for c in result.causes if c.verdict == "likely"]
    assert likely
    assert likely[0].category == "driver_too_old"
    assert likely[0].assumption == ("torch 2.14.1 with no build label is taken to be PyPI's "
                                    "default Linux build (cu130)")


def test_possible_names_only_the_missing_facts() -> None:  # issue 14, item 2
    result = doctor("- Driver: 535.104.05\n", "RuntimeError: CUDA error: no kernel image is "
                                             "available for execution on the device")
    driver = next(c for c in result.causes if c.category == "driver_too_old")
    assert driver.verdict == "possible"
    assert driver.missing == ("the torch version", "torch's CUDA build")
    assert "the driver version" not in driver.reason


def test_an_error_inside_the_report_is_the_error_judged() -> None:  # issue 14, item 2
    text = f"{SMI_HEADER}\n\nPackage Version\n------- -------\ntorch   2.14.1\n{TOO_OLD}\n"
    result = doctor(text)
    assert "driver_too_old" in verdicts(result)


def test_a_driver_branch_decides_when_every_release_of_it_agrees() -> None:
    result = doctor("driver 470\n- torch: 2.1.0+cu121\n",
                    "RuntimeError: CUDA error: no kernel image is available for execution on "
                    "the device")
    assert verdicts(result)["driver_too_old"] == "confirmed"
    assert any(f.id == "driver-too-old-for-torch-cuda" and f.severity == "error"
               for f in result.findings)


def test_an_ambiguous_cuda_is_tried_in_each_reading() -> None:
    result = doctor("- torch: 2.1.0\n- CUDA: 11.4\n",
                    "RuntimeError: CUDA error: no kernel image is available for execution on "
                    "the device")
    driver = next(c for c in result.causes if c.category == "driver_too_old")
    assert driver.verdict == "likely"
    assert driver.assumption is not None
    assert "CUDA 11.4" in driver.assumption


def test_a_message_that_states_its_cause_decides_it() -> None:  # yuan2-65
    result = doctor("请问需要安装什么版本\uff1f\n", "UserWarning: CUDA initialization: The NVIDIA "
                    "driver on your system is too old (found version 11000).")
    assert verdicts(result)["driver_too_old"] == "confirmed"


def test_consistent_facts_keep_a_stated_message_from_raising() -> None:
    collect_env = ("PyTorch version: 2.1.0+cu118\nCUDA used to build PyTorch: 11.8\n"
                   "Nvidia driver version: 535.104.05\n"
                   "GPU models and configuration: GPU 0: NVIDIA GeForce RTX 3090\n")
    result = doctor(collect_env, TOO_OLD)
    assert not any(f.severity == "error" for f in result.findings)
    assert verdicts(result)["driver_too_old"] == "ruled_out"


def test_healthy_versions_with_an_unrelated_error_stay_clean() -> None:  # pytorch-65479 style
    collect_env = ("PyTorch version: 2.1.0+cu118\nCUDA used to build PyTorch: 11.8\n"
                   "Nvidia driver version: 535.104.05\n"
                   "GPU models and configuration: GPU 0: NVIDIA GeForce RTX 3090\n")
    result = doctor(collect_env, "RuntimeError: CUDA error: an illegal memory access was "
                                 "encountered")
    assert not any(f.severity == "error" for f in result.findings)
    assert result.consistent


def test_docker_without_gpu_flags_makes_no_gpu_in_container_likely() -> None:
    result = doctor("$ docker run -it pytorch/pytorch:2.1.0-cuda11.8-cudnn8-runtime python "
                    "train.py\n", "RuntimeError: Found no NVIDIA driver on your system.")
    assert verdicts(result)["no_gpu_in_container"] == "likely"


# --- robustness ----------------------------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400))
def test_any_text_reads_or_raises_parse_error(text: str) -> None:
    with contextlib.suppress(ParseError):
        snapshot_from_report(text, taken_at="t", envcheck_version="0")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([
    "Driver: 545.29.06", "driver 470", "CUDA\uff1a12.3\uff0c", "torch:2.0.1", "PyTorch 2.2 + cu121",
    "pytorch1.8", "python3.7", "2x A6000", "RTX3060", "3070 Laptop", "docker run --gpus all x",
    "/usr/local/cuda-11.7/bin/nvcc", "GLIBC_2.28' not found", "torch  2.14.1", "nvcc fatal",
]), max_size=8), st.text(max_size=40))
def test_fragments_in_any_order_read(fragments: list[str], glue: str) -> None:
    with contextlib.suppress(ParseError):
        snapshot_from_report(glue.join(fragments), taken_at="t", envcheck_version="0")


def test_a_long_line_of_digits_reads_quickly() -> None:
    # A version regex with a catastrophic backtrack would hang here; the assert is on the
    # answer, the wall clock is only printed (tests never fail on time).
    start = time.perf_counter()
    with contextlib.suppress(ParseError):
        snapshot_from_report("torch " + "1." * 5_000 + "\ndriver " + "9" * 5_000,
                             taken_at="t", envcheck_version="0")
    print(f"{time.perf_counter() - start:.3f} s")


# --- the messages that state their cause, and the output -------------------------------------

@pytest.mark.parametrize("signature", [s for s in error_signatures()
                                       if s.id in deciding_signatures()], ids=lambda s: s.id)
def test_a_deciding_message_alone_raises_its_cause(signature: ErrorSignature) -> None:
    result = doctor(signature.example)
    errors = [f for f in result.findings if f.severity == "error"]
    assert [f.category for f in errors] == [signature.categories[0]]
    assert verdicts(result)[signature.categories[0]] == "confirmed"


@pytest.mark.parametrize("signature", error_signatures(), ids=lambda s: s.id)
def test_a_signature_s_literal_is_in_its_example(signature: ErrorSignature) -> None:
    # The prefilter of match_error skips a signature whose literal is absent: it must never
    # skip a real instance.
    literals = required_literals(signature.pattern)
    if literals is not None:
        assert any(literal in signature.example.lower() for literal in literals)


def test_the_read_table_is_shown_under_the_verdict() -> None:
    text = ("Hi, my setup:\n- **OS:** Ubuntu 22.04\n- Driver: 470.82.01\n- GPU: 2x RTX3090\n"
            "- torch:2.1.0\n")
    result = doctor(text, TOO_OLD)
    console = Console(record=True, width=200)
    render_doctor(result, strict=False, console=console)
    out = console.export_text()
    assert out.index("Likely causes") < out.index("Read from the report")
    assert "driver              470.82.01" in out
    assert "line 3" in out
    document = json.loads(render_json(result, strict=False))
    assert {"fact": "driver", "value": "470.82.01", "line": 3,
            "text": "- Driver: 470.82.01"} in document["read_from_report"]


def test_a_build_pip_cannot_find_is_checked_against_the_tables() -> None:
    never = doctor("Python 3.11.4\n", "ERROR: Could not find a version that satisfies the "
                   "requirement torch==2.1.0+cu122 (from versions: 2.2.0, 2.3.0)")
    finding = next(f for f in never.findings if f.id == "torch-build-never-published")
    assert finding.category == "broken_requirements"
    assert "cu121" in finding.summary
    # vllm-2695: the release exists; Python 3.12 had no wheel of it
    here = doctor("Python 3.12.1\n", "ERROR: Could not find a version that satisfies the "
                  "requirement torch==2.1.2 (from versions: 2.2.0)")
    assert any(f.id == "torch-build-has-no-wheel-here" and f.category == "python_unsupported"
               for f in here.findings)
    supported = doctor("Python 3.11.4\n", "ERROR: Could not find a version that satisfies "
                       "the requirement torch==2.1.2 (from versions: 2.2.0)")
    assert not any(f.id == "torch-build-has-no-wheel-here" for f in supported.findings)


def test_an_upgrade_line_and_a_companion_without_its_build() -> None:  # pytorch-122494
    text = ("   - torch: 2.1.2+cpu -> 2.2.1+cpu (\n   - torchvision: 0.16.2 -> 0.17.1\n")
    report = snapshot_from_report(text, taken_at="t", envcheck_version="0")
    assert report.snapshot.torch.version == Version("2.2.1+cpu")
    assert [(p.name, p.version) for p in report.snapshot.packages] == [("torchvision", "0.17.1")]
    result = doctor(text, "RuntimeError: operator torchvision::nms does not exist")
    cause = next(c for c in result.causes if c.category == "torchvision_mismatch")
    # never ruled out on the missing build label; likely under PyPI's default build
    assert cause.verdict == "likely"
    assert cause.assumption is not None
    assert "torchvision 0.17.1 with no build label" in cause.assumption


def test_the_kernel_log_names_both_driver_versions() -> None:  # nvidiadocker-182
    text = ("Aug 26 14:08:07 nyasara-linux kernel: NVRM: API mismatch: the client has the "
            "version 367.44, but\n                                      NVRM: this kernel "
            "module has the version 367.35.  Please\n")
    driver = snapshot_from_report(text, taken_at="t", envcheck_version="0").snapshot.driver
    assert driver.status == "error"
    assert driver.version == "367.44"
    assert driver.kernel_module_version == "367.35"
    assert driver.error_code == "NVML_ERROR_LIB_RM_VERSION_MISMATCH"


def test_a_report_that_builds_cuda_code_is_judged_as_one() -> None:
    # flashattn-1759: the wheel build of flash-attn compiles CUDA code, so the toolkit matters
    building = doctor("- PyTorch: 2.2.0 (installed via conda, compiled with CUDA 11.8)\n"
                      "- System CUDA (nvcc): 12.9\n"
                      "  Building wheel for flash-attn (setup.py): started\n")
    assert building.builds_cuda_code
    running = doctor("- PyTorch: 2.2.0 (installed via conda, compiled with CUDA 11.8)\n"
                     "- System CUDA (nvcc): 12.9\n")
    assert not running.builds_cuda_code
    assert json.loads(render_json(building, strict=False))["builds_cuda_code"] is True


def test_gpu_names_as_people_type_them() -> None:
    # pytorch-31319: "a Tesla K80 and two Tesla K40c cards"
    k40 = prose("This occurs on a system where I have a Tesla K80 and two Tesla K40c cards")
    assert [gpu.name for gpu in k40.gpus] == ["Tesla K80", "Tesla K40m"]
    assert [g.name for g in prose("I have a gtx 1080ti card").gpus] == [
        "NVIDIA GeForce GTX 1080 Ti"]
    assert prose("GPU: rtx3090 x2").gpu_count == 2
    assert read_prose_gpus(["the year 2023 card"], 0) is None  # a year is no GPU


def test_a_conda_install_line_names_the_build() -> None:
    found = read_conda_command(["conda install pytorch==1.12.1 torchvision==0.13.1 "
                                "torchaudio==0.12.1 cudatoolkit=11.3 -c pytorch"], 0)
    assert found is not None
    assert [(p.name, p.version) for p in found[1].requested] == [("torch", "1.12.1+cu113")]
    snapshot = snapshot_from_report("$ conda install pytorch==1.13.1 pytorch-cuda=11.7 -c "
                                    "pytorch -c nvidia\n", taken_at="t",
                                    envcheck_version="0").snapshot
    assert snapshot.torch.version == Version("1.13.1+cu117")
    assert snapshot.torch.cuda == Version("11.7")
    assert read_conda_command(["conda install numpy"], 0) is None


def test_libtorch_s_archive_names_its_build() -> None:
    found = read_torch_mention(["wget https://download.pytorch.org/libtorch/cu118/libtorch-"
                                "cxx11-abi-shared-with-deps-2.0.1%2Bcu118.zip"], 0)
    assert found is not None
    assert found[1].torch_mention == Version("2.0.1+cu118")


def test_torch_covering_the_gpu_does_not_rule_out_another_package_s_kernels() -> None:
    # vllm-19542: torch 2.7.0+cu126 runs on a GTX 1080 Ti, vLLM 0.9.1's kernels do not
    text = ("PyTorch version: 2.7.0+cu126\nCUDA used to build PyTorch: 12.6\n"
            "GPU models and configuration :\nGPU 0: NVIDIA GeForce GTX\n\n"
            "I have a GTX 1080 Ti and pip-installed vLLM 0.9.1\n")
    result = doctor(text, "no kernel image is available for execution on the device")
    report = snapshot_from_report(text, taken_at="t", envcheck_version="0").snapshot
    assert [g.name for g in report.gpus] == ["NVIDIA GeForce GTX 1080 Ti"]  # completed
    arch = next(c for c in result.causes if c.category == "arch_not_in_wheel")
    # vLLM's documented floor (compute capability 7.0, envcheck's gpu_floors.toml) decides it
    assert arch.verdict == "confirmed"
    assert arch.finding_ids == ("gpu-below-tool-floor",)


def test_a_message_wrapped_in_a_markdown_quote_is_still_known() -> None:  # flashattn-1759
    error = ("> RuntimeError:\n> The detected CUDA version (12.9) mismatches the version that "
             "was used to compile\n> PyTorch (11.8). Please make sure to use the same CUDA "
             "versions.\n")
    result = doctor("- Python: 3.10\n", error)
    assert verdicts(result)["toolkit_torch_cuda_mismatch"] == "confirmed"


def test_a_consistent_environment_gets_no_error_from_a_stated_message() -> None:
    collect_env = ("PyTorch version: 2.1.0+cu118\nCUDA used to build PyTorch: 11.8\n"
                   "Nvidia driver version: 535.104.05\n"
                   "GPU models and configuration: GPU 0: NVIDIA GeForce RTX 3090\n")
    result = doctor(collect_env, "torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to "
                                 "allocate 20.00 MiB")
    assert not any(f.severity == "error" for f in result.findings)
    assert result.consistent
    assert verdicts(result)["memory"] in ("possible", "ruled_out")


def test_an_extension_s_own_toolkit_check_shows_a_build() -> None:  # flashattn-825, apex-583
    flash = doctor("My environment is \"torch.__version__  = 2.3.1+cu121\"\n",
                   "RuntimeError: FlashAttention is only supported on CUDA 11.6 and above.  "
                   "Note: make sure nvcc has a supported version by running nvcc -V.")
    assert flash.builds_cuda_code
    apex = doctor("- torch: 1.2.0\n", "RuntimeError: Cuda extensions are being compiled with a "
                  "version of Cuda that does not match the version used to compile Pytorch "
                  "binaries.  Pytorch binaries were compiled with Cuda 10.0.130.")
    assert apex.builds_cuda_code


def test_a_hosted_notebook_without_a_driver_has_no_gpu_attached() -> None:
    result = doctor("Running the notebook on Google Colab\n",
                    "RuntimeError: Found no NVIDIA driver on your system. Please check that you "
                    "have an NVIDIA GPU and installed a driver")
    cause = next(c for c in result.causes if c.category == "no_gpu_in_container")
    assert cause.verdict == "likely"
    assert cause.assumption is not None
    assert "Google Colab" in cause.assumption


def test_a_banner_cut_to_its_torch_and_device() -> None:  # issue 11's example
    found = read_banner(["torch 1.13.1 CUDA:0 (Tesla T4, 15109MiB)"], 0)
    assert found is not None
    assert found[1].torch_version == Version("1.13.1")
    assert read_banner(["I use torch 2.0 CPU only"], 0) is None  # a sentence, not a banner
    cpu = read_banner(["YOLOv5 🚀 v6.0 torch 1.10.0 CPU"], 0)
    assert cpu is not None
    assert cpu[1].torch_version == Version("1.10.0")


@pytest.mark.parametrize("line", [
    # flashattn-825: flash-attn's setup.py states what it needs, not what the machine has.
    "RuntimeError: FlashAttention is only supported on CUDA 11.6 and above.",
    "ERROR: this package requires CUDA >= 11.7",
    "需要CUDA 11.8以上",
    "Python 3.8+ required",
    "torch 2.1+ needed",
])
def test_a_requirement_is_not_a_fact_of_the_machine(line: str) -> None:
    assert read_prose_versions([line], 0) is None


def test_versions_joined_by_a_plus_are_both_facts() -> None:
    facts = prose("cuda 11.8 + torch 2.1")
    assert facts.cuda_mentions == (CudaMention(version=Version("11.8"), role="unknown"),)
    assert facts.torch_prose == Version("2.1")


def test_a_code_error_shows_what_the_message_means_and_no_missing_meta_facts() -> None:
    # The assert is in the data, not the environment (error_signatures.toml cites threads), so
    # the doctor says what the message means instead of asking for "envcheck's own probes".
    text = "RuntimeError: CUDA error: device-side assert triggered\n"
    result = doctor(text, text)
    [cause] = result.causes
    assert cause.category == "other"
    assert cause.verdict == "possible"
    assert cause.missing == ()
    assert "probes" not in cause.reason
    console = Console(record=True, width=300)
    render_doctor(result, strict=False, console=console)
    out = console.export_text()
    assert "the message (device-side-assert): A check inside a GPU kernel failed" in out


def test_a_docker_run_continued_past_the_read_window_is_read_whole_each_time() -> None:
    # Two commands that share their first three lines and differ in a flag on the fifth: the
    # reader reads past READ_WINDOW, so its answer for the first must not be reused.
    from envcheck.reports.segments import find_line_facts

    def command(shm: str) -> list[str]:
        return ["docker run --gpus all \\", "  -v /data:/data \\", "  -p 8000:8000 \\",
                "  -e HF_TOKEN=x \\", f"  --shm-size {shm} \\", "  vllm/vllm-openai:latest"]

    lines = [*command("8g"), "", *command("1g")]
    runs = [segment.facts.docker_run for segment in find_line_facts(lines)
            if segment.facts is not None and segment.facts.docker_run is not None]
    assert [run.shm_size for run in runs] == ["8g", "1g"]


def test_a_companion_s_build_label_is_kept_once() -> None:
    # "torchaudio 2.3.0+cu121" (a `pip list | grep torch` row) was read as "2.3.0++cu121".
    listed = prose("torchaudio                       2.3.0+cu121").listed
    assert [(p.name, p.version) for p in listed] == [("torchaudio", "2.3.0+cu121")]
