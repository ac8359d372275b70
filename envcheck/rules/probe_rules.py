"""What envcheck itself could not see: a check that could not run is said, not skipped."""

from __future__ import annotations

from collections.abc import Iterator

from envcheck.findings import Finding
from envcheck.rules.context import Thresholds
from envcheck.rules.registry import Rule
from envcheck.snapshot import Snapshot

# Probes whose failure the other rules already explain in their own words.
_EXPLAINED_ELSEWHERE = frozenset({"driver", "python", "torch-deep"})


def check_probes(snapshot: Snapshot, _t: Thresholds) -> Iterator[Finding]:
    python, torch = snapshot.python, snapshot.torch
    if python.status == "error":
        yield Finding(
            id="python-not-inspected",
            category="other",
            severity="warning",
            summary=f"The target Python could not be inspected: {python.detail}",
            explanation="Checks of torch, its companions and the installed packages did not "
                        "run.",
            fix="envcheck doctor --python path/to/venv/bin/python",
        )
    elif torch.status == "error":
        yield Finding(
            id="torch-unusable",
            category="other",
            severity="error",
            summary=f"torch is installed but unusable: {torch.detail}",
            explanation="A torch that cannot be read or imported (a crash in a native "
                        "library, a half-finished install) fails the job at its first line.",
            fix="pip install --force-reinstall torch   # with the version and index you use",
        )
    for run in snapshot.probes:
        if run.status == "error" and run.name not in _EXPLAINED_ELSEWHERE \
                and not run.name.startswith("report:"):
            yield Finding(
                id="probe-failed",
                category="other",
                severity="info",
                summary=f"The {run.name} probe failed: {run.detail or 'no reason given'}",
                explanation="Facts this probe collects are missing from the Snapshot; checks "
                            "that need them did not run.",
                fix=None,
            )


RULES = (
    Rule(id="probes-ran", category="other", check=check_probes, knows=lambda _s: False,
         needs="envcheck's own probes"),
)
