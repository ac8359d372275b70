"""`--error`: the message ranks causes; the environment confirms or rules them out."""

from __future__ import annotations

from dataclasses import replace

from envcheck.diagnosis import assess_error, likely_causes
from envcheck.rules import run_rules
from envcheck.snapshot import Package, Snapshot, Torch
from tests.snapshots import healthy, with_gpu

NO_KERNEL = ("RuntimeError: CUDA error: no kernel image is available for execution on the "
             "device\nCUDA kernel errors might be asynchronously reported at some other API call")


def _assess(snapshot: Snapshot, text: str) -> dict[str, str]:
    return {a.category: a.verdict for a in assess_error(text, snapshot, run_rules(snapshot))}


def test_healthy_machine_rules_the_build_out() -> None:
    verdicts = _assess(healthy(), NO_KERNEL)
    assert verdicts["arch_not_in_wheel"] == "ruled_out"


def test_uncovered_gpu_confirms_it_first() -> None:
    snapshot = with_gpu(healthy(), name="NVIDIA GeForce RTX 5090", compute_capability="12.0")
    causes = assess_error(NO_KERNEL, snapshot, run_rules(snapshot))
    assert causes[0].category == "arch_not_in_wheel"
    assert causes[0].verdict == "confirmed"
    assert "gpu-arch-not-in-torch-build" in causes[0].finding_ids
    assert likely_causes(causes, run_rules(snapshot))[0] == "arch_not_in_wheel"


def test_unknown_facts_stay_possible() -> None:
    snapshot = replace(healthy(), source="report", gpus=(),
                       torch=Torch(status="unknown", detail="not in the report"))
    verdicts = _assess(snapshot, NO_KERNEL)
    assert verdicts["arch_not_in_wheel"] == "possible"


def test_unrelated_confirmed_problem_does_not_outrank_the_error_cause() -> None:
    # A missing requirement is a real error, but not what makes kernels missing; the GPUs
    # are unknown (a report without them), so the arch stays possible and still ranks first.
    snapshot = replace(healthy(), source="report", gpus=(), packages=(
        Package(name="torch", version="2.5.1", requires=("filelock",)),))
    findings = run_rules(snapshot)
    assert "broken_requirements" in {f.category for f in findings if f.severity == "error"}
    ranked = likely_causes(assess_error(NO_KERNEL, snapshot, findings), findings)
    assert ranked[0] == "arch_not_in_wheel"
    assert ranked[-1] == "broken_requirements"


def test_message_without_a_signature_gives_no_causes() -> None:
    assert assess_error("everything is fine, loss 0.01", healthy(), ()) == ()
