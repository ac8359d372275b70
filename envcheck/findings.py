"""What the doctor says: findings with measured values and a way out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

from envcheck.knowledge.model import Category

Severity = Literal["error", "warning", "info"]
CATEGORIES: tuple[str, ...] = get_args(Category)
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True, kw_only=True)
class Finding:
    id: str
    """Stable identifier, e.g. `driver-too-old-for-torch-cuda`; CI configs may match on it."""
    category: Category
    severity: Severity
    summary: str
    """One line with the measured values."""
    explanation: str
    fix: str | None = None
    """A concrete command where there is one."""
    evidence: Mapping[str, str] = field(default_factory=dict)
    """The measured values behind the summary, for machines to read."""
    rule: str = ""
    """The rule that found it (set by the registry)."""


def sort_findings(findings: list[Finding]) -> tuple[Finding, ...]:
    return tuple(sorted(findings, key=lambda f: SEVERITY_ORDER[f.severity]))
