"""`--error TEXT`: rank the causes of the message the user saw, then let the environment
decide each one:

- confirmed: a rule raised an error from the facts read (every reading of an ambiguous fact
  included: "driver 470" is too old for CUDA 12 whichever 470 it is);
- likely: a rule raises the error under one stated reading or assumption (a torch version
  without its build label taken as that release's PyPI default build);
- possible: a fact the rules need is missing (named), or envcheck has no rule for the cause;
- ruled out: every fact the cause's rules need is there, and none of them found a problem.

Unknown facts never rule a cause out, and never confirm one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from envcheck.findings import Finding
from envcheck.knowledge.model import Category
from envcheck.knowledge.signatures import deciding_signatures, match_error, ranked_categories
from envcheck.knowledge.torch_tables import find_release
from envcheck.reports.readings import ReadingGroup
from envcheck.rules import RULES
from envcheck.rules.registry import missing_facts
from envcheck.snapshot import Snapshot
from envcheck.versions import version_or_none

Verdict = Literal["confirmed", "likely", "possible", "ruled_out"]
_VERDICT_ORDER: dict[str, int] = {"confirmed": 0, "likely": 1, "possible": 2, "ruled_out": 3}

RunRules = Callable[[Snapshot], tuple[Finding, ...]]
"""The rules as the doctor runs them (its thresholds), for the other readings."""


@dataclass(frozen=True, kw_only=True)
class CauseAssessment:
    category: Category
    verdict: Verdict
    reason: str
    signatures: tuple[str, ...]
    """The error signatures that pointed at this cause."""
    finding_ids: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    """For "possible": the facts that would decide it."""
    assumption: str | None = None
    """For "likely": the reading or assumption it holds under."""


@dataclass(frozen=True, kw_only=True)
class ReadingOutcome:
    """The error findings of each reading of one group, for every category."""

    group: ReadingGroup
    findings: tuple[tuple[Finding, ...], ...]
    """One tuple per reading, in the group's order."""

    def deciding(self, category: Category) -> list[tuple[int, Finding]]:
        """(reading, finding) pairs that decide `category`: its errors; for a group made for
        this category, any finding of it (a container seeing no GPU is info on its own, when
        nothing says the code wanted one, but it is the answer to the error seen)."""
        meant = self.group.categories is not None and category in self.group.categories
        if self.group.categories is not None and not meant:
            return []
        return [(index, finding) for index, found in enumerate(self.findings)
                for finding in found if finding.category == category
                and (finding.severity == "error" or meant)]

    def unanimous(self, category: Category) -> Finding | None:
        """The error every reading of a "reading" group raises for `category`."""
        if self.group.kind != "reading" or not self.findings:
            return None
        deciding = self.deciding(category)
        if {index for index, _ in deciding} != set(range(len(self.findings))):
            return None
        return deciding[0][1]


def outcomes(groups: Sequence[ReadingGroup], run: RunRules) -> tuple[ReadingOutcome, ...]:
    return tuple(ReadingOutcome(group=group, findings=tuple(
        tuple(f for f in run(reading.snapshot) if f.severity != "info"
              or group.categories is not None)
        for reading in group.readings)) for group in groups)


def decided_by_every_reading(results: Sequence[ReadingOutcome],
                             findings: tuple[Finding, ...]) -> list[Finding]:
    """Errors every reading of an ambiguous fact raises: the report decides them."""
    known = {f.id for f in findings}
    decided: list[Finding] = []
    for outcome in results:
        categories = {f.category for found in outcome.findings for f in found
                      if f.severity == "error"}
        for category in sorted(categories):
            finding = outcome.unanimous(category)
            if finding is not None and finding.id not in known:
                decided.append(finding)
                known.add(finding.id)
    return decided


def message_findings(text: str, snapshot: Snapshot, findings: tuple[Finding, ...],
                     results: Sequence[ReadingOutcome] = ()) -> list[Finding]:
    """Errors a message states outright (signatures with `decides = true`): torch comparing
    its own build with the driver, the loader naming the glibc it lacks. None is raised when
    the facts read contradict it: the cause's rules have every fact they need and found
    nothing (a paste whose versions are consistent stays clean)."""
    deciding = deciding_signatures()
    raised: list[Finding] = []
    if _consistent_stack(snapshot, findings):
        # Issue 11: a paste whose versions are consistent gets no error, whatever error text
        # comes with it; what the message says stays a possible cause.
        return raised
    for match in match_error(text):
        signature = match.signature
        category = signature.categories[0]
        if signature.id not in deciding or any(
                f.category == category and f.severity == "error" for f in (*findings, *raised)):
            continue
        rules = [r for r in RULES if r.category == category]
        if rules and not any(missing_facts(r, snapshot) for r in rules):
            continue  # decided by the facts, and they found no problem
        message = " ".join(match.matched_text.split())
        # The fix a reading of the facts gives (a torch build this driver runs), when one does.
        fix = next((finding.fix for outcome in results
                    for _, finding in outcome.deciding(category) if finding.fix), None)
        raised.append(Finding(
            id=f"{signature.id}{_STATED}", category=category, severity="error",
            summary=f"the error message states it: {message[:200]}",
            explanation=signature.explanation, fix=fix, evidence={"message": message[:500]},
            rule="error-message"))
    return raised


