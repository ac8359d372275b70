"""The GPU model table and find_gpu on names as NVML, nvidia-smi and collect_env print them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from envcheck.knowledge.cuda_tables import (
    find_gpu,
    gpu_models,
    gpu_sources,
    gpus_with_capability,
    parse_gpu_models,
)
from envcheck.knowledge.data_files import KnowledgeError

ARCHITECTURES = {
    "Kepler", "Maxwell", "Pascal", "Volta", "Turing", "Ampere", "Ada Lovelace", "Hopper",
    "Blackwell",
}
SOURCES = [{"id": "s", "title": "t", "url": "https://example.invalid/", "retrieved": "2026-11-22"}]


def test_table_shape() -> None:
    models = gpu_models()
    assert len(models) >= 80
    assert {m.architecture for m in models} == ARCHITECTURES
    assert {m.segment for m in models} == {"datacenter", "workstation", "consumer", "jetson"}
    for model in models:
        assert re.fullmatch(r"\d+\.\d", model.compute_capability), model
    names = [m.name.lower() for m in models]
    assert len(names) == len(set(names))


def test_gpu_file_cites_sources() -> None:
    assert gpu_sources()
    assert all(s.url.startswith("https://") and s.retrieved for s in gpu_sources())


@pytest.mark.parametrize(
    ("reported", "name", "capability"),
    [
        # NVML / nvidia-smi -q product_name, as recorded under tests/data/.
        ("NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 4090", "8.9"),
        ("NVIDIA GeForce RTX 2070", "NVIDIA GeForce RTX 2070", "7.5"),
        ("GeForce GTX 1070 Ti", "NVIDIA GeForce GTX 1070 Ti", "6.1"),
        ("Tesla P100-PCIE-16GB", "Tesla P100-PCIE-16GB", "6.0"),
        ("NVIDIA A100-SXM4-80GB", "NVIDIA A100-SXM4-80GB", "8.0"),
        # Other NVML names.
        ("Tesla V100-SXM2-16GB", "Tesla V100-SXM2-16GB", "7.0"),
        ("Tesla T4", "Tesla T4", "7.5"),
        ("NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3", "9.0"),
        ("NVIDIA L40S", "NVIDIA L40S", "8.9"),
        ("NVIDIA RTX 6000 Ada Generation", "NVIDIA RTX 6000 Ada Generation", "8.9"),
        ("Quadro RTX 6000", "Quadro RTX 6000", "7.5"),
        ("NVIDIA GeForce RTX 5090", "NVIDIA GeForce RTX 5090", "12.0"),
        ("NVIDIA B200", "NVIDIA B200", "10.0"),
        # Older drivers print no "NVIDIA", newer add it; brand words and case do not count.
        ("GeForce RTX 3090", "NVIDIA GeForce RTX 3090", "8.6"),
        ("RTX 3090", "NVIDIA GeForce RTX 3090", "8.6"),
        ("nvidia geforce gtx 1080 ti", "NVIDIA GeForce GTX 1080 Ti", "6.1"),
        ("A100-SXM4-40GB", "NVIDIA A100-SXM4-40GB", "8.0"),
        ("A100 SXM4 40GB", "NVIDIA A100-SXM4-40GB", "8.0"),
        ("NVIDIA T4", "Tesla T4", "7.5"),
        ("V100-PCIE-32GB", "Tesla V100-PCIE-32GB", "7.0"),
        # collect_env ("GPU models and configuration") and nvidia-smi -L.
        ("GPU 0: NVIDIA GeForce RTX 3090", "NVIDIA GeForce RTX 3090", "8.6"),
        ("GPU 1: Tesla V100-SXM2-32GB", "Tesla V100-SXM2-32GB", "7.0"),
        (
            "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-2b7c6e3a-8f0e-4c55-9d7a-000000000000)",
            "NVIDIA A100-SXM4-40GB",
            "8.0",
        ),
        # nvidia-smi's table: the name cell runs into the persistence-mode column.
        ("|   0  NVIDIA GeForce RTX 4090        Off |", "NVIDIA GeForce RTX 4090", "8.9"),
        ("NVIDIA GeForce RTX 4090        On", "NVIDIA GeForce RTX 4090", "8.9"),
        # Jetson and workstation names.
        ("Jetson AGX Orin", "Jetson AGX Orin", "8.7"),
        ("Jetson TX2", "Jetson TX2", "6.2"),
        ("Quadro P4000", "Quadro P4000", "6.1"),
        ("NVIDIA RTX A6000", "NVIDIA RTX A6000", "8.6"),
    ],
)
def test_find_gpu_real_world_spellings(reported: str, name: str, capability: str) -> None:
    model = find_gpu(reported)
    assert model is not None, reported
    assert (model.name, model.compute_capability) == (name, capability)


@pytest.mark.parametrize(
    ("reported", "capability"),
    [
        # Board variants fall back to the family when the whole family shares one capability.
        ("NVIDIA A100-PCIE-80GB", "8.0"),
        ("NVIDIA H100 SXM5 80GB", "9.0"),
        ("NVIDIA GeForce RTX 4090 Laptop GPU", "8.9"),
        ("GeForce GTX 1060 6GB", "6.1"),
        ("NVIDIA RTX A2000 12GB", "8.6"),
        # nvidia-smi cuts long names; recorded from an nvidia-smi 410.78 table.
        ("GeForce RTX 208... On", "7.5"),
        ("NVIDIA GeForce RTX 4090 ...Off", "8.9"),
    ],
)
def test_find_gpu_variants_and_truncation(reported: str, capability: str) -> None:
    model = find_gpu(reported)
    assert model is not None, reported
    assert model.compute_capability == capability


@pytest.mark.parametrize(
    "reported",
    [
        "",
        "NVIDIA",
        "Graphics Device",  # a driver too old to know its GPU (tests/data/gtx1660ti-driver418)
        "GRID P4-1Q",  # a vGPU profile (tests/data/gridp4-vgpu-driver513)
        "AMD Radeon RX 7900 XTX",
        # Different models next to listed ones: never answered with the neighbour.
        "NVIDIA GeForce RTX 4090 D",
        "NVIDIA GeForce RTX 3080 Ti",
        "NVIDIA GeForce RTX 2080 SUPER",
        "NVIDIA GeForce GTX 1660 Ti",
        "Tesla V100S-PCIE-32GB",
        # "TITAN X" is the Maxwell GTX TITAN X (5.2) or the Pascal TITAN X (6.1).
        "TITAN X",
        # Cut short where listed GPUs of different capabilities share the prefix.
        "NVIDIA RTX 6000...",
        "NVIDIA GeForce RTX 4...",
    ],
)
def test_unknown_or_ambiguous_gpu_is_none(reported: str) -> None:
    assert find_gpu(reported) is None


def test_every_listed_spelling_finds_its_own_model() -> None:
    for model in gpu_models():
        for spelling in (model.name, *model.aliases):
            for reported in (spelling, spelling.upper(), f"GPU 7: {spelling} (UUID: GPU-0)"):
                assert find_gpu(reported) == model, reported


def test_a_name_cut_anywhere_never_gets_another_capability() -> None:
    for model in gpu_models():
        for cut in range(1, len(model.name)):
            found = find_gpu(model.name[:cut] + "...")
            assert found is None or found.compute_capability == model.compute_capability, (
                model.name[:cut], found,
            )


def test_gpus_with_capability() -> None:
    ada = gpus_with_capability("8.9")
    assert {m.architecture for m in ada} == {"Ada Lovelace"}
    assert "NVIDIA GeForce RTX 4090" in {m.name for m in ada}
    assert gpus_with_capability("1.0") == ()


# --- validation at load -----------------------------------------------------------------------


def gpu(**fields: Any) -> dict[str, Any]:
    entry = {"name": "NVIDIA Test GPU", "aliases": [], "compute_capability": "8.9",
             "architecture": "Ada Lovelace", "segment": "consumer"}
    entry.update(fields)
    return entry


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([gpu(compute_capability="89")], "compute capability must be N.N"),
        ([gpu(architecture="Lovelace")], "unknown architecture 'Lovelace'"),
        ([gpu(segment="laptop")], "unknown segment 'laptop'"),
        ([gpu(memory_gib=-1)], "memory_gib"),
        ([gpu(source="nowhere")], "cites source 'nowhere'"),
        ([gpu(), gpu(name="Test GPU")], "reads the same as 'NVIDIA Test GPU'"),
        ([gpu(), gpu(name="Other", aliases=["GeForce Test-GPU"])], "reads the same"),
        ([gpu(name="NVIDIA GeForce")], "only brand words"),
    ],
)
def test_bad_gpu_entries_name_file_and_entry(entries: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(KnowledgeError, match=r"gpus\.toml: gpu\[\d\]") as raised:
        parse_gpu_models({"sources": SOURCES, "gpu": entries})
    assert message in str(raised.value)


def test_gpu_file_without_sources_is_rejected() -> None:
    with pytest.raises(KnowledgeError, match="no `sources` list"):
        parse_gpu_models({"gpu": [gpu()]})
