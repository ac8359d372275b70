"""`matrix`: which target can run on which CI runner, planned before any runner time is spent.

Every target's lock is judged on every runner's profile with the doctor's rules (exactly what
`envcheck check-lock` does), so a cu130 image is never scheduled on a driver-550 runner. The
plan is a pure function of the Project and the lockfiles; reading the lockfiles is apart
(`read_locks`), so the plan can be tested and timed without a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from envcheck.errors import UsageError
from envcheck.findings import Finding
from envcheck.lockfile import parse_lockfile
from envcheck.lockfile_model import Lockfile
from envcheck.project_model import Project, RequiredRun, Target
from envcheck.rules import run_rules
from envcheck.services.gate import snapshot_for
from envcheck.services.image import image_tag
from envcheck.services.lock import check_locks

MATRIX_SCHEMA = "envcheck.matrix/1"

CellVerdict = Literal["runs", "excluded"]


@dataclass(frozen=True, kw_only=True)
class TargetLock:
    """A target's lockfile, parsed, with its text (the image tag hashes the text)."""

    lock: Lockfile
    text: str


@dataclass(frozen=True, kw_only=True)
class MatrixCell:
    target: str
    runner: str
    profile: str
    image: str
    """The tag `envcheck image build` gives the target's image: envcheck/<target>:<lock12>."""
    findings: tuple[Finding, ...]
    """The doctor's errors and warnings for this lock on the runner's profile."""

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def verdict(self) -> CellVerdict:
        return "excluded" if self.errors else "runs"


@dataclass(frozen=True, kw_only=True)
class RequiredCheck:
    required: RequiredRun
    cell: MatrixCell

    @property
    def met(self) -> bool:
        return self.cell.verdict == "runs"


@dataclass(frozen=True, kw_only=True)
class MatrixPlan:
    cells: tuple[MatrixCell, ...]
    """Every target on every runner: targets in declaration order, then runners."""
    stranded: tuple[str, ...]
    """Targets that no runner can run."""
    required: tuple[RequiredCheck, ...]

    @property
    def included(self) -> tuple[MatrixCell, ...]:
        return tuple(cell for cell in self.cells if cell.verdict == "runs")

    @property
    def excluded(self) -> tuple[MatrixCell, ...]:
        return tuple(cell for cell in self.cells if cell.verdict == "excluded")

    @property
    def unmet(self) -> tuple[RequiredCheck, ...]:
        return tuple(check for check in self.required if not check.met)

    @property
    def passed(self) -> bool:
        """What `--check` asks: every target has a runner, every required combination runs."""
        return not self.stranded and not self.unmet


# --- inputs ----------------------------------------------------------------------------------


def read_locks(project: Project) -> dict[str, TargetLock]:
    """Every target's lockfile; a missing or stale one is refused, naming the command that
    fixes it (the image a stale lock names would not be the one `envcheck image build` makes)."""
    if not project.targets:
        raise UsageError(f"{project.pyproject} declares no targets, so there is no matrix to "
                         "plan", hint="add one: `envcheck target add NAME --python 3.11 "
                         "--cuda cu130 --torch '==2.14.1'`")
    if not project.runners:
        raise UsageError(f"{project.pyproject} maps no CI runner to a profile",
                         hint="add [tool.envcheck.runners] with a line per runner label, "
                         'for example gpu-a100 = "a100-box" (see `envcheck profile list`)')
    locks: dict[str, TargetLock] = {}
    problems = []
    for status in check_locks(project):
        if status.state != "fresh":
            problems.append(f"{status.target}: {status.path} is {status.state} ({status.detail})")
            continue
        text = status.path.read_text(encoding="utf-8")
        locks[status.target] = TargetLock(lock=parse_lockfile(text, origin=str(status.path)),
                                          text=text)
    if problems:
        names = " ".join(p.split(":", 1)[0] for p in problems)
        raise UsageError("the matrix is planned from each target's lock, and "
                         f"{len(problems)} cannot be used:\n    " + "\n    ".join(problems),
                         hint=f"run `envcheck lock {names}` and commit the lockfiles")
    return locks


# --- the plan ----------------------------------------------------------------------------------


def _judge(target: Target, lock: Lockfile, project: Project, profile: str
           ) -> tuple[Finding, ...]:
    snapshot = snapshot_for(project.profiles[profile], target, lock)
    return tuple(f for f in run_rules(snapshot) if f.severity != "info")


