"""vLLM's memory budget (gpu_memory_utilization): its default and the highest safe value, from
envcheck/knowledge/data/vllm_memory.toml (cited there)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from envcheck.knowledge.data_files import KnowledgeError, load_sources, read_data_file, source_urls

DATA_FILE = "vllm_memory.toml"


@dataclass(frozen=True, kw_only=True)
class MemoryBudget:
    default: float
    safe_max: float
    source: str
    """The URL the values come from."""


@cache
def memory_budget() -> MemoryBudget:
    document = read_data_file(DATA_FILE)
    load_sources(DATA_FILE, document)  # validates the list
    urls = source_urls(document)
    raw = document.get("gpu_memory_utilization")
    if not isinstance(raw, dict):
        raise KnowledgeError(f"knowledge file {DATA_FILE} has no [gpu_memory_utilization]")
    default, safe_max, source = raw.get("default"), raw.get("safe_max"), raw.get("source")
    if not (isinstance(default, float) and isinstance(safe_max, float)
            and 0 < default <= safe_max <= 1):
        raise KnowledgeError(f"knowledge file {DATA_FILE}: default and safe_max must be "
                             "fractions with default <= safe_max")
    if source not in urls:
        raise KnowledgeError(f"knowledge file {DATA_FILE}: source {source!r} is not listed")
    return MemoryBudget(default=default, safe_max=safe_max, source=urls[str(source)])