_PIP_UNRESOLVED = re.compile(
    r"Could not find a version that satisfies the requirement torch===?(?P<version>\d{1,2}"
    r"\.\d{1,3}(?:\.\d{1,3})?)(?:\+(?P<variant>[a-z0-9.]{2,12}))? \(from versions: "
    r"(?P<versions>[^)\n]{0,2000})\)")


def _consistent_stack(snapshot: Snapshot, findings: tuple[Finding, ...]) -> bool:
    """The driver and torch's build are read, the rules that judge them can decide, and no
    rule found an error: the environment's versions are consistent."""
    if any(f.severity == "error" for f in findings):
        return False
    core = [r for r in RULES if r.id in ("driver-new-enough", "torch-has-cuda")]
    return bool(core) and not any(missing_facts(r, snapshot) for r in core)


def pip_resolution_findings(text: str, snapshot: Snapshot) -> list[Finding]:
    """pip found no `torch==X(+variant)`: was that build ever published (envcheck's torch
    tables)? A build that never existed is the wrong pin; one that exists has no wheel for
    this interpreter (the versions pip lists are the ones it has for it)."""
    match = _PIP_UNRESOLVED.search(text)
    if match is None:
        return []
    version = version_or_none(match.group("version"))
    release = find_release(version) if version is not None else None
    if release is None:
        return []
    names = [variant.name for variant in release.variants]
    wanted = match.group("variant")
    requested = f"torch=={release.version}" + (f"+{wanted}" if wanted else "")
    if wanted and wanted not in names:
        return [Finding(
            id="torch-build-never-published", category="broken_requirements",
            severity="error",
            summary=f"{requested} was never published: torch {release.version}'s builds are "
                    f"{', '.join(names)}",
            explanation="pip looks for a build label that PyTorch never released for this "
                        "version, so no index can serve it.",
            fix=f"pip install torch=={release.version} --index-url "
                f"https://download.pytorch.org/whl/{names[0]}   # or another of: "
                f"{', '.join(names)}",
            evidence={"requested": requested, "builds": ", ".join(names)},
            rule="error-message")]
    minor = python_minor_of(snapshot)
    if minor is not None and release.python and minor in release.python:
        return []  # this interpreter has wheels: the reason is elsewhere (platform, index)
    python = f"Python {', '.join(release.python)}" if release.python else "other interpreters"
    newest = release.python[-1] if release.python else "3.11"
    return [Finding(
        id="torch-build-has-no-wheel-here", category="python_unsupported", severity="error",
        summary=f"{requested} exists, but pip found no wheel of it for this interpreter "
                f"(it has wheels for {python}); pip saw only: "
                f"{match.group('versions')[:120]}",
        explanation="The release and build are published, so the interpreter or the platform "
                    "is the reason: a Python that release has no wheels for, or a 32-bit "
                    "interpreter.",
        fix=f"use a 64-bit Python {newest}, e.g. uv venv --python {newest}",
        evidence={"requested": requested, "python": ", ".join(release.python)},
        rule="error-message")]


def python_minor_of(snapshot: Snapshot) -> str | None:
    version = snapshot.python.version
    return f"{version.major}.{version.minor}" if version is not None else None


def assess_error(text: str, snapshot: Snapshot, findings: tuple[Finding, ...],
                 results: Sequence[ReadingOutcome] = ()) -> tuple[CauseAssessment, ...]:
    matches = match_error(text)
    assessments = []
    firsts = {m.signature.categories[0] for m in matches}
    for category in ranked_categories(matches):
        signature_ids = tuple(dict.fromkeys(
            m.signature.id for m in matches if category in m.signature.categories))
        assessments.append(_assess(category, snapshot, findings, signature_ids, results,
                                   first=category in firsts))
    # Stable sort: within a verdict, the signatures' own ranking stays.
    return tuple(sorted(assessments, key=lambda a: _VERDICT_ORDER[a.verdict]))


