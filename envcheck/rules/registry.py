"""A rule: a small pure function of (Snapshot, Thresholds) to findings, plus what it needs.

`knows` says whether the Snapshot holds the facts the rule needs. It lets the doctor
tell "checked, and fine" (a cause ruled out) from "could not check" (a pasted report
that does not say), so that unknown facts never turn into confident answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from envcheck.findings import Finding
from envcheck.knowledge.model import Category
from envcheck.rules.context import Thresholds
from envcheck.snapshot import Snapshot

Check = Callable[[Snapshot, Thresholds], Iterable[Finding]]


@dataclass(frozen=True, kw_only=True)
class Rule:
    id: str
    category: Category
    check: Check
    knows: Callable[[Snapshot], bool]
    needs: str
    """The facts it needs, as a phrase: "the driver version and torch's CUDA build"."""


@dataclass(frozen=True, kw_only=True)
class FactNeed:
    """One fact a rule needs, and how to tell whether the Snapshot has it."""

    phrase: str
    present: Callable[[Snapshot], bool]


def _torch_version(snapshot: Snapshot) -> bool:
    return snapshot.torch.status == "ok" and snapshot.torch.version is not None


def _torch_cuda_build(snapshot: Snapshot) -> bool:
    # None without provenance is "not said", not a CPU build (envcheck.reports.build).
    return snapshot.torch.status == "ok" and "cuda" in snapshot.torch.provenance


def _torch_release(snapshot: Snapshot) -> bool:
    from envcheck.rules.facts import torch_build

    build = torch_build(snapshot)
    return build is not None and build.release is not None


def _gpu_capabilities(snapshot: Snapshot) -> bool:
    from envcheck.rules.facts import gpu_capability

    return bool(snapshot.gpus) and all(gpu_capability(g) for g in snapshot.gpus)


def _arch_list(snapshot: Snapshot) -> bool:
    from envcheck.rules.facts import torch_build

    torch = snapshot.torch
    if torch.status == "ok" and torch.arch_list:
        return True
    build = torch_build(snapshot)
    return (build is not None and _torch_cuda_build(snapshot)
            and (build.cuda is None or bool(build.arch_list)))


def _driver_version(snapshot: Snapshot) -> bool:
    driver = snapshot.driver
    return driver.status == "ok" and (driver.version is not None
                                      or driver.cuda_driver_api is not None)


def _companion_labels(snapshot: Snapshot) -> bool:
    """A torch with a build label is paired by build too: a companion without one (a
    package list's "torchvision 0.17.1") does not say which build it is."""
    from envcheck.versions import version_or_none

    torch = snapshot.torch
    if torch.status != "ok" or torch.version is None or not torch.version.local:
        return True
    for package in snapshot.packages:
        if package.name.lower() in ("torchvision", "torchaudio"):
            version = version_or_none(package.version)
            if version is not None and not version.local:
                return False
    return True


# Packages that ship their own CUDA kernels, built for their own list of GPU architectures
# (vLLM's needs compute capability 7.0 while torch's still covers 6.x): torch covering the
# GPU does not rule out "no kernel image" from one of them.
_OWN_CUDA_KERNELS = frozenset({
    "vllm", "flash-attn", "flash_attn", "xformers", "bitsandbytes", "auto-gptq", "exllamav2",
    "llama-cpp-python", "mamba-ssm", "causal-conv1d", "deepspeed", "apex", "mmcv",
    "mmcv-full", "detectron2", "torch-scatter", "torch-sparse", "onnxruntime-gpu", "sglang",
    "tensorrt", "tensorrt-llm", "triton",
})


def _no_other_cuda_kernels(snapshot: Snapshot) -> bool:
    return not any(p.name.lower().replace("_", "-") in _OWN_CUDA_KERNELS
                   for p in snapshot.packages)


def _driver_state(snapshot: Snapshot) -> bool:
    """A tool's answer about the driver; a version written in a report's text says nothing
    about whether the driver loads (envcheck.reports.line_merge marks it "from the report")."""
    driver = snapshot.driver
    if driver.status == "unknown":
        return False
    return not (snapshot.source == "report" and driver.status == "ok"
                and (driver.detail or "").startswith("from the report:"))


def _has_gpu_fact(snapshot: Snapshot) -> bool:
    return bool(snapshot.gpus) or snapshot.driver.status in ("ok", "absent")


_TORCH = FactNeed(phrase="the torch version", present=_torch_version)
_TORCH_CUDA = FactNeed(phrase="torch's CUDA build", present=_torch_cuda_build)
_RELEASE = FactNeed(phrase="a torch release envcheck's tables know", present=_torch_release)

FACTS_NEEDED: dict[str, tuple[FactNeed, ...]] = {
    "driver-loaded": (FactNeed(phrase="the NVIDIA driver's state (nvidia-smi's output)",
                               present=_driver_state),),
    "driver-new-enough": (FactNeed(phrase="the driver version", present=_driver_version),
                          _TORCH, _TORCH_CUDA),
    "container-sees-gpu": (
        FactNeed(phrase="whether it ran in a container",
                 present=lambda s: s.system.in_container is not None),
        FactNeed(phrase="the container's NVIDIA devices",
                 present=lambda s: s.system.in_container is False
                 or s.system.nvidia_devices is not None)),
    "torch-has-cuda": (_TORCH, _TORCH_CUDA,
                       FactNeed(phrase="whether the machine has an NVIDIA GPU",
                                present=_has_gpu_fact)),
    "gpu-arch-in-build": (FactNeed(phrase="each GPU's compute capability",
                                   present=_gpu_capabilities),
                          FactNeed(phrase="torch's arch list", present=_arch_list),
                          FactNeed(phrase="the GPU architectures of the other CUDA packages "
                                          "installed (vllm, flash-attn, xformers, ...)",
                                   present=_no_other_cuda_kernels)),
    "companions-paired": (_TORCH, _RELEASE,
                          FactNeed(phrase="the installed torchvision/torchaudio",
                                   present=lambda s: any(
                                       p.name.lower() in ("torchvision", "torchaudio")
                                       for p in s.packages)),
                          FactNeed(phrase="the companions' build labels (+cpu, +cuXYZ)",
                                   present=_companion_labels)),
    "cudnn-matches": (_TORCH, _TORCH_CUDA,
                      FactNeed(phrase="the cuDNN torch loads",
                               present=lambda s: s.torch.cudnn is not None
                               or any(lib.name.startswith("cudnn")
                                      for lib in s.cuda_libraries))),
    "python-supported": (FactNeed(phrase="the Python version",
                                  present=lambda s: s.python.version is not None),
                         _TORCH, _RELEASE),
    "glibc-new-enough": (FactNeed(phrase="the glibc version",
                                  present=lambda s: s.system.glibc is not None),
                         _TORCH, _RELEASE),
    "toolkit-matches-torch": (FactNeed(phrase="the CUDA toolkit (nvcc)",
                                       present=lambda s: bool(s.toolkits)),
                              _TORCH, _TORCH_CUDA),
}


def missing_facts(rule: Rule, snapshot: Snapshot) -> tuple[str, ...]:
    """The facts `rule` needs that the Snapshot lacks, by name; () when it can decide.

    The rule's own `knows` is asked too: a rule that says it cannot decide, with every
    listed fact present, is missing what its `needs` phrase names."""
    needs = FACTS_NEEDED.get(rule.id)
    missing = tuple(need.phrase for need in needs or () if not need.present(snapshot))
    if missing:
        return missing
    return () if rule.knows(snapshot) else (rule.needs,)
