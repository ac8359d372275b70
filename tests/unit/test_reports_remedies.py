"""What the reporter tried and whether it worked (envcheck.reports.remedies), on lines copied
from public threads (named at each test) unless marked synthetic."""

from __future__ import annotations

import pytest

from envcheck.knowledge.remedies import remedies
from envcheck.reports.build import snapshot_from_report
from envcheck.reports.remedies import RemedyTrial, read_remedies, remedy_findings
from envcheck.services.doctor import DoctorRequest, run_doctor


def _trials(text: str) -> tuple[RemedyTrial, ...]:
    return read_remedies(text.split("\n"), text)


def _worked(text: str) -> list[str]:
    return [trial.remedy.id for trial in _trials(text) if trial.outcome == "worked"]


def test_every_remedy_reads_its_own_example() -> None:
    for remedy in remedies():
        assert remedy.pattern.search(remedy.example), remedy.id
        assert remedy.source.startswith("https://"), remedy.id


def test_p2p_disabled_as_a_workaround_is_the_p2p_transport() -> None:
    # https://github.com/NVIDIA/nccl/issues/667
    text = ("all_reduce_perf works fine only with those linked through SYS. The rest will "
            "result in hanging.\n\n"
            "Setting NCCL_P2P_DISABLE=1 did workaround but got really low speed.")
    assert _worked(text) == ["nccl-p2p-disabled"]
    trial = _trials(text)[0]
    assert trial.line == 3


def test_turning_off_p2p_with_an_export_is_read_once_per_remedy() -> None:
    # https://github.com/huggingface/transformers/issues/28280
    text = ("The training works after turning off the GPU P2P communication with "
            "`export NCCL_P2P_DISABLE=1`.")
    findings = remedy_findings(_trials(text))
    assert [(f.id, f.category, f.severity) for f in findings] == [
        ("remedy-nccl-p2p-disabled", "nccl", "error")]
    assert "line 1" in findings[0].summary


def test_changes_that_did_not_work_raise_nothing() -> None:
    # https://github.com/ray-project/ray/issues/30333
    text = ("    GPU only works if I set `--num_workers=1`\n"
            "    Tried `export NCCL_IB_DISABLE=1` and `export NCCL_P2P_DISABLE=1`, both didnt work")
    trials = _trials(text)
    assert {(t.remedy.id, t.outcome) for t in trials} == {
        ("nccl-ib-disabled", "failed"), ("nccl-p2p-disabled", "failed")}
    assert remedy_findings(trials) == []


def test_a_solution_named_on_the_line_before_counts() -> None:
    # https://github.com/ray-project/ray/issues/30333 (the reporter's own diagnosis)
    text = ("I found the solution\n"
            "The `NCCL_SOCKET_IFNAME` for ray train is hardcoded in [here](https://github.com/"
            "ray-project/ray/blob/master/python/ray/train/constants.py)")
    assert _worked(text) == ["nccl-socket-ifname"]


def test_a_plain_works_on_the_next_line_says_nothing_about_the_change() -> None:
    # synthetic: an export in a script, then a remark about a single GPU
    text = "export NCCL_P2P_DISABLE=1\nIt works on one GPU."
    assert [(t.remedy.id, t.outcome) for t in _trials(text)] == [("nccl-p2p-disabled", None)]


def test_a_suggestion_is_not_an_outcome() -> None:
    # synthetic, in the words maintainers use ("Can you try ...? It sometimes helps")
    assert _worked("Can you try NCCL_P2P_DISABLE=1? It sometimes helps.") == []


def test_reloading_nvidia_uvm_is_the_kernel_module() -> None:
    # https://github.com/pytorch/pytorch/issues/159954
    text = ("Another fix is to `reload the kernel modules`, specifically the `nvidia_uvm` on "
            "Linux:\n` sudo modprobe -r nvidia_uvm && sudo modprobe nvidia_uvm` ")
    assert _worked(text) == ["nvidia-uvm-reloaded"]
    assert remedy_findings(_trials(text))[0].category == "driver_not_loaded"


@pytest.mark.parametrize(("text", "expected"), [
    # https://github.com/NVIDIA/nvidia-docker/issues/1671
    ('`nvidia-smi` returns "Failed to initialize NVML: Unknown Error".\n'
     "A restart of all the containers fixes the issue and the GPUs return available.",
     ["container-restarted"]),
    # synthetic: the same restart without NVML losing the GPU tells nothing about devices
    ("A restart of all the containers fixes the issue.", []),
])
def test_a_container_restart_counts_only_where_nvml_lost_the_gpu(
        text: str, expected: list[str]) -> None:
    assert _worked(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # https://github.com/vllm-project/vllm/issues/1298
    ("The default gpu_memory_utilization is 0.90, and the above command can run normally.\n\n"
     "But if I set the gpu_memory_utilization default value to 1.0 and run the same command, "
     "OOM occurs", ["vllm-gpu-memory-utilization"]),
    # synthetic: a working setting with no out-of-memory anywhere is no memory finding
    ("The default gpu_memory_utilization is 0.90, and the above command can run normally.",
     []),
])
def test_gpu_memory_utilization_counts_only_next_to_an_out_of_memory(
        text: str, expected: list[str]) -> None:
    assert _worked(text) == expected