def plan_matrix(project: Project, locks: Mapping[str, TargetLock]) -> MatrixPlan:
    """Each target's lock on each runner's profile. Runners sharing a profile share its
    judgement: the rules run once per (target, profile)."""
    cells: list[MatrixCell] = []
    stranded: list[str] = []
    for target in project.targets.values():
        locked = locks[target.name]
        image = image_tag(target, locked.text)
        judged: dict[str, tuple[Finding, ...]] = {}
        runs_somewhere = False
        for runner, profile in project.runners.items():
            if profile not in judged:
                judged[profile] = _judge(target, locked.lock, project, profile)
            cell = MatrixCell(target=target.name, runner=runner, profile=profile, image=image,
                              findings=judged[profile])
            runs_somewhere = runs_somewhere or cell.verdict == "runs"
            cells.append(cell)
        if not runs_somewhere:
            stranded.append(target.name)
    by_key = {(cell.target, cell.runner): cell for cell in cells}
    required = tuple(RequiredCheck(required=r, cell=by_key[(r.target, r.runner)])
                     for r in project.requires)
    return MatrixPlan(cells=tuple(cells), stranded=tuple(stranded), required=required)


# --- documents ---------------------------------------------------------------------------------


def github_matrix(plan: MatrixPlan) -> dict[str, Any]:
    """The object for `strategy.matrix: ${{ fromJSON(...) }}`: only what can run."""
    return {"include": [{"target": c.target, "runner": c.runner, "profile": c.profile,
                         "image": c.image} for c in plan.included]}


def _finding_json(finding: Finding) -> dict[str, Any]:
    return {"id": finding.id, "severity": finding.severity, "summary": finding.summary,
            "fix": finding.fix}


def matrix_json(plan: MatrixPlan) -> dict[str, Any]:
    def cell_json(cell: MatrixCell) -> dict[str, Any]:
        return {"target": cell.target, "runner": cell.runner, "profile": cell.profile,
                "image": cell.image,
                "findings": [_finding_json(f) for f in cell.findings]}

    return {
        "schema": MATRIX_SCHEMA,
        "verdict": "pass" if plan.passed else "fail",
        "include": [cell_json(c) for c in plan.included],
        "excluded": [cell_json(c) for c in plan.excluded],
        "stranded": list(plan.stranded),
        "required": [{"target": r.required.target, "runner": r.required.runner,
                      "met": r.met} for r in plan.required],
    }


def render_matrix_text(plan: MatrixPlan) -> str:
    """Targets by runners, then why each left-out combination cannot run."""
    runners = list(dict.fromkeys(cell.runner for cell in plan.cells))
    targets = list(dict.fromkeys(cell.target for cell in plan.cells))
    by_key = {(cell.target, cell.runner): cell for cell in plan.cells}
    headers = [f"{runner} ({by_key[(targets[0], runner)].profile})" for runner in runners]
    first = max([len("target"), *map(len, targets)])
    widths = [max(len(header), 4) for header in headers]
    lines = ["  ".join(["target".ljust(first), *(h.ljust(w) for h, w in zip(headers, widths,
                                                                          strict=True))]).rstrip()]
    for target in targets:
        marks = ["runs" if by_key[(target, runner)].verdict == "runs" else "--"
                 for runner in runners]
        lines.append("  ".join([target.ljust(first),
                                *(m.ljust(w) for m, w in zip(marks, widths, strict=True))]
                               ).rstrip())
    if plan.excluded:
        lines.append("")
        lines.append("left out:")
        for cell in plan.excluded:
            lines.append(f"  {cell.target} on {cell.runner} ({cell.profile}):")
            lines.extend(f"    x {finding.summary}" for finding in cell.errors)
    for target in plan.stranded:
        lines.append(f"no runner can run target {target}: add a runner whose machine can, or "
                     "change the target's torch build")
    for check in plan.unmet:
        lines.append(f"required: {check.required.target} on {check.required.runner} cannot run "
                     "([[tool.envcheck.require]])")
    total = len(plan.cells)
    lines.append("")
    lines.append(f"{len(plan.included)} of {total} combinations can run"
                 + ("" if plan.passed else "; --check fails"))
    return "\n".join(lines) + "\n"
