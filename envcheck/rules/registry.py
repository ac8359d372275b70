"""A rule: a small pure function of (Snapshot, Thresholds) to findings, plus what it needs.

`knows` says whether the Snapshot holds the facts the rule needs. It lets the doctor
tell "checked, and fine" (a cause ruled out) from "could not check" (a pasted report
that does not say), so that unknown facts never turn into confident answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from envcheck.findings import Finding
from envcheck.knowledge.model import Category
from envcheck.rules.context import Thresholds
from envcheck.snapshot import Snapshot

Check = Callable[[Snapshot, Thresholds], Iterable[Finding]]


@dataclass(frozen=True, kw_only=True)
class Rule:
    id: str
    category: Category
    check: Check
    knows: Callable[[Snapshot], bool]
    needs: str
    """The facts it needs, as a phrase: "the driver version and torch's CUDA build"."""
