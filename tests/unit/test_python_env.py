"""Turning the in-target probe's report into records, and the deep merge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from packaging.version import Version

from envcheck.probes.cuda_libraries import identify_libraries
from envcheck.probes.deep_torch import merge_deep
from envcheck.probes.python_env import facts_from_probe_report, select_python
from tests.fakes import make_host, write_tree


def _report() -> dict[str, Any]:
    site = "/venv/lib/python3.11/site-packages"
    return {
        "probe": "envcheck.envprobe/1",
        "python": {"executable": "/venv/bin/python", "version": "3.11.7",
                   "implementation": "CPython", "platform": "linux-x86_64",
                   "machine": "x86_64", "prefix": "/venv", "kind": "venv",
                   "libc": "glibc", "libc_version": "2.36"},
        "packages": [{"name": "nvidia-cudnn-cu12", "version": "9.1.0.70"},
                     {"name": "torch", "version": "2.5.1"}],
        "wheel_libraries": [
            {"path": f"{site}/nvidia/cudnn/lib/libcudnn.so.9",
             "distribution": "nvidia-cudnn-cu12", "distribution_version": "9.1.0.70"},
            {"path": f"{site}/nvidia/nccl/lib/libnccl.so.2",
             "distribution": "nvidia-nccl-cu12", "distribution_version": "2.21.5"},
        ],
        "conda_libraries": [],
        "torch": {"status": "ok", "distribution_version": "2.5.1", "version": "2.5.1+cu124",
                  "cuda": "12.4", "hip": None, "location": f"{site}/torch",
                  "bundled_libraries": [], "arch_list": ["sm_50", "sm_90", "compute_90"]},
    }


def test_report_becomes_records() -> None:
    facts = facts_from_probe_report(_report(), selected_by="--python")
    assert facts.python.version == Version("3.11.7")
    assert facts.python.kind == "venv"
    torch = facts.torch
    assert torch.version == Version("2.5.1+cu124")
    assert torch.cuda == Version("12.4")
    assert torch.cudnn == Version("9.1.0.70")
    assert torch.nccl == Version("2.21.5")
    assert torch.arch_list == ("sm_50", "sm_90", "compute_90")
    assert torch.provenance["cudnn"] == "derived"
    assert facts.libc_version == "2.36"


def test_wheel_libraries_take_the_distribution_version(tmp_path: Path) -> None:
    facts = facts_from_probe_report(_report(), selected_by="PATH")
    libraries = identify_libraries(make_host(tmp_path), facts.libraries)
    assert [(lib.name, lib.version, lib.origin) for lib in libraries] == [
        ("cudnn", "9.1.0.70", "pip"), ("nccl", "2.21.5", "pip")]


def test_deep_facts_override_and_are_marked_measured() -> None:
    torch = facts_from_probe_report(_report(), selected_by="PATH").torch
    merged = merge_deep(torch, {"version": "2.5.1+cu124", "cuda": "12.4",
                                "arch_list": ["sm_50", "sm_90"], "cudnn": "9.1.0",
                                "cuda_available": False,
                                "cuda_error": "The NVIDIA driver on your system is too old",
                                "device_capabilities": []})
    assert merged.cuda_available is False
    assert merged.cuda_error == "The NVIDIA driver on your system is too old"
    assert merged.cudnn == Version("9.1.0")
    assert merged.provenance["cuda_available"] == "measured"
    assert merged.provenance["cudnn"] == "measured"
    assert merged.provenance["nccl"] == "derived"


def test_absent_and_broken_torch() -> None:
    report = _report()
    report["torch"] = {"status": "absent", "detail": "torch is not installed"}
    assert facts_from_probe_report(report, selected_by="PATH").torch.status == "absent"
    report["torch"] = {"status": "error", "detail": "cannot read version.py"}
    broken = facts_from_probe_report(report, selected_by="PATH").torch
    assert broken.status == "error"
    assert broken.detail == "cannot read version.py"


def test_interpreter_choice_follows_the_active_environment(tmp_path: Path) -> None:
    write_tree(tmp_path, {"/venv/bin/python": "", "/conda/bin/python": "",
                          "/usr/bin/python3": ""})
    env = {"PATH": "/usr/bin", "VIRTUAL_ENV": "/venv", "CONDA_PREFIX": "/conda"}
    assert select_python(make_host(tmp_path, env=env), None) == ("/venv/bin/python",
                                                                 "VIRTUAL_ENV")
    env.pop("VIRTUAL_ENV")
    assert select_python(make_host(tmp_path, env=env), None) == ("/conda/bin/python",
                                                                 "CONDA_PREFIX")
    env.pop("CONDA_PREFIX")
    assert select_python(make_host(tmp_path, env=env), None) == ("/usr/bin/python3", "PATH")
    assert select_python(make_host(tmp_path, env=env), "/x/python") == ("/x/python", "--python")


def test_report_json_is_what_the_probe_prints() -> None:
    # The probe's report must survive a JSON round trip unchanged (it crosses a pipe).
    assert json.loads(json.dumps(_report())) == _report()


def test_torch_1x_bundled_cudnn_gives_its_version() -> None:
    report = _report()
    report["wheel_libraries"] = []
    report["torch"]["bundled_libraries"] = [
        "/venv/lib/python3.10/site-packages/torch/lib/libcudnn.so.8",
        "/venv/lib/python3.10/site-packages/torch/lib/libnccl.so.2",
    ]
    torch = facts_from_probe_report(report, selected_by="PATH").torch
    assert torch.cudnn == Version("8")
    assert torch.nccl == Version("2")


def _cpu_build_report() -> dict[str, Any]:
    report = _report()
    report["torch"] = {"status": "ok", "distribution_version": "2.13.0", "version": "2.13.0+cpu",
                       "cuda": None, "hip": None, "location": "/venv/torch",
                       "bundled_libraries": [], "arch_list": [], "cuda_library": []}
    return report


def test_a_cpu_build_has_derived_facts_not_unknowns() -> None:
    """torch.version.cuda None, no HIP, no libtorch_cuda: CUDA is never available and there
    is no GPU code (issue 13); the nvidia-* wheels beside it are not torch's."""
    torch = facts_from_probe_report(_cpu_build_report(), selected_by="PATH").torch
    assert (torch.cuda, torch.cuda_available, torch.arch_list) == (None, False, ())
    assert (torch.cudnn, torch.nccl, torch.cublas) == (None, None, None)
    for name in ("cuda_available", "arch_list", "device_capabilities", "cudnn"):
        assert torch.provenance[name] == "derived", name


def test_a_build_the_probe_could_not_classify_stays_unknown() -> None:
    for key, value in (("cuda_library", ["/venv/torch/lib/libtorch_cuda.so"]),
                       ("hip", "6.2.41133"), ("cuda", "12.4")):
        report = _cpu_build_report()
        report["torch"][key] = value
        torch = facts_from_probe_report(report, selected_by="PATH").torch
        assert torch.cuda_available is None, key
        assert "cuda_available" not in torch.provenance
    # A report from a probe that did not say where the CUDA library is (older, replayed).
    report = _cpu_build_report()
    del report["torch"]["cuda_library"]
    assert facts_from_probe_report(report, selected_by="PATH").torch.cuda_available is None


def test_inspect_shows_a_cpu_builds_unavailable_cuda_as_its_nature() -> None:
    from dataclasses import replace

    from rich.console import Console

    from envcheck.cli.render_inspect import render_snapshot
    from tests.snapshots import healthy

    torch = facts_from_probe_report(_cpu_build_report(), selected_by="PATH").torch
    console = Console(record=True, width=120)
    render_snapshot(replace(healthy(), torch=torch), console)
    assert "torch.cuda.is_available(): no (a CPU-only build)" in console.export_text()