def likely_causes(causes: tuple[CauseAssessment, ...],
                  findings: tuple[Finding, ...]) -> tuple[Category, ...]:
    """The answer to "what is wrong?", most likely first.

    With an error message, the causes it points at come first, confirmed before likely
    before possible: a real but unrelated problem (an nvcc mismatch) must not outrank the
    cause of the error the user saw. Then every other category with an error finding.
    Causes the facts ruled out are not listed.
    """
    ranked: list[Category] = []
    # Confirmed by the facts before confirmed by the message alone: facts that explain the
    # message (an old cuDNN first on LD_LIBRARY_PATH) name the deeper cause of what it says.
    ranked += [c.category for c in causes if c.verdict == "confirmed" and not _stated(c)]
    ranked += [c.category for c in causes if c.verdict == "confirmed" and _stated(c)]
    for verdict in ("likely", "possible"):
        ranked += [c.category for c in causes if c.verdict == verdict]
    ranked += [f.category for f in findings if f.severity == "error"]
    return _roots_first(tuple(dict.fromkeys(ranked)), findings)


def _roots_first(ranked: tuple[Category, ...],
                 findings: tuple[Finding, ...]) -> tuple[Category, ...]:
    """An error that makes other causes' fixes moot goes before them: a GPU older than every
    architecture a build can carry stays unusable whatever driver is installed
    (envcheck.rules.gpu_floor_rules names driver_too_old in its `outranks` evidence)."""
    order = list(ranked)
    for finding in findings:
        if finding.severity != "error" or finding.category not in order:
            continue
        for other in finding.evidence.get("outranks", "").split():
            if other in order and order.index(other) < order.index(finding.category):
                order.remove(finding.category)
                order.insert(order.index(other), finding.category)
    return tuple(order)


def _stated(cause: CauseAssessment) -> bool:
    """Confirmed only by a message that states its cause (message_findings)."""
    return bool(cause.finding_ids) and all(i.endswith(_STATED) for i in cause.finding_ids)


_STATED = "-reported"


def _assess(category: Category, snapshot: Snapshot, findings: tuple[Finding, ...],
            signature_ids: tuple[str, ...], results: Sequence[ReadingOutcome],
            *, first: bool = False) -> CauseAssessment:
    confirming = [f for f in findings if f.category == category and f.severity == "error"]
    if confirming:
        return CauseAssessment(category=category, verdict="confirmed",
                               reason=confirming[0].summary, signatures=signature_ids,
                               finding_ids=tuple(f.id for f in confirming))
    for outcome in results:
        deciding = outcome.deciding(category)
        if deciding:
            index, finding = deciding[0]
            says = outcome.group.readings[index].says
            return CauseAssessment(category=category, verdict="likely",
                                   reason=f"{finding.summary} ({says})",
                                   signatures=signature_ids, finding_ids=(finding.id,),
                                   assumption=says)
    # A warning is a risk, not the proof that it caused this error (an nvcc one minor
    # version off does not make a prebuilt wheel lack kernels): possible, never ruled out.
    # Only when the message's first cause is the very risk the facts show (PTX-only code
    # for this GPU, and "no kernel image") is it likely: the error is what the risk leads to.
    warning = [f for f in findings if f.category == category and f.severity == "warning"]
    if warning and first:
        says = "the error is the one this risk leads to"
        return CauseAssessment(category=category, verdict="likely",
                               reason=f"{warning[0].summary} ({says})",
                               signatures=signature_ids,
                               finding_ids=tuple(f.id for f in warning), assumption=says)
    if warning:
        return CauseAssessment(category=category, verdict="possible",
                               reason=f"a risk, not a proven cause: {warning[0].summary}",
                               signatures=signature_ids,
                               finding_ids=tuple(f.id for f in warning))
    # "other" has only envcheck's own checks (its tables' age, its probes): they never
    # decide what caused an error, so they must not be named as the facts it lacks.
    rules = [r for r in RULES if r.category == category and category != "other"]
    if not rules:
        return CauseAssessment(
            category=category, verdict="possible", signatures=signature_ids,
            reason="envcheck has no check for this cause; it depends on the code that ran",
        )
    missing = tuple(dict.fromkeys(m for r in rules for m in missing_facts(r, snapshot)))
    if missing:
        return CauseAssessment(
            category=category, verdict="possible", signatures=signature_ids, missing=missing,
            reason=f"cannot check without {', '.join(missing)}",
        )
    checked = "; ".join(r.needs for r in rules)
    return CauseAssessment(category=category, verdict="ruled_out", signatures=signature_ids,
                           reason=f"checked {checked}: no problem found")
