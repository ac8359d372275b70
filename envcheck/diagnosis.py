"""`--error TEXT`: rank the causes of the message the user saw, then let the environment
confirm or rule out each one. A cause the facts cannot decide stays "possible": unknown
facts never produce a confident answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from envcheck.findings import Finding
from envcheck.knowledge.model import Category
from envcheck.knowledge.signatures import match_error, ranked_categories
from envcheck.rules import RULES
from envcheck.snapshot import Snapshot

Verdict = Literal["confirmed", "possible", "ruled_out"]
_VERDICT_ORDER: dict[str, int] = {"confirmed": 0, "possible": 1, "ruled_out": 2}


@dataclass(frozen=True, kw_only=True)
class CauseAssessment:
    category: Category
    verdict: Verdict
    reason: str
    signatures: tuple[str, ...]
    """The error signatures that pointed at this cause."""
    finding_ids: tuple[str, ...] = ()


def assess_error(text: str, snapshot: Snapshot,
                 findings: tuple[Finding, ...]) -> tuple[CauseAssessment, ...]:
    matches = match_error(text)
    assessments = []
    for category in ranked_categories(matches):
        signature_ids = tuple(dict.fromkeys(
            m.signature.id for m in matches if category in m.signature.categories))
        assessments.append(_assess(category, snapshot, findings, signature_ids))
    # Stable sort: within a verdict, the signatures' own ranking stays.
    return tuple(sorted(assessments, key=lambda a: _VERDICT_ORDER[a.verdict]))


def likely_causes(causes: tuple[CauseAssessment, ...],
                  findings: tuple[Finding, ...]) -> tuple[Category, ...]:
    """The answer to "what is wrong?", most likely first.

    With an error message, the causes it points at come first, confirmed before possible:
    a real but unrelated problem (an nvcc mismatch) must not outrank the cause of the
    error the user saw. Then every other category with an error finding. Causes the facts
    ruled out are not listed.
    """
    ranked: list[Category] = [c.category for c in causes if c.verdict == "confirmed"]
    ranked += [c.category for c in causes if c.verdict == "possible"]
    ranked += [f.category for f in findings if f.severity == "error"]
    return tuple(dict.fromkeys(ranked))


def _assess(category: Category, snapshot: Snapshot, findings: tuple[Finding, ...],
            signature_ids: tuple[str, ...]) -> CauseAssessment:
    confirming = [f for f in findings if f.category == category and f.severity == "error"]
    if confirming:
        return CauseAssessment(category=category, verdict="confirmed",
                               reason=confirming[0].summary, signatures=signature_ids,
                               finding_ids=tuple(f.id for f in confirming))
    # A warning is a risk, not the proof that it caused this error (an nvcc one minor
    # version off does not make a prebuilt wheel lack kernels): possible, never ruled out.
    warning = [f for f in findings if f.category == category and f.severity == "warning"]
    if warning:
        return CauseAssessment(category=category, verdict="possible",
                               reason=f"a risk, not a proven cause: {warning[0].summary}",
                               signatures=signature_ids,
                               finding_ids=tuple(f.id for f in warning))
    rules = [r for r in RULES if r.category == category]
    if not rules:
        return CauseAssessment(
            category=category, verdict="possible", signatures=signature_ids,
            reason="envcheck has no check for this cause; it depends on the code that ran",
        )
    unknown = [r.needs for r in rules if not r.knows(snapshot)]
    if unknown:
        return CauseAssessment(
            category=category, verdict="possible", signatures=signature_ids,
            reason=f"cannot check without {'; '.join(unknown)}",
        )
    checked = "; ".join(r.needs for r in rules)
    return CauseAssessment(category=category, verdict="ruled_out", signatures=signature_ids,
                           reason=f"checked {checked}: no problem found")
