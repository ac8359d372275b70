"""The doctor's rules, in the order their findings are most useful to read."""

from __future__ import annotations

from dataclasses import replace

from envcheck.findings import Finding, sort_findings
from envcheck.rules import (
    companion_rules,
    driver_rules,
    framework_rules,
    gpu_floor_rules,
    host_rules,
    nccl_rules,
    probe_rules,
    requirements_rules,
    stack_rules,
    torch_rules,
)
from envcheck.rules.context import Thresholds
from envcheck.rules.registry import Rule
from envcheck.snapshot import Snapshot

RULES: tuple[Rule, ...] = (
    *driver_rules.RULES,
    *host_rules.RULES[:1],  # a container without a GPU explains most of what follows
    *torch_rules.RULES,
    *gpu_floor_rules.RULES,
    *stack_rules.RULES,
    *host_rules.RULES[1:],
    *nccl_rules.RULES,
    *requirements_rules.RULES,
    *framework_rules.RULES,
    *companion_rules.RULES,
    *probe_rules.RULES,
)


def run_rules(snapshot: Snapshot, thresholds: Thresholds | None = None) -> tuple[Finding, ...]:
    """Every finding for this Snapshot, errors first, in rule order within a severity."""
    thresholds = thresholds or Thresholds()
    findings = [replace(finding, rule=rule.id)
                for rule in RULES for finding in rule.check(snapshot, thresholds)]
    return sort_findings(findings)
