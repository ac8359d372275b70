"""The error-signature table: it loads, its examples are real hits, and real pasted errors
rank the right cause first."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envcheck.knowledge import signatures
from envcheck.knowledge.data_files import KnowledgeError, read_data_file
from envcheck.knowledge.model import ErrorSignature
from envcheck.knowledge.signatures import (
    SignatureMatch,
    error_signatures,
    match_error,
    ranked_categories,
    signature_sources,
)

ALL = error_signatures()


def ids(text: str) -> list[str]:
    return [match.signature.id for match in match_error(text)]


def first_category(text: str) -> str:
    ranked = ranked_categories(match_error(text))
    assert ranked, f"no signature matched:\n{text}"
    return ranked[0]


def test_table_loads_with_sources() -> None:
    assert len(ALL) >= 35
    assert signature_sources()
    assert len({signature.id for signature in ALL}) == len(ALL)
    assert all(signature.source.startswith("https://") for signature in ALL)


@pytest.mark.parametrize("signature", ALL, ids=[signature.id for signature in ALL])
def test_example_matches_and_its_signature_ranks_first(signature: ErrorSignature) -> None:
    matches = match_error(signature.example)

    assert signature.id in [match.signature.id for match in matches]
    assert ranked_categories(matches)[0] == signature.categories[0]


@pytest.mark.parametrize("signature", ALL, ids=[signature.id for signature in ALL])
def test_example_is_found_inside_a_longer_log(signature: ErrorSignature) -> None:
    text = f"Traceback (most recent call last):\n  File \"train.py\", line 1\n{signature.example}\n"

    assert signature.id in ids(text)


def test_matched_text_is_the_matching_part_of_the_input() -> None:
    text = "loading...\nRuntimeError: CUDA error: no kernel image is available for execution " \
           "on the device\nbye"

    (match,) = match_error(text)

    assert match.matched_text == "no kernel image is available for execution on the device"
    assert match.matched_text in text


def test_case_of_the_pasted_text_does_not_matter() -> None:
    assert ids("cuda error: Forward Compatibility Was Attempted On Non Supported HW") == [
        "forward-compat-unsupported-hw"
    ]


# A healthy multi-GPU fine-tuning run: device banner, NCCL INFO lines, progress bars, memory
# statistics and checkpoint saves must not look like any error.
CLEAN_TRAINING_LOG = """\
[2024-05-01 10:00:01,102] [INFO] torch 2.3.1+cu121, CUDA available: True, device_count: 8
[2024-05-01 10:00:01,104] [INFO] Using device cuda:0 (NVIDIA A100-SXM4-80GB, compute capability 8.0)
[2024-05-01 10:00:01,110] [INFO] cudnn.benchmark=True, cuDNN version 8902
node01:1204:1204 [0] NCCL INFO Bootstrap : Using eth0:10.0.0.2<0>
node01:1204:1204 [0] NCCL INFO NCCL version 2.20.5+cuda12.4
node01:1204:1290 [0] NCCL INFO Channel 00/02 :    0   1   2   3   4   5   6   7
node01:1204:1290 [0] NCCL INFO Connected all rings
node01:1204:1290 [0] NCCL INFO comm 0x55d5c1f0 rank 0 nranks 8 cudaDev 0 busId 7000 - Init COMPLETE
Epoch 1/3: 100%|██████████| 1563/1563 [12:13<00:00,  2.13it/s, loss=0.412, lr=2e-05]
[2024-05-01 10:12:15,881] [INFO] eval: accuracy=0.913 f1=0.902
[2024-05-01 10:12:15,882] [INFO] max memory allocated: 61.37 GiB, reserved: 66.00 GiB
[2024-05-01 10:12:16,020] [INFO] Saving checkpoint to /checkpoints/run-17/epoch_001.pt (4.2 GB)
[2024-05-01 10:12:31,447] [INFO] Checkpoint saved; 812 GB free on /checkpoints
Epoch 2/3: 100%|██████████| 1563/1563 [12:11<00:00,  2.14it/s, loss=0.287, lr=1e-05]
[2024-05-01 10:24:45,003] [INFO] Training finished in 0:24:44, exit code 0
"""


def test_no_signature_matches_a_clean_training_log() -> None:
    assert match_error(CLEAN_TRAINING_LOG) == ()
    assert ranked_categories(()) == ()


# Multi-message output pasted from real threads (URL above each); the expected first category
# is what the thread found to be the cause.
REAL_OUTPUTS = [
    pytest.param(
        # https://github.com/Janrupf/stable-diffusion-webui-nix/issues/9
        "Oct 04 13:19:39 llm sd-webui-forge-start[394]: /nix/store/a1jmpf3hja9g4rx7lwxza4gwng9vs"
        "cj5-python3-3.11.13-env/lib/python3.11/site-packages/torch/cuda/__init__.py:209: "
        "UserWarning:\n"
        "Oct 04 13:19:39 llm sd-webui-forge-start[394]: NVIDIA GeForce RTX 5090 with CUDA "
        "capability sm_120 is not compatible with the current PyTorch installation.\n"
        "Oct 04 13:19:39 llm sd-webui-forge-start[394]: The current PyTorch install supports "
        "CUDA capabilities sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90.\n"
        "Oct 04 13:19:39 llm sd-webui-forge-start[394]: If you want to use the NVIDIA GeForce "
        "RTX 5090 GPU with PyTorch, please check the instructions at "
        "https://pytorch.org/get-started/locally/\n"
        "Oct 04 15:02:41 llm sd-webui-forge-start[394]: RuntimeError: CUDA error: no kernel "
        "image is available for execution on the device\n"
        "Oct 04 15:02:41 llm sd-webui-forge-start[394]: CUDA kernel errors might be "
        "asynchronously reported at some other API call, so the stacktrace below might be "
        "incorrect.\n"
        "Oct 04 15:02:41 llm sd-webui-forge-start[394]: For debugging consider passing "
        "CUDA_LAUNCH_BLOCKING=1.\n"
        "Oct 04 15:02:41 llm sd-webui-forge-start[394]: Compile with `TORCH_USE_CUDA_DSA` to "
        "enable device-side assertions.\n",
        ["gpu-capability-not-in-wheel", "no-kernel-image"],
        "arch_not_in_wheel",
        id="rtx5090-old-wheel",
    ),
    pytest.param(
        # https://github.com/NVIDIA/TensorRT-LLM/issues/1806
        "/root/miniconda3/envs/trt/lib/python3.10/site-packages/torch/cuda/__init__.py:138: "
        "UserWarning: CUDA initialization: Unexpected error from cudaGetDeviceCount(). Did you "
        "run some cuda functions before calling NumCudaDevices() that might have already set an "
        "error? Error 804: forward compatibility was attempted on non supported HW (Triggered "
        "internally at ../c10/cuda/CUDAFunctions.cpp:108.)\n"
        "  return torch._C._cuda_getDeviceCount() > 0\n"
        "Traceback (most recent call last):\n"
        '  File "/root/projects/TensorRT-LLM/examples/llama/convert_checkpoint.py", line 1532, '
        "in <module>\n"
        "    main()\n",
        ["forward-compat-unsupported-hw"],
        "driver_too_old",
        id="forward-compat-804",
    ),
    pytest.param(
        # https://github.com/IEIT-Yuan/Yuan-2.0/issues/65
        "/usr/local/lib/python3.10/dist-packages/torch/cuda/__init__.py:124: UserWarning: CUDA "
        "initialization: The NVIDIA driver on your system is too old (found version 11000). "
        "Please update your GPU driver by downloading and installing a new version from the "
        "URL: http://www.nvidia.com/Download/index.aspx Alternatively, go to: "
        "https://pytorch.org to install a PyTorch version that has been compiled with your "
        "version of the CUDA driver. (Triggered internally at "
        "/opt/pytorch/pytorch/c10/cuda/CUDAFunctions.cpp:108.)\n",
        ["driver-too-old"],
        "driver_too_old",
        id="driver-too-old-warning",
    ),
    pytest.param(
        # https://github.com/pytorch/pytorch/issues/37004 (NCCL_DEBUG=INFO output and the error)
        "node08:27106:27302 [0] include/shm.h:27 NCCL WARN Call to shm_open failed : "
        "Permission denied\n"
        "node08:27106:27302 [0] NCCL INFO include/shm.h:41 -> 2\n"
        "node08:27106:27302 [0] include/shm.h:48 NCCL WARN Error while creating shared memory "
        "segment nccl-shm-recv-b7948f403864987a-0-3-0 (size 4460544)\n"
        "RuntimeError: NCCL error in ProcessGroupNCCL.cpp:290, unhandled system error\n",
        ["nccl-shared-memory", "nccl-unhandled-system-error"],
        "nccl",
        id="nccl-shm-permission",
    ),
    pytest.param(
        # https://github.com/hiyouga/LlamaFactory/issues/7396
        "[80746] [rank0]:[E321 02:07:08.408271257 ProcessGroupNCCL.cpp:607] [Rank 0] Watchdog "
        "caught collective operation timeout: WorkNCCL(SeqNum=1580, OpType=ALLREDUCE, "
        "NumelIn=466119168, NumelOut=466119168, Timeout(ms)=600000) ran for 600060 "
        "milliseconds before timing out.\n"
        "[80747] [rank4]:[E321 02:07:08.414640780 ProcessGroupNCCL.cpp:607] [Rank 4] Watchdog "
        "caught collective operation timeout: WorkNCCL(SeqNum=1580, OpType=ALLREDUCE, "
        "NumelIn=466119168, NumelOut=466119168, Timeout(ms)=600000) ran for 600067 "
        "milliseconds before timing out.\n"
        "[80748] [rank0]:[E321 02:07:08.465150152 ProcessGroupNCCL.cpp:1664] [PG 1 Rank 0] "
        "Exception (either an error or timeout) detected by watchdog at work: 1580, last "
        "enqueued NCCL work: 1582, last completed NCCL work: 1579.\n",
        ["nccl-watchdog-timeout"],
        "nccl",
        id="nccl-watchdog",
    ),
    pytest.param(
        # https://github.com/layumi/Person_reID_baseline_pytorch/issues/372
        "train Loss: 2.7186 Acc: 0.4082\n"
        "/pytorch/aten/src/THCUNN/ClassNLLCriterion.cu:108: "
        "cunn_ClassNLLCriterion_updateOutput_kernel: block: [0,0,0], thread: [0,0,0] Assertion "
        "`t >= 0 && t < n_classes` failed.\n"
        "/pytorch/aten/src/THCUNN/ClassNLLCriterion.cu:108: "
        "cunn_ClassNLLCriterion_updateOutput_kernel: block: [0,0,0], thread: [8,0,0] Assertion "
        "`t >= 0 && t < n_classes` failed.\n"
        "Traceback (most recent call last):\n"
        '  File "train.py", line 577, in <module>\n'
        "    num_epochs=opt.total_epoch)\n"
        '  File "train.py", line 379, in train_model\n'
        "    running_loss += loss.item() * now_batch_size\n"
        "RuntimeError: CUDA error: device-side assert triggered\n",
        ["cuda-kernel-assertion-failed", "device-side-assert"],
        "other",
        id="label-out-of-range-is-a-code-bug",
    ),
    pytest.param(
        # https://github.com/zai-org/ChatGLM3/issues/681
        "RuntimeError: CUDA error: uncorrectable ECC error encountered\n"
        "CUDA kernel errors might be asynchronously reported at some other API call, so the "
        "stacktrace below might be incorrect.\n"
        "For debugging consider passing CUDA_LAUNCH_BLOCKING=1.\n"
        "Compile with `TORCH_USE_CUDA_DSA` to enable device-side assertions.\n",
        ["ecc-uncorrectable"],
        "gpu_health",
        id="ecc",
    ),
    pytest.param(
        # https://github.com/fudan-generative-vision/hallo/issues/98
        "Traceback (most recent call last):\n"
        '  File "/content/hallo/scripts/inference.py", line 40, in <module>\n'
        "    from hallo.datasets.audio_processor import AudioProcessor\n"
        '  File "/usr/local/lib/python3.10/dist-packages/torchvision/__init__.py", line 6, in '
        "<module>\n"
        "    from torchvision import _meta_registrations, datasets, io, models, ops, "
        "transforms, utils\n"
        '  File "/usr/local/lib/python3.10/dist-packages/torchvision/_meta_registrations.py", '
        "line 164, in <module>\n"
        "    def meta_nms(dets, scores, iou_threshold):\n"
        '  File "/usr/local/lib/python3.10/dist-packages/torch/library.py", line 467, in inner\n'
        "    handle = entry.abstract_impl.register(func_to_register, source)\n"
        '  File "/usr/local/lib/python3.10/dist-packages/torch/_library/abstract_impl.py", line '
        "30, in register\n"
        '    if torch._C._dispatch_has_kernel_for_dispatch_key(self.qualname, "Meta"):\n'
        "RuntimeError: operator torchvision::nms does not exist\n",
        ["torchvision-operator-missing"],
        "torchvision_mismatch",
        id="torchvision-nms",
    ),
    pytest.param(
        # https://github.com/SillyTavern/SillyTavern-Extras/pull/5
        "ERROR: pip's dependency resolver does not currently take into account all the packages "
        "that are installed. This behaviour is the source of the following dependency "
        "conflicts.\n"
        "torchvision 0.15.1 requires torch==2.0.0, but you have torch 1.13.1+cu117 which is "
        "incompatible.\n"
        "torchaudio 2.0.1 requires torch==2.0.0, but you have torch 1.13.1+cu117 which is "
        "incompatible.\n",
        ["pip-resolver-conflict", "companion-requires-other-torch"],
        "broken_requirements",
        id="pip-resolver",
    ),
    pytest.param(
        # https://github.com/kakaobrain/pororo/issues/66
        ">>> from pororo import PORORO\n"
        "Traceback (most recent call last):\n"
        '  File "/home/ss/PORORO/pororo/pororo/tasks/age_suitability.py", line 6, in <module>\n'
        "    import torch\n"
        '  File "/home/ss/miniforge3/envs/PORORO/lib/python3.6/site-packages/torch/__init__.py",'
        " line 189, in <module>\n"
        "    from torch._C import *\n"
        "ImportError: /lib/aarch64-linux-gnu/libc.so.6: version `GLIBC_2.28' not found (required"
        " by /home/ss/miniforge3/envs/PORORO/lib/python3.6/site-packages/torch/lib/"
        "libtorch_python.so)\n",
        ["glibc-version-not-found"],
        "glibc",
        id="glibc",
    ),
    pytest.param(
        # https://github.com/sjtuplayer/anomalydiffusion/issues/76
        "Epoch: 0\n"
        "Could not load library libcudnn_cnn_infer.so.8. Error: libcuda.so: cannot open shared "
        "object file: No such file or directory\n"
        "Please make sure libcudnn_cnn_infer.so.8 is in your library path!\n"
        "Aborted\n",
        ["cudnn-sublibrary-load-failed"],
        "cudnn_mismatch",
        id="cudnn8-sublibrary",
    ),
]


@pytest.mark.parametrize(("text", "expected_ids", "expected_first"), REAL_OUTPUTS)
def test_real_multi_message_output(text: str, expected_ids: list[str],
                                   expected_first: str) -> None:
    assert ids(text) == expected_ids
    assert first_category(text) == expected_first


def test_votes_add_up_across_messages() -> None:
    # Synthetic, to pin the arithmetic: two messages that name lib_shadowing first (and one
    # that names it third) outrank the message that names cudnn_mismatch first, although that
    # message comes first in the paste.
    text = ("RuntimeError: cuDNN error: CUDNN_STATUS_NOT_INITIALIZED\n"
            "ImportError: libcudart.so.12: cannot open shared object file: No such file\n"
            "undefined symbol: __nvJitLinkAddData_12_1, version libnvJitLink.so.12\n")

    assert ids(text) == ["cudnn-not-initialized", "libcudart-not-found",
                         "nvjitlink-undefined-symbol"]
    assert ranked_categories(match_error(text))[:2] == ("lib_shadowing", "cudnn_mismatch")


def test_each_signature_is_reported_once_at_its_first_occurrence() -> None:
    text = "RuntimeError: No CUDA GPUs are available\n" * 3

    (match,) = match_error(text)

    assert match == SignatureMatch(signature=match.signature,
                                   matched_text="No CUDA GPUs are available")


@given(st.text())
def test_match_error_never_raises(text: str) -> None:
    for match in match_error(text):
        assert match.matched_text in text
    ranked_categories(match_error(text))


@given(st.lists(st.sampled_from([signature.example for signature in ALL]), max_size=4),
       st.text(max_size=200))
def test_examples_are_found_among_noise(examples: list[str], noise: str) -> None:
    text = noise.join(examples)
    found = set(ids(text))
    for signature in ALL:
        if signature.example in examples:
            assert signature.id in found


# The validation runs on the shipped document with one entry broken at a time.
def broken_document(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(read_data_file(signatures.DATA_FILE))
    document["signature"][0].update(changes)
    return document


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": "No_Kernel"}, "kebab-case"),
        ({"id": "gpu-capability-not-in-wheel"}, "more than once"),
        ({"pattern": "no kernel (image"}, "does not compile"),
        ({"example": "RuntimeError: something else"}, "does not match"),
        ({"categories": ["bad_driver"]}, "is not one of"),
        ({"categories": []}, "non-empty list"),
        ({"categories": ["other", "other"]}, "twice"),
        ({"source": ""}, "source must be a non-empty string"),
        ({"source": "a forum post"}, "URL"),
        ({"explanation": " "}, "explanation must be a non-empty string"),
        ({"severity": "high"}, "unknown fields ['severity']"),
    ],
)
def test_malformed_entries_are_rejected_by_name(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(KnowledgeError, match=re.escape(message)) as caught:
        signatures._build_table(broken_document(**changes))

    assert "signature[0]" in str(caught.value)


def test_missing_field_is_rejected() -> None:
    document = copy.deepcopy(read_data_file(signatures.DATA_FILE))
    del document["signature"][4]["source"]

    with pytest.raises(KnowledgeError, match=r"signature\[4\] 'driver-too-old'.*missing fields"):
        signatures._build_table(document)