def test_a_paste_with_only_a_change_that_worked_is_read_and_diagnosed() -> None:
    # https://github.com/huggingface/transformers/issues/28280, the reporter's comment
    text = ("tried to run the following code, stuck with backend `nccl`, but works with "
            "`gloo`:\n\nIt looks like there are some NCCL issues with my GPU server.\n"
            "The training works after turning off the GPU P2P communication with "
            "`export NCCL_P2P_DISABLE=1`.")
    report = snapshot_from_report(text, taken_at="2026-01-01T00:00:00Z", envcheck_version="0")
    assert "remedy" in report.recognised
    assert [(fact.fact, fact.line) for fact in report.read] == [("change that worked", 4)]
    result = run_doctor(DoctorRequest(snapshot=report.snapshot, report=report))
    assert [f.id for f in result.findings if f.severity == "error"] == [
        "remedy-nccl-p2p-disabled"]


@pytest.mark.parametrize(("text", "expected"), [
    # https://github.com/NVIDIA/nccl/issues/473 (the reporter's own finding)
    ("fastmoe: Test NCCL failure common.cu:777 'unhandled system error'\n"
     "After run the docker with `--ipc=host`, the error disappeared.",
     ["container-shm-raised-for-nccl"]),
    # https://github.com/fastai/docker-containers/issues/21
    ("RuntimeError: DataLoader worker (pid 47) is killed by signal: Bus\n"
     "It seems to need the --shm-size=3G ( or 2G minimum). So far its working.",
     ["container-shm-raised-for-dataloader"]),
    # synthetic: a larger /dev/shm with neither NCCL nor the DataLoader says nothing
    ("docker run --gpus 1 --shm-size 1g -p 8077:80 image works fine", []),
])
def test_a_larger_shm_that_worked_names_what_needed_it(text: str, expected: list[str]) -> None:
    assert _worked(text) == expected


@pytest.mark.parametrize("line", [
    # synthetic: an attempt, a question, a plan: none says the change worked
    "I tried to fix the hang by setting NCCL_P2P_DISABLE=1.",
    "Looking for a solution: NCCL_P2P_DISABLE=1 makes no difference",
    "Next I will set NCCL_P2P_DISABLE=1 and report back.",
])
def test_an_attempt_is_not_a_change_that_worked(line: str) -> None:
    assert _worked(line) == []


@pytest.mark.parametrize("text", [
    # synthetic, each a working setup described in passing (a review of false errors)
    "docker run --gpus all --ipc=host nvcr.io/nvidia/pytorch:24.05-py3 works fine on every "
    "node.\nNCCL version 2.21.5+cuda12.4",
    "Our standard run command, which works: docker run --gpus all --shm-size=16g trainer "
    "python train.py --workers 8\nDataLoader worker count 8",
    "We always launch with NCCL_SOCKET_IFNAME=eth0 and multi-node training works.\n"
    "NCCL INFO Init COMPLETE",
    "I read in another thread that NCCL_P2P_DISABLE=1 fixes hangs on some boards; P2P is "
    "fine on this one.",
    "vllm serve mistralai/Mistral-7B-Instruct-v0.3 --gpu-memory-utilization 0.9 runs fine, "
    "no OOM at all.",
])
def test_a_working_setup_described_is_not_a_change_that_worked(text: str) -> None:
    assert _worked(text) == []


def test_one_value_works_and_the_next_fails_is_the_experiment() -> None:
    # https://github.com/vllm-project/vllm/issues/1298
    text = ("The default gpu_memory_utilization is 0.90, and the above command can run "
            "normally.\n\nBut if I set the gpu_memory_utilization default value to 1.0 and run "
            "the same command, OOM occurs")
    assert _worked(text) == ["vllm-gpu-memory-utilization"]


def test_an_earlier_fix_is_a_note_when_the_error_judged_is_the_code_s() -> None:
    # synthetic: the DataLoader fix is history; today's error is a bug in the training code
    text = ("The fix that worked for me was --ipc=host (docker run --gpus all --ipc=host ...). "
            "Before that the DataLoader workers died.\n")
    error = "    a, b = batch\nValueError: too many values to unpack (expected 2)\n"
    report = snapshot_from_report(text, taken_at="2026-01-01T00:00:00Z", envcheck_version="0")
    result = run_doctor(DoctorRequest(snapshot=report.snapshot, error_text=error,
                                      missing=report.missing, report=report))
    [remedy] = [f for f in result.findings if f.id.startswith("remedy-")]
    assert remedy.severity == "info"
    assert not result.failed(strict=False)
    # The same change with the error it fixed: the report's experiment decides it.
    bus = "RuntimeError: DataLoader worker (pid 47) is killed by signal: Bus error.\n"
    decided = run_doctor(DoctorRequest(snapshot=report.snapshot, error_text=bus,
                                       missing=report.missing, report=report))
    assert [f.severity for f in decided.findings if f.id.startswith("remedy-")] == ["error"]


