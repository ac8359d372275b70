"""GPU floors of tools with their own CUDA kernels and of old torch releases
(envcheck/knowledge/gpu_floors.toml), the report reader for the tools' versions, and the
rules that hold a GPU against them. Lines are the reports' own (tests/data/reports/<folder>)."""

from __future__ import annotations

import pytest
from packaging.version import Version

from envcheck.diagnosis import likely_causes
from envcheck.knowledge.gpu_floors import (
    floor_for,
    floor_sources,
    legacy_torch,
    tool_floors,
    tool_names,
)
from envcheck.reports.bare_driver import bare_driver_versions
from envcheck.reports.tool_versions import stated_tools
from envcheck.services.doctor import DoctorRequest, DoctorResult, read_report, run_doctor


def doctor(text: str, error: str | None = None) -> DoctorResult:
    reading = read_report(text, error, taken_at="2026-01-01T00:00:00Z", envcheck_version="0")
    report = reading.report
    return run_doctor(DoctorRequest(snapshot=report.snapshot, error_text=reading.error_text,
                                    missing=report.missing, report=report))


def ranked(result: DoctorResult) -> tuple[str, ...]:
    return likely_causes(result.causes, result.findings)


def test_every_floor_cites_a_source() -> None:
    assert all(s.url.startswith("https://") and s.retrieved for s in floor_sources())
    assert tool_floors()
    assert all(f.sources for f in tool_floors())
    assert {"ollama", "vllm", "cudf", "cudf-cu12"} <= tool_names()


@pytest.mark.parametrize(("package", "version", "floor"), [
    ("ollama", "0.1.19", "6.0"),   # ollama#1877: min 6.0 in 0.1.19
    ("ollama", "0.1.21", "6.0"),   # ollama#2116 adds 5.0 after 0.1.21
    ("ollama", "0.5.11", "5.0"),   # docs/gpu.md
    ("ollama", None, "5.0"),       # below 5.0: no listed release
    ("vllm", "0.9.1", "7.0"),
    ("vllm", "0.21.0", "7.5"),     # its docs raise the floor
    ("VLLM", None, "7.0"),
    ("cudf-cu12", "24.4.0", "7.0"),  # RAPIDS RSN 34: 24.02 on
])
def test_floor_of_a_release(package: str, version: str | None, floor: str) -> None:
    found = floor_for(package, Version(version) if version else None)
    assert found is not None
    assert found.min_capability == floor


@pytest.mark.parametrize("version", ["22.6.1", None])
def test_no_floor_where_no_source_states_one(version: str | None) -> None:
    # cuDF 22.06 still ran on Pascal; RSN 34 speaks from 24.02 on only
    assert floor_for("cudf", Version(version) if version else None) is None
    assert floor_for("torch", None) is None


def test_old_torch_default_builds() -> None:
    legacy = legacy_torch(Version("1.3.0"))
    assert legacy is not None
    assert legacy.default_cuda == Version("10.1")  # pytorch#30631
    assert legacy.min_capability is None
    newer = legacy_torch(Version("1.3.1"))
    assert newer is not None
    assert newer.min_capability == "3.7"
    assert legacy_torch(Version("1.2.0+cu92")) is not None
    assert legacy_torch(Version("1.13.1")) is None  # in torch_releases.toml instead


@pytest.mark.parametrize(("lines", "expected"), [
    # ollama-1877
    (["I've updated ollama to v0.1.19, but I'm getting the same issue"], ("ollama", "0.1.19")),
    # ollama-9124: the bug template's field
    (["### Ollama version", "", "0.5.11"], ("ollama", "0.5.11")),
    # cudf-11382: printed by the user's own check
    (["cuDF Version: 22.06.01"], ("cudf", "22.06.01")),
    (["I have a GTX 1080 Ti and pip-installed vLLM 0.9.1"], ("vllm", "0.9.1")),
    # ollama-10682: a release candidate
    (["This happens when ollama 0.7.0-rc0 was trying to load"], ("ollama", "0.7.0-rc0")),
])
def test_tool_versions_as_reports_state_them(lines: list[str],
                                             expected: tuple[str, str]) -> None:
    found = [(t.package.name, t.package.version) for t in stated_tools(lines)]
    assert found == [expected]


@pytest.mark.parametrize("line", [
    "pip install vllm==0.7.3",           # vllm-14608: what was asked for
    "requires ollama>=0.5.0",
    "### Ollama version",                # no answer follows
])
def test_a_pin_or_an_empty_field_is_no_version(line: str) -> None:
    assert list(stated_tools([line])) == []


