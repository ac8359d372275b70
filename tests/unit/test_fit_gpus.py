"""Which GPUs `envcheck fit` fits on: a named GPU's memory from the GPU table, counts, this
machine's GPUs when NVML gives no size, and the parameter counts MODEL may not be."""

from __future__ import annotations

from pathlib import Path

import pytest

from envcheck.fit import GIB, MIB, capacities, named_capacities, unsized
from envcheck.fit_model import MAX_PARAMETERS, FitInputError, load_model
from envcheck.snapshot import Gpu


@pytest.mark.parametrize(
    ("written", "name", "memory_gib"),
    [
        ("RTX 4090", "NVIDIA GeForce RTX 4090", 24),
        ("4090", "NVIDIA GeForce RTX 4090", 24),
        ("A10G", "NVIDIA A10G", 24),
        ("NVIDIA A100-SXM4-80GB", "NVIDIA A100-SXM4-80GB", 80),
        ("H100 PCIe", "NVIDIA H100 PCIe", 80),
        ("H100 NVL", "NVIDIA H100 NVL", 94),
        ("RTX 4060 Ti 16GB", "NVIDIA GeForce RTX 4060 Ti 16GB", 16),
        ("3070 Laptop", "NVIDIA GeForce RTX 3070 Laptop GPU", 8),
    ],
)
def test_a_named_gpu_gets_the_tables_memory(written: str, name: str, memory_gib: int) -> None:
    (gpu,) = named_capacities(written, None)
    assert (gpu.name, gpu.memory_bytes, gpu.memory_from, gpu.index) == (
        name, memory_gib * GIB, "gpu table", None)


def test_a_count_gives_that_many_gpus_each_numbered() -> None:
    gpus = named_capacities("2x A6000", None)
    assert [(g.name, g.index, g.memory_bytes) for g in gpus] == [
        ("NVIDIA RTX A6000", 0, 48 * GIB), ("NVIDIA RTX A6000", 1, 48 * GIB)]


def test_given_memory_wins_and_keeps_the_tables_name() -> None:
    (gpu,) = named_capacities("RTX 4060 Ti", 16)
    assert (gpu.name, gpu.memory_bytes, gpu.memory_from) == (
        "NVIDIA GeForce RTX 4060 Ti", 16 * GIB, "--gpu-memory")
    (unknown,) = named_capacities("Some Future GPU", 12.5)
    assert (unknown.name, unknown.memory_bytes) == ("Some Future GPU", int(12.5 * GIB))


def test_a_name_of_several_sizes_lists_them() -> None:
    with pytest.raises(FitInputError) as caught:
        named_capacities("RTX 4060 Ti", None)
    message = caught.value.message
    assert "NVIDIA GeForce RTX 4060 Ti 16GB (16 GiB)" in message
    assert "NVIDIA GeForce RTX 4060 Ti 8GB (8 GiB)" in message
    assert caught.value.hint is not None
    assert "--gpu-memory" in caught.value.hint
    with pytest.raises(FitInputError, match=r"NVIDIA A100-SXM4-40GB \(40 GiB\)"):
        named_capacities("A100", None)


@pytest.mark.parametrize(
    ("written", "memory", "message"),
    [
        ("Radeon RX 7900", None, "does not know the GPU 'Radeon RX 7900'"),
        ("B100", None, "no memory size for NVIDIA B100"),
        ("RTX 4090", 0, "--gpu-memory must be a positive number"),
        ("RTX 4090", -24, "--gpu-memory must be a positive number"),
        ("0x RTX 4090", None, "the count must be 1 to"),
    ],
)
def test_named_gpu_errors(written: str, memory: float | None, message: str) -> None:
    with pytest.raises(FitInputError, match=message):
        named_capacities(written, memory)


def test_machine_gpus_use_nvml_and_fall_back_to_the_table() -> None:
    gpus = [
        Gpu(index=0, name="NVIDIA GeForce RTX 4090", memory_total_mib=24564,
            memory_used_mib=388),
        # An old driver that reports no memory: the table's size for the reported name.
        Gpu(index=1, name="Tesla T4"),
        # Neither NVML nor the table knows it: left out, and said so.
        Gpu(index=2, name="Graphics Device"),
    ]
    found = capacities(gpus)
    assert [(g.index, g.memory_bytes, g.used_bytes, g.memory_from) for g in found] == [
        (0, 24564 * MIB, 388 * MIB, "nvml"), (1, 16 * GIB, 0, "gpu table")]
    assert [g.index for g in unsized(gpus)] == [2]


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("-5B", "a parameter count must be positive"),
        ("0B", "a parameter count must be positive"),
        ("-0.5M", "a parameter count must be positive"),
        ("99999T", "more than the 100T envcheck estimates"),
        ("1e999B", "more than the 100T envcheck estimates"),
    ],
)
def test_counts_no_model_has_are_refused(model: str, message: str) -> None:
    with pytest.raises(FitInputError, match=message):
        load_model(model, cwd=Path("/"))


def test_the_largest_count_is_still_estimated() -> None:
    assert load_model("100T", cwd=Path("/")).parameters == MAX_PARAMETERS