# https://github.com/Dao-AILab/flash-attention/issues/853 (nspyf's comment)
FLASH_ATTN_853 = (
    "I encountered a similar error while attempting to install the package using the command \n"
    "`pip install flash_attn-2.5.5+cu118torch2.2cxx11abiTRUE-cp38-cp38-linux_x86_64.whl`\n"
    "However, the issue was resolved by using the command \n"
    "`pip install flash_attn-2.5.5+cu118torch2.2cxx11abiFALSE-cp38-cp38-linux_x86_64.whl`\n"
    "PyTorch version 2.2.0")


def test_the_other_cxx11_abi_wheel_that_worked_is_the_companions_build() -> None:
    trials = _trials(FLASH_ATTN_853)
    # the sentence that ends "resolved by using the command" speaks of the line after it
    assert [(t.remedy.id, t.line, t.outcome) for t in trials] == [
        ("extension-wheel-other-cxx11-abi", 2, None),
        ("extension-wheel-other-cxx11-abi", 4, "worked")]
    findings = remedy_findings(trials)
    assert [(f.category, f.evidence["line"]) for f in findings] == [("torchvision_mismatch", "4")]


def test_one_cxx11_abi_wheel_alone_is_no_experiment() -> None:
    # synthetic: the install of one variant that worked says nothing about the other
    text = ("`pip install flash_attn-2.5.5+cu118torch2.2cxx11abiFALSE-cp38-cp38-linux_x86_64.whl`"
            " works")
    assert _trials(text) == ()


def test_a_cudnn_replaced_by_another_version_that_worked_is_the_cudnn() -> None:
    # https://github.com/pytorch/pytorch/issues/20844 (one line of the report, shortened)
    text = ("GPU code was running but failing to learn; `torch.backends.cudnn.version()` "
            "returned `7501`, but I had `7003` in my `/usr/local/cuda/` (and cuda 9.0 "
            "installed).  Since upgrading that to `7501`, GPU code is learning fine.  :)")
    assert _worked(text) == ["cudnn-version-changed"]
    assert [f.category for f in remedy_findings(_trials(text))] == ["cudnn_mismatch"]


@pytest.mark.parametrize(("text", "expected"), [
    # synthetic: a change of another package on a line about cuDNN is not a cuDNN change
    ("upgrading torch to 2.1 fixed the cudnn error", []),
    # synthetic: named without an outcome, or as a suggestion
    ("I am upgrading cuDNN to 8.9.7 now", []),
    ("could you try updating cudnn to 8.9?", []),
    # synthetic: a change to something that is no version
    ("switched it to 2 GPUs and the cudnn error is gone, works now", []),
])
def test_a_cudnn_change_counts_only_as_a_cudnn_change_that_worked(
        text: str, expected: list[str]) -> None:
    assert _worked(text) == expected


def test_the_experiment_in_other_words() -> None:
    # vllm-1298 paraphrased (a review of overfitting): the same experiment, other words
    text = ("The default gpu_memory_utilization is 0.90, and the above command completes "
            "without problems.\n\nBut if I set the gpu_memory_utilization default value to "
            "1.0 and run the same command, OOM occurs")
    assert _worked(text) == ["vllm-gpu-memory-utilization"]


def test_a_memory_budget_alone_is_a_fact_of_the_report() -> None:
    # A paste whose only fact is the budget is read, not refused as "no environment facts".
    text = "vllm serve Qwen/Qwen2.5-7B-Instruct --gpu-memory-utilization 0.99\n"
    report = snapshot_from_report(text, taken_at="2026-01-01T00:00:00Z", envcheck_version="0")
    assert [(f.fact, f.value) for f in report.read] == [("vLLM memory budget", "0.99")]
    result = run_doctor(DoctorRequest(snapshot=report.snapshot, missing=report.missing,
                                      report=report))
    assert [f.id for f in result.findings] == ["vllm-memory-budget-too-high"]


@pytest.mark.parametrize(("context", "expected"), [
    # https://github.com/fastai/docker-containers/issues/21 (its error, as others capitalise it)
    ("ERROR: Unexpected BUS ERROR encountered in worker.", ["container-shm-raised-for-dataloader"]),
    # synthetic: the long s a case-insensitive 's' also matches, and lower() keeps: the
    # pattern decides, not a search of the lower-cased paste
    ("Unexpected BU\u017f ERROR", ["container-shm-raised-for-dataloader"]),
    ("RuntimeError: a worker is killed", []),
])
def test_a_context_is_read_in_any_case(context: str, expected: list[str]) -> None:
    assert _worked(f"{context}\nIt seems to need the --shm-size=3G. So far its working.") == (
        expected)
