"""`doctor`: a Snapshot (live, saved or from a report) through the rules, plus the
optional planned build and the error message the user saw."""

from __future__ import annotations

from dataclasses import dataclass, field

from envcheck.diagnosis import CauseAssessment, assess_error
from envcheck.findings import Finding
from envcheck.plan import PlannedBuild, apply_plan
from envcheck.rules import run_rules
from envcheck.rules.context import Thresholds
from envcheck.snapshot import Snapshot


@dataclass(frozen=True, kw_only=True)
class DoctorRequest:
    snapshot: Snapshot
    error_text: str | None = None
    plan: PlannedBuild | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    missing: tuple[str, ...] = ()
    """What a pasted report did not say, to be shown with the findings."""


@dataclass(frozen=True, kw_only=True)
class DoctorResult:
    snapshot: Snapshot
    """The Snapshot the rules judged (with the planned build applied, under --plan)."""
    findings: tuple[Finding, ...]
    causes: tuple[CauseAssessment, ...] = ()
    plan: PlannedBuild | None = None
    missing: tuple[str, ...] = ()

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def failed(self, *, strict: bool) -> bool:
        return self.count("error") > 0 or (strict and self.count("warning") > 0)


def run_doctor(request: DoctorRequest) -> DoctorResult:
    snapshot = request.snapshot
    if request.plan is not None:
        snapshot = apply_plan(snapshot, request.plan)
    findings = run_rules(snapshot, request.thresholds)
    causes = (assess_error(request.error_text, snapshot, findings)
              if request.error_text else ())
    return DoctorResult(snapshot=snapshot, findings=findings, causes=causes,
                        plan=request.plan, missing=request.missing)
