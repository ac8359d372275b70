"""`--deep`: import torch in the target interpreter and measure what only torch knows.

Importing torch costs seconds (1.7 s for torch 2.13 on these machines) and can crash or
hang on a broken driver, so it runs in its own process under a time limit, alongside the
other probes rather than after them. What it measured is cached under a key that changes
when torch is reinstalled, the driver changes, or the variables that steer CUDA change;
the key is computed from file metadata alone, before any process starts, so a warm run
never starts the import at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from envcheck import __version__
from envcheck.adapters.filesystem import write_text_atomic
from envcheck.host import Host
from envcheck.probes.python_env import run_probe_script
from envcheck.snapshot import Provenance, Torch
from envcheck.versions import version_or_none

_CACHE_SCHEMA = "envcheck.deep-torch/1"
_KEY_VARIABLES = ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "LD_LIBRARY_PATH",
                  "LD_PRELOAD", "PYTHONPATH", "CUDA_HOME")
_TORCH_FILES = ("version.py", "lib/libtorch_cuda.so", "lib/libtorch_cpu.so",
                "lib/libtorch_cuda_cu.so")


def _torch_dirs(host: Host, executable: str) -> list[str]:
    """Where an installed torch can be, for a venv, conda or system interpreter."""
    prefix = posixpath.dirname(posixpath.dirname(executable))
    candidates = []
    for lib in ("lib", "lib64", "local/lib"):
        for name in host.fs.list_dir(posixpath.join(prefix, lib)):
            if re.fullmatch(r"python3(\.\d+)?", name):
                for site in ("site-packages", "dist-packages"):
                    candidates.append(posixpath.join(prefix, lib, name, site, "torch"))
    candidates.extend(
        posixpath.join(entry, "torch")
        for entry in host.env.get("PYTHONPATH", "").split(":") if entry
    )
    return [c for c in candidates if host.fs.exists(posixpath.join(c, "version.py"))]


def deep_cache_key(host: Host, executable: str) -> str | None:
    """A key that changes with the torch install, the driver and CUDA's variables.

    None when no torch installation can be located from the interpreter's prefix: then
    nothing is cached, and every --deep imports torch.
    """
    stamps = []
    for directory in _torch_dirs(host, executable):
        for name in _TORCH_FILES:
            stamp = host.fs.stamp(posixpath.join(directory, name))
            if stamp is not None:
                stamps.append(f"{directory}/{name}:{stamp.size}:{stamp.mtime_ns}")
    if not stamps:
        return None
    # The kernel module's version line changes with every driver install (after the reboot
    # that makes it take effect), without asking NVML.
    driver = host.fs.read_text("/proc/driver/nvidia/version") or "no-driver"
    material = json.dumps(
        {"envcheck": __version__, "python": host.fs.resolve(executable), "torch": stamps,
         "driver": driver.splitlines()[0] if driver.strip() else driver,
         "env": {name: host.env.get(name, "") for name in _KEY_VARIABLES}},
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()


def _cache_file(host: Host, key: str | None) -> Path | None:
    if host.cache_dir is None or key is None:
        return None
    return host.cache_dir / "deep-torch" / f"{key}.json"


def read_deep_cache(host: Host, key: str | None) -> dict[str, Any] | None:
    path = _cache_file(host, key)
    if path is None:
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # a corrupt cache is a miss
        return None
    if not isinstance(document, dict) or document.get("schema") != _CACHE_SCHEMA:
        return None
    deep = document.get("deep")
    return deep if isinstance(deep, dict) else None


def write_deep_cache(host: Host, key: str | None, deep: Mapping[str, Any]) -> None:
    path = _cache_file(host, key)
    if path is None:
        return
    # A read-only cache only costs the next run its speed.
    with contextlib.suppress(OSError):
        write_text_atomic(path, json.dumps({"schema": _CACHE_SCHEMA, "deep": dict(deep)}))


def measure_torch(host: Host, executable: str) -> dict[str, Any] | str:
    """What `import torch` reports in the target, or a sentence saying why it failed."""
    report = run_probe_script(host, executable, ["--deep"], host.limits.torch_import)
    if isinstance(report, str):
        return report
    deep = report.get("deep")
    return deep if isinstance(deep, dict) else "the deep probe returned no torch facts"


@dataclass(frozen=True, kw_only=True)
class DeepOutcome:
    torch: Torch
    cached: bool
    problem: str | None = None


def apply_deep(torch: Torch, measured: dict[str, Any] | str, *, cached: bool) -> DeepOutcome:
    """Merge a deep measurement (or its failure) into the torch facts read from files."""
    if torch.status != "ok":
        # torch is absent or unreadable: the import result adds nothing.
        return DeepOutcome(torch=torch, cached=cached)
    if isinstance(measured, str):
        detail = f"importing torch failed: {measured}"
        return DeepOutcome(torch=replace(torch, status="error", detail=detail), cached=False,
                           problem=detail)
    return DeepOutcome(torch=merge_deep(torch, measured), cached=cached)


def merge_deep(torch: Torch, deep: Mapping[str, Any]) -> Torch:
    provenance: dict[str, Provenance] = dict(torch.provenance)
    for name in ("version", "cuda", "arch_list", "cuda_available", "device_capabilities"):
        provenance[name] = "measured"
    cudnn = version_or_none(deep.get("cudnn"))
    nccl = version_or_none(deep.get("nccl"))
    if cudnn is not None:
        provenance["cudnn"] = "measured"
    if nccl is not None:
        provenance["nccl"] = "measured"
    cuda_error = deep.get("cuda_error")
    if cuda_error is not None:
        provenance["cuda_error"] = "measured"
    return replace(
        torch,
        version=version_or_none(deep.get("version")) or torch.version,
        cuda=version_or_none(deep.get("cuda")),
        cudnn=cudnn or torch.cudnn,
        nccl=nccl or torch.nccl,
        arch_list=tuple(str(a) for a in deep.get("arch_list", ())),
        cuda_available=bool(deep.get("cuda_available")),
        cuda_error=str(cuda_error) if cuda_error is not None else None,
        device_capabilities=tuple(str(c) for c in deep.get("device_capabilities", ())),
        provenance=provenance,
    )
