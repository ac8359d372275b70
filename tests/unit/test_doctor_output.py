"""The doctor's machine-readable outputs, checked whole against golden files."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace

from packaging.version import Version

from envcheck.doctor_output import render_github, render_json, render_junit
from envcheck.services.doctor import DoctorRequest, DoctorResult, run_doctor
from envcheck.snapshot import GpuProcess
from tests.golden import assert_golden
from tests.snapshots import healthy, with_gpu, with_system, with_torch


def _result() -> DoctorResult:
    snapshot = with_gpu(healthy(), temperature_c=90,
                        processes=(GpuProcess(pid=4242, name="python", used_mib=20000),))
    snapshot = with_torch(snapshot, version=Version("2.5.1+cpu"), cuda=None, cudnn=None,
                          provenance={"version": "derived", "cuda": "derived"})
    snapshot = with_system(snapshot, env={
        "NCCL_DEBUG_FILE": "https://alice:hunter2@logs.example.invalid/nccl"})
    return run_doctor(DoctorRequest(snapshot=snapshot, error_text=(
        "RuntimeError: Torch not compiled with CUDA enabled")))


def test_github_annotations_golden() -> None:
    assert_golden("doctor-github.txt", render_github(_result()))


def test_junit_golden_and_well_formed() -> None:
    text = render_junit(_result(), strict=False)
    assert_golden("doctor-junit.xml", text)
    suite = ET.fromstring(text.split("\n", 1)[1]).find("testsuite")
    assert suite is not None
    failures = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failures == ["torch-has-cuda"]


def test_strict_junit_fails_warnings_too() -> None:
    suite = ET.fromstring(render_junit(_result(), strict=True).split("\n", 1)[1])
    failed = {c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None}
    assert failed == {"torch-has-cuda", "gpus-healthy"}


def test_json_document() -> None:
    document = json.loads(render_json(_result(), strict=False))
    assert document["verdict"] == "fail"
    assert document["counts"] == {"error": 1, "warning": 2, "info": 0}
    assert document["findings"][0]["id"] == "cpu-only-torch-on-gpu-machine"
    assert document["causes"][0] == {
        "category": "cpu_only_wheel", "verdict": "confirmed",
        "reason": document["findings"][0]["summary"],
        "signatures": document["causes"][0]["signatures"],
        "finding_ids": ["cpu-only-torch-on-gpu-machine"], "missing": [], "assumption": None}
    assert document["read_from_report"] == []
    assert document["snapshot"]["schema"] == "envcheck.snapshot/1"


def test_credentials_are_redacted_in_every_format() -> None:
    result = _result()
    for text in (render_json(result, strict=False), render_github(result),
                 render_junit(result, strict=False)):
        assert "hunter2" not in text


def test_passing_result_has_no_annotations() -> None:
    result = run_doctor(DoctorRequest(snapshot=healthy()))
    assert render_github(result) == ""
    assert json.loads(render_json(result, strict=True))["verdict"] == "pass"
    assert replace(result, findings=()).failed(strict=True) is False


def test_findings_outside_the_rules_get_their_own_case() -> None:
    from envcheck.findings import Finding

    drift = Finding(id="environment-drifted-from-lock", category="other", severity="warning",
                    summary="drifted: 1 different", explanation="x", fix="uv pip sync l.txt")
    result = replace(_result(), findings=(*_result().findings, drift))
    suite = ET.fromstring(render_junit(result, strict=True).split("\n", 1)[1])
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["environment-drifted-from-lock"].find("failure") is not None


def test_json_carries_what_each_known_message_means() -> None:
    document = json.loads(render_json(_result(), strict=False))
    [message] = document["messages"]
    assert message["signature"] == "torch-not-compiled-with-cuda"
    assert "CPU" in message["explanation"]