def test_k80_is_below_ollama_s_floor() -> None:
    # ollama-9124: 'my server have 4 nvidia tesla k80 24gb gpu' and the template's version
    text = ("my server have 4 nvidia tesla k80 24gb gpu and 256gb mem, can i only use gpu run "
            "a model? ollama can't find my gpu and use cpu\n\n### Ollama version\n\n0.5.11\n")
    result = doctor(text)
    finding = next(f for f in result.findings if f.id == "gpu-below-tool-floor")
    assert finding.severity == "error"
    assert finding.evidence["min_capability"] == "5.0"
    assert ranked(result)[0] == "arch_not_in_wheel"


def test_gtx_950m_below_ollama_0_1_19_s_floor() -> None:
    # ollama-1877
    text = ("I've updated ollama to v0.1.19, but I'm getting the same issue (I guess)\n"
            "I have a gtx 950M (maybe it's too old ^^'), cuda 12.3, Nvidia driver 545.23.08, "
            "ubuntu 22.04.3\n")
    result = doctor(text, "CUDA error 999")
    assert ranked(result)[0] == "arch_not_in_wheel"
    arch = next(c for c in result.causes if c.category == "arch_not_in_wheel")
    assert arch.verdict == "confirmed"


def test_a_gpu_above_the_floor_gets_nothing() -> None:
    text = "I have an RTX 3090, driver 550.54.15\n\n### Ollama version\n\n0.5.11\n"
    result = doctor(text)
    assert not [f for f in result.findings if f.category == "arch_not_in_wheel"]


GEFORCE_210 = """PyTorch version: 1.2.0
Is debug build: No
CUDA used to build PyTorch: 10.0

OS: Microsoft Windows 7 Professional
Python version: 3.7

Is CUDA available: No
CUDA runtime version: 10.0.130
GPU models and configuration: GPU 0: GeForce 210
Nvidia driver version: 342.01
"""


def test_a_gpu_below_every_target_of_torch_s_toolkit_ranks_before_the_driver() -> None:
    # pytorch-31876: driver 342.01 is too old for CUDA 10.0, but no driver gives a compute
    # capability 1.2 GPU code that nvcc 10.0 (sm_30 and up) cannot produce
    result = doctor(GEFORCE_210, "torch.cuda.is_available() -> False")
    ids = {f.id for f in result.findings}
    assert {"gpu-below-torch-build-floor", "driver-too-old-for-torch-cuda"} <= ids
    assert ranked(result)[:2] == ("arch_not_in_wheel", "driver_too_old")


def test_torch_1_3_1_has_no_sm_35() -> None:
    # pytorch-31319: K40c (3.5) fails, the K80 (3.7) works
    text = ("torch.cuda.get_device_name(0): Tesla K40c\n"
            "PyTorch version: 1.3.1\nCUDA used to build PyTorch: 10.1\n"
            "GPU models and configuration:\nGPU 0: Tesla K80\nGPU 1: Tesla K40c\n")
    result = doctor(text)
    below = [f for f in result.findings if f.id == "gpu-below-torch-build-floor"]
    assert [f.evidence["gpu"] for f in below] == ["Tesla K40c"]


def test_an_unlabelled_old_torch_is_taken_as_its_default_build() -> None:
    # pytorch-31319: prose only, torch's CUDA build not named; 1.3.1 without a label is the
    # CUDA 10.1 build (pytorch#30631), whose binaries start at sm_37
    text = ("This occurs on a system where I have a Tesla K80 and two Tesla K40c cards\n"
            "In a fresh conda environment, install the latest stable version of PyTorch "
            "(1.3.1) then a minimal working example is:\n")
    result = doctor(text, "RuntimeError: parallel_for failed: cudaErrorNoKernelImageForDevice: "
                          "no kernel image is available for execution on the device")
    arch = next(c for c in result.causes if c.category == "arch_not_in_wheel")
    assert arch.verdict == "likely"
    assert arch.assumption is not None
    assert "CUDA 10.1" in arch.assumption
    assert ranked(result)[0] == "arch_not_in_wheel"


@pytest.mark.parametrize(("wsl", "floor"), [(True, "7.0"), (False, None)])
def test_rapids_on_wsl2_needs_volta(wsl: bool, floor: str | None) -> None:
    # cudf-11382: cuDF 22.06.01 under WSL2; rapidsai/cudf#9753: Pascal fails there after 21.08
    found = floor_for("cudf", Version("22.06.01"), wsl=wsl)
    assert (found.min_capability if found else None) == floor
    assert floor_for("cudf", Version("21.08"), wsl=True) is None


def test_rapids_floor_on_a_wsl2_report() -> None:
    text = ("I'm using the WSL2 Ubuntu 20.04 instance on Windows 11, GPU: NVIDIA GeForce GTX "
            "1080\ncuDF Version: 22.06.01\n")
    result = doctor(text, "RuntimeError: CUDA error encountered at: /workspace/.conda-bld/work/"
                          "cpp/src/bitmask/null_mask.cu:93: 801 cudaErrorNotSupported operation "
                          "not supported.")
    assert "gpu-below-tool-floor" in {f.id for f in result.findings}
    assert ranked(result)[0] == "arch_not_in_wheel"


