"""The --deep cache key: it must change whenever the measured answer could."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from envcheck.probes.deep_torch import (
    apply_deep,
    deep_cache_key,
    read_deep_cache,
    write_deep_cache,
)
from envcheck.snapshot import Torch
from tests.fakes import make_host, write_tree

SITE = "/venv/lib/python3.11/site-packages"
PROC = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 2024\n"


def _install(root: Path, version_text: str = "__version__ = '2.5.1'\n") -> None:
    write_tree(root, {"/venv/bin/python": "", f"{SITE}/torch/version.py": version_text,
                      f"{SITE}/torch/lib/libtorch_cpu.so": "elf",
                      "/proc/driver/nvidia/version": PROC})


def test_key_is_stable_and_follows_the_install(tmp_path: Path) -> None:
    _install(tmp_path)
    host = make_host(tmp_path)
    first = deep_cache_key(host, "/venv/bin/python")
    assert first is not None
    assert deep_cache_key(host, "/venv/bin/python") == first
    library = tmp_path / SITE.lstrip("/") / "torch/lib/libtorch_cpu.so"
    library.write_text("a different build")
    os.utime(library, ns=(1, 1))
    assert deep_cache_key(host, "/venv/bin/python") != first


def test_key_follows_the_driver_and_cuda_variables(tmp_path: Path) -> None:
    _install(tmp_path)
    before = deep_cache_key(make_host(tmp_path), "/venv/bin/python")
    other_env = deep_cache_key(make_host(tmp_path, env={"CUDA_VISIBLE_DEVICES": "1"}),
                               "/venv/bin/python")
    write_tree(tmp_path, {"/proc/driver/nvidia/version": PROC.replace("550.54.15", "560.35.03")})
    after = deep_cache_key(make_host(tmp_path), "/venv/bin/python")
    assert len({before, other_env, after}) == 3


def test_no_torch_means_no_key(tmp_path: Path) -> None:
    write_tree(tmp_path, {"/venv/bin/python": ""})
    assert deep_cache_key(make_host(tmp_path), "/venv/bin/python") is None


def test_cache_round_trip(tmp_path: Path) -> None:
    host = make_host(tmp_path / "root")
    host = replace(host, cache_dir=tmp_path / "cache")
    assert read_deep_cache(host, "k") is None
    write_deep_cache(host, "k", {"cuda_available": False, "arch_list": []})
    assert read_deep_cache(host, "k") == {"cuda_available": False, "arch_list": []}
    (tmp_path / "cache/deep-torch/k.json").write_text("{truncated")
    assert read_deep_cache(host, "k") is None


def test_failed_import_keeps_file_facts_and_says_why() -> None:
    torch = Torch(status="ok", provenance={"version": "derived"})
    outcome = apply_deep(torch, "python3 killed by SIGSEGV", cached=False)
    assert outcome.torch.status == "error"
    assert outcome.problem == "importing torch failed: python3 killed by SIGSEGV"


def test_absent_torch_ignores_the_import() -> None:
    torch = Torch(status="absent", detail="not installed")
    assert apply_deep(torch, "No module named 'torch'", cached=False).torch == torch
