"""conda metapackages that select the PyTorch variant (_pytorch_select cpu_0, pytorch-mutex
cpu): envcheck/knowledge/data/conda_selectors.toml."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from envcheck.knowledge.data_files import KnowledgeError, load_sources, read_data_file, source_urls

DATA_FILE = "conda_selectors.toml"


@dataclass(frozen=True, kw_only=True)
class VariantSelector:
    name: str
    cpu_build: re.Pattern[str]
    """A build string of the package that selects the CPU variant."""
    source: str


@cache
def variant_selectors() -> tuple[VariantSelector, ...]:
    document = read_data_file(DATA_FILE)
    load_sources(DATA_FILE, document)
    urls = source_urls(document)
    rows = []
    for index, entry in enumerate(document.get("selector") or []):
        where = f"knowledge file {DATA_FILE}: selector[{index}]"
        name, pattern = entry.get("name"), entry.get("cpu_build")
        if not isinstance(name, str) or not isinstance(pattern, str):
            raise KnowledgeError(f"{where}: name and cpu_build must be strings")
        if entry.get("source") not in urls:
            raise KnowledgeError(f"{where}: source is not one of the file's sources")
        try:
            compiled = re.compile(pattern)
        except re.error as e:
            raise KnowledgeError(f"{where}: cpu_build does not compile: {e}") from e
        rows.append(VariantSelector(name=name, cpu_build=compiled,
                                    source=urls[str(entry["source"])]))
    return tuple(rows)


def selects_cpu_build(name: str, build: str) -> VariantSelector | None:
    """The selector when this conda row picks the CPU variant of pytorch."""
    return next((s for s in variant_selectors()
                 if s.name == name and s.cpu_build.match(build)), None)
