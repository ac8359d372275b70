"""What each CUDA toolkit's nvcc can compile for, from data/nvcc_targets.toml.

This decides "this toolkit cannot build for your GPU" and bounds from above the arch list of
any torch build made with that toolkit (a cu126 build cannot carry sm_120 code: nvcc 12.6
does not produce it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from typing import Any, Literal

from packaging.version import Version

from envcheck.knowledge.data_files import (
    KnowledgeError,
    data_error,
    load_sources,
    read_data_file,
    source_urls,
)
from envcheck.knowledge.model import Source

NVCC_FILE = "nvcc_targets.toml"
_MAJOR_MINOR = re.compile(r"\d+\.\d+")

NvccReach = Literal["machine-code", "ptx-only", "none"]


@dataclass(frozen=True, kw_only=True)
class NvccTargets:
    """The `sm_XY` numbers one toolkit minor compiles for (86 = compute capability 8.6)."""

    cuda: Version
    sm: tuple[int, ...]
    source: str

    @property
    def lowest(self) -> int:
        return self.sm[0]

    @property
    def highest(self) -> int:
        return self.sm[-1]

    @property
    def arch_names(self) -> tuple[str, ...]:
        """As nvcc --list-gpu-code prints them, ascending: sm_75 ... sm_121."""
        return tuple(f"sm_{number}" for number in self.sm)


def _fail(where: str, problem: str) -> KnowledgeError:
    return data_error(NVCC_FILE, where, problem)


@cache
def _document() -> dict[str, Any]:
    return read_data_file(NVCC_FILE)


@cache
def nvcc_sources() -> tuple[Source, ...]:
    return load_sources(NVCC_FILE, _document())


@cache
def nvcc_targets() -> tuple[NvccTargets, ...]:
    """Every toolkit minor in the table, oldest first."""
    return parse_nvcc_targets(_document())


def parse_nvcc_targets(document: Mapping[str, Any]) -> tuple[NvccTargets, ...]:
    """The [[nvcc]] rows, validated: a cited source each, ascending distinct CUDA minors,
    ascending distinct sm numbers."""
    load_sources(NVCC_FILE, dict(document))
    ids = source_urls(document).keys()
    raw = document.get("nvcc")
    if not isinstance(raw, list) or not raw:
        raise _fail("nvcc", "needs a non-empty list of [[nvcc]] entries")
    rows: list[NvccTargets] = []
    for index, entry in enumerate(raw):
        where = f"nvcc[{index}] ({entry.get('cuda')!r})" if isinstance(entry, dict) else (
            f"nvcc[{index}]")
        if not isinstance(entry, dict):
            raise _fail(where, "is not a table")
        cuda = entry.get("cuda")
        if not isinstance(cuda, str) or not _MAJOR_MINOR.fullmatch(cuda):
            raise _fail(where, f"`cuda` must be major.minor like \"12.8\", got {cuda!r}")
        source = entry.get("source")
        if source not in ids:
            raise _fail(where, f"`source` must name one of the sources {sorted(ids)}, "
                        f"got {source!r}")
        sm = entry.get("sm")
        if (not isinstance(sm, list) or not sm
                or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in sm)
                or sm != sorted(set(sm))):
            raise _fail(where, f"`sm` must be ascending distinct positive integers, got {sm!r}")
        rows.append(NvccTargets(cuda=Version(cuda), sm=tuple(sm), source=str(source)))
    for earlier, later in pairwise(rows):
        if later.cuda <= earlier.cuda:
            raise _fail("nvcc", f"entries must ascend without duplicates: {later.cuda} "
                        f"follows {earlier.cuda}")
    return tuple(rows)


def targets_for(cuda: Version) -> NvccTargets | None:
    """The row of a toolkit's minor (12.6.3 -> 12.6); None when the table lacks it."""
    wanted = (cuda.major, cuda.minor)
    return next((r for r in nvcc_targets() if (r.cuda.major, r.cuda.minor) == wanted), None)


def dropped_by(cuda: Version) -> tuple[int, ...]:
    """The sm numbers the previous toolkit in the table had and this one has not."""
    rows = nvcc_targets()
    for earlier, later in pairwise(rows):
        if (later.cuda.major, later.cuda.minor) == (cuda.major, cuda.minor):
            return tuple(n for n in earlier.sm if n not in later.sm)
    return ()


def capability_number(capability: str) -> int | None:
    """"8.6" -> 86, "12.0" -> 120; None for anything else."""
    match = re.fullmatch(r"(\d+)\.(\d)", capability.strip())
    return int(match.group(1)) * 10 + int(match.group(2)) if match else None


def nvcc_reach(targets: NvccTargets, capability: str) -> NvccReach:
    """What this toolkit can build that runs on a GPU of `capability`.

    "machine-code": it compiles sm_XY for the GPU's major with a minor at most the GPU's
    (cubins run on later minors of their major). "ptx-only": only PTX of an older
    architecture, which the driver JIT-compiles at first launch. "none": every target is
    newer than the GPU (PTX never runs on an older GPU). Source: CUDA C++ Programming Guide,
    "Binary Compatibility" and "PTX Compatibility".
    """
    number = capability_number(capability)
    if number is None:
        return "none"
    major, minor = divmod(number, 10)
    if any(n // 10 == major and n % 10 <= minor for n in targets.sm):
        return "machine-code"
    if any(n <= number for n in targets.sm):
        return "ptx-only"
    return "none"


def highest_for(cuda: Version) -> int | None:
    """The newest sm number a build made with CUDA `cuda` can carry; None when unknown."""
    row = targets_for(cuda)
    return row.highest if row else None
