"""`doctor`: a Snapshot (live, saved or from a report) through the rules, plus the
optional planned build, the error message the user saw, and the lock the environment should
match."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from packaging.version import Version

from envcheck.diagnosis import (
    CauseAssessment,
    assess_error,
    decided_by_every_reading,
    message_findings,
    outcomes,
    pip_resolution_findings,
)
from envcheck.drift import (
    InstalledDistribution,
    compare,
    pip_command,
    restore_command,
    summarize,
)
from envcheck.findings import Finding, sort_findings
from envcheck.fit import FitRequest, estimate, fit_findings
from envcheck.knowledge.signatures import match_error
from envcheck.lockfile import LockfileError, parse_lockfile
from envcheck.lockfile_model import Lockfile
from envcheck.plan import PlannedBuild, apply_plan
from envcheck.project import ProjectError, load_project
from envcheck.reports.build import ReadFact, ReportSnapshot, snapshot_from_report
from envcheck.reports.pinned_installs import pinned_torch_findings
from envcheck.reports.prose_facts import shows_cuda_build
from envcheck.reports.remedies import remedy_findings
from envcheck.reports.run_settings import budget_findings
from envcheck.reports.segments import unquoted
from envcheck.reports.stated_requirements import stated_requirement_findings
from envcheck.rules import run_rules
from envcheck.rules.context import Thresholds
from envcheck.rules.framework_driver_rules import framework_driver_findings
from envcheck.rules.framework_rules import shadowed_gpu_build_findings
from envcheck.rules.library_rules import library_findings
from envcheck.services.lock import LOCK_DIR
from envcheck.snapshot import Snapshot

DRIFT_FINDING = "environment-drifted-from-lock"


@dataclass(frozen=True, kw_only=True)
class DoctorRequest:
    snapshot: Snapshot
    error_text: str | None = None
    plan: PlannedBuild | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    missing: tuple[str, ...] = ()
    """What a pasted report did not say, to be shown with the findings."""
    lock: Lockfile | None = None
    """The lock the environment should match: its drift (versions only) is a finding."""
    lock_path: str | None = None
    """How to name the lock in the finding and its fix."""
    lock_findings: tuple[Finding, ...] = ()
    """What choosing the lock had to say (several targets fit, an unreadable lockfile)."""
    fit: FitRequest | None = None
    """A planned run (`--fit`): a `memory` finding when it fits on no visible GPU."""
    report: ReportSnapshot | None = None
    """The pasted report the Snapshot came from: its other readings and what it read."""


@dataclass(frozen=True, kw_only=True)
class ProjectLock:
    """The lock of the project's target for this environment, found without --lock."""

    lock: Lockfile | None = None
    path: str | None = None
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True, kw_only=True)
class MessageMeaning:
    """A known error message found in the text judged (envcheck's error signatures)."""

    signature: str
    explanation: str


@dataclass(frozen=True, kw_only=True)
class DoctorResult:
    snapshot: Snapshot
    """The Snapshot the rules judged (with the planned build applied, under --plan)."""
    findings: tuple[Finding, ...]
    causes: tuple[CauseAssessment, ...] = ()
    plan: PlannedBuild | None = None
    missing: tuple[str, ...] = ()
    read: tuple[ReadFact, ...] = ()
    """What the pasted report said, with the line of each fact."""
    consistent: bool = False
    """An error was judged, and the environment's facts raise no error: it looks consistent."""
    builds_cuda_code: bool = False
    """The rules judged a run that compiles CUDA code (--compiles, or the report shows it)."""
    messages: tuple[MessageMeaning, ...] = ()
    """The known messages in the error judged, each with what it means and usually causes."""

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def failed(self, *, strict: bool) -> bool:
        return self.count("error") > 0 or (strict and self.count("warning") > 0)


@dataclass(frozen=True, kw_only=True)
class ReportReading:
    report: ReportSnapshot
    error_text: str | None
    """The text to judge as the error: --error's, else the report's own when it holds a
    known error message (a traceback pasted into the report counts)."""


def read_report(text: str, error_text: str | None, *, taken_at: str,
                envcheck_version: str) -> ReportReading:
    """A pasted report and the error seen with it, read together: the error output belongs
    to the same machine, and torch's messages in it carry facts."""
    combined = f"{text}\n{error_text}" if error_text else text
    report = snapshot_from_report(combined, taken_at=taken_at,
                                  envcheck_version=envcheck_version)
    own = unquoted(text)
    judged = unquoted(error_text) if error_text else (own if match_error(own) else None)
    return ReportReading(report=report, error_text=judged)


