"""The evidence corpus (tests/data/reports/): real reports from public bug threads, each with
the root cause the thread established. The report and its error text are read together, as
`envcheck doctor --from-report FILE --error-file FILE` does, and the official ranking
(`likely_causes`) must put the established category first; for the negatives (environment
fine, the bug was elsewhere) the doctor must raise no error and confirm no cause."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from envcheck.diagnosis import likely_causes
from envcheck.errors import ParseError
from envcheck.services.doctor import DoctorRequest, DoctorResult, read_report, run_doctor

REPORTS = Path(__file__).resolve().parent.parent / "data" / "reports"
FOLDERS = sorted(path for path in REPORTS.iterdir() if path.is_dir())

# Reports whose established cause the facts in them cannot reach without guessing.
NOT_REACHED = {
    "paddle-31637-winserver2012-paddle185-post107-driver-old":
        "the driver version and the error are only in screenshots; the text names a Paddle "
        "wheel (post107: CUDA 10.0, framework_builds.toml) but no driver to hold it against",
    "paddle-6132-cudnn7-test-fail-ld-library-path":
        "a failing unit test with no loader or version message; the other cuDNN on "
        "LD_LIBRARY_PATH was found by the maintainers, not shown in the report",
    "triton-2110-h100-libcuda-not-in-ldcache":
        "triton's 'lidcuda.so not found' (sic) is not a known message; the stale loader cache "
        "shows only as empty `ldconfig -p` output",
    "aicuai-startguidesdxl-6-colab-cpu-runtime-no-driver":
        "'Found no NVIDIA driver' in a Colab notebook ranks a missing driver first; that the "
        "runtime's accelerator was set to CPU (no GPU attached) is not in the text",
    "chatglm6b-447-pyopenssl-outdated-after-update":
        "the error is only in a screenshot; the text names neither pyOpenSSL nor any environment "
        "fact",
    "llamafactory-4732-flash-attn-undefined-symbol-cow-deleter":
        "a flash_attn undefined-symbol message, labelled broken_requirements here while the "
        "corpus labels the same message torchvision_mismatch (a companion built for another "
        "torch) in four other reports; envcheck ranks the latter first",
    "paddle-46571-centos6-glibc-paddle-gpu-shows-cpu":
        "no error text; 'CentOS 6' alone, and Paddle's glibc requirement is not in envcheck's "
        "tables",
    "paddleocr-2289-driver-cuda90-paddle200-cu101":
        "no error text (CPU is used silently); 'cuda10.1的paddle镜像' (image or mirror) says the "
        "build's CUDA only in words, and '服务器的cuda版本为9.0' may be the driver's or the "
        "toolkit's: only the driver reading is an error, and a reading alone ranks nothing "
        "without an error text",
    "rvc-webui-2564-rtx5090-needs-cu128-build":
        "no error text; the bundled torch's build is not named in the report",
    "vllm-1710-docker-tp-crash-shm-size":
        "the stored report is truncated to its title; the ncclShmOpen error is not in the text",
    "onnxruntime-18916-colab-cuda122-ort116-built-for-cuda11":
        "no error text, and the paste names no ONNX Runtime version: which build (CUDA 11 or "
        "12, framework_builds.toml) was installed is only in the sibling threads",
    "pyg-sparse-86-ubuntu2004-torch-cu102-sparse-built-cuda111":
        "torch_sparse's CUDA-mismatch message states a companion built for another CUDA "
        "(confirmed, ranked first) but not whether that build came from a wheel or, as here, "
        "from a local CUDA 11 toolkit; the report shows no toolkit",
    "unsloth-3870-rtx5060-xformers-no-sm120-zh":
        "no error text in the stored report; xFormers' arch list is not in envcheck's tables",
    "vllm-3812-v100-driver-cuda114":
        "no error text, 'cuda11.4' alone (only the title says it is the driver's), and no "
        "release: torch_pins.toml's vllm releases do not agree (0.1.x-0.2.5 require torch>=2.0 "
        "with no one build, 0.2.1.post1 pins torch 2.0.1, a CUDA 11.7 build), so the release "
        "pip resolves decides",
}


def _document(folder: Path) -> dict[str, Any]:
    text = (folder / "expected.toml").read_text()
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib.loads(text)
    import tomlkit

    return dict(tomlkit.parse(text).unwrap())


def _expected(folder: Path) -> str:
    document = _document(folder)
    category = document["category"]
    assert isinstance(category, str)
    return category


def _diagnose(folder: Path) -> DoctorResult | None:
    """The doctor's answer; None when it finds no environment fact and no known message in
    the report (`doctor --from-report` then stops with ParseError, exit 2)."""
    error_file = folder / "error.txt"
    error = error_file.read_text() if error_file.exists() else None
    try:
        reading = read_report((folder / "report.txt").read_text(), error,
                              taken_at="2026-01-01T00:00:00Z", envcheck_version="0")
    except ParseError:
        return None
    report = reading.report
    return run_doctor(DoctorRequest(snapshot=report.snapshot, error_text=reading.error_text,
                                    missing=report.missing, report=report))


def _passes(folder: Path) -> bool:
    result = _diagnose(folder)
    expected = _expected(folder)
    if result is None:
        return expected == "none"
    if expected == "none":
        return (not any(f.severity == "error" for f in result.findings)
                and not any(c.verdict == "confirmed" for c in result.causes))
    ranked = likely_causes(result.causes, result.findings)
    return bool(ranked) and ranked[0] == expected


def _param(folder: Path) -> object:
    reason = NOT_REACHED.get(folder.name)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(folder, id=folder.name, marks=marks)


def test_the_corpus_is_complete() -> None:
    assert len(FOLDERS) >= 150
    assert set(NOT_REACHED) <= {folder.name for folder in FOLDERS}
    for folder in FOLDERS:
        assert (folder / "report.txt").exists(), folder
        assert (folder / "SOURCE.md").exists(), folder
        document = _document(folder)
        # benchmarks/report_accuracy.py groups by these
        assert document.get("form") in ("formal", "prose", "mixed"), folder
        assert isinstance(document.get("language"), str), folder


@pytest.mark.parametrize("folder", [_param(folder) for folder in FOLDERS])
def test_expected_category_ranks_first(folder: Path) -> None:
    result = _diagnose(folder)
    expected = _expected(folder)
    if result is None:
        assert expected == "none", "no environment fact and no known message read"
        return
    ranked = likely_causes(result.causes, result.findings)
    if expected == "none":
        errors = [f.summary for f in result.findings if f.severity == "error"]
        confirmed = [c.category for c in result.causes if c.verdict == "confirmed"]
        assert errors == []
        assert confirmed == []
    else:
        assert ranked, "no cause ranked"
        assert ranked[0] == expected, ranked


def test_at_least_25_positive_reports_rank_their_cause_first() -> None:
    positives = [folder for folder in FOLDERS if _expected(folder) != "none"]
    passing = [folder.name for folder in positives if _passes(folder)]
    assert len(passing) >= 25, passing


def test_every_negative_report_passes() -> None:
    negatives = [folder for folder in FOLDERS if _expected(folder) == "none"]
    assert len(negatives) >= 5
    assert all(_passes(folder) for folder in negatives)
