"""A framework's GPU build against the driver read from the same paste
(envcheck.rules.framework_driver_rules). The build lines are copied from public threads
(named at each case); the driver lines next to them are synthetic, since no stored thread
shows both."""

from __future__ import annotations

from envcheck.reports.build import snapshot_from_report
from envcheck.rules.framework_driver_rules import framework_driver_findings

# https://github.com/PaddlePaddle/Paddle/issues/31637: post107 = CUDA 10.0 (framework_builds.toml)
PADDLE_31637 = ("安装命令\uff1apip install paddlepaddle-gpu==1.8.5.post107 -f "
                "https://paddlepaddle.org.cn/whl/stable.html")
# https://github.com/microsoft/onnxruntime/issues/20223 (the package name says CUDA 12)
ORT_CUDA12 = "apply yolov8n.onnx with cuda12.4 cudnn9 onnxruntime-win-x64-cuda12-1.17.1"


def _summaries(text: str) -> list[str]:
    report = snapshot_from_report(text, taken_at="2026-01-01T00:00:00Z", envcheck_version="t")
    return [f.summary for f in framework_driver_findings(report.library_facts, report.snapshot)]


def test_a_driver_older_than_the_builds_cuda_minimum_is_an_error() -> None:
    # CUDA 10.0 needs 410.48 on Linux; CUDA 10 has no minor-version compatibility
    text = f"{PADDLE_31637}\nNVIDIA driver version: 396.54"
    assert _summaries(text) == [
        "paddlepaddle-gpu==1.8.5.post107 is built with CUDA 10.0: NVIDIA driver 396.54 cannot "
        "run it (needs ≥ 410.48)"]


def test_a_driver_that_runs_it_is_not_judged() -> None:
    assert _summaries(f"{PADDLE_31637}\nNVIDIA driver version: 418.87.01") == []


def test_a_build_given_as_a_major_is_judged_by_its_floor() -> None:
    # CUDA 12.x builds run from 525.60.13 (Linux) / 528.33 (Windows) by minor-version compat
    old = f"{ORT_CUDA12}\nOS: Windows 10\nNVIDIA driver version: 472.12"
    assert [s.split(":")[0] for s in _summaries(old)] == [
        "onnxruntime-win-x64-cuda12-1.17.1 is built with CUDA 12.x"]
    assert _summaries(f"{ORT_CUDA12}\nOS: Windows 10\nNVIDIA driver version: 551.61") == []


def test_without_a_driver_nothing_is_said() -> None:
    assert _summaries(f"{PADDLE_31637}\nGPU 0: Tesla V100") == []