def run_doctor(request: DoctorRequest) -> DoctorResult:
    snapshot = request.snapshot
    if request.plan is not None:
        snapshot = apply_plan(snapshot, request.plan)
    report = request.report
    thresholds = request.thresholds
    if (report is not None and report.builds_cuda_code) or (
            request.error_text and _shows_a_build(request.error_text)):
        # The toolkit's CUDA matters only to code being compiled (envcheck.rules.stack_rules).
        thresholds = replace(thresholds, builds_cuda_code=True)
    findings = run_rules(snapshot, thresholds)
    results = outcomes(report.readings, lambda s: run_rules(s, thresholds)) if report else ()
    decided = decided_by_every_reading(results, findings)
    if report is not None:
        # What the paste states about the libraries loaded (envcheck.rules.library_rules).
        known = {f.id for f in (*findings, *decided)}
        decided += [f for f in library_findings(report.library_facts, snapshot.system)
                    if f.id not in known]
        decided += remedy_findings(report.remedies, _pointed_causes(request.error_text))
        decided += budget_findings(report.memory_budgets)
        decided += pinned_torch_findings(report.pinned_installs, snapshot)
        decided += stated_requirement_findings(report.stated_requirements,
                                               report.env_versions, snapshot)
        decided += [f for f in framework_driver_findings(report.library_facts, snapshot)
                    if f.id not in known]
    if request.error_text:
        decided += pip_resolution_findings(request.error_text, snapshot)
        decided += shadowed_gpu_build_findings(request.error_text, snapshot)
        decided += message_findings(request.error_text, snapshot, (*findings, *decided),
                                    results)
    if decided:
        findings = sort_findings([*findings, *decided])
    # Drift is about what is installed, so the Snapshot as measured, not as planned.
    lock_findings = [*request.lock_findings, *lock_drift_findings(request)]
    fit_results = (fit_findings(estimate(request.fit), snapshot.gpus)
                   if request.fit is not None and snapshot.gpus else ())
    if lock_findings or fit_results:
        findings = sort_findings([*findings, *lock_findings,
                                  *(replace(f, rule="fit") for f in fit_results)])
    causes = (assess_error(request.error_text, snapshot, findings, results)
              if request.error_text else ())
    consistent = bool(causes) and not any(f.severity == "error" for f in findings) and not any(
        c.verdict == "likely" for c in causes)
    return DoctorResult(snapshot=snapshot, findings=findings, causes=causes,
                        plan=request.plan, missing=request.missing,
                        read=report.read if report else (), consistent=consistent,
                        builds_cuda_code=thresholds.builds_cuda_code,
                        messages=_meanings(request.error_text))


def _meanings(error_text: str | None) -> tuple[MessageMeaning, ...]:
    if not error_text:
        return ()
    return tuple(MessageMeaning(signature=m.signature.id, explanation=m.signature.explanation)
                 for m in match_error(error_text))


# Exceptions of the code and its data, not of the environment: an error judged that is one of
# these (and no known message) is not what an earlier fix in the report was about.
_CODE_ERROR = re.compile(
    r"\b(?:ValueError|KeyError|IndexError|TypeError|NameError|ZeroDivisionError|"
    r"AssertionError|JSONDecodeError|UnboundLocalError)(?::|$)", re.MULTILINE)


def _pointed_causes(error_text: str | None) -> frozenset[str] | None:
    """The causes the error judged points at; None when it points nowhere known (no error,
    or an unspecific "Trials did not complete"): the report's own experiment then decides."""
    if not error_text:
        return None
    pointed = frozenset(category for match in match_error(error_text)
                        for category in match.signature.categories)
    if not pointed and _CODE_ERROR.search(error_text):
        return frozenset({"other"})  # a bug in the code that ran, not the environment
    return pointed or None


def _shows_a_build(error_text: str) -> bool:
    """The error shows CUDA code being compiled: a build log's lines, or a message only an
    extension build prints (cpp_extension's, apex's, DeepSpeed's op builder's CUDA checks)."""
    return shows_cuda_build(error_text) or any(
        match.signature.categories[0] == "toolkit_torch_cuda_mismatch"
        for match in match_error(error_text))


# --- the lock the environment should match -------------------------------------------------


