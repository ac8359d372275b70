"""vLLM's memory budget read from a paste (envcheck.reports.run_settings), on lines copied from
public threads (named at each case) unless marked synthetic."""

from __future__ import annotations

import pytest

from envcheck.knowledge.vllm_memory import memory_budget
from envcheck.reports.run_settings import budget_findings, read_memory_budgets


@pytest.mark.parametrize(("line", "written"), [
    # https://github.com/vllm-project/vllm/issues/1298
    ("The default gpu_memory_utilization is 0.90, and the above command can run normally.",
     ["0.90"]),
    ("But if I set the gpu_memory_utilization default value to 1.0 and run the same command, "
     "OOM occurs", ["1.0"]),
    # https://github.com/QwenLM/Qwen3/issues/12
    ("python -m vllm.entrypoints.openai.api_server --model data/Qwen1.5-14B-Chat --host "
     "0.0.0.0 --port 30005 --dtype half --gpu-memory-utilization 0.95", ["0.95"]),
    # https://github.com/macrocosm-os/apex/pull/229
    ("_ = LLM(model=model_id, gpu_memory_utilization = 1, tensor_parallel_size = 4, )", ["1"]),
    # https://github.com/vllm-project/vllm/issues/2418 (names the setting, gives no value)
    ("Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when", []),
])
def test_the_budget_is_read_as_written(line: str, written: list[str]) -> None:
    assert [setting.written for setting in read_memory_budgets([line])] == written


def test_the_table_holds_the_maintainers_values() -> None:
    budget = memory_budget()
    assert (budget.default, budget.safe_max) == (0.9, 0.95)
    assert budget.source == "https://github.com/vllm-project/vllm/issues/1298"


def test_only_a_budget_above_the_safe_one_is_a_warning() -> None:
    # https://github.com/vllm-project/vllm/issues/1298
    lines = ["The default gpu_memory_utilization is 0.90, and the above command can run "
             "normally.", "",
             "But if I set the gpu_memory_utilization default value to 1.0 and run the same "
             "command, OOM occurs"]
    findings = budget_findings(read_memory_budgets(lines))
    assert [(f.id, f.category, f.severity) for f in findings] == [
        ("vllm-memory-budget-too-high", "memory", "warning")]
    assert "1.0 (line 3)" in findings[0].summary
    assert budget_findings(read_memory_budgets(lines[:1])) == []