def test_no_toolkit_is_suggested_for_a_gpu_none_targets() -> None:
    # pytorch-31876: nvcc 10.0 beside a GeForce 210; no CUDA 10.0 to 13.0 nvcc targets sm_12,
    # so "use CUDA 12.x" would send the user to a toolkit that cannot help either
    result = doctor(GEFORCE_210)
    finding = next(f for f in result.findings if f.id == "nvcc-cannot-target-gpu")
    assert finding.fix is not None
    assert finding.fix.startswith("no CUDA toolkit from 10.0 to 13.0 compiles for sm_12")


@pytest.mark.parametrize(("line", "driver"), [
    ("410.48,,", "410.48"),          # pytorch-31243, the reply as pasted
    ("  535.104.05", "535.104.05"),
    ("2.1.0", None),                 # a package version, not a driver
    ("12.4", None),
    ("418.39 is needed", None),      # a sentence: the prose reader's, with its words
])
def test_a_driver_version_alone_on_a_line(line: str, driver: str | None) -> None:
    asked = '(reply to "What\'s the output of nvidia-smi?")'  # as pytorch-31243 has it
    found = [str(version) for _, version in bare_driver_versions([asked, line])]
    assert found == ([driver] if driver else [])


@pytest.mark.parametrize("lines", [
    ["410.48,,"],                                       # nothing asked for a driver
    ["Epoch times (s):", "312.45", "298.71", "301.02"],  # a column of numbers
    ["nvidia-smi looks fine. Epoch times:", "312.45", "298.71"],
])
def test_a_bare_number_is_a_driver_only_as_the_answer_to_a_driver_question(
        lines: list[str]) -> None:
    assert list(bare_driver_versions(lines)) == []


def test_old_torch_default_build_against_a_bare_driver_reply() -> None:
    # pytorch-31243: torch 1.3.0 from torch_stable without a label is cu101 (needs 418.39)
    text = ("$ pip install torch===1.3.0 torchvision===0.4.1 -f "
            "https://download.pytorch.org/whl/torch_stable.html\n"
            ">>> import torch\n>>> torch.cuda.is_available()\nFalse\n"
            "**Ubuntu1804,\npython37**\n\n(reply to \"What's the output of nvidia-smi?\")\n"
            "410.48,,\nneed higher ??\n")
    result = doctor(text, ">>> torch.cuda.is_available()\nFalse")
    assert ranked(result)[0] == "driver_too_old"
    driver = next(c for c in result.causes if c.category == "driver_too_old")
    assert driver.verdict == "likely"
    assert driver.assumption is not None
    assert "CUDA 10.1" in driver.assumption


def test_a_sentence_s_driver_wins_over_a_bare_number() -> None:
    result = doctor("NVIDIA driver 535.104.05 is installed\n\n470.57\n")
    assert str(result.snapshot.driver.version) == "535.104.05"


def test_a_new_generation_gpu_without_torch_s_build_is_a_named_risk() -> None:
    # comfyui-7380: 'GPU RTX 5070 user' and the error, nothing about torch
    result = doctor("GPU RTX 5070 user Unable to resolve this issue\n",
                    "CUDA error: no kernel image is available for execution on the device")
    risk = next(f for f in result.findings if f.id == "gpu-needs-a-torch-build-for-it")
    assert risk.severity == "warning"
    assert "2.7.0+cu128" in risk.summary
    arch = next(c for c in result.causes if c.category == "arch_not_in_wheel")
    assert arch.verdict == "likely"


@pytest.mark.parametrize("text", [
    "Tesla V100, cuda11.4\n",                                  # every old release covers it
    "PyTorch version: 2.7.0+cu128\nGPU 0: NVIDIA GeForce RTX 5070\n",  # torch's build is read
])
def test_no_risk_named_where_torch_is_read_or_most_builds_cover_the_gpu(text: str) -> None:
    result = doctor(text)
    assert "gpu-needs-a-torch-build-for-it" not in {f.id for f in result.findings}


def test_a_machine_without_torch_is_not_warned_about_torch_builds() -> None:
    # On a machine, torch not installed yet is a plan for later (`doctor --plan` judges it);
    # only a pasted report that leaves torch out gets the risk named.
    from dataclasses import replace

    from envcheck.rules import run_rules

    report = doctor("GPU RTX 5070 user Unable to resolve this issue\n").snapshot
    assert "gpu-needs-a-torch-build-for-it" in {f.id for f in run_rules(report)}
    host = replace(report, source="host")
    assert "gpu-needs-a-torch-build-for-it" not in {f.id for f in run_rules(host)}
