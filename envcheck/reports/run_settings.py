"""How the run was configured, as far as a paste shows it: vLLM's memory budget.

`--gpu-memory-utilization 0.98`, `LLM(..., gpu_memory_utilization=1.0)`, or in prose "set the
gpu_memory_utilization default value to 1.0": the fraction of each GPU's memory vLLM claims.
Above the value vLLM's maintainers call safe (envcheck/knowledge/vllm_memory.py) it is a risk
of exactly the out-of-memory those runs report, so it is a warning: the paste does not say
whether the run that failed is the one with that value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from envcheck.findings import Finding
from envcheck.knowledge.vllm_memory import memory_budget

_BUDGET = re.compile(
    r"gpu[_-]memory[_-]utilization\b[^\n\d]{0,40}?(?<![\d.])(?P<value>0?\.\d{1,3}|1(?:\.0{1,3})?)"
    r"(?![\d.]*\d)", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class BudgetSetting:
    value: float
    written: str
    """The value as the paste writes it ("1.0", ".98")."""
    line: int
    """1-based line of the setting."""
    text: str


def read_memory_budgets(lines: Sequence[str]) -> tuple[BudgetSetting, ...]:
    """Every gpu_memory_utilization value a line sets or names, in paste order."""
    found: list[BudgetSetting] = []
    for index, line in enumerate(lines):
        if "utilization" not in line.lower() or len(line) > 2_000:
            continue
        for match in _BUDGET.finditer(line):
            written = match.group("value")
            found.append(BudgetSetting(value=float(written), written=written, line=index + 1,
                                       text=line.strip()[:200]))
    return tuple(found)


def budget_findings(settings: Sequence[BudgetSetting]) -> list[Finding]:
    """A warning for the highest budget above the safe one, when there is one."""
    budget = memory_budget()
    risky = [setting for setting in settings if setting.value > budget.safe_max]
    if not risky:
        return []
    highest = max(risky, key=lambda setting: setting.value)
    return [Finding(
        id="vllm-memory-budget-too-high", category="memory", severity="warning",
        summary=f"gpu_memory_utilization {highest.written} (line {highest.line}) is above "
                f"{budget.safe_max:g}, the highest vLLM's maintainers call safe",
        explanation="vLLM claims this fraction of each GPU's memory from an approximate "
                    "profile of the model; what the profile misses (CUDA context, NCCL "
                    "buffers, other processes) must fit in the rest, and at 0.98 or 1.0 it "
                    "does not: the run goes out of memory.",
        fix=f"--gpu-memory-utilization {budget.default:g} (the default) up to "
            f"{budget.safe_max:g}; to fit more, lower --max-model-len or --max-num-seqs",
        evidence={"value": highest.written, "line": str(highest.line),
                  "source": budget.source},
        rule="report-run-settings")]