def find_project_lock(root: Path, python: Version | None) -> ProjectLock:
    """The lockfile of the one target of `root`'s pyproject.toml that this environment can
    be: its lockfile exists and its Python minor is the interpreter's. None when no target
    fits; an info finding (and no lock) when several do, or when the project cannot be read.
    """
    if python is None:
        return ProjectLock()
    try:
        project = load_project(root)
    except ProjectError as e:
        return ProjectLock(findings=(_lock_info(
            "lock-not-chosen", f"drift from a lock not checked: {e.message}",
            "doctor compares the environment with the lock of the project's target; the "
            "project in this folder could not be read.", "envcheck doctor --lock FILE"),))
    minor = f"{python.major}.{python.minor}"
    fitting = sorted(target.name for target in project.targets.values()
                     if target.python == minor
                     and (root / LOCK_DIR / f"{target.name}.txt").is_file())
    if not fitting:
        return ProjectLock()
    paths = [f"{LOCK_DIR}/{name}.txt" for name in fitting]
    if len(fitting) > 1:
        return ProjectLock(findings=(_lock_info(
            "lock-not-chosen",
            f"{len(fitting)} targets have a lockfile for Python {minor} "
            f"({', '.join(fitting)}): drift from a lock not checked",
            "doctor compares the environment with the lock of its target when exactly one "
            "target of pyproject.toml fits the inspected interpreter; name the lock to use.",
            f"envcheck doctor --lock {paths[0]}"),))
    path = paths[0]
    try:
        lock = parse_lockfile((root / path).read_text(encoding="utf-8"), origin=path)
    except (LockfileError, OSError, UnicodeDecodeError) as e:
        return ProjectLock(findings=(_lock_info(
            "lock-not-chosen", f"drift from {path} not checked: {e}",
            "The lockfile of this environment's target could not be read.",
            f"envcheck lock {fitting[0]}"),))
    return ProjectLock(lock=lock, path=path)


def lock_drift_findings(request: DoctorRequest) -> list[Finding]:
    """The environment against the lock, by name and version (no file hashing: doctor
    stays fast; `envcheck verify` re-hashes the installed files)."""
    lock, snapshot = request.lock, request.snapshot
    if lock is None:
        return []
    path = request.lock_path or f"{LOCK_DIR}/{lock.header.target}.txt"
    if snapshot.python.status != "ok" or not snapshot.packages:
        return [_lock_info(
            "lock-not-compared", f"the environment was not compared with {path}: "
            "the Snapshot lists no installed packages",
            "A pasted report without a package list, or a Python that could not be "
            "inspected, says nothing to compare.", None)]
    drift = compare(lock, (InstalledDistribution(name=p.name, version=p.version)
                           for p in snapshot.packages),
                    markers=snapshot_markers(snapshot))
    if drift.identical:
        return []
    python = snapshot.python.executable if snapshot.python.selected_by == "--python" else None
    # Never `uv pip sync` where envcheck runs from: it would uninstall envcheck (issue 14).
    fix = f"{restore_command(path, drift, python=python)}   # or: {pip_command(path, drift)}"
    details = [f"{p.name} {p.installed} installed, {p.locked} locked" for p in drift.different]
    details += [f"{p.name} {p.locked} not installed" for p in drift.missing]
    details += [f"{p.name} {p.installed} not in the lock" for p in drift.extra]
    explanation = (f"The installed packages are not what {path} (target "
                   f"{lock.header.target}) pins: {'; '.join(details)}. A job run here does "
                   "not run what was locked, tested and built into the image.")
    if drift.tools_ignored:
        explanation += (" Not counted: " + ", ".join(p.name for p in drift.tools_ignored)
                        + " (the installer's own tools, not pinned by the lock).")
    evidence = {"lock": path, "target": lock.header.target,
                "different": ", ".join(f"{p.name} {p.locked} -> {p.installed}"
                                       for p in drift.different),
                "missing": ", ".join(p.name for p in drift.missing),
                "extra": ", ".join(p.name for p in drift.extra)}
    return [Finding(id=DRIFT_FINDING, category="other", severity="warning",
                    summary=f"the environment has drifted from {path}: {summarize(drift)}",
                    explanation=explanation, fix=fix,
                    evidence={k: v for k, v in evidence.items() if v}, rule="lock-drift")]


def snapshot_markers(snapshot: Snapshot) -> dict[str, str] | None:
    """PEP 508 marker values known from the Snapshot, so a lock entry such as
    `; python_version < "3.12"` is judged for the inspected interpreter, not envcheck's."""
    python = snapshot.python
    if python.version is None:
        return None
    version = python.version
    implementation = python.implementation or "CPython"
    markers = {"python_version": f"{version.major}.{version.minor}",
               "python_full_version": str(version),
               "implementation_version": str(version),
               "implementation_name": implementation.lower(),
               "platform_python_implementation": implementation}
    platform = python.platform or ""
    if platform.startswith("linux"):
        markers |= {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"}
    if snapshot.system.arch:
        markers["platform_machine"] = snapshot.system.arch
    return markers


def _lock_info(finding_id: str, summary: str, explanation: str, fix: str | None) -> Finding:
    return Finding(id=finding_id, category="other", severity="info", summary=summary,
                   explanation=explanation, fix=fix, rule="lock-drift")
